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
