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

"""vdi-broker-conductor: allocation, pool upkeep and reconciliation."""

import sys

from oslo_service import service

from vdi_broker.cmd import init_backend  # noqa: F401  (threading first)
from vdi_broker import service as vdi_service
from vdi_broker import wsgi


def main(argv=None):
    conf = wsgi.parse_config(sys.argv[1:] if argv is None else argv)
    launcher = service.launch(conf, vdi_service.ConductorService(conf),
                              workers=1, restart_method="mutate")
    launcher.wait()
    return 0
