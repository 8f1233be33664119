"""The database API the rest of the broker calls.

A thin facade over the SQLAlchemy implementation, so callers never import
SQLAlchemy and the backend stays replaceable.
"""

from vdi_broker.db.sqlalchemy import api as IMPL
from vdi_broker.db.sqlalchemy import boot_queue as _BOOT_QUEUE

_IMPLS = (IMPL, _BOOT_QUEUE)


def __getattr__(name):
    for impl in _IMPLS:
        try:
            return getattr(impl, name)
        except AttributeError:
            continue
    raise AttributeError(name)
