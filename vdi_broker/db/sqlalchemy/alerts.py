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

"""Alerts of the business monitoring: storage and state changes.

Every change is a compare-and-swap on the alert's state, so that two
conductors evaluating at once change an alert once (the one whose update
matched records the event and sends the notification). One alert per
kind and subject is open (pending or firing): ``open_key`` is unique and
NULL once the alert is resolved.
"""

import functools

from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker import states

__all__ = (
    "alert_open",
    "alert_update",
    "alert_drop_pending",
    "alert_get",
    "alert_list",
    "alert_open_list",
    "alert_acknowledge",
    "alert_counts",
    "alerts_purge",
    "login_results",
)

_ALERTS = models.Alert.__table__
_EVENTS = models.Event.__table__


def _open_key(kind, subject):
    return ("%s:%s" % (kind, subject))[:255]


def _event(session, ctx, action, row, result="success"):
    common.record(session, ctx, "alert", action, result=result,
                  actor="vdi-broker", target_type="alert",
                  target_id=row["id"], message=(row.get("message") or
                                                "")[:1024] or None,
                  detail={"kind": row["kind"], "subject": row["subject"],
                          "state": row["state"],
                          "values": row.get("values")})


def _get(session, alert_id):
    row = session.execute(sa.select(_ALERTS).where(
        _ALERTS.c.id == alert_id)).mappings().first()
    if row is None:
        raise exception.AlertNotFound(alert=alert_id)
    return dict(row)


@engine.main_context_manager.writer
def _insert(ctx, values):
    ctx.session.execute(sa.insert(_ALERTS), values)
    if values["state"] == states.ALERT_FIRING:
        _event(ctx.session, ctx, "alert.firing", values, result="failure")
    return _get(ctx.session, values["id"])


def alert_open(ctx, values):
    """Open an alert (pending or firing).

    None when one is open already for its kind and subject (another
    conductor opened it).
    """
    now = values.get("started_at") or timeutils.utcnow()
    values = dict({"severity": "warning", "department": None, "site": None,
                   "pool": None, "fired_at": None, "ended_at": None,
                   "values": None, "message": None,
                   "acknowledged_by": None, "acknowledged_at": None},
                  **values)
    values.update(id=uuidutils.generate_uuid(), started_at=now,
                  updated_at=now,
                  open_key=_open_key(values["kind"], values["subject"]))
    if values["state"] == states.ALERT_FIRING:
        values["fired_at"] = now
    try:
        return _insert(ctx, values)
    except db_exc.DBDuplicateEntry:
        return None


@engine.main_context_manager.writer
def alert_update(ctx, alert_id, expected_state, values):
    """Change an alert that is still in ``expected_state``.

    A change to firing records alert.firing, to resolved alert.resolved
    (and clears open_key). Returns the alert, or None when it moved
    meanwhile.
    """
    now = values.get("updated_at") or timeutils.utcnow()
    values = dict(values, updated_at=now)
    state = values.get("state", expected_state)
    if state == states.ALERT_FIRING and expected_state != state:
        values.setdefault("fired_at", now)
    if state == states.ALERT_RESOLVED:
        values.setdefault("ended_at", now)
        values["open_key"] = None
    result = ctx.session.execute(
        sa.update(_ALERTS).where(_ALERTS.c.id == alert_id,
                                 _ALERTS.c.state == expected_state)
        .values(**values))
    if result.rowcount != 1:
        return None
    row = _get(ctx.session, alert_id)
    if state != expected_state:
        _event(ctx.session, ctx, "alert.%s" % state, row,
               result="failure" if state == states.ALERT_FIRING
               else "success")
    return row


@engine.main_context_manager.writer
def alert_drop_pending(ctx, alert_id):
    """Forget a pending alert whose condition cleared before it fired."""
    return ctx.session.execute(
        sa.delete(_ALERTS).where(_ALERTS.c.id == alert_id,
                                 _ALERTS.c.state == states.ALERT_PENDING)
    ).rowcount == 1


@engine.main_context_manager.reader
def alert_get(ctx, alert_id):
    return _get(ctx.session, alert_id)


@engine.main_context_manager.reader
def alert_list(ctx, filters=None, limit=None, marker=None,
               sort_key="started_at", sort_dir="desc"):
    return common.paginate(ctx.session, models.Alert, filters, limit, marker,
                           sort_key, sort_dir,
                           functools.partial(exception.AlertNotFound,
                                             alert=marker))


@engine.main_context_manager.reader
def alert_open_list(ctx):
    """The pending and firing alerts."""
    return [dict(row) for row in ctx.session.execute(
        sa.select(_ALERTS).where(_ALERTS.c.open_key.is_not(None))
        .order_by(_ALERTS.c.started_at)).mappings()]


@engine.main_context_manager.writer
def alert_acknowledge(ctx, alert_id, by):
    """An operator acknowledges an alert (once; it stays as it is)."""
    row = _get(ctx.session, alert_id)
    if row["acknowledged_at"] is not None:
        raise exception.Conflict(reason="alert %s was acknowledged by %s "
                                        "already" % (alert_id,
                                                     row["acknowledged_by"]))
    now = timeutils.utcnow()
    ctx.session.execute(
        sa.update(_ALERTS).where(_ALERTS.c.id == alert_id,
                                 _ALERTS.c.acknowledged_at.is_(None))
        .values(acknowledged_by=by, acknowledged_at=now, updated_at=now))
    row = _get(ctx.session, alert_id)
    common.record(ctx.session, ctx, "admin", "alert.acknowledge",
                  target_type="alert", target_id=alert_id,
                  message="%s %s" % (row["kind"], row["subject"]))
    return row


@engine.main_context_manager.reader
def alert_counts(ctx):
    """{(kind, state): alerts}."""
    rows = ctx.session.execute(
        sa.select(_ALERTS.c.kind, _ALERTS.c.state, sa.func.count())
        .group_by(_ALERTS.c.kind, _ALERTS.c.state)).all()
    return {(kind, state): count for kind, state, count in rows}


@engine.main_context_manager.writer
def alerts_purge(ctx, before):
    """Delete alerts resolved before ``before``."""
    return ctx.session.execute(
        sa.delete(_ALERTS).where(_ALERTS.c.state == states.ALERT_RESOLVED,
                                 _ALERTS.c.ended_at < before)).rowcount


@engine.main_context_manager.reader
def login_results(ctx, since, limit=10000):
    """Logins since ``since``.

    Returns {"success": n, "failure": n, "reasons": {reason: n},
    "directory_ms": [ms]} (failed logins are aggregated events: their
    occurrences count; directory_ms: what the directory took for each
    successful login that asked it, as its event recorded).
    """
    last = sa.func.coalesce(_EVENTS.c.last_at, _EVENTS.c.created_at)
    rows = ctx.session.execute(
        sa.select(_EVENTS.c.result, _EVENTS.c.detail,
                  sa.func.coalesce(_EVENTS.c.occurrences, 1))
        .where(_EVENTS.c.action == "login", last >= since)
        .order_by(_EVENTS.c.id.desc()).limit(limit)).all()
    found = {"success": 0, "failure": 0, "reasons": {}, "directory_ms": []}
    for result, detail, count in rows:
        key = "success" if result == "success" else "failure"
        found[key] += count
        if key == "success" and (detail or {}).get("directory_ms"):
            found["directory_ms"].append(detail["directory_ms"])
        if key == "failure":
            reason = (detail or {}).get("reason") or "other"
            found["reasons"][reason] = found["reasons"].get(reason, 0) + count
    return found
