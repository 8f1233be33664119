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

"""Schedules: pool sizes that change by the time of day."""

from oslo_db import exception as db_exc
from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

__all__ = (
    "schedule_create",
    "schedule_get",
    "schedule_list",
    "schedule_update",
    "schedule_delete",
)


def _schedule_row(session, ident):
    row = session.execute(
        sa.select(models.Schedule).where(models.Schedule.id == ident)
    ).scalar_one_or_none()
    if row is None:
        raise exception.ScheduleNotFound(schedule=ident)
    return row


@common.translate_duplicates("schedule")
@engine.main_context_manager.writer
def schedule_create(ctx, values):
    values = dict(values)
    values.setdefault("id", uuidutils.generate_uuid())
    # The pool must exist (and may be named): the FK alone would give a
    # database error, not a 404.
    pool = common.get_by_id_or_name(
        ctx.session, models.Pool, values["pool_id"], exception.PoolNotFound,
        pool=values["pool_id"])
    values["pool_id"] = pool.id
    row = models.Schedule(**values)
    ctx.session.add(row)
    ctx.session.flush()
    common.record(ctx.session, ctx, "admin", "schedule.create",
                  target_type="schedule", target_id=row.id, pool_id=pool.id,
                  message=row.name)
    return common.as_dict(row)


@engine.main_context_manager.reader
def schedule_get(ctx, ident):
    return common.as_dict(_schedule_row(ctx.session, ident))


@engine.main_context_manager.reader
def schedule_list(ctx, filters=None, limit=None, marker=None,
                  sort_key="name", sort_dir="asc"):
    return common.list_records(ctx.session, models.Schedule,
                               exception.ScheduleNotFound, "schedule",
                               filters, limit, marker, sort_key, sort_dir)


@engine.main_context_manager.writer
def schedule_update(ctx, ident, values, expected_revision=None):
    row = _schedule_row(ctx.session, ident)
    try:
        common.update_revisioned(ctx.session, models.Schedule, row, values,
                                 expected_revision, "Schedule")
    except db_exc.DBDuplicateEntry:
        raise exception.DuplicateName(resource="schedule",
                                      name=values.get("name"))
    common.record(ctx.session, ctx, "admin", "schedule.update",
                  target_type="schedule", target_id=row.id,
                  pool_id=row.pool_id, detail={"changed": sorted(values)})
    return common.as_dict(row)


@engine.main_context_manager.writer
def schedule_delete(ctx, ident):
    row = _schedule_row(ctx.session, ident)
    ctx.session.delete(row)
    common.record(ctx.session, ctx, "admin", "schedule.delete",
                  target_type="schedule", target_id=row.id,
                  pool_id=row.pool_id, message=row.name)
