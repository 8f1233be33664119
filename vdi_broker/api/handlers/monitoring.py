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

"""Admin API: departments, shift plans and agents (R15)."""

import datetime

from oslo_utils import timeutils
import webob

from vdi_broker.api.handlers import events as event_views
from vdi_broker.api.schemas import monitoring as schema
from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker.monitoring import agents
from vdi_broker.monitoring import departments as department_rules
from vdi_broker.monitoring import shift_plan
from vdi_broker import policy

CSV = "text/csv"

# -- departments -------------------------------------------------------------

SORT_KEYS = ("name", "priority", "created_at")
FILTERS = ("name",)
FIELDS = ("id", "name", "description", "priority", "rules", "revision")


def _view(department):
    view = {k: department[k] for k in FIELDS}
    view["created_at"] = util.iso(department["created_at"])
    view["updated_at"] = util.iso(department["updated_at"])
    return view


def _values(body):
    values = dict(body)
    values.pop("revision", None)
    if "rules" in values:
        department_rules.validate(values["rules"])
    return values


def list_departments(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:departments:list")
    page = util.pagination(req, SORT_KEYS, "name")
    items = db.department_list(ctxt, util.filters(req, FILTERS), **page)
    return util.json_response({
        "departments": [_view(d) for d in items],
        "links": util.links(req, "departments", items, page["limit"])})


def show_department(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:departments:show")
    department = db.department_get(ctxt, req.urlvars["department_id"])
    return util.json_response({"department": _view(department)},
                              headers={"ETag": util.etag(department)})


def create_department(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:departments:create")
    values = _values(util.read_json(req, schema.department_create))
    values.setdefault("rules", {})
    department = db.department_create(ctxt, values)
    return util.created(req, "departments", "department", department,
                        _view(department))


def update_department(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:departments:update")
    body = util.read_json(req, schema.department_update)
    department = db.department_update(
        ctxt, req.urlvars["department_id"], _values(body),
        expected_revision=util.expected_revision(req, body))
    return util.json_response({"department": _view(department)},
                              headers={"ETag": util.etag(department)})


def delete_department(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:departments:delete")
    db.department_delete(ctxt, req.urlvars["department_id"])
    return util.empty_response()


# -- shift plans -------------------------------------------------------------

def _date(req, name):
    value = req.GET.get(name)
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise exception.Invalid(reason="%s must be a date such as "
                                       "2026-12-01" % name)


def _wants_csv(req):
    if req.GET.get("format") == "csv":
        return True
    accept = req.accept
    return CSV in accept and accept.best_match(
        ["application/json", CSV]) == CSV


def _slot_view(slot):
    return {"department": slot["department"], "site": slot["site"],
            "date": slot["local_date"].isoformat(),
            "slot_start": slot["local_start"],
            "repeated_hour": bool(slot["fold"]),
            "slot_minutes": slot["slot_minutes"],
            "starts_at": util.iso(slot["starts_at"]),
            "ends_at": util.iso(slot["ends_at"]),
            "expected": slot["expected"]}


def list_shift_plans(req):
    """The stored slots: JSON, or CSV with Accept: text/csv."""
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:shift_plans:list")
    for name in ("department", "site"):
        util.check_text(name, req.GET.get(name))
    slots = db.shift_plan_list(
        ctxt, department=req.GET.get("department"),
        site=req.GET.get("site"), date_from=_date(req, "from"),
        date_to=_date(req, "to"))
    if _wants_csv(req):
        response = webob.Response(status=200, charset="UTF-8")
        response.content_type = CSV
        response.text = shift_plan.export(slots)
        response.headers["Content-Disposition"] = (
            'attachment; filename="shift-plan.csv"')
        return response
    return util.json_response({
        "timezone": util.app(req).conf.monitoring.timezone,
        "slots": [_slot_view(s) for s in slots]})


def import_shift_plan(req):
    """PUT or POST a CSV plan: its days replace the stored ones."""
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:shift_plans:import")
    content_type = (req.content_type or "").split(";")[0].strip().lower()
    if content_type not in (CSV, "text/plain", "application/csv"):
        raise exception.Invalid(reason="a shift plan is sent as text/csv, "
                                       "not %s" % (content_type or
                                                   "no Content-Type"))
    if not req.body:
        raise exception.Invalid(reason="the shift plan is empty")
    try:
        text = req.body.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise exception.Invalid(reason="the shift plan is not UTF-8 "
                                       "text: %s" % e)
    if "\x00" in text:
        raise exception.Invalid(reason="the shift plan contains a NUL "
                                       "character")
    timezone = util.app(req).conf.monitoring.timezone
    try:
        plan = shift_plan.parse(text, timezone=timezone)
        slots = shift_plan.to_utc(plan, timezone)
    except ValueError as e:
        raise exception.Invalid(reason=str(e)[:500])
    for slot in slots:
        if len(slot["department"]) > 255 or len(slot["site"]) > 255:
            raise exception.Invalid(
                reason="shift plan line %s: a department or site name is "
                       "longer than 255 characters" % slot["line"])
    result = db.shift_plan_import(ctxt, slots)
    return util.json_response({"shift_plan": dict(
        result, slot_minutes=plan.slot_minutes, timezone=timezone,
        dates=[d.isoformat() for d in plan.dates()])})


# -- agents ------------------------------------------------------------------

def _pick(row):
    return {k: row[k] for k in ("active", "idle", "offline")}


def list_agents(req):
    """Agents now by department and site (pools inside), with the plan."""
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:agents:list")
    conf = util.app(req).conf
    now = timeutils.utcnow()
    totals, by_pool = agents.snapshot(ctxt, conf, now)
    wanted = {k: req.GET.get(k) for k in ("department", "site")
              if req.GET.get(k) is not None}
    teams = []
    for row in totals:
        if any(row[k] != v for k, v in wanted.items()):
            continue
        view = dict(_pick(row), department=row["department"],
                    site=row["site"], expected=row["expected"])
        view["pools"] = [dict(_pick(p), pool=p["pool"]) for p in by_pool
                         if (p["department"], p["site"]) ==
                         (row["department"], row["site"])]
        teams.append(view)
    return util.json_response({
        "at": util.iso(now),
        "active_interval": conf.monitoring.active_interval,
        "agents": teams})


def agent_history(req):
    """One-minute counts.

    Query: department, site, pool ("" totals), since, until (ISO 8601,
    UTC; the last hour by default).
    """
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:agents:history")
    for name in ("department", "site", "pool"):
        util.check_text(name, req.GET.get(name))
    now = timeutils.utcnow()
    since = event_views._time(req, "since") or \
        now - datetime.timedelta(hours=1)
    until = event_views._time(req, "until")
    limit = util.app(req).conf.api.max_limit
    try:
        limit = min(int(req.GET.get("limit", limit)), 100000)
    except ValueError:
        raise exception.Invalid(reason="limit must be an integer")
    if limit < 1:
        raise exception.Invalid(reason="limit must be positive")
    rows = db.agent_counts_list(
        ctxt, since, until, department=req.GET.get("department"),
        site=req.GET.get("site"), pool=req.GET.get("pool", ""),
        limit=limit)
    return util.json_response({"history": [
        {"minute": util.iso(r["minute"]), "department": r["department"],
         "site": r["site"], "pool": r["pool"], "active": r["active"],
         "idle": r["idle"], "offline": r["offline"],
         "expected": r["expected"]} for r in rows]})


def replace_shift_plan(req):
    """PUT: the same import as POST (its days replace the stored ones)."""
    return import_shift_plan(req)
