"""The database API the rest of the broker calls.

A thin facade over the SQLAlchemy implementation, so callers never import
SQLAlchemy and the backend stays replaceable. Storage modules by resource
(``db/sqlalchemy/login_failures.py``) are reached through it too.
"""

from vdi_broker.db.sqlalchemy import api as IMPL
from vdi_broker.db.sqlalchemy import boot_queue as _BOOT_QUEUE
from vdi_broker.db.sqlalchemy import jobs as _JOBS
from vdi_broker.db.sqlalchemy import login_failures as _LOGIN_FAILURES
from vdi_broker.db.sqlalchemy import metrics as _METRICS

_MODULES = (IMPL, _LOGIN_FAILURES, _BOOT_QUEUE, _METRICS, _JOBS)


def __getattr__(name):
    for module in _MODULES:
        try:
            return getattr(module, name)
        except AttributeError:
            continue
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
