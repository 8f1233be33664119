from oslo_config import cfg

rdp_group = cfg.OptGroup(
    "rdp", title="RDP console",
    help="Options of the 'rdp' console driver, which sends thin clients "
         "to the desktop's fixed IP address.")

rdp_opts = [
    cfg.PortOpt("port", default=3389,
                help="The port the desktops' RDP service listens on."),
]


def register_opts(conf):
    conf.register_group(rdp_group)
    conf.register_opts(rdp_opts, group=rdp_group)


def list_opts():
    return {rdp_group: rdp_opts}
