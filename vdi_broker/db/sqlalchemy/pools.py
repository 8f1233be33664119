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

"""Pools: the groups of like desktops an allocator hands out from."""

from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

__all__ = (
    "pool_create",
    "pool_get",
    "pool_list",
    "pool_update",
    "pool_set_status",
    "pool_build_result",
    "pool_delete",
    "pool_desktop_counts",
)


@common.translate_duplicates("pool")
@common.retry_on_deadlock
@engine.main_context_manager.writer
def pool_create(ctx, values):
    values = dict(values)
    values.setdefault("id", uuidutils.generate_uuid())
    pool = models.Pool(**values)
    common.config_changed(ctx.session)
    ctx.session.add(pool)
    ctx.session.flush()
    common.record(ctx.session, ctx, "admin", "pool.create", target_type="pool",
                  target_id=pool.id, pool_id=pool.id, message=pool.name)
    return common.as_dict(pool)


@engine.main_context_manager.reader
def pool_get(ctx, ident):
    return common.get(ctx.session, models.Pool, ident,
                      exception.PoolNotFound, pool=ident)


@engine.main_context_manager.reader
def pool_list(ctx, filters=None, limit=None, marker=None, sort_key="name",
              sort_dir="asc"):
    return common.list_records(ctx.session, models.Pool,
                               exception.PoolNotFound, "pool", filters,
                               limit, marker, sort_key, sort_dir)


@common.retry_on_deadlock
@engine.main_context_manager.writer
def pool_update(ctx, ident, values, expected_revision=None, event=True):
    try:
        row = common.get_by_id_or_name(ctx.session, models.Pool, ident,
                                       exception.PoolNotFound, pool=ident)
        common.config_changed(ctx.session)
        common.update_revisioned(ctx.session, models.Pool, row, values,
                                 expected_revision, "Pool")
    except db_exc.DBDuplicateEntry:
        raise exception.DuplicateName(resource="pool",
                                      name=values.get("name"))
    if event:
        common.record(ctx.session, ctx, "admin", "pool.update",
                      target_type="pool", target_id=row.id, pool_id=row.id,
                      detail={"changed": sorted(values)})
    return common.as_dict(row)


@common.retry_on_deadlock
@engine.main_context_manager.writer
def pool_set_status(ctx, pool_id, status, reason):
    """Set a pool's health status without bumping its revision.

    Only a change is written (and moves the logins' generation): the
    pool manager sets the status at every pass.
    """
    changed = ctx.session.execute(
        sa.update(models.Pool).where(
            models.Pool.id == pool_id,
            sa.or_(models.Pool.status != status,
                   models.Pool.status_reason.is_distinct_from(reason)))
        .values(status=status, status_reason=reason)).rowcount
    if changed:
        common.config_changed(ctx.session)


@common.retry_on_deadlock
@engine.main_context_manager.writer
def pool_build_result(ctx, pool_id, error=None, allowance=None):
    """Record a boot's outcome in the pool's build throttle state.

    A failure (``error``) counts one more failure in a row, sets
    ``failing_since`` at the first one and keeps the error; a success
    resets the count (the last error stays, as history). ``allowance``
    (with a failure): a function of the pool (a dict, before the change)
    giving its new allowed concurrent boots. Returns the pool after the
    change. Without revision bump: not an admin change.
    """
    row = ctx.session.get(models.Pool, pool_id, with_for_update=True)
    if row is None:
        raise exception.PoolNotFound(pool=pool_id)
    if error is not None:
        values = {"build_failures": models.Pool.build_failures + 1,
                  "failing_since": row.failing_since or timeutils.utcnow(),
                  "last_build_error": error[:1024]}
        if allowance is not None:
            values["build_allowance"] = allowance(common.as_dict(row))
    elif row.build_failures or row.failing_since:
        values = {"build_failures": 0, "failing_since": None}
    else:
        return common.as_dict(row)
    common.config_changed(ctx.session)
    ctx.session.execute(sa.update(models.Pool)
                        .where(models.Pool.id == pool_id).values(**values))
    return common.as_dict(ctx.session.get(models.Pool, pool_id,
                                          populate_existing=True))


@common.retry_on_deadlock
@engine.main_context_manager.writer
def pool_delete(ctx, ident):
    row = common.get_by_id_or_name(ctx.session, models.Pool, ident,
                                   exception.PoolNotFound, pool=ident)
    desktops = ctx.session.execute(
        sa.select(sa.func.count()).select_from(models.Desktop)
        .where(models.Desktop.pool_id == row.id)).scalar()
    if desktops:
        raise exception.InUse(
            resource="Pool", id=row.id,
            reason="it still has %d desktops; set max_size to 0 and wait "
                   "for them to be deleted" % desktops)
    allocators = ctx.session.execute(
        sa.select(models.Allocator.name)
        .where(models.Allocator.pool_id == row.id)).scalars().all()
    if allocators:
        raise exception.InUse(
            resource="Pool", id=row.id,
            reason="allocators %s point at it" % ", ".join(allocators))
    # A pool's schedules have no meaning without it: they go with it.
    ctx.session.execute(sa.delete(models.Schedule)
                        .where(models.Schedule.pool_id == row.id))
    common.config_changed(ctx.session)
    ctx.session.delete(row)
    common.record(ctx.session, ctx, "admin", "pool.delete", target_type="pool",
                  target_id=row.id, message=row.name)


@engine.main_context_manager.reader
def pool_desktop_counts(ctx, pool_ids=None):
    """Return {pool_id: {state: count}}."""
    stmt = (sa.select(models.Desktop.pool_id, models.Desktop.state,
                      sa.func.count())
            .group_by(models.Desktop.pool_id, models.Desktop.state))
    if pool_ids is not None:
        stmt = stmt.where(models.Desktop.pool_id.in_(list(pool_ids)))
    counts = {}
    for pool_id, state, count in ctx.session.execute(stmt):
        counts.setdefault(pool_id, {})[state] = count
    return counts
