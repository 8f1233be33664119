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

"""The API's OpenAPI 3.1 document, built from the route table.

Paths and methods come from :data:`vdi_broker.api.handler.ROUTE_DECLARATIONS`
(the operations below are keyed by handler), request bodies from the
jsonschemas the handlers validate with (:mod:`vdi_broker.api.schemas`),
and list parameters from the handlers' SORT_KEYS and FILTERS. Only the
response schemas are written here: they describe the handlers' views.

OpenAPI 3.1 because its schemas are JSON Schema 2020-12, which the request
schemas (``"type": ["string", "null"]``) already are.
"""

import copy

from vdi_broker.api.handlers import agent
from vdi_broker.api.handlers import alerts
from vdi_broker.api.handlers import allocators
from vdi_broker.api.handlers import bindings
from vdi_broker.api.handlers import client
from vdi_broker.api.handlers import desktops
from vdi_broker.api.handlers import events
from vdi_broker.api.handlers import hosts
from vdi_broker.api.handlers import incidents
from vdi_broker.api.handlers import jobs
from vdi_broker.api.handlers import maintenance
from vdi_broker.api.handlers import monitoring
from vdi_broker.api.handlers import pools
from vdi_broker.api.handlers import rollouts
from vdi_broker.api.handlers import root
from vdi_broker.api.handlers import schedules
from vdi_broker.api.handlers import seats
from vdi_broker.api.handlers import sessions
from vdi_broker.api.handlers import thin_clients
from vdi_broker.api import client_auth
from vdi_broker.api.handlers import openapi as openapi_handler
from vdi_broker.api import microversion
from vdi_broker.api.schemas import agent as agent_schema
from vdi_broker.api.schemas import allocators as allocator_schema
from vdi_broker.api.schemas import bindings as binding_schema
from vdi_broker.api.schemas import client as client_schema
from vdi_broker.api.schemas import desktops as desktop_schema
from vdi_broker.api.schemas import jobs as job_schema
from vdi_broker.api.schemas import monitoring as monitoring_schema
from vdi_broker.api.schemas import pools as pool_schema
from vdi_broker.api.schemas import rollouts as rollout_schema
from vdi_broker.api.schemas import schedules as schedule_schema
from vdi_broker.api.schemas import seats as seat_schema
from vdi_broker.api.schemas import thin_clients as thin_client_schema
from vdi_broker.api import util
from vdi_broker import states

OPENAPI_VERSION = "3.1.0"
PATH = "/v1/openapi.json"

# -- schema building blocks ---------------------------------------------------


def _ref(name):
    return {"$ref": "#/components/schemas/%s" % name}


def _nullable(schema):
    return {"anyOf": [schema, {"type": "null"}]}


STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}
NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
OBJECT = {"type": "object"}


def _object(properties, required=None):
    return {"type": "object", "properties": properties,
            "required": sorted(required or properties)}


LINKS = {"type": "array", "items": _object(
    {"rel": STRING, "href": STRING, "type": STRING},
    required=["rel", "href"])}

ERROR = _object({
    "error": _object({
        "code": {"type": "integer", "minimum": 400, "maximum": 599},
        "title": STRING,
        "message": STRING,
        "request_id": NULLABLE_STRING,
        "details": OBJECT,
    }, required=["code", "title", "message", "request_id"]),
})

VERSION = _object({
    "id": STRING, "status": STRING, "min_version": STRING,
    "max_version": STRING, "links": LINKS})

POOL = _object({
    "id": STRING, "name": STRING, "description": NULLABLE_STRING,
    "site": NULLABLE_STRING, "cloud": NULLABLE_STRING, "flavor": STRING,
    "image": STRING, "networks": {"type": "array", "items": STRING},
    "availability_zone": NULLABLE_STRING,
    "metadata": {"type": "object", "additionalProperties": STRING},
    "min_ready": INTEGER, "max_size": INTEGER,
    "max_concurrent_builds": INTEGER,
    "release_action": {"enum": list(states.RELEASE_ACTIONS)},
    "console_type": STRING, "enabled": BOOLEAN, "status": STRING,
    "status_reason": NULLABLE_STRING, "revision": INTEGER,
    "readiness_probe": NULLABLE_STRING,
    "disconnect_timeout": INTEGER, "idle_timeout": INTEGER,
    "expiry_when_connected": BOOLEAN,
    "fix_time": {"type": ["integer", "null"]},
    "build": _object({"failures": INTEGER,
                      "failing_since": NULLABLE_TIMESTAMP,
                      "last_error": NULLABLE_STRING}),
    "desktops": _object({s: INTEGER for s in
                         states.DESKTOP_STATES + ("total",)}),
    "boots": _object({"in_flight": INTEGER, "queued": INTEGER,
                      "queued_restarts": INTEGER,
                      "queued_creates": INTEGER, "allowance": INTEGER,
                      "limit": INTEGER, "waiting_reason": NULLABLE_STRING,
                      "average_seconds": {"type": ["number", "null"]}}),
    "draining_until": dict(NULLABLE_TIMESTAMP, description="While a "
                           "maintenance window that drains the pool is "
                           "open: its end (no new logins before then)."),
    "created_at": TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP,
})

ALLOCATOR = _object({
    "id": STRING, "name": STRING, "description": NULLABLE_STRING,
    "priority": INTEGER, "plugin": STRING, "pool_id": NULLABLE_STRING,
    "rules": OBJECT, "options": OBJECT, "is_default": BOOLEAN,
    "enabled": BOOLEAN, "revision": INTEGER,
    "created_at": TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP,
})

BINDING = _object({
    "id": STRING, "kind": {"enum": list(states.BINDING_KINDS)},
    "key": STRING, "desktop_id": STRING, "pool_id": STRING,
    "allocator_id": NULLABLE_STRING, "revision": INTEGER,
    "created_at": TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP,
})

STRINGS = {"type": "array", "items": STRING}
NULLABLE_INTEGER = {"type": ["integer", "null"]}

SEAT = _object({
    "id": STRING, "name": STRING, "site": NULLABLE_STRING,
    "location": NULLABLE_STRING, "department": NULLABLE_STRING,
    "tags": STRINGS, "description": NULLABLE_STRING, "revision": INTEGER,
    "created_at": TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP,
})

THIN_CLIENT = _object({
    "id": STRING, "client_id": STRING,
    "seat": dict(NULLABLE_STRING, description="The seat's name."),
    "site": NULLABLE_STRING, "model": NULLABLE_STRING, "tags": STRINGS,
    "status": STRING, "last_seen_at": NULLABLE_TIMESTAMP,
    "last_address": NULLABLE_STRING, "last_user": NULLABLE_STRING,
    "input_events": NULLABLE_INTEGER, "description": NULLABLE_STRING,
    "health": dict({"type": ["object", "null"]},
                   description="What the thin client reports of itself: "
                               "display, network, last_connection_error, "
                               "connection_failures."),
    "fault_reason": NULLABLE_STRING,
    "revision": INTEGER, "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP,
})

SCHEDULE = _object({
    "id": STRING, "name": STRING, "pool_id": STRING,
    "days": {"type": "array",
             "items": {"enum": list(schedule_schema.DAYS)}},
    "start_time": STRING, "end_time": STRING, "timezone": STRING,
    "min_ready": INTEGER, "prewarm_minutes": INTEGER, "enabled": BOOLEAN,
    "description": NULLABLE_STRING, "revision": INTEGER,
    "created_at": TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP,
})

JOB = _object({
    "id": STRING, "name": NULLABLE_STRING,
    "kind": {"enum": sorted(job_schema.kinds.KINDS)},
    "parameters": dict(OBJECT, description="Secret parameters show as "
                       "\"***\"."),
    "targets": OBJECT, "in_use": {"enum": list(states.JOB_IN_USE)},
    "max_retries": INTEGER, "retry_delay": INTEGER, "concurrency": INTEGER,
    "timeout": NULLABLE_INTEGER, "state": {"enum": list(states.JOB_STATES)},
    "status_reason": NULLABLE_STRING, "created_by": NULLABLE_STRING,
    "results": _object({s: INTEGER for s in states.TARGET_STATES}),
    "run_at": TIMESTAMP, "started_at": NULLABLE_TIMESTAMP,
    "finished_at": NULLABLE_TIMESTAMP, "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP,
})

_ROLLOUT_COUNTS = ("total", "old", "new", "old_ready", "old_in_use",
                   "old_quarantined", "in_progress", "done", "failed")

ROLLOUT = _object({
    "id": STRING, "pool_id": STRING, "image": STRING,
    "previous_image": STRING,
    "target_image": dict(STRING, description="The image the pool moves "
                         "to: image, or previous_image once rolled back."),
    "state": {"enum": list(states.ROLLOUT_STATES)},
    "status_reason": NULLABLE_STRING,
    "phase": {"enum": [states.ROLLOUT_CANARY, states.ROLLOUT_WAVES,
                       "rollback"]},
    "canary_share": {"type": "number"}, "canary_size": INTEGER,
    "wave_size": INTEGER, "max_failures": INTEGER,
    "window_id": NULLABLE_STRING, "created_by": NULLABLE_STRING,
    "progress": dict(_object({k: INTEGER for k in _ROLLOUT_COUNTS}),
                     description="The pool's desktops on another image "
                     "than the target (old: ready, in use, quarantined) "
                     "or on it (new), and the roll-out's rebuilds to the "
                     "target (in progress, done, failed)."),
    "revision": INTEGER, "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP, "finished_at": NULLABLE_TIMESTAMP,
})

ROLLOUT_DESKTOP = _object({
    "desktop_id": STRING, "desktop_name": NULLABLE_STRING, "image": STRING,
    "from_state": STRING,
    "state": {"enum": [states.ROLLOUT_DESKTOP_IN_PROGRESS,
                       states.ROLLOUT_DESKTOP_DONE,
                       states.ROLLOUT_DESKTOP_FAILED]},
    "reason": NULLABLE_STRING, "started_at": TIMESTAMP,
    "finished_at": NULLABLE_TIMESTAMP,
})

MAINTENANCE_WINDOW = _object({
    "id": STRING, "name": STRING, "description": NULLABLE_STRING,
    "pool_id": NULLABLE_STRING, "site": NULLABLE_STRING,
    "cron": NULLABLE_STRING, "timezone": STRING,
    "duration_minutes": NULLABLE_INTEGER,
    "starts_at": NULLABLE_TIMESTAMP, "ends_at": NULLABLE_TIMESTAMP,
    "drain": BOOLEAN, "enabled": BOOLEAN, "revision": INTEGER,
    "open": dict(BOOLEAN, description="Open now."),
    "opens_at": dict(NULLABLE_TIMESTAMP, description="The current opening's"
                     " start, else the next one's (null: none)."),
    "closes_at": NULLABLE_TIMESTAMP,
    "created_at": TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP,
})

JOB_TARGET = _object({
    "desktop_id": STRING, "desktop_name": NULLABLE_STRING,
    "state": {"enum": list(states.TARGET_STATES)}, "attempts": INTEGER,
    "reason": NULLABLE_STRING, "output": NULLABLE_STRING,
    "claimed_by": NULLABLE_STRING, "started_at": NULLABLE_TIMESTAMP,
    "finished_at": NULLABLE_TIMESTAMP,
    "next_attempt_at": NULLABLE_TIMESTAMP,
})

EVENT = _object({
    "id": INTEGER, "created_at": TIMESTAMP, "kind": STRING,
    "action": STRING, "result": STRING, "actor": NULLABLE_STRING,
    "request_id": NULLABLE_STRING, "username": NULLABLE_STRING,
    "target_type": NULLABLE_STRING, "target_id": NULLABLE_STRING,
    "pool_id": NULLABLE_STRING, "desktop_id": NULLABLE_STRING,
    "message": NULLABLE_STRING,
    "detail": {"type": ["object", "null"]},
})

DESKTOP = _object({
    "id": STRING, "name": STRING, "pool_id": STRING,
    "server_id": NULLABLE_STRING,
    "state": {"enum": list(states.DESKTOP_STATES)},
    "state_reason": NULLABLE_STRING, "host": NULLABLE_STRING,
    "address": NULLABLE_STRING, "assigned_user": NULLABLE_STRING,
    "assigned_at": NULLABLE_TIMESTAMP, "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP,
    "fault_reason": NULLABLE_STRING, "faulted_at": NULLABLE_TIMESTAMP,
    "faulted_by": NULLABLE_STRING,
    "image": dict(NULLABLE_STRING, description="The image the desktop's "
                  "server was built or last rebuilt from."),
})

_SESSION = {
    "id": STRING, "username": STRING, "client_id": STRING,
    "seat": NULLABLE_STRING, "desktop_id": NULLABLE_STRING,
    "pool_id": STRING, "allocator_id": NULLABLE_STRING,
    "binding_id": NULLABLE_STRING, "state": STRING,
    "close_reason": NULLABLE_STRING, "created_at": TIMESTAMP,
    "expires_at": TIMESTAMP, "closed_at": NULLABLE_TIMESTAMP,
    "connection_state": {"type": ["string", "null"],
                         "enum": list(states.CONNECTION_STATES) + [None]},
    "connection_since": NULLABLE_TIMESTAMP,
    "idle_seconds": {"type": ["integer", "null"]},
}
_SESSION_V1_2 = {
    "viewer_state": {
        "type": ["string", "null"],
        "enum": list(states.CONNECTION_STATES) + [None],
        "description": "Version 1.2 and later: the thin client's viewer, "
                       "as its heartbeats say (null: it never said); "
                       "connection_state is the guest agent's. The "
                       "conductor combines both ends (admin guide, "
                       "'Session state from both ends')."},
    "viewer_since": dict(NULLABLE_TIMESTAMP, description=(
        "Version 1.2 and later: since when the viewer is so.")),
    "connection": {
        "type": ["object", "null"],
        "properties": {
            "state": {"type": ["string", "null"],
                      "enum": list(states.CONNECTION_STATES) + [None]},
            "since": NULLABLE_TIMESTAMP,
            "decided_by": {"type": ["string", "null"],
                           "enum": ["agent", "thin_client", None]}},
        "required": ["state", "since", "decided_by"],
        "description": "Version 1.2 and later: both ends combined now, "
                       "as the conductor does (admin guide, 'Session "
                       "state from both ends'); decided_by null: no end "
                       "said anything. Null for a closed session."},
}
SESSION = _object(dict(_SESSION, **_SESSION_V1_2), required=list(_SESSION))

INCIDENT = _object({
    "id": STRING, "kind": {"enum": list(states.INCIDENT_KINDS)},
    "state": {"enum": list(states.INCIDENT_STATES)},
    "reason": NULLABLE_STRING, "desktop_id": STRING,
    "pool_id": NULLABLE_STRING, "session_id": NULLABLE_STRING,
    "username": NULLABLE_STRING, "probe_result": NULLABLE_STRING,
    "new_desktop_id": NULLABLE_STRING,
    "seconds": {"type": ["number", "null"],
                "description": "From the fault to a working desktop "
                               "(recovered or moved)."},
    "opened_at": TIMESTAMP, "deadline": TIMESTAMP,
    "probed_at": NULLABLE_TIMESTAMP, "resolved_at": NULLABLE_TIMESTAMP,
})

# The console driver's connection details (protocol-specific fields).
CONNECTION = {"type": "object",
              "description": "Connection details of the desktop; the "
                             "fields depend on the pool's console type."}

CLIENT_SESSION = _object({
    "id": STRING, "username": STRING, "client_id": STRING,
    "seat": NULLABLE_STRING, "state": STRING, "created_at": TIMESTAMP,
    "expires_at": TIMESTAMP, "closed_at": NULLABLE_TIMESTAMP,
    "close_reason": NULLABLE_STRING,
    "token": {"type": "string",
              "description": "The session token, given only here: send "
                             "it as X-Session-Token."},
})

LOGIN = _object({
    "session": CLIENT_SESSION,
    "desktop": _object({
        "id": STRING, "name": STRING, "pool_id": STRING, "state": STRING,
        "address": NULLABLE_STRING, "server_id": NULLABLE_STRING}),
    "pool": _object({"id": STRING, "name": STRING}),
    "allocator": _object({"id": STRING, "name": STRING, "plugin": STRING}),
    "binding": _nullable(_object({"id": STRING, "kind": STRING,
                                  "key": STRING, "desktop_id": STRING})),
    "reused": BOOLEAN,
    "connection": CONNECTION,
})

CLIENT_SESSION_SHOW = _object({
    "session": _object({
        "id": STRING, "username": STRING, "client_id": STRING,
        "seat": NULLABLE_STRING, "state": STRING, "created_at": TIMESTAMP,
        "expires_at": TIMESTAMP}),
    "desktop": _object({"id": STRING, "name": STRING, "state": STRING,
                        "address": NULLABLE_STRING}),
    "connection": CONNECTION,
})

EXPLAIN = _object({
    "explain": _object({
        "request": OBJECT,
        "trace": {"type": "array", "items": OBJECT},
        "outcome": {"type": "object",
                    "properties": {"allocator": NULLABLE_STRING,
                                   "decision": _nullable(OBJECT),
                                   "binding": _nullable(OBJECT),
                                   "pool": _nullable(OBJECT)},
                    "required": ["allocator", "decision"]},
    }),
})

_RESOURCE = _nullable(_object({
    "total": INTEGER, "reserved": INTEGER,
    "allocation_ratio": {"type": "number"}, "capacity": INTEGER,
    "used": INTEGER, "free": INTEGER,
    "used_percent": {"type": ["number", "null"]}}))
_STATE_COUNTS = {"type": "object", "additionalProperties": INTEGER,
                 "required": ["total"]}

HOSTS = _object({
    "hosts": {"type": "array", "items": _object({
        "name": STRING,
        "provider": _nullable(_object({"uuid": STRING,
                                       "name": NULLABLE_STRING})),
        "desktops": _STATE_COUNTS,
        "builds": _object({
            "in_flight": INTEGER, "queued": INTEGER, "allowance": INTEGER,
            "limit": INTEGER, "note": NULLABLE_STRING,
            "average_seconds": {"type": ["number", "null"]}}),
        "load_percent": {"type": ["number", "null"]},
        "memory_mb": _RESOURCE, "vcpus": _RESOURCE})},
    "capacity_known": BOOLEAN,
    "capacity_error": NULLABLE_STRING,
    "capacity_read_at": TIMESTAMP,
    "unplaced": _object({"desktops": _STATE_COUNTS, "in_flight": INTEGER,
                         "queued": INTEGER}),
    "boot_queue": _object({"in_flight": INTEGER, "queued_restarts": INTEGER,
                           "queued_creates": INTEGER, "limit": INTEGER,
                           "host_limit": INTEGER}),
})

CONSOLE = _object({"console": _object({
    "desktop_id": STRING, "type": STRING, "protocol": STRING,
    "url": {"type": "string",
            "description": "The console proxy's URL with a one-time "
                           "token: open it at once."}})})

SCHEMAS = {
    "Error": ERROR,
    "Hosts": HOSTS,
    "Console": CONSOLE,
    "Versions": _object({"versions": {"type": "array",
                                      "items": _ref("Version")}}),
    "Version": VERSION,
    "Pool": POOL,
    "Allocator": ALLOCATOR,
    "Binding": BINDING,
    "Desktop": DESKTOP,
    "Session": SESSION,
    "Login": LOGIN,
    "ClientSession": CLIENT_SESSION_SHOW,
    "Explain": EXPLAIN,
    "Seat": SEAT,
    "ThinClient": THIN_CLIENT,
    "Schedule": SCHEDULE,
    "Event": EVENT,
    "Job": JOB,
    "JobTargets": _object({"targets": {"type": "array",
                                       "items": JOB_TARGET}}),
    "JobCreate": job_schema.create,
    "Rollout": ROLLOUT,
    "RolloutDesktops": _object({"desktops": {"type": "array",
                                             "items": ROLLOUT_DESKTOP}}),
    "RolloutCreate": rollout_schema.create,
    "RolloutAction": rollout_schema.action,
    "MaintenanceWindow": MAINTENANCE_WINDOW,
    "MaintenanceWindowCreate": rollout_schema.window_create,
    "PoolCreate": pool_schema.create,
    "PoolUpdate": pool_schema.update,
    "AllocatorCreate": allocator_schema.create,
    "AllocatorUpdate": allocator_schema.update,
    "AllocatorExplain": allocator_schema.explain,
    "AllocatorReorder": allocator_schema.reorder,
    "BindingCreate": binding_schema.create,
    "BindingUpdate": binding_schema.update,
    "SeatCreate": seat_schema.create,
    "SeatUpdate": seat_schema.update,
    "ThinClientCreate": thin_client_schema.create,
    "ThinClientUpdate": thin_client_schema.update,
    "ScheduleCreate": schedule_schema.create,
    "ScheduleUpdate": schedule_schema.update,
    "LoginRequest": client_schema.login,
    # Version 1.2's (1.0 takes no seat, 1.1 no viewer).
    "Heartbeat": client_schema.heartbeat_v1_2,
    "HeartbeatAnswer": _object({
        "heartbeat_interval": {"type": "integer", "minimum": 1},
        "offline_after": {"type": "integer", "minimum": 0}}),
    "DesktopAction": desktop_schema.action,
    "ClientFault": client_schema.fault,
    "Incident": INCIDENT,
    "AgentRegister": agent_schema.register,
    "AgentReport": agent_schema.report,
    "AgentRegistered": _object({
        "desktop_id": STRING, "registered_at": TIMESTAMP,
        "report_interval": INTEGER,
        "min_report_interval": {"type": "number"}}),
    "AgentReported": _object({"report_interval": INTEGER}),
    "ClientFaultAccepted": _object({"desktop": _object({
        "id": STRING, "name": STRING, "state": STRING})}),
    "Department": _object({
        "id": STRING, "name": STRING, "description": NULLABLE_STRING,
        "priority": INTEGER, "rules": OBJECT, "revision": INTEGER,
        "created_at": TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP}),
    "DepartmentCreate": monitoring_schema.department_create,
    "DepartmentUpdate": monitoring_schema.department_update,
    "ShiftPlanSlots": _object({
        "timezone": STRING,
        "slots": {"type": "array", "items": _object({
            "department": STRING, "site": STRING,
            "date": {"type": "string", "format": "date"},
            "slot_start": STRING, "repeated_hour": BOOLEAN,
            "slot_minutes": INTEGER, "starts_at": TIMESTAMP,
            "ends_at": TIMESTAMP, "expected": INTEGER})}}),
    "ShiftPlanImported": _object({"shift_plan": _object({
        "slots": INTEGER, "replaced": INTEGER, "days": INTEGER,
        "slot_minutes": INTEGER, "timezone": STRING,
        "dates": {"type": "array", "items": STRING}})}),
    "Agents": _object({
        "at": TIMESTAMP, "active_interval": INTEGER,
        "agents": {"type": "array", "items": _object({
            "department": STRING, "site": STRING, "active": INTEGER,
            "idle": INTEGER, "offline": INTEGER,
            "expected": NULLABLE_INTEGER,
            "pools": {"type": "array", "items": _object({
                "pool": STRING, "active": INTEGER, "idle": INTEGER,
                "offline": INTEGER})}})}}),
    "AgentHistory": _object({"history": {"type": "array", "items": _object({
        "minute": TIMESTAMP, "department": STRING, "site": STRING,
        "pool": STRING, "active": INTEGER, "idle": INTEGER,
        "offline": INTEGER, "expected": NULLABLE_INTEGER})}}),
    "Alert": _object({
        "id": STRING, "kind": {"enum": list(states.ALERT_KINDS)},
        "subject": STRING, "severity": STRING,
        "state": {"enum": list(states.ALERT_STATES)},
        "department": NULLABLE_STRING, "site": NULLABLE_STRING,
        "pool": NULLABLE_STRING, "values": {"type": ["object", "null"]},
        "message": NULLABLE_STRING, "acknowledged_by": NULLABLE_STRING,
        "started_at": TIMESTAMP, "fired_at": NULLABLE_TIMESTAMP,
        "ended_at": NULLABLE_TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP,
        "acknowledged_at": NULLABLE_TIMESTAMP}),
}

# -- responses ----------------------------------------------------------------

ERRORS = {
    "400": "The request is malformed or invalid (body, query or "
           "If-Match).",
    "401": "No valid token (X-Auth-Token for the admin API, "
           "X-Session-Token or the credentials for the client API).",
    "403": "The policy does not allow the caller this operation.",
    "404": "No such resource.",
    "405": "The path does not serve this method (the Allow header lists "
           "the ones it serves).",
    "409": "The request conflicts with the current state (a duplicate "
           "name, a stale revision, a resource in use, a desktop whose "
           "state does not allow the action), or the desktop's console is "
           "not available.",
    "413": "The request body is larger than [oslo_middleware] "
           "max_request_body_size (an agent's: [agent] max_body).",
    "429": "Too many failed logins, or an agent's reports too frequent: "
           "try again after Retry-After seconds.",
    "503": "A service the broker needs is unavailable, or the pool has no "
           "desktop ready: try again after Retry-After seconds.",
}


def _error_response(status):
    response = {"description": ERRORS[status],
                "content": {"application/json": {"schema": _ref("Error")}}}
    headers = {"405": "Allow", "429": "Retry-After",
               "503": "Retry-After"}.get(status)
    if headers:
        response["headers"] = {headers: {"schema": STRING}}
    return response


def _json(description, schema, headers=()):
    response = {"description": description,
                "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = {h: {"schema": STRING} for h in headers}
    return response


def _wrapped(key, name):
    return _object({key: _ref(name)})


def _listed(key, name):
    return _object({key: {"type": "array", "items": _ref(name)},
                    "links": LINKS})


NO_CONTENT = {"description": "Done; no content."}

# -- parameters -----------------------------------------------------------


def _path_param(name):
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "string", "minLength": 1}}


def _list_params(module, default_sort):
    params = [
        {"name": "limit", "in": "query",
         "description": "Page size; at most [api] max_limit.",
         "schema": {"type": "integer", "minimum": 1}},
        {"name": "marker", "in": "query",
         "description": "The id of the last item of the previous page.",
         "schema": STRING},
        {"name": "sort_key", "in": "query",
         "schema": {"enum": list(module.SORT_KEYS),
                    "default": default_sort}},
        {"name": "sort_dir", "in": "query",
         "schema": {"enum": ["asc", "desc"], "default": "asc"}},
    ]
    for name in module.FILTERS:
        schema = (BOOLEAN if name in util.BOOLEAN_FILTERS else STRING)
        params.append({"name": name, "in": "query",
                       "description": "Only items whose %s equals this."
                                      % name,
                       "schema": schema})
    return params


def _body(name):
    return {"required": True,
            "content": {"application/json": {"schema": _ref(name)}}}


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


IF_MATCH = {"name": "If-Match", "in": "header",
            "description": "The ETag (revision) the update expects, as "
                           "\"3\"; a stale one is a 409.",
            "schema": {"type": "string", "pattern": "^\"?[0-9]+\"?$"}}

# -- operations, by handler -------------------------------------------------

PUBLIC = []
ADMIN = [{"keystone": []}]
CLIENT_SESSION_TOKEN = [{"session_token": []}]
AGENT_SECRET = [{"agent_secret": []}]
# No token, or the session token of the session_id in the body.
OPTIONAL_SESSION_TOKEN = [{}, {"session_token": []}]


def _op(summary, responses, errors, tag, security=ADMIN, params=(),
        body=None):
    op = {"summary": summary, "tags": [tag], "security": security,
          "responses": dict(responses)}
    for status in errors:
        op["responses"][status] = _error_response(status)
    if params:
        op["parameters"] = list(params)
    if body:
        op["requestBody"] = _body(body)
    return op


# Errors of every admin operation (Keystone, policy); bodies add 400 and
# 413.
_ADMIN_ERRORS = ("401", "403")
_READ = _ADMIN_ERRORS + ("404",)
_WRITE = _ADMIN_ERRORS + ("400", "413")
_LIST = _ADMIN_ERRORS + ("400", "404")


def _base_operations():
    wrapped, listed = _wrapped, _listed
    return {
        root.versions: _op(
            "The API versions.",
            {"200": _json("The version document.", _ref("Versions"))},
            (), "versions", security=PUBLIC),
        root.v1: _op(
            "The v1 API version.",
            {"200": _json("The v1 version.", wrapped("version", "Version"))},
            (), "versions", security=PUBLIC),
        openapi_handler.show: _op(
            "This OpenAPI document.",
            {"200": _json("The OpenAPI document of the API.", OBJECT)},
            (), "versions", security=PUBLIC),
        client.login: _op(
            "Log a thin client's user in and allocate a desktop.",
            {"201": _json("Logged in: the session (with its token), the "
                          "desktop and how to connect to it.",
                          _ref("Login"), headers=("Location",))},
            ("400", "401", "403", "404", "409", "413", "429", "503"),
            "client",
            security=PUBLIC, body="LoginRequest"),
        client.show: _op(
            "The session, its desktop and the connection details.",
            {"200": _json("The session.", _ref("ClientSession"))},
            ("401", "404", "409", "503"), "client",
            security=CLIENT_SESSION_TOKEN,
            params=[_path_param("session_id")]),
        client.logout: _op(
            "Log out: close the session; the pool's release action runs.",
            {"204": NO_CONTENT}, ("401", "503"), "client",
            security=CLIENT_SESSION_TOKEN,
            params=[_path_param("session_id")]),
        client.console_file: _op(
            "The session's client file (.vv for remote-viewer, .rdp).",
            {"200": {"description": "The connection file, as an "
                                    "attachment; never cached.",
                     "headers": {"Content-Disposition": {"schema": STRING}},
                     "content": {"application/x-virt-viewer": {
                                 "schema": STRING},
                                 "application/x-rdp": {"schema": STRING},
                                 "text/plain": {"schema": STRING}}}},
            ("401", "404", "409", "503"), "client",
            security=CLIENT_SESSION_TOKEN,
            params=[_path_param("session_id")]),
        client.fault: _op(
            "Report the session's desktop faulty: it is quarantined, the "
            "session closed, and the next login gets a healthy desktop.",
            {"202": _json("The desktop is quarantined.",
                          _ref("ClientFaultAccepted"))},
            ("400", "401", "409", "413", "503"), "client",
            security=CLIENT_SESSION_TOKEN, body="ClientFault",
            params=[_path_param("session_id")]),
        pools.list_pools: _op(
            "List pools.",
            {"200": _json("A page of pools.", listed("pools", "Pool"))},
            _LIST, "pools", params=_list_params(pools, "name")),
        pools.create: _op(
            "Create a pool.",
            {"201": _json("The pool.", wrapped("pool", "Pool"),
                          headers=("Location", "ETag"))},
            _WRITE + ("409",), "pools", body="PoolCreate"),
        pools.show: _op(
            "Show a pool (by id or name).",
            {"200": _json("The pool.", wrapped("pool", "Pool"),
                          headers=("ETag",))},
            _READ, "pools", params=[_path_param("pool_id")]),
        pools.update: _op(
            "Update a pool; If-Match or revision guards against lost "
            "updates.",
            {"200": _json("The pool.", wrapped("pool", "Pool"),
                          headers=("ETag",))},
            _WRITE + ("404", "409"), "pools", body="PoolUpdate",
            params=[_path_param("pool_id"), IF_MATCH]),
        pools.delete: _op(
            "Delete a pool.", {"204": NO_CONTENT},
            _READ + ("409",), "pools", params=[_path_param("pool_id")]),
        allocators.explain: _op(
            "Dry-run the allocator chain for a user; changes nothing.",
            {"200": _json("Which allocator would serve the user, and why.",
                          _ref("Explain"))},
            _WRITE + ("404", "503"), "allocators", body="AllocatorExplain"),
        allocators.list_allocators: _op(
            "List allocators (the chain).",
            {"200": _json("A page of allocators.",
                          listed("allocators", "Allocator"))},
            _LIST, "allocators",
            params=_list_params(allocators, "priority")),
        allocators.create: _op(
            "Create an allocator.",
            {"201": _json("The allocator.",
                          wrapped("allocator", "Allocator"),
                          headers=("Location",))},
            _WRITE + ("404", "409"), "allocators", body="AllocatorCreate"),
        allocators.show: _op(
            "Show an allocator (by id or name).",
            {"200": _json("The allocator.",
                          wrapped("allocator", "Allocator"),
                          headers=("ETag",))},
            _READ, "allocators", params=[_path_param("allocator_id")]),
        allocators.update: _op(
            "Update an allocator.",
            {"200": _json("The allocator.",
                          wrapped("allocator", "Allocator"),
                          headers=("ETag",))},
            _WRITE + ("404", "409"), "allocators", body="AllocatorUpdate",
            params=[_path_param("allocator_id"), IF_MATCH]),
        allocators.delete: _op(
            "Delete an allocator.", {"204": NO_CONTENT},
            _READ, "allocators",
            params=[_path_param("allocator_id")]),
        bindings.list_bindings: _op(
            "List bindings.",
            {"200": _json("A page of bindings.",
                          listed("bindings", "Binding"))},
            _LIST, "bindings", params=_list_params(bindings, "created_at")),
        bindings.create: _op(
            "Bind a desktop to a user, seat or thin client.",
            {"201": _json("The binding.", wrapped("binding", "Binding"),
                          headers=("Location",))},
            _WRITE + ("404", "409"), "bindings", body="BindingCreate"),
        bindings.show: _op(
            "Show a binding.",
            {"200": _json("The binding.", wrapped("binding", "Binding"))},
            _READ, "bindings", params=[_path_param("binding_id")]),
        bindings.delete: _op(
            "Delete a binding.", {"204": NO_CONTENT},
            _READ, "bindings", params=[_path_param("binding_id")]),
        desktops.list_desktops: _op(
            "List desktops.",
            {"200": _json("A page of desktops.",
                          listed("desktops", "Desktop"))},
            _LIST, "desktops", params=_list_params(desktops, "created_at")),
        desktops.show: _op(
            "Show a desktop (by id or name).",
            {"200": _json("The desktop.", wrapped("desktop", "Desktop"))},
            _READ, "desktops", params=[_path_param("desktop_id")]),
        desktops.action: _op(
            "Run one action on a desktop: reboot, rebuild, replace, move, "
            "quarantine or unquarantine.",
            {"202": _json("The desktop as the action left it; the rest "
                          "goes on in the background.",
                          wrapped("desktop", "Desktop"))},
            _WRITE + ("404", "409", "503"), "desktops",
            body="DesktopAction", params=[_path_param("desktop_id")]),
        desktops.console: _op(
            "Open the desktop's browser console (spice-html5, noVNC): "
            "its URL with a one-time token.",
            {"200": _json("The console.", _ref("Console"),
                          headers=("Cache-Control",))},
            _READ + ("409", "503"), "desktops",
            params=[_path_param("desktop_id")]),
        hosts.list_hosts: _op(
            "List the compute hosts: desktops, boots, Placement's memory "
            "and vCPUs against the overcommit limit; the boot queue.",
            {"200": _json("The hosts.", _ref("Hosts"))},
            _ADMIN_ERRORS + ("503",), "hosts"),
        sessions.list_sessions: _op(
            "List thin-client sessions.",
            {"200": _json("A page of sessions.",
                          listed("sessions", "Session"))},
            _LIST, "sessions", params=_list_params(sessions, "created_at")),
        sessions.show: _op(
            "Show a session.",
            {"200": _json("The session.", wrapped("session", "Session"))},
            _READ, "sessions", params=[_path_param("session_id")]),
        sessions.delete: _op(
            "Force a logout (helpdesk); the pool's release action runs.",
            {"204": NO_CONTENT}, _READ + ("503",), "sessions",
            params=[_path_param("session_id")]),
        client.heartbeat: _op(
            "A thin client's heartbeat: last seen, address, user, input "
            "events; status online. From version 1.1 on, the answer says "
            "the interval to send them at, and the heartbeat may name the "
            "client's seat. From version 1.2 on, it may say whether the "
            "viewer shows the session it names (viewer: connected, and "
            "for how many seconds): the session's thin-client end of its "
            "connection state, which the disconnect timeout also follows.",
            {"200": _json("Version 1.1 and later: the heartbeat interval "
                          "the broker asks for and the silence after "
                          "which it counts the client offline, in "
                          "seconds.", _ref("HeartbeatAnswer")),
             "204": {"description": "Version 1.0: done; no content."}},
            ("400", "401", "404", "413"), "client",
            security=OPTIONAL_SESSION_TOKEN, body="Heartbeat"),
        allocators.reorder: _op(
            "Set the order of the whole chain: priorities 10, 20, 30... "
            "in one transaction.",
            {"200": _json("The allocators in their new order.",
                          _object({"allocators": {
                              "type": "array",
                              "items": _ref("Allocator")}}))},
            _WRITE + ("409",), "allocators", body="AllocatorReorder"),
        bindings.update: _op(
            "Move a binding to another desktop of its pool.",
            {"200": _json("The binding.", wrapped("binding", "Binding"),
                          headers=("ETag",))},
            _WRITE + ("404", "409"), "bindings", body="BindingUpdate",
            params=[_path_param("binding_id"), IF_MATCH]),
        events.list_events: _op(
            "List audit events, newest first.",
            {"200": _json("A page of events.", listed("events", "Event"))},
            _ADMIN_ERRORS + ("400",), "events", params=_event_params()),
        events.show: _op(
            "Show an event.",
            {"200": _json("The event.", wrapped("event", "Event"))},
            _READ, "events", params=[_path_param("event_id")]),
        seats.list_seats: _op(
            "List seats.",
            {"200": _json("A page of seats.",
                          listed("seats", "Seat"))},
            _LIST, "seats", params=_list_params(seats, "name")),
        seats.create: _op(
            "Create a seat.",
            {"201": _json("The seat.", wrapped("seat", "Seat"),
                          headers=("Location", "ETag"))},
            _WRITE + ("409",), "seats", body="SeatCreate"),
        seats.show: _op(
            "Show a seat (by id or name).",
            {"200": _json("The seat.", wrapped("seat", "Seat"),
                          headers=("ETag",))},
            _READ, "seats", params=[_path_param("seat_id")]),
        seats.update: _op(
            "Update a seat; If-Match or revision guards against lost "
            "updates.",
            {"200": _json("The seat.", wrapped("seat", "Seat"),
                          headers=("ETag",))},
            _WRITE + ("404", "409"), "seats", body="SeatUpdate",
            params=[_path_param("seat_id"), IF_MATCH]),
        seats.delete: _op(
            "Delete a seat.", {"204": NO_CONTENT},
            _READ + ("409",), "seats", params=[_path_param("seat_id")]),
        thin_clients.list_thin_clients: _op(
            "List thin clients.",
            {"200": _json("A page of thin clients.",
                          listed("thin_clients", "ThinClient"))},
            _LIST, "thin_clients",
            params=_list_params(thin_clients, "client_id")),
        thin_clients.create: _op(
            "Create a thin client.",
            {"201": _json("The thin client.",
                          wrapped("thin_client", "ThinClient"),
                          headers=("Location", "ETag"))},
            _WRITE + ("404", "409"), "thin_clients", body="ThinClientCreate"),
        thin_clients.show: _op(
            "Show a thin client (by id or client_id).",
            {"200": _json("The thin client.",
                          wrapped("thin_client", "ThinClient"),
                          headers=("ETag",))},
            _READ, "thin_clients", params=[_path_param("thin_client_id")]),
        thin_clients.update: _op(
            "Update a thin client; If-Match or revision guards against lost "
            "updates.",
            {"200": _json("The thin client.",
                          wrapped("thin_client", "ThinClient"),
                          headers=("ETag",))},
            _WRITE + ("404", "409"), "thin_clients", body="ThinClientUpdate",
            params=[_path_param("thin_client_id"), IF_MATCH]),
        thin_clients.delete: _op(
            "Delete a thin client.", {"204": NO_CONTENT},
            _READ, "thin_clients",
            params=[_path_param("thin_client_id")]),
        schedules.list_schedules: _op(
            "List schedules.",
            {"200": _json("A page of schedules.",
                          listed("schedules", "Schedule"))},
            _LIST, "schedules", params=_list_params(schedules, "name")),
        schedules.create: _op(
            "Create a schedule.",
            {"201": _json("The schedule.", wrapped("schedule", "Schedule"),
                          headers=("Location", "ETag"))},
            _WRITE + ("404", "409"), "schedules", body="ScheduleCreate"),
        schedules.show: _op(
            "Show a schedule.",
            {"200": _json("The schedule.", wrapped("schedule", "Schedule"),
                          headers=("ETag",))},
            _READ, "schedules", params=[_path_param("schedule_id")]),
        schedules.update: _op(
            "Update a schedule; If-Match or revision guards against lost "
            "updates.",
            {"200": _json("The schedule.", wrapped("schedule", "Schedule"),
                          headers=("ETag",))},
            _WRITE + ("404", "409"), "schedules", body="ScheduleUpdate",
            params=[_path_param("schedule_id"), IF_MATCH]),
        schedules.delete: _op(
            "Delete a schedule.", {"204": NO_CONTENT},
            _READ, "schedules", params=[_path_param("schedule_id")]),
        jobs.list_jobs: _op(
            "List guest jobs.",
            {"200": _json("A page of jobs.", listed("jobs", "Job"))},
            _LIST, "jobs", params=_list_params(jobs, "created_at")),
        jobs.create: _op(
            "Schedule a guest job on desktops.",
            {"201": _json("The job.", wrapped("job", "Job"),
                          headers=("Location",))},
            _WRITE, "jobs", body="JobCreate"),
        jobs.show: _op(
            "Show a guest job and its result counts.",
            {"200": _json("The job.", wrapped("job", "Job"))},
            _READ, "jobs", params=[_path_param("job_id")]),
        jobs.targets: _op(
            "The job's result per desktop.",
            {"200": _json("The targets.", _ref("JobTargets"))},
            _READ + ("400",), "jobs",
            params=[_path_param("job_id"),
                    {"name": "state", "in": "query", "schema": {
                        "enum": list(states.TARGET_STATES)}}]),
        agent.register: _op(
            "A desktop's guest agent registers (at every start of the "
            "guest); X-Agent-Secret is the secret of the server's "
            "metadata.",
            {"200": _json("Registered: how often to report.",
                          _ref("AgentRegistered"))},
            ("400", "401", "413", "429", "503"), "agent",
            security=AGENT_SECRET, body="AgentRegister"),
        agent.report: _op(
            "A guest agent's report: display connection and service, "
            "logged-on user, idle seconds, CPU, memory, disk free.",
            {"200": _json("Recorded.", _ref("AgentReported"))},
            ("400", "401", "409", "413", "429", "503"), "agent",
            security=AGENT_SECRET, body="AgentReport"),
        incidents.list_incidents: _op(
            "List incidents (desktop faults under the five-minute rule), "
            "newest first.",
            {"200": _json("A page of incidents.",
                          listed("incidents", "Incident"))},
            _LIST, "incidents",
            params=_list_params(incidents, "opened_at")),
        incidents.show: _op(
            "Show an incident.",
            {"200": _json("The incident.",
                          wrapped("incident", "Incident"))},
            _READ, "incidents", params=[_path_param("incident_id")]),
        jobs.cancel: _op(
            "Cancel a scheduled or running job.",
            {"200": _json("The job.", wrapped("job", "Job"))},
            _READ + ("409",), "jobs", params=[_path_param("job_id")]),
        rollouts.list_pool_rollouts: _op(
            "List a pool's image roll-outs, newest first.",
            {"200": _json("A page of roll-outs.",
                          listed("rollouts", "Rollout"))},
            _LIST + ("404",), "rollouts",
            params=[_path_param("pool_id")] +
            _list_params(rollouts, "created_at")),
        rollouts.create: _op(
            "Roll a pool out to a new image (sets the pool's image).",
            {"201": _json("The roll-out.", wrapped("rollout", "Rollout"),
                          headers=("Location",))},
            _WRITE + ("404", "409"), "rollouts", body="RolloutCreate",
            params=[_path_param("pool_id")]),
        rollouts.list_rollouts: _op(
            "List every pool's image roll-outs, newest first.",
            {"200": _json("A page of roll-outs.",
                          listed("rollouts", "Rollout"))},
            _LIST, "rollouts", params=_list_params(rollouts, "created_at")),
        rollouts.show: _op(
            "Show an image roll-out and its progress.",
            {"200": _json("The roll-out.", wrapped("rollout", "Rollout"))},
            _READ, "rollouts", params=[_path_param("rollout_id")]),
        rollouts.desktops: _op(
            "The desktops a roll-out rebuilt, and how each ended.",
            {"200": _json("The desktops.", _ref("RolloutDesktops"))},
            _READ + ("400",), "rollouts",
            params=[_path_param("rollout_id"),
                    {"name": "state", "in": "query", "schema": {
                        "enum": [states.ROLLOUT_DESKTOP_IN_PROGRESS,
                                 states.ROLLOUT_DESKTOP_DONE,
                                 states.ROLLOUT_DESKTOP_FAILED]}}]),
        rollouts.action: _op(
            "Pause, resume or roll back a roll-out.",
            {"200": _json("The roll-out.", wrapped("rollout", "Rollout"))},
            _WRITE + ("404", "409"), "rollouts", body="RolloutAction",
            params=[_path_param("rollout_id")]),
        maintenance.list_windows: _op(
            "List maintenance windows.",
            {"200": _json("A page of windows.",
                          listed("maintenance_windows",
                                 "MaintenanceWindow"))},
            _LIST, "maintenance_windows",
            params=_list_params(maintenance, "name")),
        maintenance.create: _op(
            "Create a maintenance window of a pool or a site.",
            {"201": _json("The window.", wrapped("maintenance_window",
                                                 "MaintenanceWindow"),
                          headers=("Location",))},
            _WRITE + ("404", "409"), "maintenance_windows",
            body="MaintenanceWindowCreate"),
        maintenance.show: _op(
            "Show a maintenance window, whether it is open and its next "
            "opening.",
            {"200": _json("The window.", wrapped("maintenance_window",
                                                 "MaintenanceWindow"))},
            _READ, "maintenance_windows", params=[_path_param("window_id")]),
        maintenance.delete: _op(
            "Delete a maintenance window.", {"204": NO_CONTENT},
            _READ, "maintenance_windows", params=[_path_param("window_id")]),
    }


def _query(name, description, schema=STRING):
    return {"name": name, "in": "query", "description": description,
            "schema": schema}


_CSV_BODY = {"required": True, "content": {"text/csv": {
    "schema": STRING,
    "example": "date,slot_start,department,site,expected\r\n"
               "2026-12-08,08:00,hotel,shanghai,12\r\n"}}}


def _monitoring_operations():
    wrapped, listed = _wrapped, _listed
    plan_import = _op(
        "Import a shift plan (CSV, local times of [monitoring] timezone): "
        "the slots of each department, site and date of the file replace "
        "the stored ones. A 400 names the line of a malformed row.",
        {"200": _json("What was imported.", _ref("ShiftPlanImported"))},
        _WRITE, "shift_plans")
    plan_import["requestBody"] = _CSV_BODY
    return {
        monitoring.list_departments: _op(
            "List departments.",
            {"200": _json("A page of departments.",
                          listed("departments", "Department"))},
            _LIST, "departments",
            params=_list_params(monitoring, "name")),
        monitoring.create_department: _op(
            "Create a department (rules: groups, ou, attributes, match).",
            {"201": _json("The department.",
                          wrapped("department", "Department"),
                          headers=("Location", "ETag"))},
            _WRITE + ("409",), "departments", body="DepartmentCreate"),
        monitoring.show_department: _op(
            "Show a department (by id or name).",
            {"200": _json("The department.",
                          wrapped("department", "Department"),
                          headers=("ETag",))},
            _READ, "departments", params=[_path_param("department_id")]),
        monitoring.update_department: _op(
            "Update a department; If-Match or revision guards against "
            "lost updates.",
            {"200": _json("The department.",
                          wrapped("department", "Department"),
                          headers=("ETag",))},
            _WRITE + ("404", "409"), "departments",
            body="DepartmentUpdate",
            params=[_path_param("department_id"), IF_MATCH]),
        monitoring.delete_department: _op(
            "Delete a department and its shift plan.", {"204": NO_CONTENT},
            _READ, "departments", params=[_path_param("department_id")]),
        monitoring.list_shift_plans: _op(
            "The stored shift-plan slots; the CSV export with Accept: "
            "text/csv or format=csv.",
            {"200": {"description": "The slots.", "content": {
                "application/json": {"schema": _ref("ShiftPlanSlots")},
                "text/csv": {"schema": STRING}}}},
            _ADMIN_ERRORS + ("400",), "shift_plans",
            params=[_query("department", "A department's name or id."),
                    _query("site", "A site."),
                    _query("from", "First local date (inclusive).",
                           {"type": "string", "format": "date"}),
                    _query("to", "Last local date (inclusive).",
                           {"type": "string", "format": "date"}),
                    _query("format", "csv: the CSV export.",
                           {"enum": ["csv"]})]),
        monitoring.import_shift_plan: plan_import,
        monitoring.replace_shift_plan: copy.deepcopy(plan_import),
        monitoring.list_agents: _op(
            "Active, idle and offline agents now by department and site "
            "(pools inside), with the plan's expected agents.",
            {"200": _json("The agents.", _ref("Agents"))},
            _ADMIN_ERRORS, "agents",
            params=[_query("department", "Only this department."),
                    _query("site", "Only this site.")]),
        monitoring.agent_history: _op(
            "One-minute agent counts ([monitoring] history_days kept).",
            {"200": _json("The history, oldest first.",
                          _ref("AgentHistory"))},
            _ADMIN_ERRORS + ("400",), "agents",
            params=[_query("since", "From this time (ISO 8601; the last "
                                    "hour by default).", TIMESTAMP),
                    _query("until", "Before this time.", TIMESTAMP),
                    _query("department", "Only this department."),
                    _query("site", "Only this site."),
                    _query("pool", "A pool's name; \"\" (the default) "
                                   "for the department and site totals."),
                    _query("limit", "At most this many rows.",
                           {"type": "integer", "minimum": 1})]),
        alerts.list_alerts: _op(
            "List alerts, newest first.",
            {"200": _json("A page of alerts.", listed("alerts", "Alert"))},
            _LIST, "alerts", params=_list_params(alerts, "started_at")),
        alerts.show: _op(
            "Show an alert.",
            {"200": _json("The alert.", wrapped("alert", "Alert"))},
            _READ, "alerts", params=[_path_param("alert_id")]),
        alerts.acknowledge: _op(
            "Acknowledge an alert (it still clears by itself).",
            {"200": _json("The alert.", wrapped("alert", "Alert"))},
            _READ + ("409",), "alerts", params=[_path_param("alert_id")]),
    }


def _operations():
    operations = _base_operations()
    operations.update(_monitoring_operations())
    return operations


# Response headers of every response.
_COMMON_HEADERS = {
    "X-OpenStack-Request-ID": {
        "description": "The request id, also in error documents.",
        "schema": STRING},
    microversion.HEADER: {
        "description": "The API version the request was served with, "
                       "e.g. '%s %s'." % (microversion.SERVICE_TYPE,
                                          microversion.MAX_VERSION),
        "schema": STRING},
}

DESCRIPTION = """\
The VDI broker's API: the admin API (pools, allocators, bindings,
desktops, sessions, seats, thin clients, schedules, jobs, roll-outs,
maintenance windows, incidents, events, departments, shift plans, agents,
alerts)
authenticated by a Keystone token in X-Auth-Token, and the thin-client
API under /v1/client/, where a client logs in with the user's directory
credentials and then sends the session token it got in X-Session-Token
(heartbeats send it only with a session_id), and the guest agents' API
under /v1/agent/, authenticated by the desktop's agent secret in
X-Agent-Secret.

Every error is a JSON document {"error": {"code", "title", "message",
"request_id", "details"?}} (schema Error); a path that does not serve the
method is a 405 with an Allow header, an unknown path a 404.

A request may ask for an API version with the header
"OpenStack-API-Version: vdi X.Y" (or "vdi latest"); without it the
minimum is served. A version the broker does not serve is a 406 (with
min_version and max_version in the error's details), a malformed one a
400.
"""


def build(server_url="/", declarations=None):
    """The OpenAPI document, as a dict (a fresh copy on every call)."""
    from vdi_broker.api import handler
    declarations = (handler.ROUTE_DECLARATIONS if declarations is None
                    else declarations)
    operations = _operations()
    paths = {}
    for path, methods in declarations:
        item = {}
        for method, function in sorted(methods.items()):
            op = copy.deepcopy(operations[function])
            op["operationId"] = "%s.%s" % (
                function.__module__.rsplit(".", 1)[-1], function.__name__)
            item[method.lower()] = op
        paths[path] = item
    return copy.deepcopy({
        "openapi": OPENAPI_VERSION,
        "info": {"title": "vdi-broker API",
                 "version": microversion.MAX_VERSION,
                 "description": DESCRIPTION},
        "servers": [{"url": server_url,
                     "description": "The broker's endpoint (the service "
                                    "catalog's '%s' endpoint)." %
                                    microversion.SERVICE_TYPE}],
        "security": ADMIN,
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "headers": _COMMON_HEADERS,
            "securitySchemes": {
                "keystone": {"type": "apiKey", "in": "header",
                             "name": "X-Auth-Token",
                             "description": "A Keystone token."},
                "agent_secret": {"type": "apiKey", "in": "header",
                                 "name": "X-Agent-Secret",
                                 "description": "The desktop's agent "
                                                "secret (server metadata "
                                                "vdi_agent_secret)."},
                "session_token": {"type": "apiKey", "in": "header",
                                  "name": client_auth.HEADER,
                                  "description": "The token returned by "
                                                 "the login."},
            },
        },
    })
