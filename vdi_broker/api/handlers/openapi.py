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

"""The OpenAPI document of the API (public)."""

from vdi_broker.api import util

# Here rather than in vdi_broker.api.openapi, which imports the handlers
# (the root document links to this one without building it).
OPENAPI_VERSION = "3.1.0"
PATH = "/v1/openapi.json"


def show(req):
    # Imported here: the document is built from the route table, which
    # imports this module.
    from vdi_broker.api import openapi
    return util.json_response(openapi.build(req.application_url))
