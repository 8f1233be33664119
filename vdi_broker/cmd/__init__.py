"""Command-line entry points.

The threading backend of oslo.service is selected before anything else
imports it: the broker runs without eventlet.
"""

from oslo_service import backend

_initialized = False


def init_backend():
    global _initialized
    if not _initialized:
        try:
            backend.init_backend(backend.BackendType.THREADING)
        except backend.exceptions.BackendAlreadySelected:
            pass
        _initialized = True


init_backend()
