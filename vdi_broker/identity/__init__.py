from vdi_broker import plugins

NAMESPACE = "vdi_broker.identity"


def get_driver(conf):
    """Return the configured identity driver."""
    return plugins.load_driver(NAMESPACE, conf.identity.driver, conf)
