"""vdi-broker: an OpenStack-native VDI connection broker."""

from oslo_service import backend as _backend


def _threading_backend():
    return _backend.BackendType.THREADING


# Importing oslo.messaging loads oslo.service's service module, which picks
# oslo.service's default backend (eventlet) unless one was chosen. The
# broker runs the threading backend only, so it is the default for every
# process that imports vdi_broker (a test's subprocess, a WSGI server,
# oslo-config-generator); the commands select it explicitly
# (vdi_broker.cmd). No patching: a process that chose a backend keeps it.
_backend.register_backend_default_hook(_threading_backend)
