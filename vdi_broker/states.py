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
# A pool's status, as the pool manager sets it.
POOL_STATUSES = ("active", "degraded", "no_capacity")

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
    "nova_errors", "nova_slow", "directory_errors", "desktops_in_error",
    "thin_clients_offline", "thin_clients_faulty")
