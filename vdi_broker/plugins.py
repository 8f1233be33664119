"""Loading named drivers from stevedore namespaces."""

from oslo_log import log as logging
import stevedore

from vdi_broker import exception

LOG = logging.getLogger(__name__)


def load_driver(namespace, name, *args, **kwargs):
    """Instantiate the driver ``name`` of ``namespace``.

    An unknown or broken plugin raises InvalidPlugin naming it, instead of
    stevedore's generic errors.
    """
    try:
        manager = stevedore.DriverManager(
            namespace, name, invoke_on_load=True, invoke_args=args,
            invoke_kwds=kwargs, on_load_failure_callback=_reraise)
    except stevedore.exception.NoMatches:
        raise exception.InvalidPlugin(namespace=namespace, name=name)
    return manager.driver


def driver_class(namespace, name):
    """The class of the driver ``name`` of ``namespace``, not loaded.

    For what a driver says of itself before anything is configured (the
    console types a compute driver serves, for example).
    """
    try:
        manager = stevedore.DriverManager(
            namespace, name, invoke_on_load=False,
            on_load_failure_callback=_reraise)
    except stevedore.exception.NoMatches:
        raise exception.InvalidPlugin(namespace=namespace, name=name)
    return manager.driver


def _reraise(manager, entrypoint, exc):
    LOG.error("Could not load plugin %s: %s", entrypoint, exc)
    raise exc
