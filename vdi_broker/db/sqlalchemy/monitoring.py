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

"""Business monitoring: departments, shift plans, agent counts (R15).

Departments are admin records (revisioned, audited). A shift plan is
stored slot by slot, each with its local date and time as the plan wrote
it and its UTC start and end (the conversion, daylight saving included,
is :mod:`vdi_broker.monitoring.shift_plan`'s). An import replaces the
slots of each department, site and local date it holds.

Agent counts: :func:`agent_sessions` reads the active sessions with
their thin client's last input, one row each; the monitoring module
counts them and :func:`agent_counts_record` writes one minute of
history (a minute written already by another conductor is skipped).
"""

from oslo_db import exception as db_exc
from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

__all__ = (
    "department_create",
    "department_get",
    "department_list",
    "department_update",
    "department_delete",
    "shift_plan_import",
    "shift_plan_list",
    "shift_plan_expected",
    "agent_sessions",
    "agent_counts_record",
    "agent_counts_list",
    "agent_counts_max_active",
    "agent_counts_purge",
)

_SESSIONS = models.ClientSession.__table__
_CLIENTS = models.ThinClient.__table__
_SEATS = models.Seat.__table__
_POOLS = models.Pool.__table__
_SLOTS = models.ShiftPlanSlot.__table__
_DEPARTMENTS = models.Department.__table__
_COUNTS = models.AgentCount.__table__


# -- departments -------------------------------------------------------------

def _department_row(session, ident):
    return common.get_by_id_or_name(session, models.Department, ident,
                                    exception.DepartmentNotFound,
                                    department=ident)


@common.translate_duplicates("department")
@engine.main_context_manager.writer
def department_create(ctx, values):
    values = dict(values)
    values.setdefault("id", uuidutils.generate_uuid())
    row = models.Department(**values)
    ctx.session.add(row)
    ctx.session.flush()
    ctx.session.refresh(row)
    common.record(ctx.session, ctx, "admin", "department.create",
                  target_type="department", target_id=row.id,
                  message=row.name)
    return common.as_dict(row)


@engine.main_context_manager.reader
def department_get(ctx, ident):
    return common.as_dict(_department_row(ctx.session, ident))


@engine.main_context_manager.reader
def department_list(ctx, filters=None, limit=None, marker=None,
                    sort_key="name", sort_dir="asc"):
    return common.list_records(ctx.session, models.Department,
                               exception.DepartmentNotFound, "department",
                               filters, limit, marker, sort_key, sort_dir)


@engine.main_context_manager.writer
def department_update(ctx, ident, values, expected_revision=None):
    row = _department_row(ctx.session, ident)
    try:
        common.update_revisioned(ctx.session, models.Department, row,
                                 values, expected_revision, "Department")
    except db_exc.DBDuplicateEntry:
        raise exception.DuplicateName(resource="department",
                                      name=values.get("name"))
    common.record(ctx.session, ctx, "admin", "department.update",
                  target_type="department", target_id=row.id,
                  detail={"changed": sorted(values)})
    return common.as_dict(row)


@engine.main_context_manager.writer
def department_delete(ctx, ident):
    """Delete a department and its shift plan."""
    row = _department_row(ctx.session, ident)
    slots = ctx.session.execute(
        sa.delete(_SLOTS).where(_SLOTS.c.department_id == row.id)).rowcount
    ctx.session.delete(row)
    common.record(ctx.session, ctx, "admin", "department.delete",
                  target_type="department", target_id=row.id,
                  message=row.name, detail={"plan_slots": slots})


# -- shift plans -------------------------------------------------------------

@engine.main_context_manager.writer
def shift_plan_import(ctx, slots):
    """Store imported slots (dicts of shift_plan.to_utc).

    The slots of each (department, site, local date) the import holds
    replace the stored ones. A department no record has is a 400 naming
    the slot's line. Returns {"slots", "replaced", "days"}.
    """
    session = ctx.session
    names = sorted({slot["department"] for slot in slots})
    ids = {}
    for part in common.chunks(names):
        ids.update({name: ident for ident, name in session.execute(
            sa.select(_DEPARTMENTS.c.id, _DEPARTMENTS.c.name)
            .where(_DEPARTMENTS.c.name.in_(part))).all()})
    for slot in slots:
        if slot["department"] not in ids:
            raise exception.Invalid(
                reason="shift plan line %s: no department %s (create it "
                       "first: POST /v1/departments)" % (
                           slot["line"], slot["department"]))
    days = sorted({(ids[s["department"]], s["site"], s["local_date"])
                   for s in slots})
    replaced = 0
    for department_id, site, date in days:
        replaced += session.execute(
            sa.delete(_SLOTS).where(_SLOTS.c.department_id == department_id,
                                    _SLOTS.c.site == site,
                                    _SLOTS.c.local_date == date)).rowcount
    rows = [{"department_id": ids[s["department"]], "site": s["site"],
             "local_date": s["local_date"], "local_start": s["local_start"],
             "fold": s["fold"], "slot_minutes": s["slot_minutes"],
             "starts_at": s["starts_at"], "ends_at": s["ends_at"],
             "expected": s["expected"]} for s in slots]
    for part in common.chunks(rows):
        session.execute(sa.insert(_SLOTS), part)
    teams = sorted({(s["department"], s["site"]) for s in slots})
    common.record(session, ctx, "admin", "shift_plan.import",
                  target_type="shift_plan",
                  message="%d slots of %d days" % (len(rows), len(days)),
                  detail={"slots": len(rows), "replaced": replaced,
                          "teams": ["%s@%s" % t for t in teams[:50]],
                          "dates": sorted({str(d[2]) for d in days})[:62]})
    return {"slots": len(rows), "replaced": replaced, "days": len(days)}


_SLOT_COLUMNS = (_DEPARTMENTS.c.name.label("department"), _SLOTS.c.site,
                 _SLOTS.c.local_date, _SLOTS.c.local_start, _SLOTS.c.fold,
                 _SLOTS.c.slot_minutes, _SLOTS.c.starts_at, _SLOTS.c.ends_at,
                 _SLOTS.c.expected)


@engine.main_context_manager.reader
def shift_plan_list(ctx, department=None, site=None, date_from=None,
                    date_to=None, limit=None):
    """Stored slots in time order, filtered; local dates inclusive."""
    stmt = (sa.select(*_SLOT_COLUMNS)
            .select_from(_SLOTS.join(
                _DEPARTMENTS, _DEPARTMENTS.c.id == _SLOTS.c.department_id)))
    if department is not None:
        stmt = stmt.where(sa.or_(_DEPARTMENTS.c.name == department,
                                 _DEPARTMENTS.c.id == department))
    if site is not None:
        stmt = stmt.where(_SLOTS.c.site == site)
    if date_from is not None:
        stmt = stmt.where(_SLOTS.c.local_date >= date_from)
    if date_to is not None:
        stmt = stmt.where(_SLOTS.c.local_date <= date_to)
    stmt = stmt.order_by(_SLOTS.c.starts_at, _DEPARTMENTS.c.name,
                         _SLOTS.c.site)
    if limit:
        stmt = stmt.limit(limit)
    return [dict(row) for row in ctx.session.execute(stmt).mappings()]


@engine.main_context_manager.reader
def shift_plan_expected(ctx, at):
    """{(department, site): expected agents} of the slots holding ``at``."""
    rows = ctx.session.execute(
        sa.select(_DEPARTMENTS.c.name, _SLOTS.c.site, _SLOTS.c.expected)
        .select_from(_SLOTS.join(
            _DEPARTMENTS, _DEPARTMENTS.c.id == _SLOTS.c.department_id))
        .where(_SLOTS.c.starts_at <= at, _SLOTS.c.ends_at > at)).all()
    return {(name, site): expected for name, site, expected in rows}


# -- agents ------------------------------------------------------------------

# A session's site: its seat's, else its thin client's, else its pool's.
_SESSION_SITE = sa.func.coalesce(_SEATS.c.site, _CLIENTS.c.site,
                                 _POOLS.c.site)
_AGENT_SESSIONS = (
    sa.select(_SESSIONS.c.username, _SESSIONS.c.department,
              _SESSION_SITE.label("site"), _POOLS.c.name.label("pool"),
              _CLIENTS.c.status, _CLIENTS.c.last_seen_at,
              _CLIENTS.c.last_input_at)
    .select_from(
        _SESSIONS
        .outerjoin(_CLIENTS, _CLIENTS.c.client_id == _SESSIONS.c.client_id)
        .outerjoin(_SEATS, _SEATS.c.name == _SESSIONS.c.seat)
        .outerjoin(_POOLS, _POOLS.c.id == _SESSIONS.c.pool_id))
    .where(_SESSIONS.c.state == "active"))


@engine.main_context_manager.reader
def agent_sessions(ctx):
    """The active sessions, one dict each.

    Keys: username, department, site, pool, and their thin client's
    status, last_seen_at and last_input_at.
    """
    return [dict(row) for row in
            ctx.session.execute(_AGENT_SESSIONS).mappings()]


@engine.main_context_manager.writer
def _insert_counts(ctx, rows):
    ctx.session.execute(sa.insert(_COUNTS), rows)


def agent_counts_record(ctx, minute, rows):
    """Write one minute's counts.

    ``rows``: dicts with department, site, pool, active, idle, offline,
    expected. Returns False when another conductor wrote that minute
    first.
    """
    if not rows:
        return True
    values = [dict({"expected": None}, **row, minute=minute)
              for row in rows]
    try:
        _insert_counts(ctx, values)
    except db_exc.DBDuplicateEntry:
        return False
    return True


@engine.main_context_manager.reader
def agent_counts_list(ctx, since, until=None, department=None, site=None,
                      pool="", limit=None):
    """History rows from ``since`` (UTC, inclusive), oldest first.

    ``pool`` "" (the default) gives the department and site totals with
    the plan's expected; a pool name that pool's counts; None all rows.
    """
    stmt = sa.select(_COUNTS).where(_COUNTS.c.minute >= since)
    if until is not None:
        stmt = stmt.where(_COUNTS.c.minute < until)
    for column, value in (("department", department), ("site", site),
                          ("pool", pool)):
        if value is not None:
            stmt = stmt.where(_COUNTS.c[column] == value)
    stmt = stmt.order_by(_COUNTS.c.minute, _COUNTS.c.department,
                         _COUNTS.c.site, _COUNTS.c.pool)
    if limit:
        stmt = stmt.limit(limit)
    return [dict(row) for row in ctx.session.execute(stmt).mappings()]


@engine.main_context_manager.reader
def agent_counts_max_active(ctx, since):
    """{(department, site): the highest active total since ``since``}."""
    rows = ctx.session.execute(
        sa.select(_COUNTS.c.department, _COUNTS.c.site,
                  sa.func.max(_COUNTS.c.active))
        .where(_COUNTS.c.minute >= since, _COUNTS.c.pool == "")
        .group_by(_COUNTS.c.department, _COUNTS.c.site)).all()
    return {(d, s): m for d, s, m in rows}


@engine.main_context_manager.writer
def agent_counts_purge(ctx, before, batch=10000):
    """Delete history older than ``before``; returns the rows deleted."""
    deleted = 0
    while True:
        ids = ctx.session.execute(
            sa.select(_COUNTS.c.id).where(_COUNTS.c.minute < before)
            .limit(batch)).scalars().all()
        if not ids:
            return deleted
        for part in common.chunks(ids):
            deleted += ctx.session.execute(
                sa.delete(_COUNTS).where(_COUNTS.c.id.in_(part))).rowcount
