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

"""Options for the oslo-config-generator and for documentation."""

import collections

from oslo_db import options as db_options
from oslo_log import log
from oslo_messaging import opts as messaging_opts
from oslo_middleware import cors
from oslo_policy import opts as policy_opts

from vdi_broker import conf as vdi_conf

DEFAULT_SQLITE_CONNECTION = "sqlite:///vdi_broker.sqlite"

RABBIT_GROUP = "oslo_messaging_rabbit"
# AMQP heartbeats (R12): a connection that a firewall black-holed is found
# after two missed heartbeats, 2 x heartbeat_timeout_threshold (60 s by
# default: two minutes of failed logins). It is also the socket timeout
# oslo.messaging sets. RabbitMQ advises 5-20 s.
RABBIT_HEARTBEAT_TIMEOUT = 10
# The longest pause between two attempts to reconnect (30 s by default):
# it bounds how long the broker stays away once the bus is back.
RABBIT_INTERVAL_MAX = 10


def list_opts():
    """Return [(group, [opts])] for every group the broker registers."""
    grouped = collections.OrderedDict()
    for module in vdi_conf.option_modules():
        for group, opts in module.list_opts().items():
            key = group.name if hasattr(group, "name") else group
            grouped.setdefault(key, (group, []))[1].extend(opts)
    return [(group, opts) for group, opts in grouped.values()]


def set_lib_defaults():
    """Defaults of library options that suit the broker."""
    db_options.set_defaults(vdi_conf.CONF,
                            connection=DEFAULT_SQLITE_CONNECTION)
    policy_opts.set_defaults(vdi_conf.CONF, policy_file="policy.yaml")
    cors.set_defaults(
        allow_headers=["X-Auth-Token", "X-Session-Token",
                       "X-OpenStack-Request-ID", "OpenStack-API-Version",
                       "Content-Type", "If-Match"],
        expose_headers=["X-OpenStack-Request-ID", "OpenStack-API-Version",
                        "ETag", "Retry-After"],
        allow_methods=["GET", "PUT", "POST", "DELETE", "PATCH"])
    log.set_defaults(default_log_levels=log.get_default_log_levels() + [
        "stevedore=WARN", "ldap3=WARN", "keystoneauth=INFO"])
    _set_rabbit_defaults(vdi_conf.CONF)


def _set_rabbit_defaults(conf):
    """oslo.messaging's RabbitMQ options, with the broker's defaults.

    The driver registers its options when the transport is made;
    registered here first (the same options), they take the broker's
    defaults. What a configuration file sets still wins.
    """
    for group, group_opts in messaging_opts.list_opts():
        if group == RABBIT_GROUP:
            conf.register_opts(group_opts, group=RABBIT_GROUP)
    conf.set_default("heartbeat_timeout_threshold", RABBIT_HEARTBEAT_TIMEOUT,
                     group=RABBIT_GROUP)
    conf.set_default("rabbit_interval_max", RABBIT_INTERVAL_MAX,
                     group=RABBIT_GROUP)
