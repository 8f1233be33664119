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

"""Incidents of the five-minute rule, and the session move that ends one.

An incident is opened once per desktop fault (a second report of the same
desktop while one is open returns the open one). At its deadline a
session still on the broken desktop moves to a healthy desktop of the
same pool in one transaction: the session keeps its id and token, the
owner's binding follows, the broken desktop goes to error (the pool
manager replaces it).
"""

import datetime

from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

# The login's claim (the allocation transaction's module): used only
# through _claim_desktop and _lock_user below.
from vdi_broker.db.sqlalchemy import allocation
from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker import states

__all__ = (
    "incident_open",
    "incident_get",
    "incident_list",
    "incidents_open",
    "incident_probed",
    "incident_resolve",
    "incident_move_session",
    "agents_silent",
    "agents_display_stopped",
)

_INCIDENTS = models.Incident.__table__
_AGENTS = models.DesktopAgent.__table__
_DESKTOPS = models.Desktop.__table__
_SESSIONS = models.ClientSession.__table__
_WATCHED = (states.READY, states.ASSIGNED)


# -- the claim of a new desktop (the allocation transaction's helpers) -------

def _lock_user(connection, username):
    """Serialize with the user's logins (the allocation's user lock)."""
    allocation._lock_user(connection, username)


def _claim_desktop(connection, pool_id, username, attempts, candidates,
                   exclude):
    """Claim a ready desktop of the pool for ``username`` (or None).

    The login's atomic claim, called from here only: the one place to
    re-point when the allocation transaction moves.
    """
    return allocation._claim_ready(connection, pool_id, username, attempts,
                                   candidates, exclude=exclude)


# -- incidents ----------------------------------------------------------------

@common.retry_on_conflict
@engine.main_context_manager.writer
def incident_open(ctx, desktop_id, kind, reason, fix_time):
    """Open an incident of a desktop, unless one is open already.

    ``fix_time``: seconds to the deadline when the pool sets none.
    Returns (incident, opened): opened is False when one was open.
    """
    session = ctx.session
    desktop = session.get(models.Desktop, desktop_id, with_for_update=True)
    if desktop is None:
        raise exception.DesktopNotFound(desktop=desktop_id)
    current = session.execute(
        sa.select(models.Incident)
        .where(models.Incident.desktop_id == desktop_id,
               models.Incident.state == states.INCIDENT_OPEN)
        .limit(1)).scalar_one_or_none()
    if current is not None:
        return common.as_dict(current), False
    pool = session.get(models.Pool, desktop.pool_id)
    seconds = fix_time if pool is None or pool.fix_time is None \
        else pool.fix_time
    active = session.execute(
        sa.select(models.ClientSession)
        .where(models.ClientSession.desktop_id == desktop_id,
               models.ClientSession.state == states.SESSION_ACTIVE)
        .order_by(models.ClientSession.created_at.desc())
        .limit(1)).scalar_one_or_none()
    now = timeutils.utcnow()
    incident = models.Incident(
        id=uuidutils.generate_uuid(), kind=kind, state=states.INCIDENT_OPEN,
        reason=(reason or kind)[:1024], desktop_id=desktop_id,
        pool_id=desktop.pool_id,
        session_id=active.id if active is not None else None,
        username=active.username if active is not None
        else desktop.assigned_user,
        opened_at=now, deadline=now + datetime.timedelta(seconds=seconds),
        updated_at=now)
    session.add(incident)
    common.record(session, ctx, "incident", "incident.open",
                  actor="vdi-broker", username=incident.username,
                  target_type="incident", target_id=incident.id,
                  desktop_id=desktop_id, pool_id=desktop.pool_id,
                  message=incident.reason,
                  detail={"kind": kind, "fix_time": seconds,
                          "session": incident.session_id})
    session.flush()
    return common.as_dict(incident), True


@engine.main_context_manager.reader
def incident_get(ctx, incident_id):
    row = ctx.session.get(models.Incident, incident_id)
    if row is None:
        raise exception.IncidentNotFound(incident=incident_id)
    return common.as_dict(row)


@engine.main_context_manager.reader
def incident_list(ctx, filters=None, limit=None, marker=None,
                  sort_key="opened_at", sort_dir="desc"):
    return common.list_records(ctx.session, models.Incident,
                               exception.IncidentNotFound, "incident",
                               filters, limit, marker, sort_key, sort_dir)


@engine.main_context_manager.reader
def incidents_open(ctx, pool_ids=None):
    """Open incidents, with their desktop's state and agent's last report.

    Each: the incident's fields, plus ``desktop_state``, ``address``,
    ``server_id``, ``last_report_at``, ``display``,
    ``connection_state`` and ``connection_since`` (None without agent).
    """
    stmt = (sa.select(_INCIDENTS, _DESKTOPS.c.state.label("desktop_state"),
                      _DESKTOPS.c.address, _DESKTOPS.c.server_id,
                      _AGENTS.c.last_report_at, _AGENTS.c.display,
                      _AGENTS.c.connection_state,
                      _AGENTS.c.connection_since)
            .select_from(_INCIDENTS)
            .outerjoin(_DESKTOPS, _DESKTOPS.c.id == _INCIDENTS.c.desktop_id)
            .outerjoin(_AGENTS, _AGENTS.c.desktop_id ==
                       _INCIDENTS.c.desktop_id)
            .where(_INCIDENTS.c.state == states.INCIDENT_OPEN)
            .order_by(_INCIDENTS.c.deadline))
    if pool_ids is not None:
        stmt = stmt.where(_INCIDENTS.c.pool_id.in_(list(pool_ids)))
    return [dict(row) for row in ctx.session.execute(stmt).mappings()]


@engine.main_context_manager.writer
def incident_probed(ctx, incident_id, result):
    """Note a probe's result (None: healthy) on an open incident."""
    ctx.session.execute(
        sa.update(models.Incident)
        .where(models.Incident.id == incident_id,
               models.Incident.state == states.INCIDENT_OPEN)
        .values(probed_at=timeutils.utcnow(),
                probe_result=(result or "healthy")[:1024],
                updated_at=timeutils.utcnow()))


def _end(session, ctx, incident, state, message, new_desktop_id=None,
         timed=True):
    now = timeutils.utcnow()
    seconds = (now - incident.opened_at).total_seconds() if timed else None
    result = session.execute(
        sa.update(models.Incident)
        .where(models.Incident.id == incident.id,
               models.Incident.state == states.INCIDENT_OPEN)
        .values(state=state, resolved_at=now, seconds=seconds,
                new_desktop_id=new_desktop_id, updated_at=now))
    if result.rowcount != 1:
        return None
    common.record(session, ctx, "incident", "incident." + state,
                  actor="vdi-broker", username=incident.username,
                  target_type="incident", target_id=incident.id,
                  desktop_id=incident.desktop_id, pool_id=incident.pool_id,
                  message=message[:1024],
                  detail={"kind": incident.kind, "seconds": seconds,
                          "new_desktop": new_desktop_id})
    session.flush()
    return common.as_dict(session.get(models.Incident, incident.id,
                                      populate_existing=True))


@engine.main_context_manager.writer
def incident_resolve(ctx, incident_id, state, message):
    """End an open incident: recovered (timed) or closed (not).

    Returns the incident, or None when it was not open any more.
    """
    incident = ctx.session.get(models.Incident, incident_id)
    if incident is None:
        raise exception.IncidentNotFound(incident=incident_id)
    return _end(ctx.session, ctx, incident, state, message,
                timed=(state == states.INCIDENT_RECOVERED))


@common.retry_on_conflict
@engine.main_context_manager.writer
def incident_move_session(ctx, incident_id, attempts=8, candidates=16):
    """Move the session of an incident's desktop to a healthy desktop.

    In one transaction: a ready desktop of the session's pool is claimed
    for the user; the session (same id, same token) and the owner's
    binding point to it; the broken desktop goes to error; the incident
    ends as moved. Returns {"incident", "session", "desktop"} or None
    when the pool has no ready desktop now (the incident stays open).
    A session that ended meanwhile closes the incident (desktop None).
    """
    session = ctx.session
    incident = session.get(models.Incident, incident_id)
    if incident is None:
        raise exception.IncidentNotFound(incident=incident_id)
    if incident.state != states.INCIDENT_OPEN:
        return {"incident": common.as_dict(incident), "session": None,
                "desktop": None}
    connection = session.connection()
    active = None
    if incident.session_id:
        active = session.get(models.ClientSession, incident.session_id)
    if active is None or active.state != states.SESSION_ACTIVE or \
            active.desktop_id != incident.desktop_id:
        return {"incident": _end(session, ctx, incident,
                                 states.INCIDENT_CLOSED,
                                 "the session ended before the fix time",
                                 timed=False),
                "session": None, "desktop": None}
    # The user's logins and this move take turns; then the locks in the
    # order a login takes them: the desktop, its sessions.
    _lock_user(connection, active.username)
    old = session.get(models.Desktop, incident.desktop_id,
                      with_for_update=True, populate_existing=True)
    active = session.get(models.ClientSession, active.id,
                         with_for_update=True, populate_existing=True)
    if active.state != states.SESSION_ACTIVE or old is None:
        return {"incident": _end(session, ctx, incident,
                                 states.INCIDENT_CLOSED,
                                 "the session ended before the fix time",
                                 timed=False),
                "session": None, "desktop": None}
    new = _claim_desktop(connection, active.pool_id, active.username,
                         attempts, candidates, exclude=(old.id,))
    if new is None:
        return None
    now = timeutils.utcnow()
    session.execute(
        sa.update(models.ClientSession)
        .where(models.ClientSession.id == active.id)
        .values(desktop_id=new.id, connection_state=None,
                connection_since=None, idle_seconds=None, updated_at=now))
    binding = session.execute(
        sa.select(models.Binding)
        .where(models.Binding.desktop_id == old.id)
        .with_for_update()).scalar_one_or_none()
    if binding is not None:
        session.execute(
            sa.update(models.Binding).where(models.Binding.id == binding.id)
            .values(desktop_id=new.id, updated_at=now,
                    revision=models.Binding.revision + 1))
    session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == old.id,
               models.Desktop.state.in_(_WATCHED))
        .values(state=states.ERROR, assigned_user=None, assigned_at=None,
                state_reason=("incident %s (%s): not healthy within the "
                              "fix time, session moved to %s" % (
                                  incident.id, incident.kind,
                                  new.id))[:1024],
                updated_at=now, generation=models.Desktop.generation + 1))
    common.record(session, ctx, "allocation", "session.move",
                  actor="vdi-broker", username=active.username,
                  target_type="session", target_id=active.id,
                  desktop_id=new.id, pool_id=active.pool_id,
                  message="desktop %s not healthy within the fix time" %
                  old.id,
                  detail={"from_desktop": old.id, "incident": incident.id,
                          "binding": binding.id if binding else None})
    ended = _end(session, ctx, incident, states.INCIDENT_MOVED,
                 "session %s moved to desktop %s" % (active.id, new.id),
                 new_desktop_id=new.id)
    return {"incident": ended,
            "session": common.as_dict(session.get(
                models.ClientSession, active.id, populate_existing=True)),
            "desktop": common.as_dict(session.get(
                models.Desktop, new.id, populate_existing=True))}


# -- what opens incidents -----------------------------------------------------

def _no_open_incident():
    return ~sa.exists().where(
        _INCIDENTS.c.desktop_id == _DESKTOPS.c.id,
        _INCIDENTS.c.state == states.INCIDENT_OPEN)


@engine.main_context_manager.reader
def agents_silent(ctx, cutoff, pool_ids=None, limit=500):
    """Ready or assigned desktops whose registered agent fell silent.

    Silent: no report since ``cutoff``, and the desktop has been ready
    since before it (a desktop just back from a restart gets its agent's
    time to register). Without an open incident. Returns [{"id",
    "pool_id", "last_report_at"}].
    """
    stmt = (sa.select(_DESKTOPS.c.id, _DESKTOPS.c.pool_id,
                      _AGENTS.c.last_report_at)
            .join(_AGENTS, _AGENTS.c.desktop_id == _DESKTOPS.c.id)
            .where(_DESKTOPS.c.state.in_(_WATCHED),
                   _AGENTS.c.registered_at.is_not(None),
                   _AGENTS.c.last_report_at < cutoff,
                   sa.or_(_DESKTOPS.c.ready_at.is_(None),
                          _DESKTOPS.c.ready_at < cutoff),
                   _no_open_incident())
            .limit(limit))
    if pool_ids is not None:
        stmt = stmt.where(_DESKTOPS.c.pool_id.in_(list(pool_ids)))
    return [dict(row) for row in ctx.session.execute(stmt).mappings()]


@engine.main_context_manager.reader
def agents_display_stopped(ctx, pool_ids=None, limit=500):
    """Ready or assigned desktops whose agent says the display stopped."""
    stmt = (sa.select(_DESKTOPS.c.id, _DESKTOPS.c.pool_id,
                      _AGENTS.c.last_report_at)
            .join(_AGENTS, _AGENTS.c.desktop_id == _DESKTOPS.c.id)
            .where(_DESKTOPS.c.state.in_(_WATCHED),
                   _AGENTS.c.display == states.DISPLAY_STOPPED,
                   _no_open_incident())
            .limit(limit))
    if pool_ids is not None:
        stmt = stmt.where(_DESKTOPS.c.pool_id.in_(list(pool_ids)))
    return [dict(row) for row in ctx.session.execute(stmt).mappings()]
