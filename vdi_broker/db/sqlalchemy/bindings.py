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

"""Bindings: which user, seat or thin client keeps which desktop."""

from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import sessions
from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

__all__ = (
    "binding_get",
    "binding_find",
    "binding_list",
    "binding_create",
    "binding_delete",
    "binding_move",
)


@engine.main_context_manager.reader
def binding_get(ctx, binding_id):
    row = ctx.session.get(models.Binding, binding_id)
    if row is None:
        raise exception.BindingNotFound(binding=binding_id)
    return common.as_dict(row)


@engine.main_context_manager.reader
def binding_find(ctx, kind, key):
    row = ctx.session.execute(
        sa.select(models.Binding).where(models.Binding.kind == kind,
                                        models.Binding.key == key)
    ).scalar_one_or_none()
    return common.as_dict(row)


@engine.main_context_manager.reader
def binding_list(ctx, filters=None, limit=None, marker=None,
                 sort_key="created_at", sort_dir="asc"):
    return common.list_records(ctx.session, models.Binding,
                               exception.BindingNotFound, "binding", filters,
                               limit, marker, sort_key, sort_dir)


@engine.main_context_manager.writer
def binding_create(ctx, kind, key, desktop_id):
    """Bind an existing desktop to a user, seat or client (admin action).

    The desktop must be ready (it is taken out of the pool) or already
    assigned to that very user without a binding.
    """
    desktop = ctx.session.get(models.Desktop, desktop_id)
    if desktop is None:
        raise exception.DesktopNotFound(desktop=desktop_id)
    existing = ctx.session.execute(
        sa.select(models.Binding).where(
            sa.or_(sa.and_(models.Binding.kind == kind,
                           models.Binding.key == key),
                   models.Binding.desktop_id == desktop_id))
    ).scalars().first()
    if existing is not None:
        if existing.kind == kind and existing.key == key:
            raise exception.BindingExists(kind=kind, key=key)
        raise exception.Conflict(
            reason="desktop %s is already bound to %s %s" % (
                desktop_id, existing.kind, existing.key))
    assignee = key if kind == "user" else None
    result = ctx.session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop_id,
               sa.or_(models.Desktop.state == models.READY,
                      sa.and_(models.Desktop.state == models.ASSIGNED,
                              models.Desktop.assigned_user == key)))
        .values(state=models.ASSIGNED, assigned_user=assignee,
                assigned_at=timeutils.utcnow(), updated_at=timeutils.utcnow(),
                generation=models.Desktop.generation + 1))
    if result.rowcount != 1:
        raise exception.DesktopNotAvailable(desktop=desktop_id,
                                            state=desktop.state,
                                            expected="ready")
    binding = models.Binding(id=uuidutils.generate_uuid(), kind=kind,
                             key=key, desktop_id=desktop_id,
                             pool_id=desktop.pool_id,
                             created_at=timeutils.utcnow())
    ctx.session.add(binding)
    try:
        ctx.session.flush()
    except db_exc.DBDuplicateEntry:
        raise exception.BindingExists(kind=kind, key=key)
    common.record(ctx.session, ctx, "admin", "binding.create",
                  target_type="binding", target_id=binding.id,
                  desktop_id=desktop_id, pool_id=desktop.pool_id,
                  username=assignee, message="%s %s" % (kind, key))
    return common.as_dict(binding)


@engine.main_context_manager.writer
def binding_delete(ctx, binding_id, release_desktop):
    """Remove a binding, and with ``release_desktop`` release its desktop.

    The release starts in the same transaction, and only when the desktop
    is assigned and no session uses it (whether to release at all is the
    caller's decision: vdi_broker/services/bindings.py).
    """
    row = ctx.session.get(models.Binding, binding_id)
    if row is None:
        raise exception.BindingNotFound(binding=binding_id)
    desktop_id = row.desktop_id
    ctx.session.delete(row)
    desktop = None
    if release_desktop:
        active = ctx.session.execute(
            sa.select(sa.func.count()).select_from(models.ClientSession)
            .where(models.ClientSession.desktop_id == desktop_id,
                   models.ClientSession.state == "active")).scalar()
        if not active:
            desktop = ctx.session.get(models.Desktop, desktop_id)
            if desktop is not None and desktop.state == models.ASSIGNED:
                pool = ctx.session.get(models.Pool, desktop.pool_id)
                sessions._start_release(ctx.session, desktop, pool)
    common.record(ctx.session, ctx, "admin", "binding.delete",
                  target_type="binding", target_id=binding_id,
                  desktop_id=desktop_id, message="%s %s" % (row.kind, row.key))
    return common.as_dict(desktop)


@engine.main_context_manager.writer
def binding_move(ctx, binding_id, desktop_id, expected_revision=None):
    """Move a binding to another desktop of its pool (admin action).

    The target must be ready (or, for a user binding, already assigned
    to that user) and bound to nobody. The desktop left behind goes
    through its pool's release action unless a session still uses it
    (then the logout releases it).
    """
    session = ctx.session
    row = session.execute(
        sa.select(models.Binding).where(models.Binding.id == binding_id)
        .with_for_update()).scalar_one_or_none()
    if row is None:
        raise exception.BindingNotFound(binding=binding_id)
    if expected_revision is not None and row.revision != expected_revision:
        raise exception.Conflict(
            reason="binding %s was changed by someone else (revision %s, "
                   "expected %s)" % (row.id, row.revision,
                                     expected_revision))
    if desktop_id == row.desktop_id:
        return common.as_dict(row)
    target = session.get(models.Desktop, desktop_id)
    if target is None:
        raise exception.DesktopNotFound(desktop=desktop_id)
    if target.pool_id != row.pool_id:
        raise exception.Invalid(
            reason="desktop %s is not in the binding's pool %s" % (
                desktop_id, row.pool_id))
    other = session.execute(
        sa.select(models.Binding)
        .where(models.Binding.desktop_id == desktop_id)).scalars().first()
    if other is not None:
        raise exception.Conflict(
            reason="desktop %s is already bound to %s %s" % (
                desktop_id, other.kind, other.key))
    owner = row.key if row.kind == "user" else None
    claimable = models.Desktop.state == models.READY
    if owner is not None:
        claimable = sa.or_(claimable, sa.and_(
            models.Desktop.state == models.ASSIGNED,
            models.Desktop.assigned_user == owner))
    claimed = session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop_id, claimable)
        .values(state=models.ASSIGNED, assigned_user=owner,
                assigned_at=timeutils.utcnow(), updated_at=timeutils.utcnow(),
                generation=models.Desktop.generation + 1)).rowcount
    if claimed != 1:
        raise exception.DesktopNotAvailable(desktop=desktop_id,
                                            state=target.state,
                                            expected="ready")
    old_id = row.desktop_id
    try:
        session.execute(
            sa.update(models.Binding).where(models.Binding.id == row.id)
            .values(desktop_id=desktop_id, updated_at=timeutils.utcnow(),
                    revision=models.Binding.revision + 1))
    except db_exc.DBDuplicateEntry:
        raise exception.Conflict(reason="desktop %s was bound meanwhile" %
                                 desktop_id)
    release = None
    active = session.execute(
        sa.select(sa.func.count()).select_from(models.ClientSession)
        .where(models.ClientSession.desktop_id == old_id,
               models.ClientSession.state == "active")).scalar()
    old = session.get(models.Desktop, old_id, with_for_update=True)
    if not active and old is not None and old.state == models.ASSIGNED:
        release = sessions._start_release(
            session, old, session.get(models.Pool, old.pool_id))
    common.record(session, ctx, "admin", "binding.update",
                  target_type="binding", target_id=row.id,
                  desktop_id=desktop_id, pool_id=row.pool_id, username=owner,
                  message="%s %s" % (row.kind, row.key),
                  detail={"from_desktop": old_id, "to_desktop": desktop_id,
                          "release": release})
    session.flush()
    session.expire_all()
    return common.as_dict(session.get(models.Binding, row.id))
