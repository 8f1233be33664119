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

"""Guest agents: their secrets, registrations, reports; session state.

An agent proves its desktop with the secret the broker put into the
server's metadata at boot; only the secret's SHA-256 is stored. A report
is one UPDATE of the agent's row (the secret and the rate limit are in
its WHERE clause) and one of the desktop's active session: cheap enough
for ten thousand desktops every 30 seconds.
"""

import datetime

from oslo_utils import timeutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker.db.sqlalchemy import multirow
from vdi_broker import exception
from vdi_broker import session_state
from vdi_broker import states

__all__ = (
    "agent_secret_set",
    "agent_get",
    "agent_register",
    "agent_report",
    "agent_reports_write",
    "agent_secrets",
    "agents_registered",
    "sessions_timed_out",
    "sessions_kept_connected",
    "session_connections",
)

_AGENTS = models.DesktopAgent.__table__
_SESSIONS = models.ClientSession.__table__

# What a report may set on the agent's row.
REPORT_FIELDS = ("connection_state", "display", "username", "idle_seconds",
                 "cpu_percent", "memory_percent", "disk_free_mb")
REGISTER_FIELDS = ("version", "os", "hostname")


@engine.main_context_manager.writer
def agent_secret_set(ctx, desktop_id, secret_hash):
    """A desktop's new agent secret (at boot): it must register again."""
    session = ctx.session
    session.execute(sa.delete(models.DesktopAgent)
                    .where(models.DesktopAgent.desktop_id == desktop_id))
    session.execute(sa.insert(_AGENTS).values(
        desktop_id=desktop_id, secret_hash=secret_hash, reports=0,
        created_at=timeutils.utcnow()))


@engine.main_context_manager.reader
def agent_get(ctx, desktop_id):
    """The agent row of a desktop (a dict without the secret), or None."""
    row = ctx.session.get(models.DesktopAgent, desktop_id)
    return _public(common.as_dict(row))


def _public(agent):
    if agent is not None:
        agent.pop("secret_hash", None)
    return agent


def _refused(connection, desktop_id, secret_hash, now, min_interval):
    """Why an agent's write changed no row: raise the right error."""
    row = connection.execute(
        sa.select(_AGENTS.c.secret_hash, _AGENTS.c.registered_at,
                  _AGENTS.c.last_report_at)
        .where(_AGENTS.c.desktop_id == desktop_id)).first()
    if row is None or row.secret_hash != secret_hash:
        raise exception.InvalidAgentSecret()
    if row.registered_at is None:
        raise exception.AgentNotRegistered(desktop=desktop_id)
    wait = min_interval - (now - row.last_report_at).total_seconds()
    raise exception.AgentReportTooSoon(desktop=desktop_id,
                                       retry_after=max(1, int(wait + 0.999)))


def _rate_limit(now, min_interval):
    if not min_interval:
        return sa.true()
    earliest = now - datetime.timedelta(seconds=min_interval)
    return sa.or_(_AGENTS.c.last_report_at.is_(None),
                  _AGENTS.c.last_report_at <= earliest)


@engine.main_context_manager.writer
def agent_register(ctx, desktop_id, secret_hash, values, min_interval=0):
    """An agent registers its desktop (after every boot of the guest).

    Raises InvalidAgentSecret (unknown desktop or wrong secret) or
    AgentReportTooSoon. Returns the agent (without its secret).
    """
    connection = ctx.session.connection()
    now = timeutils.utcnow()
    fields = {k: values.get(k) for k in REGISTER_FIELDS}
    result = connection.execute(
        sa.update(_AGENTS)
        .where(_AGENTS.c.desktop_id == desktop_id,
               _AGENTS.c.secret_hash == secret_hash,
               _rate_limit(now, min_interval))
        .values(registered_at=now, last_report_at=now,
                connection_state=None, connection_since=None, display=None,
                username=None, idle_seconds=None,
                reports=_AGENTS.c.reports + 1, **fields))
    if result.rowcount != 1:
        _refused(connection, desktop_id, secret_hash, now, min_interval)
    common.insert_event(connection, ctx, "agent", "agent.register",
                        target_type="desktop", target_id=desktop_id,
                        desktop_id=desktop_id,
                        detail={k: v for k, v in fields.items() if v})
    return _public(common.as_dict(
        ctx.session.get(models.DesktopAgent, desktop_id,
                        populate_existing=True)))


# A report's statements, built once: SQLAlchemy then only looks their
# compiled form up (building a statement and its cache key at every
# report cost more than running it). connection_since comes first:
# MariaDB evaluates SET from left to right, so it must read the state
# before the statement changes it.
_P_NOW = sa.bindparam("p_now", type_=sa.DateTime())
_P_STATE = sa.bindparam("p_state", type_=sa.String())


def _report_since(table):
    return sa.case((table.c.connection_state == _P_STATE,
                    table.c.connection_since), else_=_P_NOW)


_REPORT = (
    sa.update(_AGENTS)
    .where(_AGENTS.c.desktop_id == sa.bindparam("p_id"),
           _AGENTS.c.secret_hash == sa.bindparam("p_hash"),
           _AGENTS.c.registered_at.is_not(None),
           sa.or_(_AGENTS.c.last_report_at.is_(None),
                  _AGENTS.c.last_report_at <= sa.bindparam(
                      "p_earliest", type_=sa.DateTime())))
    .ordered_values(
        (_AGENTS.c.connection_since, _report_since(_AGENTS)),
        (_AGENTS.c.connection_state, _P_STATE),
        (_AGENTS.c.last_report_at, _P_NOW),
        (_AGENTS.c.reports, _AGENTS.c.reports + 1),
        *[(_AGENTS.c[k], sa.bindparam("p_" + k, type_=_AGENTS.c[k].type))
          for k in REPORT_FIELDS if k != "connection_state"]))
_REPORT_SESSION = (
    sa.update(_SESSIONS)
    .where(_SESSIONS.c.desktop_id == sa.bindparam("p_id"),
           _SESSIONS.c.state == states.SESSION_ACTIVE)
    .ordered_values(
        (_SESSIONS.c.connection_since, _report_since(_SESSIONS)),
        (_SESSIONS.c.connection_state, _P_STATE),
        (_SESSIONS.c.idle_seconds, sa.bindparam("p_idle_seconds",
                                                type_=sa.Integer()))))


@engine.main_context_manager.writer.connection
def agent_report(ctx, desktop_id, secret_hash, values, min_interval=0):
    """One report of a registered agent; its session's state with it.

    Raises InvalidAgentSecret, AgentNotRegistered or AgentReportTooSoon.
    Returns how many active sessions of the desktop were updated. A
    Core connection, no ORM session: the statements are all it needs.
    """
    connection = ctx.connection
    now = timeutils.utcnow()
    params = {"p_" + k: values.get(k) for k in REPORT_FIELDS}
    params.update(p_id=desktop_id, p_hash=secret_hash, p_now=now,
                  p_state=params.pop("p_connection_state"),
                  p_earliest=now - datetime.timedelta(
                      seconds=min_interval))
    if connection.execute(_REPORT, params).rowcount != 1:
        _refused(connection, desktop_id, secret_hash, now, min_interval)
    if params["p_state"] is None:
        return 0
    return connection.execute(_REPORT_SESSION, params).rowcount


# Reports the API gathered, written in batches: the secret was checked
# against a cache, so the UPDATE checks it again (a desktop whose
# secret was set anew meanwhile is not written), and a report older
# than the row's last one changes nothing. ``connection_since`` takes
# ``p_since``: the first report of the state in the batch.
_P_SINCE = sa.bindparam("p_since", type_=sa.DateTime())
_AGENT_CURRENT = sa.exists().where(
    _AGENTS.c.desktop_id == sa.bindparam("p_id"),
    _AGENTS.c.secret_hash == sa.bindparam("p_hash"),
    _AGENTS.c.registered_at.is_not(None))
_REPORT_BATCH = (
    sa.update(_AGENTS)
    .where(_AGENTS.c.desktop_id == sa.bindparam("p_id"),
           _AGENTS.c.secret_hash == sa.bindparam("p_hash"),
           _AGENTS.c.registered_at.is_not(None),
           sa.or_(_AGENTS.c.last_report_at.is_(None),
                  _AGENTS.c.last_report_at <= _P_NOW))
    .ordered_values(
        (_AGENTS.c.connection_since, sa.case(
            (_AGENTS.c.connection_state == _P_STATE,
             _AGENTS.c.connection_since), else_=_P_SINCE)),
        (_AGENTS.c.connection_state, _P_STATE),
        (_AGENTS.c.last_report_at, _P_NOW),
        (_AGENTS.c.reports, _AGENTS.c.reports + sa.bindparam(
            "p_count", type_=sa.Integer())),
        *[(_AGENTS.c[k], sa.bindparam("p_" + k, type_=_AGENTS.c[k].type))
          for k in REPORT_FIELDS if k != "connection_state"]))
_REPORT_BATCH_SESSION = (
    sa.update(_SESSIONS)
    .where(_SESSIONS.c.desktop_id == sa.bindparam("p_id"),
           _SESSIONS.c.state == states.SESSION_ACTIVE, _AGENT_CURRENT)
    .ordered_values(
        (_SESSIONS.c.connection_since, sa.case(
            (_SESSIONS.c.connection_state == _P_STATE,
             _SESSIONS.c.connection_since), else_=_P_SINCE)),
        (_SESSIONS.c.connection_state, _P_STATE),
        (_SESSIONS.c.idle_seconds, sa.bindparam("p_idle_seconds",
                                                type_=sa.Integer()))))


# The same two, for many rows in one statement (MariaDB, PostgreSQL).
_SINCE = ("CASE WHEN t.connection_state = v.p_state "
          "THEN t.connection_since ELSE v.p_since END")
_STRING = sa.String()
_MULTIROW_REPORT = multirow.Update(
    _AGENTS, "p_id",
    [("p_id", _STRING), ("p_hash", _STRING),
     ("p_now", _AGENTS.c.last_report_at.type), ("p_since", sa.DateTime()),
     ("p_count", sa.Integer()), ("p_state", _STRING)] +
    [("p_" + k, _AGENTS.c[k].type) for k in REPORT_FIELDS
     if k != "connection_state"],
    "t.desktop_id = v.p_id",
    # connection_since first: it reads the state before it changes.
    [("connection_since", _SINCE), ("connection_state", "v.p_state"),
     ("last_report_at", "v.p_now"),
     ("reports", "t.reports + v.p_count")] +
    [(k, "v.p_" + k) for k in REPORT_FIELDS if k != "connection_state"],
    where="t.secret_hash = v.p_hash AND t.registered_at IS NOT NULL AND "
          "(t.last_report_at IS NULL OR t.last_report_at <= v.p_now)")
_MULTIROW_REPORT_SESSION = multirow.Update(
    _SESSIONS, "p_id",
    [("p_id", _STRING), ("p_hash", _STRING), ("p_since", sa.DateTime()),
     ("p_state", _STRING), ("p_idle_seconds", sa.Integer())],
    "t.desktop_id = v.p_id",
    [("connection_since", _SINCE), ("connection_state", "v.p_state"),
     ("idle_seconds", "v.p_idle_seconds")],
    where="t.state = '%s'" % states.SESSION_ACTIVE,
    joins=["JOIN %s AS a ON a.desktop_id = v.p_id AND "
           "a.secret_hash = v.p_hash AND a.registered_at IS NOT NULL" %
           _AGENTS.name])


@common.retry_on_conflict
@engine.main_context_manager.writer.connection
def agent_reports_write(ctx, reports):
    """Write reports the API gathered: one transaction.

    ``reports``: dicts with ``desktop_id``, ``secret_hash``, ``now`` (the
    last report's arrival), ``since`` (the first report in a row of the
    same connection state), ``count`` (reports merged into this one) and
    the report's fields. Two reports of one desktop are written in their
    order. On MariaDB and PostgreSQL one UPDATE of the agents and one of
    their sessions per :data:`multirow.CHUNK` desktops, elsewhere an
    executemany of each. Returns the number of agent rows updated.
    """
    rows = []
    for report in reports:
        row = {"p_" + k: report.get(k) for k in REPORT_FIELDS}
        row.update(p_id=report["desktop_id"], p_hash=report["secret_hash"],
                   p_now=report["now"], p_since=report["since"],
                   p_count=report["count"],
                   p_state=row.pop("p_connection_state"))
        rows.append(row)
    if not rows:
        return 0
    connection = ctx.connection
    if multirow.supported(connection):
        updated = 0
        for one_round in multirow.rounds(rows, key=lambda r: r["p_id"]):
            updated += _MULTIROW_REPORT.execute(connection, one_round)
            with_state = [r for r in one_round if r["p_state"] is not None]
            if with_state:
                _MULTIROW_REPORT_SESSION.execute(connection, with_state)
        return updated
    updated = connection.execute(_REPORT_BATCH, rows).rowcount
    with_state = [r for r in rows if r["p_state"] is not None]
    if with_state:
        connection.execute(_REPORT_BATCH_SESSION, with_state)
    return max(updated, 0)


@engine.main_context_manager.reader.connection
def agent_secrets(ctx, desktop_ids):
    """{desktop id: secret hash} of the registered agents among these."""
    found = {}
    for part in common.chunks(desktop_ids):
        found.update(ctx.connection.execute(
            sa.select(_AGENTS.c.desktop_id, _AGENTS.c.secret_hash)
            .where(_AGENTS.c.desktop_id.in_(part),
                   _AGENTS.c.registered_at.is_not(None))).all())
    return found


@engine.main_context_manager.reader
def agents_registered(ctx, desktops):
    """Which desktops' agents registered since the desktop's boot.

    ``desktops``: dicts with ``id`` and ``boot_started_at`` (a restart's
    start: a registration before it was the previous boot's; None for a
    new desktop, whose secret was set at its boot). Returns the set of
    those desktop ids.
    """
    by_id = {d["id"]: d for d in desktops}
    done = set()
    for part in common.chunks(by_id):
        for desktop_id, registered_at in ctx.session.execute(
                sa.select(_AGENTS.c.desktop_id, _AGENTS.c.registered_at)
                .where(_AGENTS.c.desktop_id.in_(part),
                       _AGENTS.c.registered_at.is_not(None))):
            booted = by_id[desktop_id].get("boot_started_at")
            if booted is None or registered_at >= booted.replace(
                    microsecond=0):
                done.add(desktop_id)
    return done


def _disconnected_clause(pools, now, agent_silent_after,
                         client_silent_after):
    """session_state.combine in SQL: (disconnected, since) expressions.

    Selects the sessions the rule calls disconnected (the function then
    decides); ``since`` orders them oldest first.
    """
    told = sa.and_(_SESSIONS.c.viewer_state.is_not(None),
                   _SESSIONS.c.viewer_at.is_not(None))
    viewer_off = _SESSIONS.c.viewer_state == states.DISCONNECTED
    if client_silent_after:
        viewer_off = sa.or_(viewer_off, _SESSIONS.c.viewer_at < (
            now - datetime.timedelta(seconds=client_silent_after)))
    # Never NULL (an outer join's missing agent is false), so that NOT
    # below means "otherwise".
    agent_decides = sa.and_(
        pools.c.console_type.in_(states.GUEST_DISPLAY_CONSOLES),
        _SESSIONS.c.connection_state.is_not(None),
        _AGENTS.c.last_report_at.is_not(None))
    if agent_silent_after:
        agent_decides = sa.and_(
            agent_decides, _AGENTS.c.last_report_at >= now -
            datetime.timedelta(seconds=agent_silent_after))
    agent_off = _SESSIONS.c.connection_state == states.DISCONNECTED
    disconnected = sa.or_(
        sa.and_(sa.not_(told), agent_off),
        sa.and_(told, agent_decides, agent_off),
        sa.and_(told, sa.not_(agent_decides), viewer_off))
    since = sa.case(
        (sa.and_(told, sa.not_(agent_decides)), sa.case(
            (_SESSIONS.c.viewer_state == states.DISCONNECTED,
             _SESSIONS.c.viewer_since), else_=_SESSIONS.c.viewer_at)),
        else_=_SESSIONS.c.connection_since)
    return disconnected, since


@engine.main_context_manager.reader
def sessions_timed_out(ctx, now, limit=500, agent_silent_after=None,
                       client_silent_after=0):
    """Active sessions past their pool's disconnect or idle timeout.

    The connection state is both ends' (:mod:`vdi_broker.session_state`):
    ``agent_silent_after`` (``[agent] silent_after``; None: an agent's
    report never goes stale) and ``client_silent_after`` (the thin
    clients' offline time; 0: never). Returns [{"id", "username",
    "desktop_id", "pool_id", "reason"}]; reason is "disconnected" or
    "idle".
    """
    pools = models.Pool.__table__
    disconnected, since = _disconnected_clause(
        pools, now, agent_silent_after, client_silent_after)
    rows = ctx.session.execute(
        sa.select(_SESSIONS.c.id, _SESSIONS.c.username,
                  _SESSIONS.c.desktop_id, _SESSIONS.c.pool_id,
                  _SESSIONS.c.connection_state,
                  _SESSIONS.c.connection_since, _SESSIONS.c.idle_seconds,
                  _SESSIONS.c.viewer_state, _SESSIONS.c.viewer_since,
                  _SESSIONS.c.viewer_at, _AGENTS.c.last_report_at,
                  pools.c.console_type,
                  pools.c.disconnect_timeout, pools.c.idle_timeout)
        .join(pools, pools.c.id == _SESSIONS.c.pool_id)
        .outerjoin(_AGENTS, _AGENTS.c.desktop_id == _SESSIONS.c.desktop_id)
        .where(_SESSIONS.c.state == states.SESSION_ACTIVE,
               sa.or_(
                   sa.and_(pools.c.disconnect_timeout > 0, disconnected),
                   sa.and_(pools.c.idle_timeout > 0,
                           _SESSIONS.c.idle_seconds >=
                           pools.c.idle_timeout)))
        .order_by(since)
        .limit(limit)).all()
    result = []
    for row in rows:
        reason = None
        state = session_state.combine(
            *_ends(row), row.console_type, now, agent_silent_after or 0,
            client_silent_after)
        if row.disconnect_timeout and \
                state.state == states.DISCONNECTED and \
                state.since is not None and \
                (now - state.since).total_seconds() >= \
                row.disconnect_timeout:
            reason = "disconnected"
        elif row.idle_timeout and row.idle_seconds is not None and \
                row.idle_seconds >= row.idle_timeout:
            reason = "idle"
        if reason:
            result.append({"id": row.id, "username": row.username,
                           "desktop_id": row.desktop_id,
                           "pool_id": row.pool_id, "reason": reason})
    return result


def _ends(row):
    """The session row's two session_state.End (agent, thin client)."""
    return (session_state.End(row.connection_state, row.connection_since,
                              row.last_report_at),
            session_state.End(row.viewer_state, row.viewer_since,
                              row.viewer_at))


@engine.main_context_manager.reader
def sessions_kept_connected(ctx, session_ids, now, agent_silent_after,
                            client_silent_after=0):
    """The sessions expiry must not end: a user is connected.

    Of ``session_ids``, in pools whose ``expiry_when_connected`` is off,
    those :func:`vdi_broker.session_state.kept_at_expiry` keeps: {session
    id: the end that keeps it (session_state.AGENT or THIN_CLIENT)}.
    """
    pools = models.Pool.__table__
    kept = {}
    for part in common.chunks(session_ids):
        for row in ctx.session.execute(
                sa.select(_SESSIONS.c.id, _SESSIONS.c.connection_state,
                          _SESSIONS.c.connection_since,
                          _SESSIONS.c.viewer_state, _SESSIONS.c.viewer_since,
                          _SESSIONS.c.viewer_at, _AGENTS.c.last_report_at,
                          pools.c.console_type)
                .join(pools, pools.c.id == _SESSIONS.c.pool_id)
                .outerjoin(_AGENTS,
                           _AGENTS.c.desktop_id == _SESSIONS.c.desktop_id)
                .where(_SESSIONS.c.id.in_(part),
                       pools.c.expiry_when_connected == sa.false())):
            end = session_state.kept_at_expiry(
                *_ends(row), row.console_type, now, agent_silent_after,
                client_silent_after)
            if end is not None:
                kept[row.id] = end
    return kept


@engine.main_context_manager.reader
def session_connections(ctx, sessions, now, agent_silent_after,
                        client_silent_after=0):
    """{session id: session_state.Combined} of these session dicts.

    The agent's last report and the pool's console type are read here
    (one query per chunk): the admin API's ``connection`` (1.2).
    """
    pools = models.Pool.__table__
    by_id = {s["id"]: s for s in sessions}
    found = {}
    for part in common.chunks(by_id):
        for row in ctx.session.execute(
                sa.select(_SESSIONS.c.id, _AGENTS.c.last_report_at,
                          pools.c.console_type)
                .join(pools, pools.c.id == _SESSIONS.c.pool_id)
                .outerjoin(_AGENTS,
                           _AGENTS.c.desktop_id == _SESSIONS.c.desktop_id)
                .where(_SESSIONS.c.id.in_(part))):
            s = by_id[row.id]
            found[row.id] = session_state.combine(
                session_state.End(s["connection_state"],
                                  s["connection_since"],
                                  row.last_report_at),
                session_state.End(s["viewer_state"], s["viewer_since"],
                                  s["viewer_at"]),
                row.console_type, now, agent_silent_after,
                client_silent_after)
    return found
