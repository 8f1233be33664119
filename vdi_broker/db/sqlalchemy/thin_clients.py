"""Thin clients: registration, heartbeats and going offline."""

import functools

from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import allocation
from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker.db.sqlalchemy import seats
from vdi_broker import exception

__all__ = (
    "thin_client_create",
    "thin_client_get",
    "thin_client_list",
    "thin_client_update",
    "thin_client_delete",
    "thin_clients_mark_offline",
    "thin_client_heartbeat",
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


@common.retry_on_conflict
@engine.main_context_manager.writer
def thin_client_heartbeat(ctx, client_id, values, register=False):
    """Record a thin client's heartbeat: one UPDATE, no event.

    Heartbeats change neither the revision nor updated_at: they are not
    edits, and an operator's If-Match must not go stale every minute.
    With ``register``, an unknown client is created (and that is an
    event). Returns True when the client was created.
    """
    values = dict(values, status="online", last_seen_at=timeutils.utcnow())
    result = ctx.session.execute(
        sa.update(models.ThinClient)
        .where(models.ThinClient.client_id == client_id)
        .values(updated_at=models.ThinClient.updated_at, **values))
    if result.rowcount == 1:
        return False
    if not register:
        raise exception.ThinClientNotFound(client=client_id)
    row = models.ThinClient(id=uuidutils.generate_uuid(),
                            client_id=client_id, **values)
    ctx.session.add(row)
    # Two first heartbeats at once: the loser's duplicate key runs the
    # transaction again, which then updates the winner's row.
    ctx.session.flush()
    common.record(ctx.session, ctx, "client", "thin_client.register",
                  actor=client_id, target_type="thin_client", target_id=row.id,
                  message=client_id)
    return True
