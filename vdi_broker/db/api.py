"""The database API the rest of the broker calls.

A thin facade over the SQLAlchemy implementation, so callers never import
SQLAlchemy and the backend stays replaceable.
"""

from vdi_broker.db.sqlalchemy import api as IMPL


def __getattr__(name):
    return getattr(IMPL, name)
