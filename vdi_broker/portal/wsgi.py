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

"""Configuration and start-up of the portal's WSGI application."""

from oslo_log import log as logging

from vdi_broker.portal import app as portal_app
from vdi_broker import version
from vdi_broker import wsgi

LOG = logging.getLogger(__name__)
CONFIG_FILES = (wsgi.CONFIG_FILE, "vdi-broker-portal.conf")


def check(conf):
    """Refuse to start with a configuration that cannot sign anyone in."""
    options = conf.portal
    if options.auth_strategy == "keystone" and not options.auth_url:
        LOG.error("[portal] auth_strategy is keystone but [portal] "
                  "auth_url is not set: nobody could sign in.")
        raise SystemExit("vdi-broker-portal: set [portal] auth_url")
    if options.auth_strategy == "noauth" and not options.endpoint_override:
        LOG.error("[portal] auth_strategy is noauth but [portal] "
                  "endpoint_override (the broker API's URL) is not set.")
        raise SystemExit("vdi-broker-portal: set [portal] "
                         "endpoint_override")
    if options.auth_strategy == "noauth":
        LOG.warning("The portal signs operators in WITHOUT a password "
                    "([portal] auth_strategy = noauth): only for a "
                    "trusted all-in-one host.")


def parse_config(argv, default_config_files=None):
    conf = wsgi.parse_config(argv, default_config_files=default_config_files,
                             database=False)
    check(conf)
    return conf


def init_application():
    conf = parse_config([], default_config_files=wsgi._config_files(
        CONFIG_FILES))
    LOG.info("vdi-broker portal %s starting, API %s",
             version.version_info.version_string(),
             conf.portal.endpoint_override or "from the service catalog")
    return portal_app.build_app(conf)
