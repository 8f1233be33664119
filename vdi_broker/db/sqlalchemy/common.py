#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Helpers every storage module shares.

Rows never leave the storage layer: callers get plain dicts (``as_dict``).
Lists page by keyset on (sort key, id); admin records carry a revision for
optimistic concurrency; every change an operator makes writes an audit
event in the same transaction.
"""

import functools

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_utils import timeutils
import sqlalchemy as sa
from sqlalchemy import orm

from vdi_broker.db.sqlalchemy import models
from vdi_broker.db.sqlalchemy import prepared
from vdi_broker import exception

INSERT_EVENT = sa.insert(models.Event.__table__)
# IN lists are sent in slices of this many ids (SQLite's variable limit
# is 32766, and long lists make slow plans elsewhere).
IN_CHUNK = 500


def retry_on_conflict(f):
    """Run the whole transaction again on deadlock or a lost race.

    A duplicate key means a concurrent login created the same binding
    first; the next attempt finds it and returns it.
    """
    return oslo_db_api.wrap_db_retry(
        max_retries=10, retry_interval=0.02, inc_retry_interval=True,
        max_retry_interval=0.5, jitter=True, retry_on_deadlock=True,
        exception_checker=lambda e: isinstance(e, db_exc.DBDuplicateEntry),
    )(f)


def retry_on_deadlock(f):
    """Run the whole transaction again on a deadlock (only).

    For the writers of the pools and allocators that do not race
    otherwise: on a multi-writer Galera cluster two of them on two nodes
    both write the generation's row (config_changed), and certification
    fails one with a deadlock.
    """
    return oslo_db_api.wrap_db_retry(
        max_retries=5, retry_interval=0.02, inc_retry_interval=True,
        max_retry_interval=0.5, jitter=True, retry_on_deadlock=True)(f)


def as_dict(row):
    """A model instance (or RowView) as a plain dict; None stays None."""
    if row is None:
        return None
    if isinstance(row, RowView):
        return dict(row.__dict__)
    return {c.name: getattr(row, c.key)
            for c in row.__table__.columns}


class RowView:
    """A row read with Core, with a model instance's attribute access.

    The login's hot path reads and writes with prebuilt Core statements:
    no ORM objects to build, track and flush.
    """

    def __init__(self, values):
        self.__dict__.update(values)


def milliseconds(seconds):
    """Seconds as milliseconds to 0.1 ms for a JSON detail (None stays)."""
    return None if seconds is None else round(seconds * 1000.0, 1)


def chunks(items, size=IN_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


# -- reading -----------------------------------------------------------------

def get_by_id_or_name(session, model, ident, not_found, **kw):
    """The row whose id (or else name) is ``ident``; ``not_found(**kw)``."""
    stmt = sa.select(model).where(model.id == ident)
    row = session.execute(stmt).scalar_one_or_none()
    if row is None and hasattr(model, "name"):
        row = session.execute(
            sa.select(model).where(model.name == ident)
        ).scalar_one_or_none()
    if row is None:
        raise not_found(**kw)
    return row


def paginate(session, model, filters, limit, marker, sort_key, sort_dir,
             not_found):
    """Filtered rows, with keyset pagination on (sort_key, id)."""
    stmt = apply_filters(sa.select(model), model, filters)
    column = getattr(model, sort_key)
    order = sa.asc if sort_dir == "asc" else sa.desc
    if marker is not None:
        marker_row = session.execute(
            sa.select(model).where(model.id == marker)
        ).scalar_one_or_none()
        if marker_row is None:
            raise not_found()
        value = getattr(marker_row, sort_key)
        cmp = (column > value) if sort_dir == "asc" else (column < value)
        tie = (model.id > marker_row.id) if sort_dir == "asc" else (
            model.id < marker_row.id)
        if value is None:
            stmt = stmt.where(sa.or_(column.is_not(None),
                                     sa.and_(column.is_(None), tie)))
        else:
            stmt = stmt.where(sa.or_(cmp, sa.and_(column == value, tie)))
    stmt = stmt.order_by(order(column), order(model.id))
    if limit:
        stmt = stmt.limit(limit)
    return [as_dict(r) for r in session.execute(stmt).scalars()]


#: The filter of a site-scoped persona's lists (vdi_broker/policy.py
#: site_filter): the record's site, compared without regard to case, is
#: one of these (lower-case) names; a desktop's is its pool's.
SITES = "sites"


def site_clause(model, sites):
    sites = sorted(sites)
    if hasattr(model, "site"):
        return sa.func.lower(model.site).in_(sites)
    pools = models.Pool.__table__
    return model.pool_id.in_(sa.select(pools.c.id).where(
        sa.func.lower(pools.c.site).in_(sites)))


def apply_filters(stmt, model, filters):
    for key, value in (filters or {}).items():
        if value is None:
            continue
        if key == SITES:
            stmt = stmt.where(site_clause(model, value))
            continue
        column = getattr(model, key)
        if isinstance(value, (list, tuple, set)):
            stmt = stmt.where(column.in_(list(value)))
        else:
            stmt = stmt.where(column == value)
    return stmt


# The generic get and list of the admin resources (pools, seats,
# allocators, schedules): a resource module names its model and its
# NotFound exception, and keeps only what is particular to it.

def get(session, model, ident, not_found, **kw):
    """One record by id or name, as a dict."""
    return as_dict(get_by_id_or_name(session, model, ident, not_found,
                                     **kw))


def list_records(session, model, not_found, marker_kw, filters=None,
                 limit=None, marker=None, sort_key="name", sort_dir="asc"):
    """One page of records, filtered and sorted.

    A marker that names no record raises ``not_found(**{marker_kw:
    marker})``.
    """
    return paginate(session, model, filters, limit, marker, sort_key,
                    sort_dir,
                    functools.partial(not_found, **{marker_kw: marker}))


# -- writing -----------------------------------------------------------------

def update_revisioned(session, model, row, values, expected_revision,
                      what):
    """Update a row guarded by its revision (optimistic concurrency)."""
    if expected_revision is not None and row.revision != expected_revision:
        raise exception.Conflict(
            reason="%s %s was changed by someone else (revision %s, "
                   "expected %s)" % (what, row.id, row.revision,
                                     expected_revision))
    values = dict(values, revision=row.revision + 1,
                  updated_at=timeutils.utcnow())
    result = session.execute(
        sa.update(model).where(model.id == row.id,
                               model.revision == row.revision)
        .values(**values))
    if result.rowcount != 1:
        raise exception.Conflict(
            reason="%s %s was changed by someone else" % (what, row.id))
    session.expire(row)
    return row


def translate_duplicates(resource, name_key="name"):
    """A duplicate key on create becomes DuplicateName (HTTP 409)."""
    def decorator(f):
        @functools.wraps(f)
        def wrapper(ctx, values, *args, **kwargs):
            try:
                return f(ctx, values, *args, **kwargs)
            except db_exc.DBDuplicateEntry:
                raise exception.DuplicateName(resource=resource,
                                              name=values.get(name_key))
        return wrapper
    return decorator


def close_sessions(session, desktop_ids, reason):
    """Close the active sessions of these desktops; return how many."""
    closed = 0
    now = timeutils.utcnow()
    for part in chunks(desktop_ids):
        closed += session.execute(
            sa.update(models.ClientSession)
            .where(models.ClientSession.desktop_id.in_(part),
                   models.ClientSession.state == "active")
            .values(state="closed", closed_at=now, close_reason=reason,
                    updated_at=now)).rowcount
    return closed


# -- the allocators' and pools' generation ----------------------------------
#
# Logins keep the decoded allocators and pools in their process while the
# ``allocation`` row of cache_generations has not moved (allocation.py
# login_inputs). Every write to either table must therefore bump it in its
# own transaction: call config_changed() wherever they are written.

#: The cache_generations row of the allocators and pools.
ALLOCATION_GENERATION = "allocation"
_GENERATIONS = models.CacheGeneration.__table__
BUMP_GENERATION = (
    sa.update(_GENERATIONS)
    .where(_GENERATIONS.c.name == ALLOCATION_GENERATION)
    .values(generation=_GENERATIONS.c.generation + 1,
            updated_at=sa.bindparam("p_now")))
_CHANGED = "vdi_allocation_changed"


def config_changed(session):
    """This transaction writes the pools or allocators: bump the generation.

    With an ORM session the bump is the transaction's last statement,
    run just before its commit (_bump_at_commit): taken after every pool
    and allocator row lock, the counter's row lock can be waited for but
    never be part of a deadlock, and it is held only while committing. A
    Core connection (no commit hook) bumps it now.
    """
    if isinstance(session, orm.Session):
        session.info[_CHANGED] = True
    else:
        session.execute(BUMP_GENERATION, {"p_now": timeutils.utcnow()})


@sa.event.listens_for(orm.Session, "before_commit")
def _bump_at_commit(session):
    if session.info.pop(_CHANGED, False):
        # The ORM's pending changes first: the bump comes last.
        session.flush()
        session.execute(BUMP_GENERATION, {"p_now": timeutils.utcnow()})


@sa.event.listens_for(orm.Session, "after_transaction_end")
def _forget_change(session, transaction):
    # A rolled back transaction's mark must not bump the next one's.
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)


# -- audit events ------------------------------------------------------------

def record(session, ctx, kind, action, result="success", **fields):
    """Add an audit event to the current transaction."""
    actor = fields.pop("actor", None)
    event = models.Event(
        kind=kind, action=action, result=result,
        actor=getattr(ctx, "user_id", None) or actor,
        request_id=getattr(ctx, "request_id", None),
        created_at=timeutils.utcnow(), **fields)
    session.add(event)
    return event


def event_values(ctx, kind, action, result="success", **fields):
    """An audit event's row, for a plain INSERT."""
    actor = fields.pop("actor", None)
    values = dict.fromkeys(("username", "target_type", "target_id",
                            "pool_id", "desktop_id", "message", "detail"))
    values.update(fields, kind=kind, action=action, result=result,
                  actor=getattr(ctx, "user_id", None) or actor,
                  request_id=getattr(ctx, "request_id", None),
                  created_at=timeutils.utcnow())
    return values


def insert_event(connection, ctx, kind, action, **fields):
    """Write an audit event with a plain INSERT (the login's hot path)."""
    prepared.write(connection, INSERT_EVENT,
                   event_values(ctx, kind, action, **fields))


def add_events(session, ctx, events):
    """Insert many audit events with one statement."""
    if not events:
        return
    now = timeutils.utcnow()
    rows = []
    for event in events:
        event = dict(event)
        actor = event.pop("actor", None)
        row = {"kind": "admin", "result": "success", "created_at": now,
               "actor": getattr(ctx, "user_id", None) or actor,
               "request_id": getattr(ctx, "request_id", None),
               "username": None, "target_type": "desktop",
               "target_id": None, "pool_id": None, "desktop_id": None,
               "message": None, "detail": None}
        row.update(event)
        rows.append(row)
    session.execute(INSERT_EVENT, rows)
