#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Admin API: compute hosts (R11), from the conductor.

The conductor joins the database's figures (desktops and boots per host)
with Placement's (memory and vCPUs against the overcommit limit): every
Placement call stays in the compute driver, bounded by its timeout, and
the RPC call by ``[api] conductor_timeout``.
"""

from vdi_broker.api import util
from vdi_broker import policy


def list_hosts(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:hosts:list")
    return util.json_response(util.app(req).conductor.host_status(ctxt))
