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

"""WSGI application setup: configuration, logging, database, app.

The API's modules (and the database's) are imported when the API is
built, not with this package: the portal (vdi_broker.wsgi.portal) shares
the configuration parsing and must not load the database layer.
"""

import os

from oslo_log import log as logging

# Before anything imports oslo.messaging (which imports oslo.service's
# service module and so picks oslo.service's default, eventlet, backend):
# uWSGI imports this package from vdi_broker.wsgi.api.
from vdi_broker.cmd import init_backend  # noqa: F401  (threading first)
from vdi_broker import conf as vdi_conf
from vdi_broker.conf import opts
from vdi_broker import version

LOG = logging.getLogger(__name__)
CONFIG_FILE = "vdi-broker.conf"
CONFIG_DIR = "/etc/vdi-broker"


def parse_config(argv, default_config_files=None, database=True):
    """Parse the command line and config files into the global CONF.

    ``database``: configure the database layer too (everything but the
    portal).
    """
    logging.register_options(vdi_conf.CONF)
    opts.set_lib_defaults()
    vdi_conf.CONF(argv, project="vdi-broker",
                  version=version.version_info.version_string(),
                  default_config_files=default_config_files)
    logging.setup(vdi_conf.CONF, "vdi-broker")
    if database:
        from vdi_broker.db.sqlalchemy import engine as db_engine
        db_engine.configure(vdi_conf.CONF)
    return vdi_conf.CONF


def _config_files(names=(CONFIG_FILE,)):
    # uWSGI gives no command line: OS_VDI_BROKER_CONFIG_DIR or /etc.
    config_dir = os.environ.get("OS_VDI_BROKER_CONFIG_DIR", CONFIG_DIR)
    paths = [os.path.join(config_dir, name) for name in names]
    return [path for path in paths if os.path.exists(path)]


def init_application():
    """The WSGI application, configured from the environment."""
    from vdi_broker.api import deploy
    from vdi_broker import policy
    init_backend()
    conf = parse_config([], default_config_files=_config_files())
    policy.init(conf)
    LOG.info("vdi-broker API %s starting",
             version.version_info.version_string())
    if conf.conductor.use_local:
        from vdi_broker import conductor
        from vdi_broker.conductor import manager
        manager.PeriodicRunner(conductor.local_manager(conf)).start()
    return deploy.build_app(conf)
