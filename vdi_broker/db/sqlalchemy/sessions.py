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

"""Sessions after the login: undo, logout, release, reads.

Split from allocation.py (the login's transaction): a login that could
not connect is undone here (login_undo), a logout closes its session and
starts the release of a floating desktop nobody uses any more
(session_close), and the admin API reads sessions. The lock order is
login_claim's: the desktop, then its sessions.
"""

import functools
import hashlib

from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import allocation
from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

__all__ = (
    "login_undo",
    "session_close",
    "session_get",
    "session_list",
    "sessions_expired",
)

main_context_manager = engine.main_context_manager
utcnow = timeutils.utcnow
_retry_on_conflict = common.retry_on_conflict
_dict = common.as_dict
_paginate = common.paginate
_record = common.record
SUPERSEDED = allocation.SUPERSEDED


def _dead_token_hash(session_id):
    """A token hash no token has: a closed login's token slot is free.

    (Token hashes are unique; the token of an undone login was never
    handed out and its next try reuses it.)
    """
    return hashlib.sha256(("undone:%s:%s" % (
        session_id, uuidutils.generate_uuid())).encode()).hexdigest()


@_retry_on_conflict
@main_context_manager.writer
def login_undo(ctx, session_id, reason, give_back, claimed,
               binding_id=None, detail=None):
    """Undo a login whose connection failed after its claim (R7).

    db.login_claim committed the claim; the console lookup that followed
    failed, and the thin client gets no session. In one transaction:

    * the session is closed with ``reason`` and its token hash replaced
      (the token was never handed out);
    * with ``give_back`` (the desktop is not at fault): a desktop the
      login took from ready (``claimed``) goes back to ready, without the
      binding ``binding_id`` the login created for it; a desktop the
      login reused gets back the sessions it superseded, or, floating
      and used by nobody, goes through its pool's release action as at a
      logout. Without ``give_back`` the desktop is left as it is (the
      caller quarantines it);
    * the login's event, written by the claim's transaction, becomes a
      failure with ``reason`` (``detail`` added to its detail): one
      event per login, with its outcome.

    Returns {"session", "desktop", "outcome"}: outcome is "ready",
    "restored" (superseded sessions active again), "kept", or the
    release's state ("releasing", "deleting").
    """
    session = ctx.session
    row = session.get(models.ClientSession, session_id)
    if row is None:
        raise exception.SessionNotFound(session=session_id)
    # Locks in the order login_claim takes them: the desktop, its
    # sessions.
    desktop = None
    if row.desktop_id:
        desktop = session.get(models.Desktop, row.desktop_id,
                              with_for_update=True, populate_existing=True)
    row = session.get(models.ClientSession, session_id,
                      with_for_update=True, populate_existing=True)
    now = utcnow()
    session.execute(
        sa.update(models.ClientSession)
        .where(models.ClientSession.id == session_id)
        .values(state="closed", closed_at=row.closed_at or now,
                close_reason=reason[:255],
                token_hash=_dead_token_hash(session_id), updated_at=now))
    outcome = "kept"
    ours = (give_back and desktop is not None and
            desktop.state == models.ASSIGNED and
            desktop.assigned_user == row.username)
    if ours and claimed:
        if binding_id:
            session.execute(
                sa.delete(models.Binding)
                .where(models.Binding.id == binding_id,
                       models.Binding.desktop_id == desktop.id))
        others = _active_sessions(session, desktop.id)
        bound = _bound(session, desktop.id)
        if not others and not bound:
            session.execute(
                sa.update(models.Desktop)
                .where(models.Desktop.id == desktop.id,
                       models.Desktop.state == models.ASSIGNED)
                .values(state=models.READY, assigned_user=None,
                        assigned_at=None, updated_at=now,
                        generation=models.Desktop.generation + 1))
            outcome = models.READY
    elif ours:
        superseded = (
            models.ClientSession.desktop_id == desktop.id,
            models.ClientSession.state == "closed",
            models.ClientSession.close_reason == SUPERSEDED,
            models.ClientSession.closed_at == row.created_at,
            models.ClientSession.expires_at > now)
        users = session.execute(
            sa.select(models.ClientSession.username)
            .where(*superseded)).scalars().all()
        if users:
            session.execute(
                sa.update(models.ClientSession).where(*superseded)
                .values(state="active", closed_at=None, close_reason=None,
                        updated_at=now))
            if users[0] != desktop.assigned_user:
                # A seat or client binding: the desktop goes back to
                # whoever used it before.
                session.execute(
                    sa.update(models.Desktop)
                    .where(models.Desktop.id == desktop.id)
                    .values(assigned_user=users[0], updated_at=now,
                            generation=models.Desktop.generation + 1))
            outcome = "restored"
        elif not _active_sessions(session, desktop.id) and \
                not _bound(session, desktop.id):
            outcome = _start_release(session, desktop,
                                     session.get(models.Pool,
                                                 desktop.pool_id))
    _fail_login_event(session, ctx, row, reason,
                      dict(detail or {}, undone=outcome))
    session.flush()
    session.expire_all()
    return {"session": _dict(session.get(models.ClientSession, row.id)),
            "desktop": _dict(session.get(models.Desktop, row.desktop_id))
            if row.desktop_id else None,
            "outcome": outcome}


def _active_sessions(session, desktop_id):
    return session.execute(
        sa.select(sa.func.count()).select_from(models.ClientSession)
        .where(models.ClientSession.desktop_id == desktop_id,
               models.ClientSession.state == "active")).scalar()


def _bound(session, desktop_id):
    return session.execute(
        sa.select(models.Binding.id)
        .where(models.Binding.desktop_id == desktop_id)).first() is not None


def _fail_login_event(session, ctx, row, reason, detail):
    """Turn the login event of session ``row`` into a failure."""
    event = session.execute(
        sa.select(models.Event)
        .where(models.Event.target_type == "session",
               models.Event.target_id == row.id,
               models.Event.action == "login")
        .order_by(models.Event.id).limit(1)).scalar_one_or_none()
    if event is None:
        _record(session, ctx, "allocation", "login", result="failure",
                actor=row.username, username=row.username,
                target_type="session", target_id=row.id,
                desktop_id=row.desktop_id, pool_id=row.pool_id,
                message=reason[:1024], detail=detail)
        return
    session.execute(
        sa.update(models.Event).where(models.Event.id == event.id)
        .values(result="failure", message=reason[:1024],
                detail=dict(event.detail or {}, **detail)))


def _start_release(session, desktop, pool):
    """Move a desktop that nobody uses any more into its release action."""
    action = pool.release_action if pool is not None else "delete"
    action = _rollout_release_action(action, desktop, pool)
    if action == "keep":
        new_state, values = models.READY, {}
    elif action == "delete":
        new_state, values = models.DELETING, {}
    else:
        # The restart waits for a boot slot (conductor/boot_queue.py).
        new_state, values = models.RELEASING, {
            "state_reason": "release:%s" % action,
            "boot_queued_at": utcnow(), "boot_started_at": None,
            "boot_action": action}
    session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop.id,
               models.Desktop.state == models.ASSIGNED)
        .values(state=new_state, assigned_user=None, assigned_at=None,
                updated_at=utcnow(),
                generation=models.Desktop.generation + 1, **values))
    return new_state


def _rollout_release_action(action, desktop, pool):
    """A desktop left on another image than its pool's is rebuilt.

    (An image roll-out: the desktop its user leaves goes to the new
    image; see db/sqlalchemy/rollouts.py.) Deleted ones stay deleted.
    """
    if action in ("keep", "reboot") and pool is not None and \
            desktop.image is not None and desktop.image != pool.image:
        return "rebuild"
    return action


@_retry_on_conflict
@main_context_manager.writer
def session_close(ctx, session_id, reason):
    """Close a session; a floating desktop nobody uses is released.

    Returns (session, desktop, release_state) where release_state is None
    for bound desktops (they are kept).
    """
    session = ctx.session
    row = session.get(models.ClientSession, session_id)
    if row is None:
        raise exception.SessionNotFound(session=session_id)
    if row.state != "active":
        return _dict(row), None, None
    # A login taking this session over (superseding it) and this logout
    # take turns, so that the logout never releases a desktop the new
    # session has just been given. Locks in the order login_claim takes
    # them: the desktop, then its sessions.
    session.get(models.Desktop, row.desktop_id, with_for_update=True)
    row = session.get(models.ClientSession, session_id,
                      with_for_update=True, populate_existing=True)
    if row.state != "active":
        return _dict(row), None, None
    session.execute(
        sa.update(models.ClientSession)
        .where(models.ClientSession.id == row.id)
        .values(state="closed", closed_at=utcnow(), close_reason=reason,
                updated_at=utcnow()))
    desktop = session.get(models.Desktop, row.desktop_id,
                          with_for_update=True, populate_existing=True)
    release_state = None
    bound = session.execute(
        sa.select(models.Binding.id)
        .where(models.Binding.desktop_id == row.desktop_id)
    ).first() is not None
    others = session.execute(
        sa.select(sa.func.count()).select_from(models.ClientSession)
        .where(models.ClientSession.desktop_id == row.desktop_id,
               models.ClientSession.state == "active",
               models.ClientSession.id != row.id)).scalar()
    if desktop is not None and not bound and not others and \
            desktop.state == models.ASSIGNED and \
            desktop.assigned_user == row.username:
        pool = session.get(models.Pool, desktop.pool_id)
        release_state = _start_release(session, desktop, pool)
    _record(session, ctx, "allocation", "logout", username=row.username,
            actor=getattr(ctx, "user_id", None) or row.username,
            target_type="session", target_id=row.id,
            desktop_id=row.desktop_id, pool_id=row.pool_id,
            detail={"reason": reason, "release": release_state})
    session.flush()
    session.expire_all()
    return (_dict(session.get(models.ClientSession, row.id)),
            _dict(session.get(models.Desktop, row.desktop_id)),
            release_state)


@main_context_manager.reader
def session_get(ctx, session_id):
    row = ctx.session.get(models.ClientSession, session_id)
    if row is None:
        raise exception.SessionNotFound(session=session_id)
    return _dict(row)


@main_context_manager.reader
def session_list(ctx, filters=None, limit=None, marker=None,
                 sort_key="created_at", sort_dir="asc"):
    return _paginate(ctx.session, models.ClientSession, filters, limit, marker,
                     sort_key, sort_dir,
                     functools.partial(exception.SessionNotFound,
                                       session=marker))


@main_context_manager.reader
def sessions_expired(ctx, now, limit=500):
    stmt = (sa.select(models.ClientSession.id)
            .where(models.ClientSession.state == "active",
                   models.ClientSession.expires_at < now)
            .limit(limit))
    return ctx.session.execute(stmt).scalars().all()
