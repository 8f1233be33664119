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

"""Watching the broker: audit events, departments, shift plans, agent
counts and alerts."""

import copy

from vdi_broker.api.handlers import alerts
from vdi_broker.api.handlers import events
from vdi_broker.api.handlers import monitoring
from vdi_broker.api.openapi.common import (
    ADMIN_ERRORS, BOOLEAN, IF_MATCH, INTEGER, LIST, NO_CONTENT,
    NULLABLE_INTEGER, NULLABLE_STRING, NULLABLE_TIMESTAMP, OBJECT, READ,
    STRING, TIMESTAMP, WRITE, list_params, listed, obj, operation, path_param,
    query, ref, response, wrapped)
from vdi_broker import states

EVENT = obj({
    "id": INTEGER, "created_at": TIMESTAMP, "kind": STRING,
    "action": STRING, "result": STRING, "actor": NULLABLE_STRING,
    "request_id": NULLABLE_STRING, "username": NULLABLE_STRING,
    "target_type": NULLABLE_STRING, "target_id": NULLABLE_STRING,
    "pool_id": NULLABLE_STRING, "desktop_id": NULLABLE_STRING,
    "message": NULLABLE_STRING,
    "detail": {"type": ["object", "null"]},
})

DEPARTMENT = obj({
    "id": STRING, "name": STRING, "description": NULLABLE_STRING,
    "priority": INTEGER, "rules": OBJECT, "revision": INTEGER,
    "created_at": TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP})

SHIFT_PLAN_SLOTS = obj({
    "timezone": STRING,
    "slots": {"type": "array", "items": obj({
        "department": STRING, "site": STRING,
        "date": {"type": "string", "format": "date"},
        "slot_start": STRING, "repeated_hour": BOOLEAN,
        "slot_minutes": INTEGER, "starts_at": TIMESTAMP,
        "ends_at": TIMESTAMP, "expected": INTEGER})}})

SHIFT_PLAN_IMPORTED = obj({"shift_plan": obj({
    "slots": INTEGER, "replaced": INTEGER, "days": INTEGER,
    "slot_minutes": INTEGER, "timezone": STRING,
    "dates": {"type": "array", "items": STRING}})})

AGENTS = obj({
    "at": TIMESTAMP, "active_interval": INTEGER,
    "agents": {"type": "array", "items": obj({
        "department": STRING, "site": STRING, "active": INTEGER,
        "idle": INTEGER, "offline": INTEGER,
        "expected": NULLABLE_INTEGER,
        "pools": {"type": "array", "items": obj({
            "pool": STRING, "active": INTEGER, "idle": INTEGER,
            "offline": INTEGER})}})}})

AGENT_HISTORY = obj({"history": {"type": "array", "items": obj({
    "minute": TIMESTAMP, "department": STRING, "site": STRING,
    "pool": STRING, "active": INTEGER, "idle": INTEGER,
    "offline": INTEGER, "expected": NULLABLE_INTEGER})}})

ALERT = obj({
    "id": STRING, "kind": {"enum": list(states.ALERT_KINDS)},
    "subject": STRING, "severity": STRING,
    "state": {"enum": list(states.ALERT_STATES)},
    "department": NULLABLE_STRING, "site": NULLABLE_STRING,
    "pool": NULLABLE_STRING, "values": {"type": ["object", "null"]},
    "message": NULLABLE_STRING, "acknowledged_by": NULLABLE_STRING,
    "started_at": TIMESTAMP, "fired_at": NULLABLE_TIMESTAMP,
    "ended_at": NULLABLE_TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP,
    "acknowledged_at": NULLABLE_TIMESTAMP})


def _event_params():
    params = [
        {"name": "limit", "in": "query",
         "description": "Page size; at most [api] max_limit.",
         "schema": {"type": "integer", "minimum": 1}},
        {"name": "marker", "in": "query",
         "description": "The id of the last event of the previous page "
                        "(events come newest first).",
         "schema": {"type": "integer"}},
        {"name": "since", "in": "query",
         "description": "Only events at or after this ISO 8601 time "
                        "(UTC unless it has an offset).",
         "schema": TIMESTAMP},
        {"name": "until", "in": "query",
         "description": "Only events before this ISO 8601 time.",
         "schema": TIMESTAMP},
    ]
    for name in events.FILTERS:
        params.append({"name": name, "in": "query",
                       "description": "Only events whose %s equals this."
                                      % name,
                       "schema": STRING})
    return params


_CSV_BODY = {"required": True, "content": {"text/csv": {
    "schema": STRING,
    "example": "date,slot_start,department,site,expected\r\n"
               "2026-12-08,08:00,hotel,shanghai,12\r\n"}}}


def operations():
    plan_import = operation(
        "Import a shift plan (CSV, local times of [monitoring] timezone): "
        "the slots of each department, site and date of the file replace "
        "the stored ones. A 400 names the line of a malformed row.",
        {"200": response("What was imported.", ref("ShiftPlanImported"))},
        WRITE, "shift_plans")
    plan_import["requestBody"] = _CSV_BODY
    return {
        events.list_events: operation(
            "List audit events, newest first.",
            {"200": response("A page of events.", listed("events", "Event"))},
            ADMIN_ERRORS + ("400",), "events", params=_event_params()),
        events.show: operation(
            "Show an event.",
            {"200": response("The event.", wrapped("event", "Event"))},
            READ, "events", params=[path_param("event_id")]),
        monitoring.list_departments: operation(
            "List departments.",
            {"200": response("A page of departments.",
                             listed("departments", "Department"))},
            LIST, "departments",
            params=list_params(monitoring, "name")),
        monitoring.create_department: operation(
            "Create a department (rules: groups, ou, attributes, match).",
            {"201": response("The department.",
                             wrapped("department", "Department"),
                             headers=("Location", "ETag"))},
            WRITE + ("409",), "departments", body="DepartmentCreate"),
        monitoring.show_department: operation(
            "Show a department (by id or name).",
            {"200": response("The department.",
                             wrapped("department", "Department"),
                             headers=("ETag",))},
            READ, "departments", params=[path_param("department_id")]),
        monitoring.update_department: operation(
            "Update a department; If-Match or revision guards against "
            "lost updates.",
            {"200": response("The department.",
                             wrapped("department", "Department"),
                             headers=("ETag",))},
            WRITE + ("404", "409"), "departments",
            body="DepartmentUpdate",
            params=[path_param("department_id"), IF_MATCH]),
        monitoring.delete_department: operation(
            "Delete a department and its shift plan.", {"204": NO_CONTENT},
            READ, "departments", params=[path_param("department_id")]),
        monitoring.list_shift_plans: operation(
            "The stored shift-plan slots; the CSV export with Accept: "
            "text/csv or format=csv.",
            {"200": {"description": "The slots.", "content": {
                "application/json": {"schema": ref("ShiftPlanSlots")},
                "text/csv": {"schema": STRING}}}},
            ADMIN_ERRORS + ("400",), "shift_plans",
            params=[query("department", "A department's name or id."),
                    query("site", "A site."),
                    query("from", "First local date (inclusive).",
                          {"type": "string", "format": "date"}),
                    query("to", "Last local date (inclusive).",
                          {"type": "string", "format": "date"}),
                    query("format", "csv: the CSV export.",
                          {"enum": ["csv"]})]),
        monitoring.import_shift_plan: plan_import,
        monitoring.replace_shift_plan: copy.deepcopy(plan_import),
        monitoring.list_agents: operation(
            "Active, idle and offline agents now by department and site "
            "(pools inside), with the plan's expected agents.",
            {"200": response("The agents.", ref("Agents"))},
            ADMIN_ERRORS, "agents",
            params=[query("department", "Only this department."),
                    query("site", "Only this site.")]),
        monitoring.agent_history: operation(
            "One-minute agent counts ([monitoring] history_days kept).",
            {"200": response("The history, oldest first.",
                             ref("AgentHistory"))},
            ADMIN_ERRORS + ("400",), "agents",
            params=[query("since", "From this time (ISO 8601; the last "
                          "hour by default).", TIMESTAMP),
                    query("until", "Before this time.", TIMESTAMP),
                    query("department", "Only this department."),
                    query("site", "Only this site."),
                    query("pool", "A pool's name; \"\" (the default) "
                          "for the department and site totals."),
                    query("limit", "At most this many rows.",
                          {"type": "integer", "minimum": 1})]),
        alerts.list_alerts: operation(
            "List alerts, newest first.",
            {"200": response("A page of alerts.", listed("alerts", "Alert"))},
            LIST, "alerts", params=list_params(alerts, "started_at")),
        alerts.show: operation(
            "Show an alert.",
            {"200": response("The alert.", wrapped("alert", "Alert"))},
            READ, "alerts", params=[path_param("alert_id")]),
        alerts.acknowledge: operation(
            "Acknowledge an alert (it still clears by itself).",
            {"200": response("The alert.", wrapped("alert", "Alert"))},
            READ + ("409",), "alerts", params=[path_param("alert_id")]),
    }
