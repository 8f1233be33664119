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

"""Pools and what serves them: desktops, compute hosts, schedules and
incidents (desktop faults)."""

from vdi_broker.api.handlers import desktops
from vdi_broker.api.handlers import hosts
from vdi_broker.api.handlers import incidents
from vdi_broker.api.handlers import pools
from vdi_broker.api.handlers import schedules
from vdi_broker.api.openapi.common import (
    ADMIN_ERRORS, BOOLEAN, IF_MATCH, INTEGER, LIST, NO_CONTENT,
    NULLABLE_STRING, NULLABLE_TIMESTAMP, READ, STRING, TIMESTAMP, WRITE,
    list_params, listed, nullable, obj, operation, path_param, ref, response,
    wrapped)
from vdi_broker.api.schemas import schedules as schedule_schema
from vdi_broker import states

POOL = obj({
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
    "build": obj({"failures": INTEGER,
                  "failing_since": NULLABLE_TIMESTAMP,
                  "last_error": NULLABLE_STRING}),
    "desktops": obj({s: INTEGER for s in
                     states.DESKTOP_STATES + ("total",)}),
    "boots": obj({"in_flight": INTEGER, "queued": INTEGER,
                  "queued_restarts": INTEGER,
                  "queued_creates": INTEGER, "allowance": INTEGER,
                  "limit": INTEGER, "waiting_reason": NULLABLE_STRING,
                  "average_seconds": {"type": ["number", "null"]}}),
    "draining_until": dict(NULLABLE_TIMESTAMP, description="While a "
                           "maintenance window that drains the pool is "
                           "open: its end (no new logins before then)."),
    "created_at": TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP,
})

SCHEDULE = obj({
    "id": STRING, "name": STRING, "pool_id": STRING,
    "days": {"type": "array",
             "items": {"enum": list(schedule_schema.DAYS)}},
    "start_time": STRING, "end_time": STRING, "timezone": STRING,
    "min_ready": INTEGER, "prewarm_minutes": INTEGER, "enabled": BOOLEAN,
    "description": NULLABLE_STRING, "revision": INTEGER,
    "created_at": TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP,
})

DESKTOP = obj({
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

INCIDENT = obj({
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

_RESOURCE = nullable(obj({
    "total": INTEGER, "reserved": INTEGER,
    "allocation_ratio": {"type": "number"}, "capacity": INTEGER,
    "used": INTEGER, "free": INTEGER,
    "used_percent": {"type": ["number", "null"]}}))
_STATE_COUNTS = {"type": "object", "additionalProperties": INTEGER,
                 "required": ["total"]}

HOSTS = obj({
    "hosts": {"type": "array", "items": obj({
        "name": STRING,
        "provider": nullable(obj({"uuid": STRING,
                                  "name": NULLABLE_STRING})),
        "desktops": _STATE_COUNTS,
        "builds": obj({
            "in_flight": INTEGER, "queued": INTEGER, "allowance": INTEGER,
            "limit": INTEGER, "note": NULLABLE_STRING,
            "average_seconds": {"type": ["number", "null"]}}),
        "load_percent": {"type": ["number", "null"]},
        "memory_mb": _RESOURCE, "vcpus": _RESOURCE})},
    "capacity_known": BOOLEAN,
    "capacity_error": NULLABLE_STRING,
    "capacity_read_at": TIMESTAMP,
    "unplaced": obj({"desktops": _STATE_COUNTS, "in_flight": INTEGER,
                     "queued": INTEGER}),
    "boot_queue": obj({"in_flight": INTEGER, "queued_restarts": INTEGER,
                       "queued_creates": INTEGER, "limit": INTEGER,
                       "host_limit": INTEGER}),
})

CONSOLE = obj({"console": obj({
    "desktop_id": STRING, "type": STRING, "protocol": STRING,
    "url": {"type": "string",
            "description": "The console proxy's URL with a one-time "
                           "token: open it at once."}})})


def operations():
    return {
        pools.list_pools: operation(
            "List pools.",
            {"200": response("A page of pools.", listed("pools", "Pool"))},
            LIST, "pools", params=list_params(pools, "name")),
        pools.create: operation(
            "Create a pool.",
            {"201": response("The pool.", wrapped("pool", "Pool"),
                             headers=("Location", "ETag"))},
            WRITE + ("409",), "pools", body="PoolCreate"),
        pools.show: operation(
            "Show a pool (by id or name).",
            {"200": response("The pool.", wrapped("pool", "Pool"),
                             headers=("ETag",))},
            READ, "pools", params=[path_param("pool_id")]),
        pools.update: operation(
            "Update a pool; If-Match or revision guards against lost "
            "updates.",
            {"200": response("The pool.", wrapped("pool", "Pool"),
                             headers=("ETag",))},
            WRITE + ("404", "409"), "pools", body="PoolUpdate",
            params=[path_param("pool_id"), IF_MATCH]),
        pools.delete: operation(
            "Delete a pool.", {"204": NO_CONTENT},
            READ + ("409",), "pools", params=[path_param("pool_id")]),
        desktops.list_desktops: operation(
            "List desktops.",
            {"200": response("A page of desktops.",
                             listed("desktops", "Desktop"))},
            LIST, "desktops", params=list_params(desktops, "created_at")),
        desktops.show: operation(
            "Show a desktop (by id or name).",
            {"200": response("The desktop.", wrapped("desktop", "Desktop"))},
            READ, "desktops", params=[path_param("desktop_id")]),
        desktops.action: operation(
            "Run one action on a desktop: reboot, rebuild, replace, move, "
            "quarantine or unquarantine.",
            {"202": response("The desktop as the action left it; the rest "
                             "goes on in the background.",
                             wrapped("desktop", "Desktop"))},
            WRITE + ("404", "409", "503"), "desktops",
            body="DesktopAction", params=[path_param("desktop_id")]),
        desktops.console: operation(
            "Open the desktop's browser console (spice-html5, noVNC): "
            "its URL with a one-time token.",
            {"200": response("The console.", ref("Console"),
                             headers=("Cache-Control",))},
            READ + ("409", "503"), "desktops",
            params=[path_param("desktop_id")]),
        hosts.list_hosts: operation(
            "List the compute hosts: desktops, boots, Placement's memory "
            "and vCPUs against the overcommit limit; the boot queue.",
            {"200": response("The hosts.", ref("Hosts"))},
            ADMIN_ERRORS + ("503",), "hosts"),
        schedules.list_schedules: operation(
            "List schedules.",
            {"200": response("A page of schedules.",
                             listed("schedules", "Schedule"))},
            LIST, "schedules", params=list_params(schedules, "name")),
        schedules.create: operation(
            "Create a schedule.",
            {"201": response("The schedule.", wrapped("schedule", "Schedule"),
                             headers=("Location", "ETag"))},
            WRITE + ("404", "409"), "schedules", body="ScheduleCreate"),
        schedules.show: operation(
            "Show a schedule.",
            {"200": response("The schedule.", wrapped("schedule", "Schedule"),
                             headers=("ETag",))},
            READ, "schedules", params=[path_param("schedule_id")]),
        schedules.update: operation(
            "Update a schedule; If-Match or revision guards against lost "
            "updates.",
            {"200": response("The schedule.", wrapped("schedule", "Schedule"),
                             headers=("ETag",))},
            WRITE + ("404", "409"), "schedules", body="ScheduleUpdate",
            params=[path_param("schedule_id"), IF_MATCH]),
        schedules.delete: operation(
            "Delete a schedule.", {"204": NO_CONTENT},
            READ, "schedules", params=[path_param("schedule_id")]),
        incidents.list_incidents: operation(
            "List incidents (desktop faults under the five-minute rule), "
            "newest first.",
            {"200": response("A page of incidents.",
                             listed("incidents", "Incident"))},
            LIST, "incidents",
            params=list_params(incidents, "opened_at")),
        incidents.show: operation(
            "Show an incident.",
            {"200": response("The incident.",
                             wrapped("incident", "Incident"))},
            READ, "incidents", params=[path_param("incident_id")]),
    }
