from vdi_broker import plugins

NAMESPACE = "vdi_broker.compute"


def get_driver(conf):
    """Return the configured compute driver."""
    return plugins.load_driver(NAMESPACE, conf.compute.driver, conf)
