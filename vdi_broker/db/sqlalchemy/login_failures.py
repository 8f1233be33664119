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

"""Failed logins in the database: lockout counters and aggregated events.

Every API worker reads and writes the same rows, so the lockout holds
after the threshold in total, whichever workers the attempts reached.

* :func:`login_failures_get` (every login, before the directory is asked):
  one read by primary key of at most two rows (the user name's counter and
  the thin client's).
* :func:`login_failure_record` (a failed login): in one transaction, the
  counters are created or locked with an upsert, read back, advanced in
  Python and written; the aggregated failure event is upserted on its
  unique ``aggregate_key`` (``occurrences + 1``, ``last_at``). Upserts are
  ``INSERT ... ON CONFLICT DO UPDATE`` on SQLite and PostgreSQL and
  ``INSERT ... ON DUPLICATE KEY UPDATE`` on MariaDB: two workers failing
  the same user at once never raise a duplicate key nor insert twice, and
  the row lock the upsert takes serializes them. Deadlocks (InnoDB's
  insert-intention locks) run the transaction again.
* :func:`login_failures_clear` (a successful login after failures): one
  DELETE by primary key.
* :func:`login_failures_purge`: expired counters, by the indexed
  ``expires_at``.
"""

from oslo_db import api as oslo_db_api
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker.db.sqlalchemy import prepared

_FAILURES = models.LoginFailure.__table__
_EVENTS = models.Event.__table__

_GET = sa.select(_FAILURES).where(
    _FAILURES.c.id.in_(sa.bindparam("p_ids", expanding=True)))
# Every login's read: the user name's counter and the thin client's, in a
# statement with one parameter per id (prepared.py runs it on the
# cursor; an expanding IN would be compiled again for its length).
_GET_BY_COUNT = {n: sa.select(_FAILURES).where(_FAILURES.c.id.in_(
    [sa.bindparam("p_id%d" % i) for i in range(n)])) for n in (1, 2)}
_LOCK = _GET.with_for_update()
_CLEAR = sa.delete(_FAILURES).where(
    _FAILURES.c.id.in_(sa.bindparam("p_ids", expanding=True)))

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert,
            "mysql": mysql.insert}

__all__ = (
    "login_failures_get",
    "login_failure_record",
    "login_failures_clear",
    "login_failures_purge",
)


def _upsert(connection, table, rows, index_column, updates):
    """INSERT rows; on a conflict on ``index_column``, UPDATE instead.

    ``updates(new)`` gives the SET clause; ``new`` holds the values the
    conflicting row would have had (``excluded`` / ``VALUES()``). MariaDB
    applies the SET clause left to right, each assignment seeing the
    previous ones: keep every expression independent of the other columns
    set.
    """
    dialect = connection.dialect.name
    stmt = _INSERTS[dialect](table).values(rows)
    if dialect == "mysql":
        stmt = stmt.on_duplicate_key_update(updates(stmt.inserted))
    else:
        stmt = stmt.on_conflict_do_update(index_elements=[index_column],
                                          set_=updates(stmt.excluded))
    connection.execute(stmt)


def _retry(f):
    return oslo_db_api.wrap_db_retry(
        max_retries=10, retry_interval=0.02, inc_retry_interval=True,
        max_retry_interval=0.5, jitter=True, retry_on_deadlock=True)(f)


def login_failures_get(ctx, ids):
    """The counters of ``ids`` that exist, as {id: row dict}.

    Every login runs it: one statement on a pooled connection, without
    an ORM session (whose set-up and tear-down cost three times the read).
    """
    ids = list(ids)
    reader = engine.main_context_manager.reader.get_engine()
    with reader.connect() as connection:
        stmt = _GET_BY_COUNT.get(len(ids))
        if stmt is None:
            rows = prepared.executed_rows(connection, _GET, {"p_ids": ids})
        else:
            rows = prepared.rows(connection, stmt, {
                "p_id%d" % i: id_ for i, id_ in enumerate(ids)})
        return {row["id"]: row for row in rows}


def _advance(row, counter, now):
    """The counter after one more failure: a dict of changed columns.

    ``counter``: threshold, window and lockout (seconds, as timedeltas).
    An expired counter starts again; a locked one is left alone (attempts
    while locked are refused before they get here, and a lockout is never
    extended by them).
    """
    live = row["expires_at"] > now
    if live and row["locked"]:
        return None
    count = row["count"] + 1 if live else 1
    values = {"count": count, "locked": False,
              "expires_at": row["expires_at"] if live
              else now + counter["window"]}
    if count >= counter["threshold"]:
        values.update(locked=True, expires_at=now + counter["lockout"])
    return values


@_retry
@engine.main_context_manager.writer
def login_failure_record(ctx, now, counters=(), event=None):
    """Count a failed login and write (or add to) its aggregated event.

    ``counters``: dicts with id, kind, name, threshold, window and lockout
    (timedeltas). ``event``: the values of an events row with its
    aggregate_key, or None. Returns {id: row dict after this failure} of
    the counters, with ``newly_locked`` True for those this failure
    locked.
    """
    connection = ctx.session.connection()
    result = {}
    counters = sorted(counters, key=lambda c: c["id"])
    if counters:
        # Create the missing rows (expired, so that they start counting
        # below) and lock them all, always in the same order.
        _upsert(connection, _FAILURES,
                [{"id": c["id"], "kind": c["kind"], "name": c["name"],
                  "count": 0, "locked": False, "expires_at": now}
                 for c in counters],
                "id", lambda new: {"kind": new.kind})
        rows = {row["id"]: dict(row) for row in connection.execute(
            _LOCK, {"p_ids": [c["id"] for c in counters]}).mappings()}
        for counter in counters:
            row = rows[counter["id"]]
            values = _advance(row, counter, now)
            newly_locked = False
            if values is not None:
                connection.execute(
                    sa.update(_FAILURES)
                    .where(_FAILURES.c.id == counter["id"]).values(values))
                newly_locked = values["locked"]
                row.update(values)
            result[counter["id"]] = dict(row, newly_locked=newly_locked)
    if event is not None:
        event = dict(event, occurrences=1, last_at=event["created_at"])
        _upsert(connection, _EVENTS, [event], "aggregate_key",
                lambda new: {"occurrences": _EVENTS.c.occurrences + 1,
                             "last_at": new.last_at})
    return result


@engine.main_context_manager.writer
def login_failures_clear(ctx, ids):
    """Forget counters (a successful login); returns how many existed."""
    return ctx.session.connection().execute(
        _CLEAR, {"p_ids": list(ids)}).rowcount


@_retry
@engine.main_context_manager.writer
def login_failures_purge(ctx, before):
    """Delete the counters that expired before ``before``; how many.

    Pass a time well in the past (a minute): a failure being recorded
    right now creates its row expired (``expires_at`` = now) before it
    advances it, and the purge should not wait for that row's lock.
    """
    return ctx.session.connection().execute(
        sa.delete(_FAILURES).where(_FAILURES.c.expires_at < before)).rowcount
