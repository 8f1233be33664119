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

"""Thin clients: registration, heartbeats and going offline."""

import functools
import hmac

from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import allocation
from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker.db.sqlalchemy import multirow
from vdi_broker.db.sqlalchemy import seats
from vdi_broker.db.sqlalchemy import session_viewers
from vdi_broker import exception

__all__ = (
    "thin_client_create",
    "thin_client_get",
    "thin_client_list",
    "thin_client_update",
    "thin_client_delete",
    "thin_clients_mark_offline",
    "thin_client_heartbeat",
    "thin_client_heartbeats_write",
    "thin_client_credentials",
)


def _thin_client_row(session, ident):
    for column in (models.ThinClient.id, models.ThinClient.client_id):
        row = session.execute(
            sa.select(models.ThinClient).where(column == ident)
        ).scalar_one_or_none()
        if row is not None:
            return row
    raise exception.ThinClientNotFound(client=ident)


def _thin_client_dicts(session, rows):
    """Thin clients as dicts, with the name of their seat as ``seat``."""
    seat_ids = {r["seat_id"] for r in rows if r["seat_id"]}
    names = {}
    if seat_ids:
        names = dict(session.execute(
            sa.select(models.Seat.id, models.Seat.name)
            .where(models.Seat.id.in_(list(seat_ids)))).all())
    for row in rows:
        row["seat"] = names.get(row["seat_id"])
    return rows


def _resolve_seat(session, values):
    """``seat`` (a name, an id or None) to ``seat_id``; a typo is a 404."""
    values = dict(values)
    if "seat" in values:
        seat = values.pop("seat")
        values["seat_id"] = (None if seat is None else
                             seats.seat_row(session, seat).id)
    return values


@common.translate_duplicates("thin client", name_key="client_id")
@engine.main_context_manager.writer
def thin_client_create(ctx, values):
    values = _resolve_seat(ctx.session, values)
    values.setdefault("id", uuidutils.generate_uuid())
    row = models.ThinClient(**values)
    ctx.session.add(row)
    ctx.session.flush()
    ctx.session.refresh(row)
    common.record(ctx.session, ctx, "admin", "thin_client.create",
                  target_type="thin_client", target_id=row.id,
                  message=row.client_id)
    return _thin_client_dicts(ctx.session, [common.as_dict(row)])[0]


@engine.main_context_manager.reader
def thin_client_get(ctx, ident):
    return _thin_client_dicts(
        ctx.session, [common.as_dict(_thin_client_row(ctx.session, ident))])[0]


@engine.main_context_manager.reader
def thin_client_list(ctx, filters=None, limit=None, marker=None,
                     sort_key="client_id", sort_dir="asc"):
    filters = dict(filters or {})
    if filters.get("seat") is not None:
        seat = filters.pop("seat")
        seat_id = ctx.session.execute(
            sa.select(models.Seat.id).where(
                sa.or_(models.Seat.id == seat, models.Seat.name == seat))
        ).scalars().first()
        if seat_id is None:
            return []
        filters["seat_id"] = seat_id
    rows = common.paginate(ctx.session, models.ThinClient, filters, limit,
                           marker, sort_key, sort_dir,
                           functools.partial(exception.ThinClientNotFound,
                                             client=marker))
    return _thin_client_dicts(ctx.session, rows)


@engine.main_context_manager.writer
def thin_client_update(ctx, ident, values, expected_revision=None):
    row = _thin_client_row(ctx.session, ident)
    values = _resolve_seat(ctx.session, values)
    try:
        common.update_revisioned(ctx.session, models.ThinClient, row, values,
                                 expected_revision, "Thin client")
    except db_exc.DBDuplicateEntry:
        raise exception.DuplicateName(resource="thin client",
                                      name=values.get("client_id"))
    common.record(ctx.session, ctx, "admin", "thin_client.update",
                  target_type="thin_client", target_id=row.id,
                  detail={"changed": sorted(values)})
    return _thin_client_dicts(ctx.session, [common.as_dict(row)])[0]


@engine.main_context_manager.writer
def thin_client_delete(ctx, ident):
    row = _thin_client_row(ctx.session, ident)
    ctx.session.delete(row)
    common.record(ctx.session, ctx, "admin", "thin_client.delete",
                  target_type="thin_client", target_id=row.id,
                  message=row.client_id)


@common.retry_on_conflict
@engine.main_context_manager.writer
def thin_clients_mark_offline(ctx, seen_before, limit=1000):
    """Set offline the online clients last seen before ``seen_before``.

    One event per client (when it went silent matters to asset managers).
    On MariaDB and PostgreSQL the rows are locked and others' locked rows
    skipped, so that two conductors sweeping at once record each client
    once. Returns the client_ids set offline (at most ``limit``).
    """
    connection = ctx.session.connection()
    clients = models.ThinClient.__table__
    stmt = (sa.select(clients.c.id, clients.c.client_id,
                      clients.c.last_seen_at)
            .where(clients.c.status == "online",
                   clients.c.last_seen_at < seen_before)
            .order_by(clients.c.last_seen_at)
            .limit(limit))
    if allocation._locks_rows(connection):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = connection.execute(stmt).all()
    if not rows:
        return []
    # Not an edit either: revision and updated_at stay as they are.
    connection.execute(
        sa.update(clients)
        .where(clients.c.id.in_([row.id for row in rows]),
               clients.c.status == "online")
        .values(status="offline", updated_at=clients.c.updated_at))
    connection.execute(common.INSERT_EVENT, [
        common.event_values(ctx, "client", "thin_client.offline",
                            actor="vdi-broker", target_type="thin_client",
                            target_id=row.id, message=row.client_id,
                            detail={"last_seen_at": (
                                row.last_seen_at.isoformat()
                                if row.last_seen_at else None)})
        for row in rows])
    return [row.client_id for row in rows]


_CLIENTS = models.ThinClient.__table__
_SESSIONS = models.ClientSession.__table__
# The heartbeat's statements, built once (it is the API's busiest call):
# the session it names, and the one UPDATE, with or without input.
_HEARTBEAT_SESSION = sa.select(
    _SESSIONS.c.token_hash, _SESSIONS.c.username, _SESSIONS.c.client_id,
    _SESSIONS.c.state, _SESSIONS.c.expires_at).where(
    _SESSIONS.c.id == sa.bindparam("p_id"))
_HEARTBEAT_VALUES = {
    "status": "online", "last_seen_at": sa.bindparam("p_now"),
    "last_address": sa.bindparam("p_address"),
    "last_user": sa.bindparam("p_user"),
    "input_events": sa.bindparam("p_input_events"),
    # Not an edit: revision and updated_at stay as they are.
    "updated_at": _CLIENTS.c.updated_at}
_SEATS = models.Seat.__table__
_SEAT_ID_BY_NAME = sa.select(_SEATS.c.id).where(
    _SEATS.c.name == sa.bindparam("p_seat"))


@functools.lru_cache(maxsize=None)
def _heartbeat_statement(active, health, seat=False):
    """The heartbeat's UPDATE, built once per kind.

    With input: last_input_at; with health: health, fault_reason and the
    status they give; with a seat: the client's seat_id, looked up by
    name in the same statement (None for a seat the broker does not
    know).
    """
    values = dict(_HEARTBEAT_VALUES)
    if active:
        values["last_input_at"] = sa.bindparam("p_now")
    if health:
        values.update(health=sa.bindparam("p_health", type_=sa.JSON()),
                      fault_reason=sa.bindparam("p_fault_reason"),
                      status=sa.bindparam("p_status"))
    if seat:
        values["seat_id"] = _SEAT_ID_BY_NAME.scalar_subquery()
    return (sa.update(_CLIENTS)
            .where(_CLIENTS.c.client_id == sa.bindparam("p_client_id"))
            .values(**values))


def _heartbeat_user(connection, client_id, session, now):
    """The user of the session a heartbeat names, its token checked."""
    session_id, token_hash = session
    row = connection.execute(_HEARTBEAT_SESSION,
                             {"p_id": session_id}).first()
    if row is None or token_hash is None or \
            not hmac.compare_digest(token_hash, row.token_hash) or \
            row.state != "active" or row.expires_at < now:
        # An unknown session looks like any other refused one.
        raise exception.InvalidSessionToken()
    if row.client_id != client_id:
        raise exception.Invalid(reason="session %s belongs to another "
                                       "client" % session_id)
    return row.username


@common.retry_on_conflict
@engine.main_context_manager.writer.connection
def thin_client_heartbeat(ctx, client_id, values, register=False,
                          session=None):
    """Record a thin client's heartbeat: one UPDATE, no event.

    Heartbeats change neither the revision nor updated_at: they are not
    edits, and an operator's If-Match must not go stale every minute.
    ``session``: (session id, SHA-256 hex of the token the client sent):
    the session is read and its token checked in this transaction
    (InvalidSessionToken), and its user is the client's ``last_user``.
    Input events in a session set ``last_input_at`` (an active agent).
    ``values["health"]`` (what the client reports of itself) is stored,
    and ``values["fault_reason"]`` sets the client faulty (none: online).
    ``values["seat"]`` (a seat's name) becomes the client's seat: a seat
    the broker does not know leaves it with none (heartbeats register no
    seat: the login does, or refuses it). ``values["viewer_state"]`` (and
    ``viewer_since``, API 1.2) is the session's viewer
    (:mod:`session_viewers`).
    With ``register``, an unknown client is created (and that is an
    event). Returns True when the client was created.

    Core statements built once, on the transaction's connection (no ORM
    session): this is the API's busiest call (benchmarks/heartbeats.py).
    """
    connection = ctx.connection
    now = timeutils.utcnow()
    values = dict(values)
    if session is not None:
        values["last_user"] = _heartbeat_user(connection, client_id,
                                              session, now)
    active = bool(values.get("input_events") and values.get("last_user"))
    health = "health" in values
    status = "faulty" if values.get("fault_reason") else "online"
    seat = values.get("seat")
    result = connection.execute(
        _heartbeat_statement(active, health, bool(seat)),
        {"p_client_id": client_id, "p_now": now,
         "p_address": values.get("last_address"),
         "p_user": values.get("last_user"),
         "p_input_events": values.get("input_events"),
         "p_health": values.get("health"),
         "p_fault_reason": values.get("fault_reason"), "p_status": status,
         "p_seat": seat})
    if result.rowcount == 1:
        if session is not None and values.get("viewer_state"):
            session_viewers.write(connection, [dict(
                values, client_id=client_id, session_id=session[0],
                now=now)])
        return False
    if not register:
        raise exception.ThinClientNotFound(client=client_id)
    row = {"id": uuidutils.generate_uuid(), "client_id": client_id,
           "seat_id": connection.execute(
               _SEAT_ID_BY_NAME, {"p_seat": seat}).scalar() if seat else None,
           "site": None, "model": None, "tags": [],
           "status": status, "last_seen_at": now,
           "health": values.get("health"),
           "fault_reason": values.get("fault_reason"),
           "last_address": values.get("last_address"),
           "last_user": values.get("last_user"),
           "input_events": values.get("input_events"),
           "last_input_at": now if active else None, "description": None,
           "revision": 1, "created_at": now, "updated_at": None}
    # Two first heartbeats at once: the loser's duplicate key runs the
    # transaction again, which then updates the winner's row.
    connection.execute(sa.insert(_CLIENTS), row)
    common.insert_event(connection, ctx, "client", "thin_client.register",
                        actor=client_id, target_type="thin_client",
                        target_id=row["id"], message=client_id)
    return True


# -- heartbeats written in batches (the API's lean path) ----------------------

# The user of the session a buffered heartbeat names, read by the UPDATE
# itself: the API checked the token against a cache, and the database
# still decides whether the session is active, unexpired and the
# client's (a session closed meanwhile names no user, counts no input).
_BATCH_USER = (
    sa.select(_SESSIONS.c.username)
    .where(_SESSIONS.c.id == sa.bindparam("p_session"),
           _SESSIONS.c.client_id == sa.bindparam("p_client_id"),
           _SESSIONS.c.state == "active",
           _SESSIONS.c.expires_at > sa.bindparam("p_now"))
    .scalar_subquery())


@functools.lru_cache(maxsize=None)
def _batch_statement(active, health, seat=False):
    """The batched heartbeat's UPDATE, one per kind (executemany).

    As the single heartbeat's, plus: the user from the session (above),
    and a heartbeat older than the row's last one changes nothing (a
    heartbeat written at once by another path, or another API worker,
    is not overwritten by an older one still in a buffer).
    """
    values = dict(_HEARTBEAT_VALUES, last_user=_BATCH_USER)
    if active:
        values["last_input_at"] = sa.case(
            (_BATCH_USER.is_not(None), sa.bindparam("p_input_at")),
            else_=_CLIENTS.c.last_input_at)
    if health:
        values.update(health=sa.bindparam("p_health", type_=sa.JSON()),
                      fault_reason=sa.bindparam("p_fault_reason"),
                      status=sa.bindparam("p_status"))
    if seat:
        values["seat_id"] = _SEAT_ID_BY_NAME.scalar_subquery()
    return (sa.update(_CLIENTS)
            .where(_CLIENTS.c.client_id == sa.bindparam("p_client_id"),
                   sa.or_(_CLIENTS.c.last_seen_at.is_(None),
                          _CLIENTS.c.last_seen_at <= sa.bindparam("p_now")))
            .values(**values))


@functools.lru_cache(maxsize=None)
def _multirow_statement(active, health, seat=False):
    """The batched heartbeat's UPDATE of many rows (MariaDB, PostgreSQL).

    What :func:`_batch_statement` does for one row: the session's user
    (the LEFT JOIN ``s``: none when the session is closed, expired or
    another client's), input only with that user, the seat by name (the
    LEFT JOIN ``st``), and no older heartbeat over a newer one.
    """
    string, when = sa.String(), sa.DateTime()
    columns = [("p_client_id", string), ("p_now", when),
               ("p_address", string), ("p_session", string),
               ("p_input_events", sa.Integer())]
    values = {"status": "'online'", "last_seen_at": "v.p_now",
              "last_address": "v.p_address", "last_user": "s.username",
              "input_events": "v.p_input_events",
              # Not an edit: revision and updated_at stay as they are.
              "updated_at": "t.updated_at"}
    joins = ["LEFT JOIN %s AS s ON s.id = v.p_session AND "
             "s.client_id = v.p_client_id AND s.state = 'active' AND "
             "s.expires_at > v.p_now" % _SESSIONS.name]
    if active:
        columns.append(("p_input_at", when))
        values["last_input_at"] = ("CASE WHEN s.username IS NOT NULL "
                                   "THEN v.p_input_at "
                                   "ELSE t.last_input_at END")
    if health:
        columns += [("p_health", sa.JSON()), ("p_fault_reason", string),
                    ("p_status", string)]
        values.update(health="v.p_health", fault_reason="v.p_fault_reason",
                      status="v.p_status")
    if seat:
        columns.append(("p_seat", string))
        joins.append("LEFT JOIN %s AS st ON st.name = v.p_seat" %
                     _SEATS.name)
        values["seat_id"] = "st.id"
    return multirow.Update(
        _CLIENTS, "p_client_id", columns, "t.client_id = v.p_client_id",
        values.items(),
        where="t.last_seen_at IS NULL OR t.last_seen_at <= v.p_now",
        joins=joins)


def _by_kind(rows):
    by_kind = {}
    for kind, row in rows:
        by_kind.setdefault(kind, []).append(row)
    return by_kind


@common.retry_on_conflict
@engine.main_context_manager.writer.connection
def thin_client_heartbeats_write(ctx, heartbeats):
    """Write heartbeats the API gathered: one transaction.

    ``heartbeats``: dicts with ``client_id``, ``now`` (when the API
    received it), ``address``, ``session_id`` (or None), ``input_events``,
    ``input_at`` (when input was last reported, None for none) and, with
    health, ``health``, ``fault_reason`` and ``status``; with ``seat`` (a
    seat's name, version 1.1), the client's seat as the single heartbeat
    sets it; with ``viewer_state`` (and ``viewer_since``, version 1.2),
    the session's viewer (:mod:`session_viewers`). The clients and
    session tokens were checked by the API; unknown clients change
    nothing. Two heartbeats of one client are written in their order
    (the later one wins, unless it is older). On MariaDB and PostgreSQL
    one UPDATE per kind of heartbeat and :data:`multirow.CHUNK` clients,
    elsewhere an executemany. Returns the number of rows updated.
    """
    rows = []
    for beat in heartbeats:
        kind = (beat.get("input_at") is not None, "health" in beat,
                bool(beat.get("seat")))
        rows.append((kind, {
            "p_client_id": beat["client_id"], "p_now": beat["now"],
            "p_address": beat.get("address"),
            "p_session": beat.get("session_id"),
            "p_input_events": beat.get("input_events"),
            "p_input_at": beat.get("input_at"),
            "p_health": beat.get("health"),
            "p_fault_reason": beat.get("fault_reason"),
            "p_status": beat.get("status", "online"),
            "p_seat": beat.get("seat")}))
    connection = ctx.connection
    updated = 0
    if multirow.supported(connection):
        for one_round in multirow.rounds(
                rows, key=lambda row: row[1]["p_client_id"]):
            for kind, part in _by_kind(one_round).items():
                updated += _multirow_statement(*kind).execute(connection,
                                                              part)
    else:
        for kind, part in _by_kind(rows).items():
            result = connection.execute(_batch_statement(*kind), part)
            updated += max(result.rowcount, 0)
    session_viewers.write(connection, heartbeats)
    return updated


@engine.main_context_manager.reader.connection
def thin_client_credentials(ctx, client_ids, session_ids, now):
    """What the lean path may go on remembering, after a batch.

    Returns (the ``client_ids`` that exist, {session id: (token hash,
    client id)} of the ``session_ids`` that are active and unexpired).
    """
    clients, sessions = set(), {}
    for part in common.chunks(client_ids):
        clients.update(ctx.connection.execute(
            sa.select(_CLIENTS.c.client_id)
            .where(_CLIENTS.c.client_id.in_(part))).scalars())
    for part in common.chunks(session_ids):
        for row in ctx.connection.execute(
                sa.select(_SESSIONS.c.id, _SESSIONS.c.token_hash,
                          _SESSIONS.c.client_id)
                .where(_SESSIONS.c.id.in_(part),
                       _SESSIONS.c.state == "active",
                       _SESSIONS.c.expires_at > now)):
            sessions[row.id] = (row.token_hash, row.client_id)
    return clients, sessions
