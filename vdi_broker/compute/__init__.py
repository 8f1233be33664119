from vdi_broker import plugins

NAMESPACE = "vdi_broker.compute"


def get_driver(conf):
    """Return the configured compute driver."""
    return plugins.load_driver(NAMESPACE, conf.compute.driver, conf)


def console_refusal(conf, console_type):
    """Why the configured compute driver cannot open ``console_type``.

    None when it can. Asked of the driver's class: nothing is loaded or
    contacted.
    """
    cls = plugins.driver_class(NAMESPACE, conf.compute.driver)
    return cls.console_refusal(conf, console_type)
