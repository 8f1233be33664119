"""Options for the oslo-config-generator and for documentation."""

import collections

from oslo_db import options as db_options
from oslo_log import log
from oslo_middleware import cors
from oslo_policy import opts as policy_opts

from vdi_broker import conf as vdi_conf

DEFAULT_SQLITE_CONNECTION = "sqlite:///vdi_broker.sqlite"


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
