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

"""Options of the ``[portal]`` group: the operations portal.

The portal (``vdi_broker.wsgi.portal:application``) is a client of the
broker's admin API. How it reaches the API is keystoneauth1's own session
options (TLS, ``timeout``) and adapter options (``service_type``,
``valid_interfaces``, ``region_name``, ``endpoint_override``); the
operator's own Keystone credentials sign in, so there is no service
user here.
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

PORTAL_GROUP = "portal"

portal_group = cfg.OptGroup(
    PORTAL_GROUP, title="Operations portal options",
    help="The operations portal (vdi-broker-portal, "
         "vdi_broker.wsgi.portal:application): a web application for "
         "operators, the helpdesk and asset managers that speaks only the "
         "broker's admin API. How it reaches the API uses the standard "
         "keystoneauth1 session and adapter options (cafile, insecure, "
         "timeout, service_type, valid_interfaces, region_name, "
         "endpoint_override).")

DEFAULT_TIMEOUT = 30.0
DEFAULT_SERVICE_TYPE = "vdi"
DEFAULT_VALID_INTERFACES = ["internal", "public"]

portal_opts = [
    cfg.StrOpt("auth_strategy", default="keystone",
               choices=[("keystone", "Operators sign in with their "
                                     "Keystone user name and password; "
                                     "the portal calls the API with their "
                                     "token."),
                        ("noauth", "Operators choose a persona without a "
                                   "password; the portal sends X-Roles "
                                   "headers. Only with an API whose [api] "
                                   "auth_strategy is noauth, on a trusted "
                                   "all-in-one host.")],
               help="How operators sign in to the portal."),
    cfg.URIOpt("auth_url", schemes=["http", "https"],
               help="Keystone's identity endpoint for signing in "
                    "(https://keystone.example.com/identity/v3). Required "
                    "with auth_strategy = keystone."),
    cfg.StrOpt("user_domain_name", default="Default",
               help="The Keystone domain of the operators' users."),
    cfg.StrOpt("project_name", default="vdi-operators",
               help="The operator project (see [api] "
                    "operator_project_id) the portal scopes an operator's "
                    "token to."),
    cfg.StrOpt("project_domain_name", default="Default",
               help="The domain of project_name."),
    cfg.StrOpt("project_id",
               help="The operator project's ID; when set, used instead of "
                    "project_name and project_domain_name."),
    cfg.StrOpt("noauth_project_id",
               help="With auth_strategy = noauth: the project the portal "
                    "names in X-Project-Id. Unset: [api] "
                    "operator_project_id, so that the personas other than "
                    "admin pass the API's policy on an all-in-one host "
                    "that reads the same configuration file."),
    cfg.StrOpt("session_file",
               default="/var/lib/vdi-broker/portal-sessions.sqlite",
               help="The portal's session store: an SQLite file that every "
                    "portal worker process of this host shares. It holds "
                    "the signed-in operators' Keystone tokens (never their "
                    "passwords) and is created readable by its owner only. "
                    "Several portal hosts behind a load balancer need "
                    "sticky sessions (see the install guide)."),
    cfg.IntOpt("session_idle_timeout", default=720, min=1,
               help="Minutes without a request after which an operator is "
                    "signed out. A session also ends when its Keystone "
                    "token expires."),
    cfg.BoolOpt("secure_cookies", default=False,
                help="Mark the session cookie Secure even when the request "
                     "did not arrive over HTTPS. It is Secure whenever it "
                     "did (behind a TLS proxy, set [oslo_middleware] "
                     "enable_proxy_headers_parsing = true)."),
    cfg.IntOpt("refresh_interval", default=15, min=2,
               help="Seconds between two refreshes of the overview page's "
                    "figures."),
    cfg.IntOpt("page_size", default=50, min=1, max=1000,
               help="Rows per page of the portal's lists (the API's "
                    "limit)."),
    cfg.HostAddressOpt("bind_host", default="127.0.0.1",
                       help="Address the development server "
                            "(vdi-broker-portal) listens on. Production "
                            "runs the WSGI application under uWSGI."),
    cfg.PortOpt("bind_port", default=8790,
                help="Port the development server listens on."),
]


def _ks_opts():
    session_opts = ks_loading.get_session_conf_options()
    cfg.set_defaults(session_opts, timeout=DEFAULT_TIMEOUT)
    adapter_opts = ks_loading.get_adapter_conf_options(
        include_deprecated=False)
    cfg.set_defaults(adapter_opts, service_type=DEFAULT_SERVICE_TYPE,
                     valid_interfaces=DEFAULT_VALID_INTERFACES)
    return session_opts + adapter_opts


def register_opts(conf):
    conf.register_group(cfg.OptGroup(
        portal_group.name, title=portal_group.title, help=portal_group.help))
    conf.register_opts(portal_opts, group=PORTAL_GROUP)
    # keystoneauth1's options, with the portal's defaults on the options
    # themselves (a ConfigOpts.set_default would not survive a reset).
    conf.register_opts(_ks_opts(), group=PORTAL_GROUP)


def list_opts():
    opts = {}
    for opt in portal_opts + _ks_opts():
        opts.setdefault(opt.dest, opt)
    return {portal_group: list(opts.values())}
