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

"""Seats: the call-centre places a thin client stands at."""

from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

__all__ = (
    "seat_find",
    "seat_create",
    "seat_get",
    "seat_list",
    "seat_update",
    "seat_delete",
)


@engine.main_context_manager.reader
def seat_find(ctx, name):
    return common.as_dict(ctx.session.execute(
        sa.select(models.Seat).where(models.Seat.name == name)
    ).scalar_one_or_none())


def seat_row(session, ident):
    return common.get_by_id_or_name(session, models.Seat, ident,
                                    exception.SeatNotFound, seat=ident)


@common.translate_duplicates("seat")
@engine.main_context_manager.writer
def seat_create(ctx, values):
    values = dict(values)
    values.setdefault("id", uuidutils.generate_uuid())
    row = models.Seat(**values)
    ctx.session.add(row)
    ctx.session.flush()
    # As stored: MariaDB keeps no fractions of seconds.
    ctx.session.refresh(row)
    common.record(ctx.session, ctx, "admin", "seat.create", target_type="seat",
                  target_id=row.id, message=row.name)
    return common.as_dict(row)


@engine.main_context_manager.reader
def seat_get(ctx, ident):
    return common.as_dict(seat_row(ctx.session, ident))


@engine.main_context_manager.reader
def seat_list(ctx, filters=None, limit=None, marker=None, sort_key="name",
              sort_dir="asc"):
    return common.list_records(ctx.session, models.Seat,
                               exception.SeatNotFound, "seat", filters,
                               limit, marker, sort_key, sort_dir)


@engine.main_context_manager.writer
def seat_update(ctx, ident, values, expected_revision=None):
    row = seat_row(ctx.session, ident)
    old_name = row.name
    try:
        common.update_revisioned(ctx.session, models.Seat, row, values,
                                 expected_revision, "Seat")
        if values.get("name", old_name) != old_name:
            # Seat bindings are keyed by the seat's name (the name a thin
            # client sends at login): they follow the rename.
            ctx.session.execute(
                sa.update(models.Binding)
                .where(models.Binding.kind == "seat",
                       models.Binding.key == old_name)
                .values(key=values["name"], updated_at=timeutils.utcnow(),
                        revision=models.Binding.revision + 1))
    except db_exc.DBDuplicateEntry:
        raise exception.DuplicateName(resource="seat",
                                      name=values.get("name"))
    common.record(ctx.session, ctx, "admin", "seat.update", target_type="seat",
                  target_id=row.id, detail={"changed": sorted(values)})
    return common.as_dict(row)


@engine.main_context_manager.writer
def seat_delete(ctx, ident):
    row = seat_row(ctx.session, ident)
    clients = ctx.session.execute(
        sa.select(models.ThinClient.client_id)
        .where(models.ThinClient.seat_id == row.id).limit(5)
    ).scalars().all()
    if clients:
        raise exception.InUse(resource="Seat", id=row.id,
                              reason="thin clients %s are at it" %
                              ", ".join(clients))
    binding = ctx.session.execute(
        sa.select(models.Binding.id)
        .where(models.Binding.kind == "seat", models.Binding.key == row.name)
    ).scalar_one_or_none()
    if binding is not None:
        raise exception.InUse(resource="Seat", id=row.id,
                              reason="binding %s binds a desktop to it" %
                              binding)
    ctx.session.delete(row)
    common.record(ctx.session, ctx, "admin", "seat.delete", target_type="seat",
                  target_id=row.id, message=row.name)
