"""Command-line entry points.

The threading backend of oslo.service is selected before anything else
imports it: the broker runs without eventlet. Importing oslo.messaging
first would select oslo.service's default backend (eventlet): that is an
import-order bug, and raises here instead of running on eventlet.
"""

from oslo_service import backend

_initialized = False


def init_backend():
    global _initialized
    if not _initialized:
        try:
            backend.init_backend(backend.BackendType.THREADING)
        except backend.exceptions.BackendAlreadySelected:
            raise RuntimeError(
                "oslo.service's %s backend was selected before "
                "vdi_broker.cmd: import vdi_broker.cmd before anything "
                "that imports oslo.messaging or oslo.service"
                % backend.get_backend_type().value)
        _initialized = True


init_backend()
