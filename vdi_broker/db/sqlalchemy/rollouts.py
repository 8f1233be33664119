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

"""Image roll-outs' storage: roll-outs, the desktops they rebuild.

A roll-out is created in one transaction that locks its pool's row,
checks that no other roll-out of the pool is open, and sets the pool's
``image`` to the new one: from then on every new desktop, every rebuild
and every release that rebuilds uses it. The conductor keeping the pool
(conductor/rollouts.py) then rebuilds the desktops whose ``image`` is not
the roll-out's target: :func:`rollout_rebuild` moves ready ones to
releasing (``release:rebuild``, queued in the boot queue) and queues an
in-place rebuild of assigned ones nobody works on, each a compare-and-swap
on the desktop (a login that takes the desktop first wins), and records
one ``rollout_desktops`` row per rebuild; :func:`rollout_settle` ends
those rows (done: ready or assigned on the target image; failed: in
error, deleted, or quarantined).
"""

import math

from oslo_utils import timeutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker import states

__all__ = ("rollout_create", "rollout_get", "rollout_list",
           "rollout_action", "rollout_update", "rollouts_active",
           "rollout_rebuild", "rollout_settle", "rollout_desktop_list")

main_context_manager = engine.main_context_manager

_ROLLOUTS = models.Rollout.__table__
_ROWS = models.RolloutDesktop.__table__
_DESKTOPS = models.Desktop.__table__
_POOLS = models.Pool.__table__
_SESSIONS = models.ClientSession.__table__

# Desktops that count in a roll-out's progress (deleting ones are gone,
# error ones are being replaced).
_LIVE = (models.BUILDING, models.READY, models.ASSIGNED, models.RELEASING,
         models.QUARANTINED)
REASON_LENGTH = 1024


def _reason(text):
    return text[:REASON_LENGTH] if text else text


def _target_image(rollout):
    """The image a roll-out moves its pool to (the old one on rollback)."""
    if rollout["phase"] == "rollback":
        return rollout["previous_image"]
    return rollout["image"]


def _progress(session, rollout):
    """Counts of the pool's desktops and of the roll-out's rebuilds."""
    image = _target_image(rollout)
    counts = {"total": 0, "old": 0, "new": 0, "old_ready": 0,
              "old_in_use": 0, "old_quarantined": 0, "in_progress": 0,
              "done": 0, "failed": 0}
    for state, on_target, count in session.execute(
            sa.select(_DESKTOPS.c.state,
                      sa.func.coalesce(_DESKTOPS.c.image, "") == image,
                      sa.func.count())
            .where(_DESKTOPS.c.pool_id == rollout["pool_id"],
                   _DESKTOPS.c.state.in_(_LIVE))
            .group_by(_DESKTOPS.c.state,
                      sa.func.coalesce(_DESKTOPS.c.image, "") == image)):
        counts["total"] += count
        if on_target:
            counts["new"] += count
        else:
            counts["old"] += count
            if state == models.READY:
                counts["old_ready"] += count
            elif state == models.ASSIGNED:
                counts["old_in_use"] += count
            elif state == models.QUARANTINED:
                counts["old_quarantined"] += count
    for state, count in session.execute(
            sa.select(_ROWS.c.state, sa.func.count())
            .where(_ROWS.c.rollout_id == rollout["id"],
                   _ROWS.c.image == image)
            .group_by(_ROWS.c.state)):
        counts[state] = count
    return counts


def _view(session, row):
    rollout = dict(row)
    rollout["progress"] = _progress(session, rollout)
    rollout["target_image"] = _target_image(rollout)
    return rollout


def _row(session, rollout_id, lock=False):
    stmt = sa.select(_ROLLOUTS).where(_ROLLOUTS.c.id == rollout_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).mappings().first()
    if row is None:
        raise exception.RolloutNotFound(rollout=rollout_id)
    return dict(row)


def _open_rollout(session, pool_id):
    return session.execute(
        sa.select(_ROLLOUTS.c.id).where(
            _ROLLOUTS.c.pool_id == pool_id,
            _ROLLOUTS.c.state.in_(states.ROLLOUT_OPEN))).scalar()


def _set_pool_image(session, pool_id, image, now):
    common.config_changed(session)
    session.execute(
        sa.update(_POOLS).where(_POOLS.c.id == pool_id)
        .values(image=image, revision=_POOLS.c.revision + 1,
                updated_at=now))


@common.retry_on_conflict
@main_context_manager.writer
def rollout_create(ctx, values):
    """Start a roll-out of a pool (by id or name) to ``values["image"]``.

    Conflict when the pool has an open roll-out or runs the image
    already. The canary is ``canary_share`` of the pool's desktops now
    (at least one when the share is not 0).
    """
    session = ctx.session
    now = timeutils.utcnow()
    values = dict(values)
    ident = values.pop("pool")
    pool = common.get_by_id_or_name(
        session, models.Pool, ident, exception.PoolNotFound, pool=ident)
    # Lock the pool's row: roll-outs of one pool are created in turns.
    pool = dict(session.execute(
        sa.select(_POOLS).where(_POOLS.c.id == pool.id)
        .with_for_update()).mappings().one())
    other = _open_rollout(session, pool["id"])
    if other:
        raise exception.Conflict(
            reason="pool %s has an open roll-out already (%s); pause, "
                   "finish or roll it back first" % (pool["name"], other))
    if values["image"] == pool["image"]:
        raise exception.Conflict(
            reason="pool %s runs image %s already" % (pool["name"],
                                                      pool["image"]))
    size = session.execute(
        sa.select(sa.func.count()).select_from(_DESKTOPS).where(
            _DESKTOPS.c.pool_id == pool["id"],
            _DESKTOPS.c.state.in_(_LIVE))).scalar()
    share = values.get("canary_share", 0.1)
    canary = int(math.ceil(share * size)) if share else 0
    if share and not canary:
        canary = 1
    row = dict(values, pool_id=pool["id"], previous_image=pool["image"],
               state=states.ROLLOUT_RUNNING,
               phase=(states.ROLLOUT_CANARY if canary
                      else states.ROLLOUT_WAVES),
               canary_share=share, canary_size=canary, created_at=now,
               revision=1)
    session.execute(sa.insert(_ROLLOUTS).values(**row))
    _set_pool_image(session, pool["id"], values["image"], now)
    common.record(session, ctx, "admin", "rollout.create",
                  target_type="rollout", target_id=row["id"],
                  pool_id=pool["id"],
                  message="pool %s: roll-out from image %s to %s (canary "
                          "%d of %d desktops, waves of %d)" % (
                              pool["name"], pool["image"], values["image"],
                              canary, size, row["wave_size"]),
                  detail={"image": values["image"],
                          "previous_image": pool["image"]})
    return _view(session, _row(session, row["id"]))


@main_context_manager.reader
def rollout_get(ctx, rollout_id):
    return _view(ctx.session, _row(ctx.session, rollout_id))


@main_context_manager.reader
def rollout_list(ctx, filters=None, limit=None, marker=None,
                 sort_key="created_at", sort_dir="desc"):
    rows = common.paginate(
        ctx.session, models.Rollout, filters, limit, marker, sort_key,
        sort_dir, lambda: exception.RolloutNotFound(rollout=marker))
    return [_view(ctx.session, r) for r in rows]


@main_context_manager.reader
def rollout_desktop_list(ctx, rollout_id, state=None):
    _row(ctx.session, rollout_id)
    stmt = sa.select(_ROWS).where(_ROWS.c.rollout_id == rollout_id)
    if state:
        stmt = stmt.where(_ROWS.c.state == state)
    return [dict(r) for r in
            ctx.session.execute(stmt.order_by(_ROWS.c.id)).mappings()]


@main_context_manager.reader
def rollouts_active(ctx, pool_ids=None):
    """The running and rolling-back roll-outs (of ``pool_ids``)."""
    stmt = sa.select(_ROLLOUTS).where(
        _ROLLOUTS.c.state.in_(states.ROLLOUT_ACTIVE))
    if pool_ids is not None:
        stmt = stmt.where(_ROLLOUTS.c.pool_id.in_(list(pool_ids)))
    return [_view(ctx.session, r) for r in
            ctx.session.execute(stmt.order_by(_ROLLOUTS.c.created_at))
            .mappings()]


# What an operator's action may start from, and where it goes.
_FROM = {
    "pause": (states.ROLLOUT_RUNNING, states.ROLLOUT_ROLLING_BACK),
    "resume": (states.ROLLOUT_PAUSED,),
    "rollback": (states.ROLLOUT_RUNNING, states.ROLLOUT_PAUSED,
                 states.ROLLOUT_COMPLETED),
}


@common.retry_on_conflict
@main_context_manager.writer
def rollout_action(ctx, rollout_id, action, reason=None, kind="admin"):
    """Pause, resume or roll back a roll-out (Conflict if it cannot).

    ``kind``: the event's kind (``admin`` for an operator, ``pool`` for
    the conductor's health gate). A rollback sets the pool's image back
    to the previous one and rebuilds the desktops on the new one.
    """
    session = ctx.session
    now = timeutils.utcnow()
    rollout = _row(session, rollout_id, lock=True)
    if rollout["state"] not in _FROM[action]:
        raise exception.Conflict(
            reason="roll-out %s is %s: it cannot %s" % (
                rollout_id, rollout["state"], action))
    values = {"updated_at": now, "revision": rollout["revision"] + 1}
    if action == "pause":
        values.update(state=states.ROLLOUT_PAUSED,
                      status_reason=_reason(reason or "paused by %s" % (
                          getattr(ctx, "user_id", None) or "an operator")))
    elif action == "resume":
        values.update(state=(states.ROLLOUT_ROLLING_BACK
                             if rollout["phase"] == "rollback"
                             else states.ROLLOUT_RUNNING),
                      status_reason=None)
        if rollout["window_id"] and session.execute(
                sa.select(models.MaintenanceWindow.id).where(
                    models.MaintenanceWindow.id == rollout["window_id"])
        ).first() is None:
            # Its window was deleted: it goes on without one.
            values["window_id"] = None
    else:
        pool = session.execute(sa.select(_POOLS).where(
            _POOLS.c.id == rollout["pool_id"]).with_for_update()
        ).mappings().one()
        if pool["image"] != rollout["image"]:
            raise exception.Conflict(
                reason="pool %s runs image %s now, not %s: this roll-out "
                       "cannot be rolled back" % (pool["name"],
                                                  pool["image"],
                                                  rollout["image"]))
        if rollout["state"] == states.ROLLOUT_COMPLETED and \
                _open_rollout(session, rollout["pool_id"]):
            raise exception.Conflict(
                reason="pool %s has another open roll-out" % pool["name"])
        values.update(state=states.ROLLOUT_ROLLING_BACK, phase="rollback",
                      finished_at=None, status_reason=_reason(
                          reason or "rolled back by %s" % (
                              getattr(ctx, "user_id", None) or
                              "an operator")))
        _set_pool_image(session, rollout["pool_id"],
                        rollout["previous_image"], now)
    session.execute(sa.update(_ROLLOUTS).where(
        _ROLLOUTS.c.id == rollout_id).values(**values))
    common.record(session, ctx, kind, "rollout.%s" % action,
                  target_type="rollout", target_id=rollout_id,
                  pool_id=rollout["pool_id"],
                  message=_reason("roll-out to image %s: %s%s" % (
                      rollout["image"], action,
                      ": %s" % reason if reason else "")))
    return _view(session, _row(session, rollout_id))


@common.retry_on_conflict
@main_context_manager.writer
def rollout_update(ctx, rollout_id, from_states, values, event=None):
    """The conductor's compare-and-swap on a roll-out's state or phase.

    Returns the roll-out, or None when it is no longer in
    ``from_states``. ``event``: (action, message) of an audit event.
    """
    session = ctx.session
    now = timeutils.utcnow()
    done = session.execute(
        sa.update(_ROLLOUTS).where(_ROLLOUTS.c.id == rollout_id,
                                   _ROLLOUTS.c.state.in_(list(from_states)))
        .values(updated_at=now, revision=_ROLLOUTS.c.revision + 1,
                **values))
    if done.rowcount != 1:
        return None
    rollout = _row(session, rollout_id)
    if event:
        action, message = event
        common.record(session, ctx, "pool", action, target_type="rollout",
                      target_id=rollout_id, pool_id=rollout["pool_id"],
                      message=_reason(message))
    return _view(session, rollout)


def _busy(session, desktop_ids):
    """Desktops of ``desktop_ids`` with an active session."""
    if not desktop_ids:
        return set()
    return set(session.execute(
        sa.select(_SESSIONS.c.desktop_id).where(
            _SESSIONS.c.desktop_id.in_(desktop_ids),
            _SESSIONS.c.state == "active")).scalars())


@common.retry_on_conflict
@main_context_manager.writer
def rollout_rebuild(ctx, rollout_id, ready=0, in_use=0, keep_ready=0):
    """Queue the rebuild of desktops not on the roll-out's image.

    ``ready``: how many ready desktops to move to releasing
    (``release:rebuild``: out of the pool until rebuilt), at most as many
    as leave ``keep_ready`` ready desktops in the pool (counted again
    here, after the logins since the caller counted). ``in_use``:
    how many assigned desktops nobody has a session on (a bound user
    away) to rebuild in place (the conductor asks only in an open
    maintenance window). Each is a compare-and-swap on the desktop: one
    a login took meanwhile is left alone. Returns the desktops queued.
    """
    session = ctx.session
    now = timeutils.utcnow()
    rollout = _row(session, rollout_id)
    if rollout["state"] not in states.ROLLOUT_ACTIVE:
        return []
    image = _target_image(rollout)
    queued = []
    if ready > 0:
        now_ready = session.execute(
            sa.select(sa.func.count()).select_from(_DESKTOPS).where(
                _DESKTOPS.c.pool_id == rollout["pool_id"],
                _DESKTOPS.c.state == models.READY)).scalar()
        ready = min(ready, max(0, now_ready - keep_ready))
    for state, count in ((models.READY, ready), (models.ASSIGNED, in_use)):
        if count <= 0:
            continue
        candidates = session.execute(
            sa.select(_DESKTOPS).where(
                _DESKTOPS.c.pool_id == rollout["pool_id"],
                _DESKTOPS.c.state == state,
                sa.or_(_DESKTOPS.c.image.is_(None),
                       _DESKTOPS.c.image != image),
                _DESKTOPS.c.server_id.is_not(None),
                _DESKTOPS.c.boot_queued_at.is_(None),
                _DESKTOPS.c.boot_started_at.is_(None))
            .order_by(_DESKTOPS.c.created_at, _DESKTOPS.c.id)
            .limit(count * 2 + 10)).mappings().all()
        busy = _busy(session, [d["id"] for d in candidates]) \
            if state == models.ASSIGNED else set()
        taken = 0
        for desktop in candidates:
            if taken >= count:
                break
            if desktop["id"] in busy:
                continue
            values = {"boot_queued_at": now, "boot_started_at": None,
                      "boot_action": "rebuild", "updated_at": now,
                      "generation": _DESKTOPS.c.generation + 1}
            if state == models.READY:
                values.update(state=models.RELEASING,
                              state_reason="release:rebuild")
            done = session.execute(
                sa.update(_DESKTOPS).where(
                    _DESKTOPS.c.id == desktop["id"],
                    _DESKTOPS.c.state == state,
                    _DESKTOPS.c.generation == desktop["generation"])
                .values(**values))
            if done.rowcount != 1:
                continue
            session.execute(sa.insert(_ROWS).values(
                rollout_id=rollout_id, desktop_id=desktop["id"],
                desktop_name=desktop["name"], image=image,
                from_state=state,
                state=states.ROLLOUT_DESKTOP_IN_PROGRESS, started_at=now))
            taken += 1
            queued.append(dict(session.execute(sa.select(_DESKTOPS).where(
                _DESKTOPS.c.id == desktop["id"])).mappings().one()))
    if queued:
        common.record(session, ctx, "pool", "rollout.rebuild",
                      target_type="rollout", target_id=rollout_id,
                      pool_id=rollout["pool_id"],
                      message="%d desktops queued for a rebuild on image "
                              "%s" % (len(queued), image),
                      detail={"desktops": [d["id"] for d in queued]})
    return queued


@common.retry_on_conflict
@main_context_manager.writer
def rollout_settle(ctx, rollout_id):
    """End the roll-out's rebuilds that ended; return what changed.

    Done: the desktop is ready or assigned on the target image with no
    restart left. Failed: it is in error, deleting, quarantined or gone
    (its reason kept). Returns ``{"done": n, "failed": [reasons]}``.
    """
    session = ctx.session
    now = timeutils.utcnow()
    rollout = _row(session, rollout_id)
    result = {"done": 0, "failed": []}
    rows = session.execute(sa.select(_ROWS).where(
        _ROWS.c.rollout_id == rollout_id,
        _ROWS.c.state == states.ROLLOUT_DESKTOP_IN_PROGRESS)).mappings().all()
    if not rows:
        return result
    desktops = {}
    for part in common.chunks([r["desktop_id"] for r in rows]):
        desktops.update((d["id"], dict(d)) for d in session.execute(
            sa.select(_DESKTOPS).where(_DESKTOPS.c.id.in_(part)))
            .mappings())
    for row in rows:
        desktop = desktops.get(row["desktop_id"])
        state, reason = None, None
        if desktop is None:
            state, reason = states.ROLLOUT_DESKTOP_FAILED, "desktop deleted"
        elif desktop["state"] in (models.ERROR, models.DELETING,
                                  models.QUARANTINED):
            state = states.ROLLOUT_DESKTOP_FAILED
            reason = "desktop %s: %s" % (desktop["state"],
                                         desktop["state_reason"] or
                                         desktop["fault_reason"] or "")
        elif desktop["state"] in (models.READY, models.ASSIGNED) and \
                desktop["image"] == row["image"] and \
                desktop["boot_queued_at"] is None and \
                desktop["boot_started_at"] is None:
            state = states.ROLLOUT_DESKTOP_DONE
        if state is None:
            continue
        session.execute(sa.update(_ROWS).where(_ROWS.c.id == row["id"])
                        .values(state=state, reason=_reason(reason),
                                finished_at=now))
        if state == states.ROLLOUT_DESKTOP_DONE:
            result["done"] += 1
        else:
            result["failed"].append("%s: %s" % (row["desktop_name"],
                                                reason))
            common.record(session, ctx, "pool", "rollout.desktop",
                          result="failure", target_type="rollout",
                          target_id=rollout_id,
                          pool_id=rollout["pool_id"],
                          desktop_id=row["desktop_id"],
                          message=_reason("rebuild on image %s failed: %s"
                                          % (row["image"], reason)))
    return result
