# oslo.service's threading backend, as every vdi-broker command selects it,
# before a test module imports oslo.messaging (which would pick the
# default, eventlet, backend; eventlet is not installed in tox's envs).
from vdi_broker.cmd import init_backend  # noqa: F401
