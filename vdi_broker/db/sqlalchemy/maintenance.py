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

"""Maintenance windows' storage, and the pools' drain time.

Whether a window is open is worked out by the conductor
(conductor/maintenance.py, pure functions over these records and a
clock); this module stores the windows, announces each opening once
(:func:`window_announce`: a compare-and-swap on ``announced_start``) and
sets the pools' ``drain_until`` that the login path reads.
"""

from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

__all__ = ("window_create", "window_get", "window_list", "window_delete",
           "window_announce", "pools_drain", "bound_users")

main_context_manager = engine.main_context_manager

_WINDOWS = models.MaintenanceWindow.__table__
_POOLS = models.Pool.__table__


def _row(session, ident):
    return common.get_by_id_or_name(
        session, models.MaintenanceWindow, ident,
        exception.MaintenanceWindowNotFound, window=ident)


@common.translate_duplicates("maintenance window")
@main_context_manager.writer
def window_create(ctx, values):
    values = dict(values)
    values.setdefault("id", uuidutils.generate_uuid())
    if values.get("pool_id"):
        pool = common.get_by_id_or_name(
            ctx.session, models.Pool, values["pool_id"],
            exception.PoolNotFound, pool=values["pool_id"])
        values["pool_id"] = pool.id
    row = models.MaintenanceWindow(**values)
    ctx.session.add(row)
    ctx.session.flush()
    common.record(ctx.session, ctx, "admin", "maintenance_window.create",
                  target_type="maintenance_window", target_id=row.id,
                  pool_id=row.pool_id, message=row.name)
    return common.as_dict(row)


@main_context_manager.reader
def window_get(ctx, ident):
    return common.as_dict(_row(ctx.session, ident))


@main_context_manager.reader
def window_list(ctx, filters=None, limit=None, marker=None,
                sort_key="name", sort_dir="asc"):
    return common.list_records(ctx.session, models.MaintenanceWindow,
                               exception.MaintenanceWindowNotFound, "window",
                               filters, limit, marker, sort_key, sort_dir)


@main_context_manager.writer
def window_delete(ctx, ident):
    row = _row(ctx.session, ident)
    ctx.session.delete(row)
    common.record(ctx.session, ctx, "admin", "maintenance_window.delete",
                  target_type="maintenance_window", target_id=row.id,
                  pool_id=row.pool_id, message=row.name)


@common.retry_on_conflict
@main_context_manager.writer
def window_announce(ctx, window_id, start, events=()):
    """Announce the opening at ``start`` of a window, once.

    A compare-and-swap on ``announced_start``: of conductors announcing
    the same opening one only does, and writes ``events`` (dicts of
    event columns) with it. Returns True if this call announced it.
    """
    done = ctx.session.execute(
        sa.update(_WINDOWS).where(
            _WINDOWS.c.id == window_id,
            sa.or_(_WINDOWS.c.announced_start.is_(None),
                   _WINDOWS.c.announced_start != start))
        .values(announced_start=start))
    if done.rowcount != 1:
        return False
    for event in events:
        event = dict(event)
        common.record(ctx.session, ctx, event.pop("kind", "pool"),
                      event.pop("action"), **event)
    return True


@common.retry_on_deadlock
@main_context_manager.writer
def pools_drain(ctx, pool_ids, until):
    """Set the pools' ``drain_until`` (no logins before then)."""
    if not pool_ids:
        return 0
    changed = 0
    for part in common.chunks(sorted(pool_ids)):
        changed += ctx.session.execute(
            sa.update(_POOLS).where(
                _POOLS.c.id.in_(part),
                sa.or_(_POOLS.c.drain_until.is_(None),
                       _POOLS.c.drain_until != until))
            .values(drain_until=until)).rowcount
    if changed:
        common.config_changed(ctx.session)
    return changed


@main_context_manager.reader
def bound_users(ctx, pool_ids):
    """{pool_id: sorted user names bound to or using its desktops}."""
    found = {}
    for part in common.chunks(sorted(pool_ids)):
        for pool_id, username in ctx.session.execute(
                sa.select(models.Binding.pool_id, models.Binding.key)
                .where(models.Binding.pool_id.in_(part),
                       models.Binding.kind == "user")):
            found.setdefault(pool_id, set()).add(username)
        for pool_id, username in ctx.session.execute(
                sa.select(models.Desktop.pool_id,
                          models.Desktop.assigned_user)
                .where(models.Desktop.pool_id.in_(part),
                       models.Desktop.state == models.ASSIGNED,
                       models.Desktop.assigned_user.is_not(None))):
            found.setdefault(pool_id, set()).add(username)
    return {pool_id: sorted(users) for pool_id, users in found.items()}
