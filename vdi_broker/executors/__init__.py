"""Guest executors: what runs jobs inside the desktops (R14).

Drivers are stevedore plugins of the ``vdi_broker.executors`` namespace
(``salt``, ``fake``), chosen by ``[executor] driver``; they subclass
:class:`vdi_broker.executors.base.Executor`.
"""

from vdi_broker import plugins

NAMESPACE = "vdi_broker.executors"


def get_driver(conf):
    """Return the configured guest executor."""
    return plugins.load_driver(NAMESPACE, conf.executor.driver, conf)
