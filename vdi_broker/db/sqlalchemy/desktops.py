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

"""Desktops: their life cycle, faults, actions and reconciliation with Nova.

The login's claim of a desktop lives with the allocation transaction,
not here."""

from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker import states

__all__ = (
    "desktop_create",
    "desktop_create_many",
    "desktop_transition_many",
    "desktop_destroy_unbooted",
    "desktop_get",
    "desktop_list",
    "desktop_transition",
    "desktop_destroy",
    "desktops_quarantine",
    "desktop_unquarantine",
    "desktop_retire",
    "desktop_move",
    "reconcile_desktops",
    "desktops_adopt",
    "desktops_mark_vanished",
    "desktops_update_placement",
)


@engine.main_context_manager.writer
def desktop_create(ctx, values):
    values = dict(values)
    values.setdefault("id", uuidutils.generate_uuid())
    desktop = models.Desktop(**values)
    ctx.session.add(desktop)
    ctx.session.flush()
    return common.as_dict(desktop)


@engine.main_context_manager.writer
def desktop_create_many(ctx, rows):
    """Insert desktops in one transaction (a pass's boots)."""
    now = timeutils.utcnow()
    rows = [dict(row, created_at=row.get("created_at") or now)
            for row in rows]
    if rows:
        ctx.session.execute(sa.insert(models.Desktop), rows)


@engine.main_context_manager.writer
def desktop_transition_many(ctx, changes):
    """Many compare-and-swaps (see desktop_transition), one transaction.

    ``changes`` is a list of (desktop_id, from_states, values). Changes
    of the same shape run as one statement with many parameter sets.
    Returns how many desktops moved (the others had left
    ``from_states``).
    """
    table = models.Desktop.__table__
    groups = {}
    for desktop_id, from_states, values in changes:
        key = (tuple(from_states), tuple(sorted(values)))
        params = {"v_" + k: v for k, v in values.items()}
        params["b_id"] = desktop_id
        groups.setdefault(key, []).append(params)
    moved = 0
    now = timeutils.utcnow()
    # psycopg2 cannot count the rows of an executemany: one at a time.
    per_row = not ctx.session.bind.dialect.supports_sane_multi_rowcount
    for (from_states, keys), params in groups.items():
        stmt = (sa.update(table)
                # No IN: its expanding parameter cannot be executemany'd.
                .where(table.c.id == sa.bindparam("b_id"),
                       sa.or_(*[table.c.state == state
                                for state in from_states]))
                .values(updated_at=now, generation=table.c.generation + 1,
                        **{k: sa.bindparam("v_" + k) for k in keys}))
        if per_row:
            moved += sum(ctx.session.execute(stmt, one).rowcount
                         for one in params)
        else:
            moved += ctx.session.execute(stmt, params).rowcount
    return moved


@engine.main_context_manager.writer
def desktop_destroy_unbooted(ctx, desktop_ids):
    """Delete building desktops that never got a server (boots not sent)."""
    if desktop_ids:
        ctx.session.execute(
            sa.delete(models.Desktop)
            .where(models.Desktop.id.in_(list(desktop_ids)),
                   models.Desktop.state == models.BUILDING,
                   models.Desktop.server_id.is_(None)))
        ctx.session.execute(
            sa.delete(models.DesktopAgent)
            .where(models.DesktopAgent.desktop_id.in_(list(desktop_ids)),
                   models.DesktopAgent.desktop_id.not_in(
                       sa.select(models.Desktop.id).scalar_subquery())))


@engine.main_context_manager.reader
def desktop_get(ctx, desktop_id):
    row = ctx.session.get(models.Desktop, desktop_id)
    if row is None:
        raise exception.DesktopNotFound(desktop=desktop_id)
    return common.as_dict(row)


@engine.main_context_manager.reader
def desktop_list(ctx, filters=None, limit=None, marker=None,
                 sort_key="created_at", sort_dir="asc"):
    return common.list_records(ctx.session, models.Desktop,
                               exception.DesktopNotFound, "desktop", filters,
                               limit, marker, sort_key, sort_dir)


@engine.main_context_manager.writer
def desktop_transition(ctx, desktop_id, from_states, values):
    """Compare-and-swap a desktop's state.

    Returns the updated desktop, or None when it was no longer in one of
    ``from_states`` (someone else moved it first).
    """
    values = dict(values, updated_at=timeutils.utcnow(),
                  generation=models.Desktop.generation + 1)
    result = ctx.session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop_id,
               models.Desktop.state.in_(list(from_states)))
        .values(**values))
    if result.rowcount != 1:
        return None
    return common.as_dict(ctx.session.get(models.Desktop, desktop_id,
                                          populate_existing=True))


@engine.main_context_manager.writer
def desktop_destroy(ctx, desktop_id):
    ctx.session.execute(sa.delete(models.Binding)
                        .where(models.Binding.desktop_id == desktop_id))
    # Sessions outlive their desktop (history); one still active ends now.
    # Done here, not left to ON DELETE SET NULL: SQLite does not enforce
    # foreign keys by default.
    ctx.session.execute(
        sa.update(models.ClientSession)
        .where(models.ClientSession.desktop_id == desktop_id,
               models.ClientSession.state == "active")
        .values(state="closed", closed_at=timeutils.utcnow(),
                close_reason="desktop deleted", updated_at=timeutils.utcnow()))
    ctx.session.execute(
        sa.update(models.ClientSession)
        .where(models.ClientSession.desktop_id == desktop_id)
        .values(desktop_id=None))
    ctx.session.execute(sa.delete(models.DesktopAgent)
                        .where(models.DesktopAgent.desktop_id == desktop_id))
    ctx.session.execute(sa.delete(models.Desktop)
                        .where(models.Desktop.id == desktop_id))


# States whose server must exist: a missing one has vanished.
_SERVER_EXPECTED = (models.READY, models.ASSIGNED, models.RELEASING,
                    models.QUARANTINED)


@common.retry_on_conflict
@engine.main_context_manager.writer
def desktops_quarantine(ctx, faults, faulted_by, source="operator",
                        from_states=states.QUARANTINABLE):
    """Take desktops out of service for a fault, in one transaction.

    ``faults`` maps desktop ids to the fault's reason. Each desktop still
    in one of ``from_states`` moves to ``quarantined`` (compare-and-swap
    under a row lock) with fault_reason/faulted_at/faulted_by set; the
    active sessions on it are closed, so that the user's next login gets
    a healthy desktop; an event ``desktop.quarantine`` records each.

    Returns the quarantined desktops (dicts with ``previous_state`` and
    ``binding``: the desktop's binding id or None). Desktops that were in
    another state are left out.
    """
    session = ctx.session
    table = models.Desktop.__table__
    now = timeutils.utcnow()
    allowed = list(from_states)
    rows = []
    # Core statements, not ORM ones: a health check may quarantine
    # hundreds of desktops, and the ORM would match every UPDATE against
    # every object of the session.
    for part in common.chunks(faults):
        rows.extend(session.execute(
            sa.select(table.c.id, table.c.pool_id, table.c.state,
                      table.c.server_id, table.c.assigned_user)
            .where(table.c.id.in_(part), table.c.state.in_(allowed))
            .with_for_update()).all())
    if not rows:
        return []
    session.execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"),
               # (No IN list in an executemany.)
               sa.or_(*(table.c.state == state for state in allowed)))
        .values(state=models.QUARANTINED,
                state_reason=("quarantined by %s" % source)[:1000],
                # A restart it waited for is dropped (an operator's
                # restart of the quarantined desktop queues anew).
                boot_queued_at=None, boot_started_at=None,
                boot_action=None,
                fault_reason=sa.bindparam("b_reason"), faulted_at=now,
                faulted_by=(faulted_by or source)[:255], updated_at=now,
                generation=table.c.generation + 1),
        [{"b_id": row.id, "b_reason": faults[row.id][:1000]}
         for row in rows])
    previous = {row.id: row.state for row in rows}
    ids = list(previous)
    common.close_sessions(session, ids, "desktop quarantined")
    bindings = {}
    for part in common.chunks(ids):
        bindings.update(session.execute(
            sa.select(models.Binding.desktop_id, models.Binding.id)
            .where(models.Binding.desktop_id.in_(part))).all())
    common.add_events(session, ctx, [{
        "action": "desktop.quarantine",
        "kind": {"operator": "admin", "client": "client",
                 "login": "allocation"}.get(source, "health"),
        "actor": faulted_by, "target_id": row.id, "desktop_id": row.id,
        "pool_id": row.pool_id, "username": row.assigned_user,
        "message": faults[row.id][:1000],
        "detail": {"source": source, "from_state": row.state,
                   "server_id": row.server_id,
                   "binding": bindings.get(row.id)}} for row in rows])
    result = []
    for part in common.chunks(ids):
        for row in session.execute(
                sa.select(table).where(table.c.id.in_(part))).mappings():
            desktop = dict(row)
            desktop["previous_state"] = previous[row["id"]]
            desktop["binding"] = bindings.get(row["id"])
            result.append(desktop)
    return result


@common.retry_on_conflict
@engine.main_context_manager.writer
def desktop_unquarantine(ctx, desktop_id, action):
    """Put a quarantined desktop back in service.

    ``action`` is ``pool`` (the pool's release action), ``keep`` (back to
    ready as it is), ``reboot``, ``rebuild`` or ``delete``. A desktop that
    is still bound (no ready desktop could take its binding over) goes
    back to its owner as ``assigned`` whatever the action. Returns (the
    desktop, the action taken).
    """
    session = ctx.session
    row = session.get(models.Desktop, desktop_id, with_for_update=True)
    if row is None:
        raise exception.DesktopNotFound(desktop=desktop_id)
    if row.state != models.QUARANTINED:
        raise exception.DesktopNotAvailable(desktop=desktop_id,
                                            state=row.state,
                                            expected=models.QUARANTINED)
    pool = session.get(models.Pool, row.pool_id)
    if action == "pool":
        action = pool.release_action if pool is not None else "delete"
    binding = session.execute(
        sa.select(models.Binding)
        .where(models.Binding.desktop_id == desktop_id)
    ).scalar_one_or_none()
    values = {"fault_reason": None, "faulted_at": None, "faulted_by": None,
              "state_reason": None, "boot_queued_at": None,
              "boot_started_at": None, "boot_action": None}
    if binding is not None and action != "delete":
        values.update(state=models.ASSIGNED,
                      assigned_user=(binding.key if binding.kind == "user"
                                     else None),
                      assigned_at=timeutils.utcnow())
    elif action == "keep":
        values.update(state=models.READY, assigned_user=None,
                      assigned_at=None)
    elif action == "delete":
        values.update(state=models.DELETING,
                      state_reason="deleted after quarantine")
        if binding is not None:
            # Its owner gets a healthy desktop at the next login.
            session.delete(binding)
    else:
        values.update(state=models.RELEASING, assigned_user=None,
                      assigned_at=None, state_reason="release:%s" % action,
                      boot_queued_at=timeutils.utcnow(), boot_action=action)
    session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop_id,
               models.Desktop.state == models.QUARANTINED)
        .values(updated_at=timeutils.utcnow(),
                generation=models.Desktop.generation + 1, **values))
    common.record(session, ctx, "admin", "desktop.unquarantine",
                  target_type="desktop", target_id=desktop_id,
                  desktop_id=desktop_id, pool_id=row.pool_id,
                  message=row.fault_reason,
                  detail={"action": action, "state": values["state"],
                          "bound": binding is not None})
    session.flush()
    session.expire_all()
    return common.as_dict(session.get(models.Desktop, desktop_id)), action


@common.retry_on_conflict
@engine.main_context_manager.writer
def desktop_retire(ctx, desktop_id, from_states, reason, action):
    """Move a desktop to ``deleting`` and close its sessions.

    Compare-and-swap from ``from_states`` (DesktopNotAvailable when it is
    in another state); its binding, if any, is removed with it later
    (desktop_destroy). Records the event ``action``.
    """
    session = ctx.session
    row = session.get(models.Desktop, desktop_id, with_for_update=True)
    if row is None:
        raise exception.DesktopNotFound(desktop=desktop_id)
    if row.state not in from_states:
        raise exception.DesktopNotAvailable(
            desktop=desktop_id, state=row.state,
            expected=" or ".join(from_states))
    previous = row.state
    session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop_id,
               models.Desktop.state == previous)
        .values(state=models.DELETING, state_reason=reason[:1000],
                updated_at=timeutils.utcnow(),
                generation=models.Desktop.generation + 1))
    closed = common.close_sessions(session, [desktop_id], reason[:255])
    common.record(session, ctx, "admin", action, target_type="desktop",
                  target_id=desktop_id, desktop_id=desktop_id,
                  pool_id=row.pool_id, username=row.assigned_user,
                  message=reason[:1000],
                  detail={"from_state": previous, "sessions_closed": closed})
    session.flush()
    session.expire_all()
    return common.as_dict(session.get(models.Desktop, desktop_id))


@common.retry_on_conflict
@engine.main_context_manager.writer
def desktop_move(ctx, desktop_id, username):
    """Give a user-bound desktop (and its binding) to another user.

    The previous owner's sessions on it are closed; the new owner gets it
    at the next login. Conflict when the desktop is not bound to a user,
    when it already is this user's, or when the user already has a user
    binding (one desktop per user binding).
    """
    session = ctx.session
    row = session.get(models.Desktop, desktop_id, with_for_update=True)
    if row is None:
        raise exception.DesktopNotFound(desktop=desktop_id)
    binding = session.execute(
        sa.select(models.Binding)
        .where(models.Binding.desktop_id == desktop_id)
        .with_for_update()).scalar_one_or_none()
    if row.state != models.ASSIGNED:
        raise exception.DesktopNotAvailable(desktop=desktop_id,
                                            state=row.state,
                                            expected=models.ASSIGNED)
    if binding is None or binding.kind != "user":
        raise exception.Conflict(
            reason="desktop %s has no user binding (%s); a floating "
                   "desktop goes back to its pool at logout, bind it "
                   "first" % (desktop_id, "%s binding" % binding.kind
                              if binding is not None else "unbound"))
    if binding.key == username:
        raise exception.Conflict(reason="desktop %s is already bound to "
                                        "user %s" % (desktop_id, username))
    taken = session.execute(
        sa.select(models.Binding.id)
        .where(models.Binding.kind == "user",
               models.Binding.key == username)).first()
    if taken is not None:
        raise exception.BindingExists(kind="user", key=username)
    previous = binding.key
    session.execute(
        sa.update(models.Binding).where(models.Binding.id == binding.id)
        .values(key=username, updated_at=timeutils.utcnow(),
                revision=models.Binding.revision + 1))
    session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop_id,
               models.Desktop.state == models.ASSIGNED)
        .values(assigned_user=username, assigned_at=timeutils.utcnow(),
                updated_at=timeutils.utcnow(),
                generation=models.Desktop.generation + 1))
    closed = common.close_sessions(session, [desktop_id], "desktop moved")
    common.record(session, ctx, "admin", "desktop.move", target_type="desktop",
                  target_id=desktop_id, desktop_id=desktop_id,
                  pool_id=row.pool_id, username=username,
                  message="from %s to %s" % (previous, username),
                  detail={"from_user": previous, "to_user": username,
                          "binding": binding.id, "sessions_closed": closed})
    session.flush()
    session.expire_all()
    return common.as_dict(session.get(models.Desktop, desktop_id))


@engine.main_context_manager.reader
def reconcile_desktops(ctx, pool_ids=None):
    """The desktops the reconciler compares with the cloud, in one query.

    Plain dicts of the columns it needs, and only those (no ORM objects,
    no timestamps to parse: a reconciler pass may read tens of thousands
    of rows, and decoding them is most of its cost on PyMySQL).
    ``pool_ids`` None: all.
    """
    table = models.Desktop.__table__
    stmt = sa.select(table.c.id, table.c.pool_id, table.c.server_id,
                     table.c.state, table.c.address, table.c.host)
    rows = []
    if pool_ids is None:
        rows = ctx.session.execute(stmt).mappings().all()
    else:
        for part in common.chunks(pool_ids):
            rows.extend(ctx.session.execute(
                stmt.where(table.c.pool_id.in_(part))).mappings().all())
    return [dict(row) for row in rows]


@engine.main_context_manager.writer
def desktops_adopt(ctx, attach, create):
    """Record servers the broker made but forgot.

    ``attach``: [(desktop_id, server_id)] for building desktops whose
    server id was never written (set only where it is still NULL).
    ``create``: new desktop rows (dicts) for servers of a pool that
    wants them. Returns the number of rows attached and created.
    """
    session = ctx.session
    table = models.Desktop.__table__
    now = timeutils.utcnow()
    attached = 0
    if attach:
        session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"),
                   table.c.server_id.is_(None),
                   table.c.state == models.BUILDING)
            .values(server_id=sa.bindparam("b_server"), updated_at=now,
                    generation=table.c.generation + 1),
            [{"b_id": d, "b_server": s} for d, s in attach])
        # (An executemany's row count is not reliable on every driver.)
        for part in common.chunks(attach):
            attached += session.execute(
                sa.select(sa.func.count()).select_from(table)
                .where(table.c.id.in_([d for d, _ in part]),
                       table.c.server_id.in_([s for _, s in part]))
            ).scalar()
    if create:
        session.execute(sa.insert(table), [
            dict({"state": models.BUILDING, "generation": 1,
                  "created_at": now}, **row) for row in create])
    common.add_events(session, ctx, [{
        "kind": "reconcile", "action": "desktop.adopt",
        "actor": "reconciler", "target_id": row["id"],
        "desktop_id": row["id"], "pool_id": row["pool_id"],
        "message": "server %s adopted" % row["server_id"]}
        for row in create] + [{
            "kind": "reconcile", "action": "desktop.adopt",
            "actor": "reconciler", "target_id": desktop_id,
            "desktop_id": desktop_id,
            "message": "server id %s recorded" % server_id}
        for desktop_id, server_id in attach])
    return attached, len(create)


@engine.main_context_manager.writer
def desktops_mark_vanished(ctx, desktop_ids, before):
    """Mark desktops whose server is gone ``error`` ('server vanished').

    Only desktops in a state that needs a server and not changed since
    ``before`` (the time the cloud was listed: a server created since
    then is missing from the listing, not from the cloud). The pool
    manager then replaces them (moving a binding first); their sessions
    are closed. Returns the ids marked.
    """
    session = ctx.session
    table = models.Desktop.__table__
    changed = sa.func.coalesce(table.c.updated_at, table.c.created_at)
    marked = []
    now = timeutils.utcnow()
    for part in common.chunks(desktop_ids):
        rows = session.execute(
            sa.select(table.c.id, table.c.pool_id, table.c.state,
                      table.c.server_id)
            .where(table.c.id.in_(part),
                   table.c.state.in_(list(_SERVER_EXPECTED)),
                   changed < before)
            .with_for_update()).all()
        if not rows:
            continue
        ids = [row.id for row in rows]
        session.execute(
            sa.update(table)
            .where(table.c.id.in_(ids),
                   table.c.state.in_(list(_SERVER_EXPECTED)))
            .values(state=models.ERROR, state_reason="server vanished",
                    updated_at=now, generation=table.c.generation + 1))
        # Nobody can work on them: the users' next logins get others.
        common.close_sessions(session, ids, "server vanished")
        common.add_events(session, ctx, [{
            "kind": "reconcile", "action": "desktop.vanished",
            "result": "failure", "actor": "reconciler",
            "target_id": row.id, "desktop_id": row.id,
            "pool_id": row.pool_id,
            "message": "server %s vanished" % row.server_id,
            "detail": {"from_state": row.state}} for row in rows])
        marked.extend(ids)
    return marked


@engine.main_context_manager.writer
def desktops_update_placement(ctx, changes):
    """Write the address and host the cloud reports, in bulk.

    ``changes``: [{"id", "address", "host"}]. Only rows still holding a
    server are changed; no state change, no generation bump.
    """
    if not changes:
        return 0
    table = models.Desktop.__table__
    stmt = (sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"),
                   table.c.server_id.is_not(None))
            .values(address=sa.bindparam("b_address"),
                    host=sa.bindparam("b_host"),
                    updated_at=timeutils.utcnow()))
    ctx.session.execute(stmt, [
        {"b_id": c["id"], "b_address": c["address"], "b_host": c["host"]}
        for c in changes])
    return len(changes)
