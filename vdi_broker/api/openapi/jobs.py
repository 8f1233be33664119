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

"""Changing desktops in bulk: guest jobs, image roll-outs and maintenance
windows."""

from vdi_broker.api.handlers import jobs
from vdi_broker.api.handlers import maintenance
from vdi_broker.api.handlers import rollouts
from vdi_broker.api.openapi.common import (
    BOOLEAN, INTEGER, LIST, NO_CONTENT, NULLABLE_INTEGER, NULLABLE_STRING,
    NULLABLE_TIMESTAMP, OBJECT, READ, STRING, TIMESTAMP, WRITE, list_params,
    listed, obj, operation, path_param, ref, response, wrapped)
from vdi_broker.api.schemas import jobs as job_schema
from vdi_broker import states

JOB = obj({
    "id": STRING, "name": NULLABLE_STRING,
    "kind": {"enum": sorted(job_schema.kinds.KINDS)},
    "parameters": dict(OBJECT, description="Secret parameters show as "
                       "\"***\"."),
    "targets": OBJECT, "in_use": {"enum": list(states.JOB_IN_USE)},
    "max_retries": INTEGER, "retry_delay": INTEGER, "concurrency": INTEGER,
    "timeout": NULLABLE_INTEGER, "state": {"enum": list(states.JOB_STATES)},
    "status_reason": NULLABLE_STRING, "created_by": NULLABLE_STRING,
    "results": obj({s: INTEGER for s in states.TARGET_STATES}),
    "run_at": TIMESTAMP, "started_at": NULLABLE_TIMESTAMP,
    "finished_at": NULLABLE_TIMESTAMP, "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP,
})

_ROLLOUT_COUNTS = ("total", "old", "new", "old_ready", "old_in_use",
                   "old_quarantined", "in_progress", "done", "failed")

ROLLOUT = obj({
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
    "progress": dict(obj({k: INTEGER for k in _ROLLOUT_COUNTS}),
                     description="The pool's desktops on another image "
                     "than the target (old: ready, in use, quarantined) "
                     "or on it (new), and the roll-out's rebuilds to the "
                     "target (in progress, done, failed)."),
    "revision": INTEGER, "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP, "finished_at": NULLABLE_TIMESTAMP,
})

ROLLOUT_DESKTOP = obj({
    "desktop_id": STRING, "desktop_name": NULLABLE_STRING, "image": STRING,
    "from_state": STRING,
    "state": {"enum": [states.ROLLOUT_DESKTOP_IN_PROGRESS,
                       states.ROLLOUT_DESKTOP_DONE,
                       states.ROLLOUT_DESKTOP_FAILED]},
    "reason": NULLABLE_STRING, "started_at": TIMESTAMP,
    "finished_at": NULLABLE_TIMESTAMP,
})

MAINTENANCE_WINDOW = obj({
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

JOB_TARGET = obj({
    "desktop_id": STRING, "desktop_name": NULLABLE_STRING,
    "state": {"enum": list(states.TARGET_STATES)}, "attempts": INTEGER,
    "reason": NULLABLE_STRING, "output": NULLABLE_STRING,
    "claimed_by": NULLABLE_STRING, "started_at": NULLABLE_TIMESTAMP,
    "finished_at": NULLABLE_TIMESTAMP,
    "next_attempt_at": NULLABLE_TIMESTAMP,
})

JOB_TARGETS = obj({"targets": {"type": "array", "items": JOB_TARGET}})

ROLLOUT_DESKTOPS = obj({"desktops": {"type": "array",
                                     "items": ROLLOUT_DESKTOP}})


def operations():
    return {
        jobs.list_jobs: operation(
            "List guest jobs.",
            {"200": response("A page of jobs.", listed("jobs", "Job"))},
            LIST, "jobs", params=list_params(jobs, "created_at")),
        jobs.create: operation(
            "Schedule a guest job on desktops.",
            {"201": response("The job.", wrapped("job", "Job"),
                             headers=("Location",))},
            WRITE, "jobs", body="JobCreate"),
        jobs.show: operation(
            "Show a guest job and its result counts.",
            {"200": response("The job.", wrapped("job", "Job"))},
            READ, "jobs", params=[path_param("job_id")]),
        jobs.targets: operation(
            "The job's result per desktop.",
            {"200": response("The targets.", ref("JobTargets"))},
            READ + ("400",), "jobs",
            params=[path_param("job_id"),
                    {"name": "state", "in": "query", "schema": {
                        "enum": list(states.TARGET_STATES)}}]),
        jobs.cancel: operation(
            "Cancel a scheduled or running job.",
            {"200": response("The job.", wrapped("job", "Job"))},
            READ + ("409",), "jobs", params=[path_param("job_id")]),
        rollouts.list_pool_rollouts: operation(
            "List a pool's image roll-outs, newest first.",
            {"200": response("A page of roll-outs.",
                             listed("rollouts", "Rollout"))},
            LIST + ("404",), "rollouts",
            params=[path_param("pool_id")] +
            list_params(rollouts, "created_at")),
        rollouts.create: operation(
            "Roll a pool out to a new image (sets the pool's image).",
            {"201": response("The roll-out.", wrapped("rollout", "Rollout"),
                             headers=("Location",))},
            WRITE + ("404", "409"), "rollouts", body="RolloutCreate",
            params=[path_param("pool_id")]),
        rollouts.list_rollouts: operation(
            "List every pool's image roll-outs, newest first.",
            {"200": response("A page of roll-outs.",
                             listed("rollouts", "Rollout"))},
            LIST, "rollouts", params=list_params(rollouts, "created_at")),
        rollouts.show: operation(
            "Show an image roll-out and its progress.",
            {"200": response("The roll-out.", wrapped("rollout", "Rollout"))},
            READ, "rollouts", params=[path_param("rollout_id")]),
        rollouts.desktops: operation(
            "The desktops a roll-out rebuilt, and how each ended.",
            {"200": response("The desktops.", ref("RolloutDesktops"))},
            READ + ("400",), "rollouts",
            params=[path_param("rollout_id"),
                    {"name": "state", "in": "query", "schema": {
                        "enum": [states.ROLLOUT_DESKTOP_IN_PROGRESS,
                                 states.ROLLOUT_DESKTOP_DONE,
                                 states.ROLLOUT_DESKTOP_FAILED]}}]),
        rollouts.action: operation(
            "Pause, resume or roll back a roll-out.",
            {"200": response("The roll-out.", wrapped("rollout", "Rollout"))},
            WRITE + ("404", "409"), "rollouts", body="RolloutAction",
            params=[path_param("rollout_id")]),
        maintenance.list_windows: operation(
            "List maintenance windows.",
            {"200": response("A page of windows.",
                             listed("maintenance_windows",
                                    "MaintenanceWindow"))},
            LIST, "maintenance_windows",
            params=list_params(maintenance, "name")),
        maintenance.create: operation(
            "Create a maintenance window of a pool or a site.",
            {"201": response("The window.", wrapped("maintenance_window",
                                                    "MaintenanceWindow"),
                             headers=("Location",))},
            WRITE + ("404", "409"), "maintenance_windows",
            body="MaintenanceWindowCreate"),
        maintenance.show: operation(
            "Show a maintenance window, whether it is open and its next "
            "opening.",
            {"200": response("The window.", wrapped("maintenance_window",
                                                    "MaintenanceWindow"))},
            READ, "maintenance_windows", params=[path_param("window_id")]),
        maintenance.delete: operation(
            "Delete a maintenance window.", {"204": NO_CONTENT},
            READ, "maintenance_windows", params=[path_param("window_id")]),
    }
