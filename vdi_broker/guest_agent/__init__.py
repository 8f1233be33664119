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

"""vdi-broker-agent: the guest agent that runs inside a desktop.

Standard library only, so that it installs into a golden image with
nothing but Python (``pip install --no-deps vdi-broker`` or a copy of
this package). It reads the broker's URL and the desktop's secret from
the server's metadata (Nova's metadata service or the config drive; see
:mod:`.metadata`), registers the desktop (``POST /v1/agent/register``)
and reports every N seconds (``POST /v1/agent/report``): the remote
display's connection and service, the logged-on user, idle seconds, CPU,
memory and free disk (:mod:`.host`).

See doc/source/admin/guest-agent.rst.
"""
