import stevedore

from vdi_broker import plugins

NAMESPACE = "vdi_broker.consoles"


def get_driver(name, conf, compute):
    """Return the console driver for a pool's ``console_type``."""
    return plugins.load_driver(NAMESPACE, name, conf, compute)


def driver_names():
    return sorted(stevedore.ExtensionManager(NAMESPACE).names())
