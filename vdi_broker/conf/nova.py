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

"""Options of the ``[nova]`` group: how the broker reaches Nova.

The session (TLS, ``timeout``), the credentials (``auth_type`` and the
plugin's options) and the endpoint (``service_type``, ``valid_interfaces``,
``region_name``, ``endpoint_override``) are keystoneauth1's own options,
registered and loaded the conventional way; the broker adds the pinned
microversions and its retry and boot settings.
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

NOVA_GROUP = "nova"

nova_group = cfg.OptGroup(
    NOVA_GROUP, title="Nova options",
    help="How the broker reaches the Compute service (Nova) and Placement. "
         "Authentication, TLS and endpoint selection use the standard "
         "keystoneauth1 options (auth_type, auth_url, username, password, "
         "project_name, ..., cafile, insecure, timeout, valid_interfaces, "
         "region_name, endpoint_override).")

# Defaults the broker gives keystoneauth1's own options.
DEFAULT_TIMEOUT = 30.0
DEFAULT_SERVICE_TYPE = "compute"
DEFAULT_VALID_INTERFACES = ["internal", "public"]

nova_opts = [
    cfg.StrOpt("api_version", default="2.96",
               regex=r"^2\.[0-9]+$",
               help="The Nova API microversion the broker pins for server "
                    "operations through python-novaclient. 2.52 or newer "
                    "is needed (tags at create time), 2.73 or newer for "
                    "lock reasons; novaclient supports at most 2.96."),
    cfg.StrOpt("console_api_version", default="2.99",
               regex=r"^2\.[0-9]+$",
               help="The Nova API microversion used for consoles and the "
                    "console-auth-token API. The spice-direct console "
                    "needs 2.99 or newer."),
    cfg.StrOpt("placement_api_version", default="1.14",
               regex=r"^1\.[0-9]+$",
               help="The Placement API microversion used to read resource "
                    "provider inventories and usages (capacity)."),
    cfg.IntOpt("retries", default=3, min=0,
               help="How many times a call that failed with a transient "
                    "error (connection failure, timeout, HTTP 500/502/503/"
                    "504) is retried, with exponential backoff. Calls that "
                    "are not idempotent (server create, reboot, rebuild) "
                    "are retried only when the request could not be sent."),
    cfg.FloatOpt("retry_delay", default=0.5, min=0,
                 help="Initial delay in seconds before the first retry; it "
                      "doubles with every attempt."),
    cfg.FloatOpt("retry_max_delay", default=10.0, min=0,
                 help="The longest delay in seconds between two retries."),
    cfg.FloatOpt("console_timeout", default=8.0, min=0.1,
                 help="Seconds one console lookup may take in all: the "
                      "remote-consoles request and, for spice-direct, the "
                      "console-auth-token exchange, retries included (each "
                      "request also has the session's 'timeout'). A login "
                      "asks for the console after claiming a desktop; when "
                      "the lookup does not finish in time the claim is "
                      "undone and the login tries another desktop "
                      "([allocator] connect_attempts). Keep connect_attempts "
                      "times this below [api] conductor_timeout."),
    cfg.IntOpt("list_page_size", default=200, min=1,
               help="Number of servers asked for per page when listing "
                    "(limit/marker pagination)."),
    cfg.IntOpt("boot_timeout", default=600, min=1,
               help="Seconds a server may stay in BUILD before the broker "
                    "gives it up as failed."),
    cfg.FloatOpt("boot_poll_interval", default=2.0, min=0.01,
                 help="Seconds between two status polls while waiting for "
                      "a server to boot."),
]


def _ks_opts():
    """keystoneauth1's options for the group, with the broker's defaults."""
    session_opts = ks_loading.get_session_conf_options()
    cfg.set_defaults(session_opts, timeout=DEFAULT_TIMEOUT)
    adapter_opts = ks_loading.get_adapter_conf_options(
        include_deprecated=False)
    cfg.set_defaults(adapter_opts, service_type=DEFAULT_SERVICE_TYPE,
                     valid_interfaces=DEFAULT_VALID_INTERFACES)
    return (session_opts
            + ks_loading.get_auth_common_conf_options()
            + ks_loading.get_auth_plugin_conf_options("password")
            + adapter_opts)


def register_opts(conf):
    # A new OptGroup per ConfigOpts: register_group() copies the group
    # shallowly, so a shared one would share its options, and keystoneauth
    # registers its auth plugin's options in the group at load time.
    conf.register_group(cfg.OptGroup(
        nova_group.name, title=nova_group.title, help=nova_group.help))
    conf.register_opts(nova_opts, group=nova_group)
    ks_loading.register_session_conf_options(conf, NOVA_GROUP)
    ks_loading.register_auth_conf_options(conf, NOVA_GROUP)
    ks_loading.register_adapter_conf_options(conf, NOVA_GROUP,
                                             include_deprecated=False)
    conf.set_default("timeout", DEFAULT_TIMEOUT, group=NOVA_GROUP)
    conf.set_default("service_type", DEFAULT_SERVICE_TYPE, group=NOVA_GROUP)
    conf.set_default("valid_interfaces", DEFAULT_VALID_INTERFACES,
                     group=NOVA_GROUP)


def list_opts():
    # Deduplicate by name: keystoneauth's option lists may overlap.
    opts = {}
    for opt in nova_opts + _ks_opts():
        opts.setdefault(opt.dest, opt)
    return {nova_group: list(opts.values())}
