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

"""The states and action names every layer of the broker shares.

Plain constants with no imports: the API validates against them, the
storage layer stores them (``db/sqlalchemy/models.py`` takes its names from
here) and the conductor acts on them, without any of them importing the
others. See doc/source/admin/desktops.rst for what each state means.
"""

# -- desktops -----------------------------------------------------------------

BUILDING = "building"
READY = "ready"
ASSIGNED = "assigned"
RELEASING = "releasing"
DELETING = "deleting"
ERROR = "error"
# Taken out of service for a fault (locked in Nova with the reason); only
# an operator's release (or delete) brings it back.
QUARANTINED = "quarantined"
DESKTOP_STATES = (BUILDING, READY, ASSIGNED, RELEASING, DELETING, ERROR,
                  QUARANTINED)

# States a desktop can be quarantined from: in service or on its way.
QUARANTINABLE = (READY, ASSIGNED, RELEASING, ERROR)
# Where an operator's reboot or rebuild may start from.
RESTARTABLE = (READY, ASSIGNED, QUARANTINED)
# Where an operator's replace may start from.
REPLACEABLE = (READY, ASSIGNED, RELEASING, ERROR, QUARANTINED)

# What an operator may do to one desktop.
DESKTOP_ACTIONS = ("reboot", "rebuild", "replace", "move", "quarantine",
                   "unquarantine")
# What unquarantine may do with the desktop ("pool": its release action).
UNQUARANTINE_ACTIONS = ("pool", "keep", "reboot", "rebuild", "delete")

# -- pools --------------------------------------------------------------------

# What happens to a desktop its user has left.
RELEASE_ACTIONS = ("keep", "reboot", "rebuild", "delete")
# A pool's status, as the pool manager sets it (cloud_down: the pool's
# cloud does not answer, compute/registry.py).
POOL_STATUSES = ("active", "degraded", "no_capacity", "cloud_down")
POOL_ACTIVE = "active"
POOL_CLOUD_DOWN = "cloud_down"

# -- bindings and sessions ----------------------------------------------------

BINDING_KINDS = ("user", "seat", "client")

SESSION_ACTIVE = "active"
SESSION_CLOSED = "closed"
SESSION_STATES = (SESSION_ACTIVE, SESSION_CLOSED)

# -- guest jobs (doc/source/admin/maintenance.rst) ----------------------------

JOB_SCHEDULED = "scheduled"
JOB_RUNNING = "running"
JOB_FINISHED = "finished"
JOB_CANCELLED = "cancelled"
JOB_STATES = (JOB_SCHEDULED, JOB_RUNNING, JOB_FINISHED, JOB_CANCELLED)
TARGET_PENDING = "pending"
TARGET_RUNNING = "running"
TARGET_OK = "ok"
TARGET_FAILED = "failed"
TARGET_SKIPPED = "skipped"
TARGET_STATES = (TARGET_PENDING, TARGET_RUNNING, TARGET_OK, TARGET_FAILED,
                 TARGET_SKIPPED)
# What a job does on a desktop in use: skip it, run anyway, or wait for a
# maintenance window of the desktop's pool or site.
JOB_IN_USE = ("skip", "run", "wait")

# -- image roll-outs and maintenance windows (admin/maintenance.rst) ----------

ROLLOUT_RUNNING = "running"
ROLLOUT_PAUSED = "paused"
ROLLOUT_ROLLING_BACK = "rolling_back"
ROLLOUT_COMPLETED = "completed"
ROLLOUT_ROLLED_BACK = "rolled_back"
ROLLOUT_STATES = (ROLLOUT_RUNNING, ROLLOUT_PAUSED, ROLLOUT_ROLLING_BACK,
                  ROLLOUT_COMPLETED, ROLLOUT_ROLLED_BACK)
# A pool has at most one roll-out in these states.
ROLLOUT_OPEN = (ROLLOUT_RUNNING, ROLLOUT_PAUSED, ROLLOUT_ROLLING_BACK)
# The conductor works on roll-outs in these states.
ROLLOUT_ACTIVE = (ROLLOUT_RUNNING, ROLLOUT_ROLLING_BACK)
ROLLOUT_ACTIONS = ("pause", "resume", "rollback")
ROLLOUT_CANARY = "canary"
ROLLOUT_WAVES = "waves"
# One desktop rebuilt by a roll-out.
ROLLOUT_DESKTOP_IN_PROGRESS = "in_progress"
ROLLOUT_DESKTOP_DONE = "done"
ROLLOUT_DESKTOP_FAILED = "failed"

# -- guest agents and incidents (doc/source/admin/guest-agent.rst) ------------

# The remote display's connection, as the desktop's agent reports it.
CONNECTED = "connected"
DISCONNECTED = "disconnected"
CONNECTION_STATES = (CONNECTED, DISCONNECTED)
# The pools' console types whose display server runs inside the guest:
# there the guest agent sees the real connection and wins over the thin
# client when they disagree; elsewhere (SPICE, VNC: the hypervisor's
# display server) the thin client's viewer does (session_state.py).
GUEST_DISPLAY_CONSOLES = ("rdp",)
# The remote display service in the desktop (RDP, SPICE agent).
DISPLAY_RUNNING = "running"
DISPLAY_STOPPED = "stopped"
DISPLAY_STATES = (DISPLAY_RUNNING, DISPLAY_STOPPED)

# Why an incident was opened: the agent stopped reporting, the display
# service stopped, the thin client reported a fault.
INCIDENT_AGENT_SILENT = "agent_silent"
INCIDENT_DISPLAY_STOPPED = "display_stopped"
INCIDENT_CLIENT_FAULT = "client_fault"
INCIDENT_KINDS = (INCIDENT_AGENT_SILENT, INCIDENT_DISPLAY_STOPPED,
                  INCIDENT_CLIENT_FAULT)
# An incident is open until the desktop is healthy again (recovered),
# its session moved to another desktop (moved), or it ended without
# either (closed: the session ended, the desktop went away).
INCIDENT_OPEN = "open"
INCIDENT_RECOVERED = "recovered"
INCIDENT_MOVED = "moved"
INCIDENT_CLOSED = "closed"
INCIDENT_STATES = (INCIDENT_OPEN, INCIDENT_RECOVERED, INCIDENT_MOVED,
                   INCIDENT_CLOSED)

# -- business monitoring (doc/source/admin/monitoring.rst) --------------------

# An agent in a logged-in session: input within [monitoring]
# active_interval, none, or their thin client is offline.
AGENT_ACTIVE = "active"
AGENT_IDLE = "idle"
AGENT_OFFLINE = "offline"
AGENT_STATES = (AGENT_ACTIVE, AGENT_IDLE, AGENT_OFFLINE)

ALERT_PENDING = "pending"
ALERT_FIRING = "firing"
ALERT_RESOLVED = "resolved"
ALERT_STATES = (ALERT_PENDING, ALERT_FIRING, ALERT_RESOLVED)

ALERT_KINDS = (
    "agents_below_plan", "agents_above_plan", "agents_dropped",
    "login_failures", "pool_short_of_ready", "boots_failing", "boots_slow",
    "nova_errors", "nova_slow", "directory_errors", "directory_slow",
    "desktops_in_error", "thin_clients_offline", "thin_clients_faulty")
