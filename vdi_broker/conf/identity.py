from oslo_config import cfg

identity_group = cfg.OptGroup(
    "identity", title="Identity options",
    help="How thin-client users are authenticated.")

identity_opts = [
    cfg.StrOpt("driver", default="ldap",
               help="The identity driver, by its name in the "
                    "vdi_broker.identity namespace: 'ldap' for LDAP and "
                    "Active Directory, 'static' for a file of users "
                    "(demos and tests)."),
]

static_group = cfg.OptGroup(
    "static_identity", title="Static identity driver",
    help="Options of the 'static' identity driver.")

static_opts = [
    cfg.StrOpt("users_file",
               help="JSON file of users (username, password_hash, dn, "
                    "groups, attributes). Create password hashes with "
                    "'vdi-broker-manage identity hash-password'."),
]


def register_opts(conf):
    conf.register_group(identity_group)
    conf.register_opts(identity_opts, group=identity_group)
    conf.register_group(static_group)
    conf.register_opts(static_opts, group=static_group)


def list_opts():
    return {identity_group: identity_opts, static_group: static_opts}
