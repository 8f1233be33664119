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

"""Allocators: the ordered chain a login walks to find its desktop."""

from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

__all__ = (
    "allocator_create",
    "allocator_get",
    "allocator_list",
    "allocator_update",
    "allocator_delete",
    "allocator_reorder",
)


@common.translate_duplicates("allocator")
@common.retry_on_deadlock
@engine.main_context_manager.writer
def allocator_create(ctx, values):
    values = dict(values)
    values.setdefault("id", uuidutils.generate_uuid())
    if values.get("pool_id"):
        values["pool_id"] = common.get_by_id_or_name(
            ctx.session, models.Pool, values["pool_id"],
            exception.PoolNotFound, pool=values["pool_id"]).id
    if values.get("is_default"):
        _clear_default(ctx.session)
    row = models.Allocator(**values)
    common.config_changed(ctx.session)
    ctx.session.add(row)
    ctx.session.flush()
    common.record(ctx.session, ctx, "admin", "allocator.create",
                  target_type="allocator", target_id=row.id, message=row.name)
    return common.as_dict(row)


def _clear_default(session, keep=None):
    common.config_changed(session)
    stmt = sa.update(models.Allocator).where(
        models.Allocator.is_default.is_(True))
    if keep:
        stmt = stmt.where(models.Allocator.id != keep)
    session.execute(stmt.values(is_default=False))


@engine.main_context_manager.reader
def allocator_get(ctx, ident):
    return common.get(ctx.session, models.Allocator, ident,
                      exception.AllocatorNotFound, allocator=ident)


@engine.main_context_manager.reader
def allocator_list(ctx, filters=None, limit=None, marker=None,
                   sort_key="priority", sort_dir="asc"):
    return common.list_records(ctx.session, models.Allocator,
                               exception.AllocatorNotFound, "allocator",
                               filters, limit, marker, sort_key, sort_dir)


@common.retry_on_deadlock
@engine.main_context_manager.writer
def allocator_update(ctx, ident, values, expected_revision=None):
    row = common.get_by_id_or_name(
        ctx.session, models.Allocator, ident, exception.AllocatorNotFound,
        allocator=ident)
    values = dict(values)
    if values.get("pool_id"):
        values["pool_id"] = common.get_by_id_or_name(
            ctx.session, models.Pool, values["pool_id"],
            exception.PoolNotFound, pool=values["pool_id"]).id
    if values.get("is_default"):
        _clear_default(ctx.session, keep=row.id)
    common.config_changed(ctx.session)
    try:
        common.update_revisioned(ctx.session, models.Allocator, row, values,
                                 expected_revision, "Allocator")
    except db_exc.DBDuplicateEntry:
        raise exception.DuplicateName(resource="allocator",
                                      name=values.get("name"))
    common.record(ctx.session, ctx, "admin", "allocator.update",
                  target_type="allocator", target_id=row.id,
                  detail={"changed": sorted(values)})
    return common.as_dict(row)


@common.retry_on_deadlock
@engine.main_context_manager.writer
def allocator_delete(ctx, ident):
    row = common.get_by_id_or_name(
        ctx.session, models.Allocator, ident, exception.AllocatorNotFound,
        allocator=ident)
    common.config_changed(ctx.session)
    ctx.session.delete(row)
    common.record(ctx.session, ctx, "admin", "allocator.delete",
                  target_type="allocator", target_id=row.id, message=row.name)


@common.retry_on_conflict
@engine.main_context_manager.writer
def allocator_reorder(ctx, ids, expected_ids, step=10):
    """Give the allocators priorities step, 2*step, ... in this order.

    ``ids`` is every allocator's id, each once (vdi_broker/services/
    allocators.py checks an operator's list). One transaction with every
    allocator row locked: all priorities change or none, and a concurrent
    update of an allocator either waits for the reorder or makes it wait.
    ``expected_ids`` is the set of allocators the caller checked the list
    against: when the set is not the same any more (one was created or
    deleted meanwhile), Conflict. Only allocators whose priority changes
    get a new revision.
    """
    session = ctx.session
    rows = session.execute(
        sa.select(models.Allocator).order_by(models.Allocator.id)
        .with_for_update()).scalars().all()
    if {r.id for r in rows} != set(expected_ids) or \
            sorted(ids) != sorted(expected_ids):
        raise exception.Conflict(reason="the allocators changed while "
                                        "they were being reordered; list "
                                        "them again")
    by_id = {r.id: r for r in rows}
    changed = []
    now = timeutils.utcnow()
    for position, allocator_id in enumerate(ids, start=1):
        row = by_id[allocator_id]
        if row.priority == position * step:
            continue
        common.config_changed(session)
        session.execute(
            sa.update(models.Allocator)
            .where(models.Allocator.id == row.id)
            .values(priority=position * step, updated_at=now,
                    revision=models.Allocator.revision + 1))
        changed.append(row.name)
    common.record(session, ctx, "admin", "allocator.reorder",
                  target_type="allocator",
                  detail={"order": [by_id[i].name for i in ids],
                          "changed": changed})
    session.flush()
    session.expire_all()
    return [common.as_dict(session.get(models.Allocator, i)) for i in ids]
