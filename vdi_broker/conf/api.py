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

from oslo_config import cfg

api_group = cfg.OptGroup(
    "api", title="API options",
    help="Options of the vdi-broker API service.")

api_opts = [
    cfg.StrOpt("auth_strategy", default="keystone",
               choices=[("keystone", "Keystone tokens (keystonemiddleware) "
                                     "and policy on the admin API."),
                        ("noauth", "No authentication on the admin API: "
                                   "every caller is an admin. Only for the "
                                   "all-in-one mode on a trusted host.")],
               help="How callers of the admin API (/v1 except /v1/client) "
                    "are authenticated. The thin-client API always uses "
                    "directory logins and session tokens."),
    cfg.StrOpt("operator_project_id",
               help="ID of the Keystone project whose users operate the "
                    "broker. The default policies bind the personas of "
                    "the admin API to this project: its manager role is "
                    "the operator, its member role the helpdesk, its "
                    "reader role the reader. Users with these roles in "
                    "any other project are refused. The admin role (in "
                    "any project) and the service role keep their "
                    "rights. Unset, only admin and service may use the "
                    "admin API. See the policy guide."),
    cfg.StrOpt("site_role_prefix", default="vdi_site_",
               help="Keystone roles whose name starts with this prefix "
                    "limit an operator, helpdesk or reader to a site: a "
                    "user with the role vdi_site_shanghai (besides "
                    "manager, member or reader in the operator project) "
                    "lists and acts on the sessions, desktops, seats, "
                    "thin clients and pools of the site shanghai only, "
                    "and is refused the records that belong to no site. "
                    "Several such roles: several sites. A user without "
                    "any is not limited. Empty: no site scoping. See the "
                    "policy guide."),
    cfg.IntOpt("max_limit", default=1000, min=1,
               help="The largest number of items a list returns at once."),
    cfg.BoolOpt("client_api_enabled", default=True,
                help="Serve the thin-client API (/v1/client)."),
    cfg.HostAddressOpt("bind_host", default="127.0.0.1",
                       help="Address the all-in-one server (vdi-broker-api) "
                            "listens on. Production deployments run the "
                            "WSGI application under uWSGI instead."),
    cfg.PortOpt("bind_port", default=8783,
                help="Port the all-in-one server listens on. 8783 is the "
                     "broker's port everywhere (uWSGI, Kolla, the demo): "
                     "no OpenStack service takes it by default (8780, "
                     "used before, is Placement's in Kolla-Ansible)."),
    cfg.IntOpt("conductor_timeout", default=30, min=1,
               help="Seconds an API request waits for the conductor before "
                    "answering 503. Logins carry this deadline to the "
                    "conductor, which refuses work that arrives too late: "
                    "keep the clocks of API and conductor hosts in sync "
                    "(NTP)."),
    cfg.IntOpt("rpc_threads", default=256, min=1,
               help="Conductor calls one API process may have under way at "
                    "the same time; further calls are answered 503 at "
                    "once (e.g. while the message bus is unreachable and "
                    "calls pile up)."),
]


# GET /metrics (Prometheus). Served without a Keystone token (Prometheus
# has none), to the addresses and the bearer token below; the conductor's
# own exporter ([conductor] metrics_bind_port) applies the same rules.
metrics_opts = [
    cfg.BoolOpt("metrics_enabled", default=True,
                help="Serve GET /metrics, the Prometheus text format. "
                     "Disabled, the path answers 404."),
    cfg.ListOpt("metrics_allowed_networks",
                default=["127.0.0.0/8", "::1/128"],
                help="Networks (CIDR) whose addresses may scrape "
                     "/metrics; other callers get 403. An empty list "
                     "allows every address. Behind a reverse proxy the "
                     "caller's address is the proxy's unless "
                     "[oslo_middleware] enable_proxy_headers_parsing is "
                     "set and the proxy passes X-Forwarded-For."),
    cfg.StrOpt("metrics_bearer_token", secret=True,
               help="When set, /metrics also requires the header "
                    "'Authorization: Bearer <token>' (Prometheus: "
                    "authorization.credentials_file in the scrape "
                    "config); a missing or wrong token gets 401."),
    cfg.FloatOpt("metrics_cache_time", default=5.0, min=0,
                 help="Seconds the figures read from the database for "
                      "/metrics (pools, thin clients, sessions, agents, "
                      "alerts) are reused: scrapes by several Prometheus "
                      "servers within this time cost one set of "
                      "queries."),
]


def register_opts(conf):
    conf.register_group(api_group)
    conf.register_opts(api_opts, group=api_group)
    conf.register_opts(metrics_opts, group=api_group)


def list_opts():
    return {api_group: api_opts + metrics_opts}
