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

"""The broker's database schema.

Tables are shaped for the work ahead too: thin clients and seats carry a
site, tags and heartbeat fields; pools carry a site and a cloud; events are
the audit log (append-only but for aggregated failed logins).
"""

from oslo_utils import timeutils
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy import orm

from vdi_broker import states


def _utcnow():
    # Not timeutils.utcnow itself: SQLAlchemy would pass its execution
    # context as the with_timezone argument.
    return timeutils.utcnow()


# Microseconds on MariaDB too (its DATETIME keeps whole seconds): the
# boot queue's order and boot durations need them.
PreciseDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                             "mariadb")


class Base(orm.DeclarativeBase):
    pass


class TimestampMixin:
    created_at = sa.Column(sa.DateTime, nullable=False, default=_utcnow)
    updated_at = sa.Column(sa.DateTime, nullable=True, onupdate=_utcnow)


# Desktop states (vdi_broker/states.py), under the names the storage code
# has always used.
BUILDING = states.BUILDING
READY = states.READY
ASSIGNED = states.ASSIGNED
RELEASING = states.RELEASING
DELETING = states.DELETING
ERROR = states.ERROR
QUARANTINED = states.QUARANTINED
DESKTOP_STATES = states.DESKTOP_STATES


class Pool(TimestampMixin, Base):
    __tablename__ = "pools"
    __table_args__ = (
        sa.UniqueConstraint("name", name="uniq_pools0name"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(255), nullable=False)
    description = sa.Column(sa.String(1024), nullable=True)
    site = sa.Column(sa.String(255), nullable=True)
    cloud = sa.Column(sa.String(255), nullable=True)
    flavor = sa.Column(sa.String(255), nullable=False)
    image = sa.Column(sa.String(255), nullable=False)
    networks = sa.Column(sa.JSON, nullable=False, default=list)
    availability_zone = sa.Column(sa.String(255), nullable=True)
    server_metadata = sa.Column(sa.JSON, nullable=False, default=dict)
    min_ready = sa.Column(sa.Integer, nullable=False, default=0)
    max_size = sa.Column(sa.Integer, nullable=False, default=0)
    max_concurrent_builds = sa.Column(sa.Integer, nullable=False, default=10)
    release_action = sa.Column(sa.String(16), nullable=False,
                               default="reboot")
    console_type = sa.Column(sa.String(64), nullable=False, default="rdp")
    enabled = sa.Column(sa.Boolean, nullable=False, default=True)
    status = sa.Column(sa.String(16), nullable=False, default="active")
    status_reason = sa.Column(sa.String(1024), nullable=True)
    # The build throttle's memory, shared by every conductor that may
    # take the pool over: failures in a row, since when, the last error.
    build_failures = sa.Column(sa.Integer, nullable=False, default=0,
                               server_default="0")
    failing_since = sa.Column(sa.DateTime, nullable=True)
    last_build_error = sa.Column(sa.String(1024), nullable=True)
    # Readiness probe of the pool's desktops (None: [pool_manager]'s).
    readiness_probe = sa.Column(sa.String(64), nullable=True)
    revision = sa.Column(sa.Integer, nullable=False, default=1)
    # The boot queue (conductor/boot_queue.py): the adaptive throttle's
    # allowed concurrent boots (None: not lowered yet), when it last
    # lowered it (one cut per round of boots), the recent boot time
    # (moving average, seconds), the new desktops the pool wants but may
    # not boot yet, and why its boots wait.
    build_allowance = sa.Column(sa.Integer, nullable=True)
    build_throttled_at = sa.Column(sa.DateTime, nullable=True)
    boot_seconds = sa.Column(sa.Float, nullable=True)
    boots_wanted = sa.Column(sa.Integer, nullable=False, default=0,
                             server_default="0")
    boot_wait_reason = sa.Column(sa.String(1024), nullable=True)
    # Until when a maintenance window that drains the pool is open (no
    # new logins before then); set by the conductor as the window opens.
    drain_until = sa.Column(sa.DateTime, nullable=True)
    # Session state from the guest agents (0: off): a session whose
    # display has been disconnected, or whose user has been idle, this
    # many seconds is logged off and its desktop released; whether
    # session expiry may end a session the agent says is connected; the
    # seconds an incident may stay open before the session moves (None:
    # [agent] fix_time).
    disconnect_timeout = sa.Column(sa.Integer, nullable=False, default=0,
                                   server_default="0")
    idle_timeout = sa.Column(sa.Integer, nullable=False, default=0,
                             server_default="0")
    expiry_when_connected = sa.Column(sa.Boolean, nullable=False,
                                      default=False,
                                      server_default=sa.false())
    fix_time = sa.Column(sa.Integer, nullable=True)


class Desktop(TimestampMixin, Base):
    __tablename__ = "desktops"
    __table_args__ = (
        sa.UniqueConstraint("server_id", name="uniq_desktops0server_id"),
        sa.Index("desktops_pool_id_state_idx", "pool_id", "state"),
        sa.Index("desktops_assigned_user_idx", "assigned_user"),
        sa.Index("desktops_boot_queued_at_idx", "boot_queued_at"),
        sa.Index("desktops_boot_started_at_idx", "boot_started_at"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    pool_id = sa.Column(sa.String(36), sa.ForeignKey("pools.id"),
                        nullable=False)
    name = sa.Column(sa.String(255), nullable=False)
    server_id = sa.Column(sa.String(36), nullable=True)
    state = sa.Column(sa.String(16), nullable=False, default=BUILDING)
    state_reason = sa.Column(sa.String(1024), nullable=True)
    host = sa.Column(sa.String(255), nullable=True)
    address = sa.Column(sa.String(64), nullable=True)
    assigned_user = sa.Column(sa.String(255), nullable=True)
    assigned_at = sa.Column(sa.DateTime, nullable=True)
    # When Nova said ACTIVE and when the readiness probe then passed.
    active_at = sa.Column(sa.DateTime, nullable=True)
    ready_at = sa.Column(sa.DateTime, nullable=True)
    # A fault reported by an operator, a health check or a thin client.
    fault_reason = sa.Column(sa.String(1024), nullable=True)
    faulted_at = sa.Column(sa.DateTime, nullable=True)
    faulted_by = sa.Column(sa.String(255), nullable=True)
    # Bumped by every state change: the compare-and-swap counter.
    generation = sa.Column(sa.Integer, nullable=False, default=1)
    # The boot queue: since when the desktop waits for a boot slot (its
    # place in the queue), since when its boot holds one (a building
    # desktop's boot started with its row), and the restart asked for
    # (reboot, reboot-hard or rebuild; ":issued" / ":seen" once sent and
    # seen for a desktop restarted in place).
    boot_queued_at = sa.Column(PreciseDateTime, nullable=True)
    boot_started_at = sa.Column(PreciseDateTime, nullable=True)
    boot_action = sa.Column(sa.String(32), nullable=True)
    # The image its server was built (or last rebuilt) from.
    image = sa.Column(sa.String(255), nullable=True)


class BootHost(Base):
    """The adaptive throttle's state of one compute host.

    Shared by every conductor: its allowed concurrent boots (None: not
    lowered yet), when it was last lowered, and its recent boot time.
    """

    __tablename__ = "boot_hosts"

    host = sa.Column(sa.String(255), primary_key=True)
    allowance = sa.Column(sa.Integer, nullable=True)
    throttled_at = sa.Column(sa.DateTime, nullable=True)
    boot_seconds = sa.Column(sa.Float, nullable=True)
    updated_at = sa.Column(sa.DateTime, nullable=True)


class BootGate(Base):
    """The row every boot admission writes first (see db boot_queue).

    Writing it serializes the admissions of all conductors: on MariaDB
    and PostgreSQL by its row lock, on Galera by the write-set conflict
    at commit, on SQLite by the database write lock. ``admissions``
    counts the admission transactions.
    """

    __tablename__ = "boot_gates"

    name = sa.Column(sa.String(64), primary_key=True)
    admissions = sa.Column(sa.BigInteger, nullable=False, default=0,
                           server_default="0")
    updated_at = sa.Column(sa.DateTime, nullable=True)


class Allocator(TimestampMixin, Base):
    __tablename__ = "allocators"
    __table_args__ = (
        sa.UniqueConstraint("name", name="uniq_allocators0name"),
        sa.Index("allocators_priority_idx", "priority"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(255), nullable=False)
    description = sa.Column(sa.String(1024), nullable=True)
    priority = sa.Column(sa.Integer, nullable=False, default=100)
    plugin = sa.Column(sa.String(255), nullable=False)
    pool_id = sa.Column(sa.String(36), sa.ForeignKey("pools.id"),
                        nullable=True)
    rules = sa.Column(sa.JSON, nullable=False, default=dict)
    options = sa.Column(sa.JSON, nullable=False, default=dict)
    is_default = sa.Column(sa.Boolean, nullable=False, default=False)
    enabled = sa.Column(sa.Boolean, nullable=False, default=True)
    revision = sa.Column(sa.Integer, nullable=False, default=1)


class Binding(TimestampMixin, Base):
    __tablename__ = "bindings"
    __table_args__ = (
        # One binding per user, seat or thin client...
        sa.UniqueConstraint("kind", "key", name="uniq_bindings0kind0key"),
        # ...and one binding per desktop: no desktop serves two owners.
        sa.UniqueConstraint("desktop_id", name="uniq_bindings0desktop_id"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    kind = sa.Column(sa.String(16), nullable=False)
    key = sa.Column(sa.String(255), nullable=False)
    desktop_id = sa.Column(sa.String(36), sa.ForeignKey("desktops.id"),
                           nullable=False)
    pool_id = sa.Column(sa.String(36), sa.ForeignKey("pools.id"),
                        nullable=False)
    allocator_id = sa.Column(sa.String(36), nullable=True)
    # Added by a migration: the server default fills the rows before it.
    revision = sa.Column(sa.Integer, nullable=False, default=1,
                         server_default="1")


class ClientSession(TimestampMixin, Base):
    """A thin client's session on a desktop (``/v1/client/sessions``)."""

    __tablename__ = "sessions"
    __table_args__ = (
        sa.UniqueConstraint("token_hash", name="uniq_sessions0token_hash"),
        sa.Index("sessions_username_state_idx", "username", "state"),
        sa.Index("sessions_desktop_id_state_idx", "desktop_id", "state"),
        sa.Index("sessions_site_state_idx", "site", "state"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    # Only a SHA-256 of the token is kept: a database dump gives no access.
    token_hash = sa.Column(sa.String(64), nullable=False)
    username = sa.Column(sa.String(255), nullable=False)
    client_id = sa.Column(sa.String(255), nullable=False)
    seat = sa.Column(sa.String(255), nullable=True)
    # Kept when the desktop is deleted: the session stays in the history.
    desktop_id = sa.Column(sa.String(36),
                           sa.ForeignKey("desktops.id", ondelete="SET NULL"),
                           nullable=True)
    pool_id = sa.Column(sa.String(36), nullable=False)
    allocator_id = sa.Column(sa.String(36), nullable=True)
    binding_id = sa.Column(sa.String(36), nullable=True)
    state = sa.Column(sa.String(16), nullable=False, default="active")
    expires_at = sa.Column(sa.DateTime, nullable=False)
    closed_at = sa.Column(sa.DateTime, nullable=True)
    close_reason = sa.Column(sa.String(255), nullable=True)
    # From the desktop's guest agent: the remote display's connection
    # (connected / disconnected, None: no agent said), since when, and
    # the user's idle seconds at the last report.
    connection_state = sa.Column(sa.String(16), nullable=True)
    connection_since = sa.Column(sa.DateTime, nullable=True)
    idle_seconds = sa.Column(sa.Integer, nullable=True)
    # From the thin client's heartbeats (API 1.2): its viewer's connection
    # (None: it never said), since when, and when it last said so.
    # vdi_broker/session_state.py combines both ends.
    viewer_state = sa.Column(sa.String(16), nullable=True)
    viewer_since = sa.Column(sa.DateTime, nullable=True)
    viewer_at = sa.Column(sa.DateTime, nullable=True)
    # The user's department at login (business monitoring, R15).
    department = sa.Column(sa.String(255), nullable=True)
    # The agent's site at login: the seat's, else the thin client's
    # (login/sites.py); the site-scoped personas see their site's.
    site = sa.Column(sa.String(255), nullable=True)


class Seat(TimestampMixin, Base):
    __tablename__ = "seats"
    __table_args__ = (
        sa.UniqueConstraint("name", name="uniq_seats0name"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(255), nullable=False)
    site = sa.Column(sa.String(255), nullable=True)
    location = sa.Column(sa.String(255), nullable=True)
    department = sa.Column(sa.String(255), nullable=True)
    tags = sa.Column(sa.JSON, nullable=False, default=list)
    description = sa.Column(sa.String(1024), nullable=True)
    revision = sa.Column(sa.Integer, nullable=False, default=1,
                         server_default="1")


class ThinClient(TimestampMixin, Base):
    __tablename__ = "thin_clients"
    __table_args__ = (
        sa.UniqueConstraint("client_id", name="uniq_thin_clients0client_id"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    # The identifier the TC presents at login (MAC, serial, hostname).
    client_id = sa.Column(sa.String(255), nullable=False)
    seat_id = sa.Column(sa.String(36), sa.ForeignKey("seats.id"),
                        nullable=True)
    site = sa.Column(sa.String(255), nullable=True)
    model = sa.Column(sa.String(255), nullable=True)
    tags = sa.Column(sa.JSON, nullable=False, default=list)
    status = sa.Column(sa.String(16), nullable=False, default="unknown")
    last_seen_at = sa.Column(sa.DateTime, nullable=True)
    last_address = sa.Column(sa.String(64), nullable=True)
    # Who was logged in at the last heartbeat, and the input events the
    # TC counted since the one before (active-user monitoring, R15).
    last_user = sa.Column(sa.String(255), nullable=True)
    input_events = sa.Column(sa.Integer, nullable=True)
    # The last heartbeat that reported input (an active agent).
    last_input_at = sa.Column(sa.DateTime, nullable=True)
    # The health the thin client reports (display, network, last
    # connection error, failed connections in a row), and why it is
    # faulty.
    health = sa.Column(sa.JSON, nullable=True)
    fault_reason = sa.Column(sa.String(1024), nullable=True)
    description = sa.Column(sa.String(1024), nullable=True)
    revision = sa.Column(sa.Integer, nullable=False, default=1,
                         server_default="1")


class Schedule(TimestampMixin, Base):
    """A time window that sets a pool's min_ready (R5, R10).

    While a window is open (days of week, local start and end time in
    ``timezone``) the pool keeps at least the window's ``min_ready``;
    ``prewarm_minutes`` before it opens, the pool manager starts booting
    toward it at the throttled rate. An end earlier than the start runs
    past midnight.
    """

    __tablename__ = "schedules"
    __table_args__ = (
        sa.UniqueConstraint("pool_id", "name",
                            name="uniq_schedules0pool_id0name"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(255), nullable=False)
    description = sa.Column(sa.String(1024), nullable=True)
    pool_id = sa.Column(sa.String(36), sa.ForeignKey("pools.id"),
                        nullable=False)
    # ["mon", "tue", ...]
    days = sa.Column(sa.JSON, nullable=False, default=list)
    # "HH:MM", local to timezone.
    start_time = sa.Column(sa.String(5), nullable=False)
    end_time = sa.Column(sa.String(5), nullable=False)
    timezone = sa.Column(sa.String(64), nullable=False, default="UTC")
    min_ready = sa.Column(sa.Integer, nullable=False)
    prewarm_minutes = sa.Column(sa.Integer, nullable=False, default=0)
    enabled = sa.Column(sa.Boolean, nullable=False, default=True)
    revision = sa.Column(sa.Integer, nullable=False, default=1)


class Event(Base):
    """The audit log: every allocation and every admin action.

    Events are never changed, but for failed logins: those are aggregated,
    one row per ``aggregate_key`` (user name, client, reason and minute),
    whose ``occurrences`` and ``last_at`` grow in place (an upsert), so
    that a password-spraying client cannot flood the table.
    """

    __tablename__ = "events"
    __table_args__ = (
        sa.Index("events_created_at_idx", "created_at"),
        sa.Index("events_username_idx", "username"),
        sa.Index("events_target_idx", "target_type", "target_id"),
        sa.UniqueConstraint("aggregate_key",
                            name="uniq_events0aggregate_key"),
    )

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                   primary_key=True, autoincrement=True)
    created_at = sa.Column(sa.DateTime, nullable=False, default=_utcnow)
    kind = sa.Column(sa.String(32), nullable=False)
    action = sa.Column(sa.String(64), nullable=False)
    result = sa.Column(sa.String(16), nullable=False, default="success")
    actor = sa.Column(sa.String(255), nullable=True)
    request_id = sa.Column(sa.String(64), nullable=True)
    username = sa.Column(sa.String(255), nullable=True)
    target_type = sa.Column(sa.String(32), nullable=True)
    target_id = sa.Column(sa.String(255), nullable=True)
    pool_id = sa.Column(sa.String(36), nullable=True)
    desktop_id = sa.Column(sa.String(36), nullable=True)
    message = sa.Column(sa.String(1024), nullable=True)
    detail = sa.Column(sa.JSON, nullable=True)
    # Aggregated events only (NULL elsewhere): a SHA-256 hex of what the
    # event aggregates, how many times it happened, and the last time
    # (created_at is the first).
    aggregate_key = sa.Column(sa.String(64), nullable=True)
    occurrences = sa.Column(sa.Integer, nullable=True)
    last_at = sa.Column(sa.DateTime, nullable=True)


class LoginFailure(Base):
    """A failed-login counter, shared by every API worker (lockout).

    One row per user name and per thin client that failed recently
    (``id``: SHA-256 hex of the kind and the normalized name, so any name
    fits). ``count`` failures since the counter started; ``locked`` once it
    reached its threshold. The row means nothing after ``expires_at`` (the
    end of the counting window, or of the lockout) and is purged.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        sa.Index("login_failures_expires_at_idx", "expires_at"),
    )

    id = sa.Column(sa.String(64), primary_key=True)
    kind = sa.Column(sa.String(16), nullable=False)
    name = sa.Column(sa.String(255), nullable=False)
    count = sa.Column(sa.Integer, nullable=False, default=0)
    locked = sa.Column(sa.Boolean, nullable=False, default=False)
    expires_at = sa.Column(sa.DateTime, nullable=False)


class LoginSerial(Base):
    """The per-user login counter: serialises a user's logins (Galera).

    ``id``: SHA-256 hex of the user name. Every login of the user on a
    Galera cluster increments ``logins`` in its transaction (INSERT ... ON
    DUPLICATE KEY UPDATE), so that two logins of one user on two nodes
    write the same row and certification lets only one of them commit;
    the other is rolled back and retried. One small row per user name
    that ever logged in; nothing else reads it.
    """

    __tablename__ = "login_serials"

    id = sa.Column(sa.String(64), primary_key=True)
    logins = sa.Column(sa.BigInteger, nullable=False, default=0)
    updated_at = sa.Column(sa.DateTime, nullable=False, default=_utcnow)


class CacheGeneration(Base):
    """A counter that says when cached rows were last changed.

    Row ``allocation``: bumped in the same transaction as every write to
    the pools or allocators tables (db/sqlalchemy/common.py
    config_changed), so that a login reuses its process's decoded copy
    of both tables while the counter has not moved (allocation.py
    login_inputs).
    """

    __tablename__ = "cache_generations"

    name = sa.Column(sa.String(64), primary_key=True)
    generation = sa.Column(sa.BigInteger, nullable=False, default=0)
    updated_at = sa.Column(sa.DateTime, nullable=True)


# Guest jobs (vdi_broker/states.py).
JOB_SCHEDULED = states.JOB_SCHEDULED
JOB_RUNNING = states.JOB_RUNNING
JOB_FINISHED = states.JOB_FINISHED
JOB_CANCELLED = states.JOB_CANCELLED
JOB_STATES = states.JOB_STATES
TARGET_PENDING = states.TARGET_PENDING
TARGET_RUNNING = states.TARGET_RUNNING
TARGET_OK = states.TARGET_OK
TARGET_FAILED = states.TARGET_FAILED
TARGET_SKIPPED = states.TARGET_SKIPPED
TARGET_STATES = states.TARGET_STATES


class GuestJob(TimestampMixin, Base):
    """An operator's job on desktops, run by a guest executor.

    ``parameters`` never hold a secret: the secret parameters (a new
    password) are in ``secret``, encrypted with ``[jobs] secret_keys``,
    and erased when the job ends. ``claims`` is written by every claim of
    the job's targets: claims of the job take turns on its row (and
    conflict at commit on Galera).
    """

    __tablename__ = "guest_jobs"
    __table_args__ = (
        sa.Index("guest_jobs_state_run_at_idx", "state", "run_at"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(255), nullable=True)
    kind = sa.Column(sa.String(32), nullable=False)
    parameters = sa.Column(sa.JSON, nullable=False, default=dict)
    secret = sa.Column(sa.Text, nullable=True)
    # What to run on: {"pools", "sites", "departments", "desktops"}.
    targets = sa.Column(sa.JSON, nullable=False, default=dict)
    run_at = sa.Column(sa.DateTime, nullable=False)
    # In-use desktops (a session on them): "skip" or "run"; "wait" (for
    # a maintenance window) comes with the windows.
    in_use = sa.Column(sa.String(16), nullable=False, default="skip")
    max_retries = sa.Column(sa.Integer, nullable=False, default=0)
    retry_delay = sa.Column(sa.Integer, nullable=False, default=60)
    concurrency = sa.Column(sa.Integer, nullable=False, default=10)
    timeout = sa.Column(sa.Integer, nullable=True)
    state = sa.Column(sa.String(16), nullable=False, default=JOB_SCHEDULED)
    status_reason = sa.Column(sa.String(1024), nullable=True)
    created_by = sa.Column(sa.String(255), nullable=True)
    started_at = sa.Column(sa.DateTime, nullable=True)
    finished_at = sa.Column(sa.DateTime, nullable=True)
    claims = sa.Column(sa.BigInteger, nullable=False, default=0,
                       server_default="0")


class GuestJobTarget(Base):
    """One desktop of a guest job, and its result."""

    __tablename__ = "guest_job_targets"
    __table_args__ = (
        sa.UniqueConstraint("job_id", "desktop_id",
                            name="uniq_guest_job_targets0job_id0desktop_id"),
        sa.Index("guest_job_targets_job_id_state_idx", "job_id", "state"),
    )

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                   primary_key=True, autoincrement=True)
    job_id = sa.Column(sa.String(36),
                       sa.ForeignKey("guest_jobs.id", ondelete="CASCADE"),
                       nullable=False)
    # No foreign key: the result stays when the desktop is deleted.
    desktop_id = sa.Column(sa.String(36), nullable=False)
    desktop_name = sa.Column(sa.String(255), nullable=True)
    state = sa.Column(sa.String(16), nullable=False, default=TARGET_PENDING)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    reason = sa.Column(sa.String(1024), nullable=True)
    output = sa.Column(sa.Text, nullable=True)
    # The conductor running it, and when its claim lapses (a conductor
    # that died: the target is tried again or failed).
    claimed_by = sa.Column(sa.String(255), nullable=True)
    claim_expires_at = sa.Column(sa.DateTime, nullable=True)
    next_attempt_at = sa.Column(sa.DateTime, nullable=True)
    started_at = sa.Column(sa.DateTime, nullable=True)
    finished_at = sa.Column(sa.DateTime, nullable=True)
    updated_at = sa.Column(sa.DateTime, nullable=True)


# Image roll-outs (vdi_broker/states.py).
ROLLOUT_RUNNING = states.ROLLOUT_RUNNING
ROLLOUT_PAUSED = states.ROLLOUT_PAUSED
ROLLOUT_ROLLING_BACK = states.ROLLOUT_ROLLING_BACK
ROLLOUT_COMPLETED = states.ROLLOUT_COMPLETED
ROLLOUT_ROLLED_BACK = states.ROLLOUT_ROLLED_BACK


class Rollout(TimestampMixin, Base):
    """A pool's move to a new image (doc/source/admin/maintenance.rst).

    ``image`` is the new image, ``previous_image`` the pool's image before
    (a rollback goes back to it). ``canary_size`` desktops are rebuilt
    first; once they are all ready on the new image, waves of at most
    ``wave_size`` desktops at once follow. ``max_failures`` failed
    desktops pause it. ``window_id``: its rebuilds run only while that
    maintenance window is open.
    """

    __tablename__ = "rollouts"
    __table_args__ = (
        sa.Index("rollouts_pool_id_state_idx", "pool_id", "state"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    pool_id = sa.Column(sa.String(36),
                        sa.ForeignKey("pools.id", ondelete="CASCADE"),
                        nullable=False)
    image = sa.Column(sa.String(255), nullable=False)
    previous_image = sa.Column(sa.String(255), nullable=False)
    state = sa.Column(sa.String(16), nullable=False, default=ROLLOUT_RUNNING)
    status_reason = sa.Column(sa.String(1024), nullable=True)
    phase = sa.Column(sa.String(16), nullable=False,
                      default=states.ROLLOUT_CANARY)
    canary_share = sa.Column(sa.Float, nullable=False, default=0.1)
    canary_size = sa.Column(sa.Integer, nullable=False, default=1)
    wave_size = sa.Column(sa.Integer, nullable=False, default=5)
    max_failures = sa.Column(sa.Integer, nullable=False, default=1)
    window_id = sa.Column(sa.String(36), nullable=True)
    created_by = sa.Column(sa.String(255), nullable=True)
    finished_at = sa.Column(sa.DateTime, nullable=True)
    revision = sa.Column(sa.Integer, nullable=False, default=1)


class RolloutDesktop(Base):
    """One rebuild of a roll-out, and how it ended."""

    __tablename__ = "rollout_desktops"
    __table_args__ = (
        sa.UniqueConstraint(
            "rollout_id", "desktop_id", "image",
            name="uniq_rollout_desktops0rollout_id0desktop_id0image"),
        sa.Index("rollout_desktops_rollout_id_state_idx", "rollout_id",
                 "state"),
    )

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                   primary_key=True, autoincrement=True)
    rollout_id = sa.Column(sa.String(36),
                           sa.ForeignKey("rollouts.id", ondelete="CASCADE"),
                           nullable=False)
    # No foreign key: the record stays when the desktop is deleted.
    desktop_id = sa.Column(sa.String(36), nullable=False)
    desktop_name = sa.Column(sa.String(255), nullable=True)
    image = sa.Column(sa.String(255), nullable=False)
    # The state the desktop was in (ready: rebuilt at once; assigned:
    # rebuilt in place in a maintenance window).
    from_state = sa.Column(sa.String(16), nullable=False)
    state = sa.Column(sa.String(16), nullable=False)
    reason = sa.Column(sa.String(1024), nullable=True)
    started_at = sa.Column(sa.DateTime, nullable=False)
    finished_at = sa.Column(sa.DateTime, nullable=True)


class MaintenanceWindow(TimestampMixin, Base):
    """When desktops in use may be taken for maintenance.

    Of one pool (``pool_id``) or of every pool of a ``site``. Recurring:
    ``cron`` (five fields, local to ``timezone``) gives each opening, and
    the window lasts ``duration_minutes``; one-off: from ``starts_at`` to
    ``ends_at`` (UTC). ``drain``: no new logins to the pool while it is
    open. ``announced_start``: the opening the conductors last announced
    (events; bound users warned), so that each opening is announced once.
    """

    __tablename__ = "maintenance_windows"
    __table_args__ = (
        sa.UniqueConstraint("name", name="uniq_maintenance_windows0name"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(255), nullable=False)
    description = sa.Column(sa.String(1024), nullable=True)
    pool_id = sa.Column(sa.String(36),
                        sa.ForeignKey("pools.id", ondelete="CASCADE"),
                        nullable=True)
    site = sa.Column(sa.String(255), nullable=True)
    cron = sa.Column(sa.String(255), nullable=True)
    timezone = sa.Column(sa.String(64), nullable=False, default="UTC")
    duration_minutes = sa.Column(sa.Integer, nullable=True)
    starts_at = sa.Column(sa.DateTime, nullable=True)
    ends_at = sa.Column(sa.DateTime, nullable=True)
    drain = sa.Column(sa.Boolean, nullable=False, default=False)
    enabled = sa.Column(sa.Boolean, nullable=False, default=True)
    announced_start = sa.Column(sa.DateTime, nullable=True)
    revision = sa.Column(sa.Integer, nullable=False, default=1)


# Guest agents and incidents (vdi_broker/states.py).
CONNECTED = states.CONNECTED
DISCONNECTED = states.DISCONNECTED
INCIDENT_OPEN = states.INCIDENT_OPEN


class DesktopAgent(Base):
    """The guest agent of one desktop: its secret and its last report.

    ``secret_hash``: SHA-256 hex of the per-desktop secret the broker put
    into the server's metadata at boot (the secret itself is kept
    nowhere else). The row is deleted with its desktop (desktops.py).
    """

    __tablename__ = "desktop_agents"
    __table_args__ = (
        sa.Index("desktop_agents_last_report_at_idx", "last_report_at"),
    )

    desktop_id = sa.Column(sa.String(36), primary_key=True)
    secret_hash = sa.Column(sa.String(64), nullable=False)
    registered_at = sa.Column(sa.DateTime, nullable=True)
    last_report_at = sa.Column(PreciseDateTime, nullable=True)
    version = sa.Column(sa.String(64), nullable=True)
    os = sa.Column(sa.String(64), nullable=True)
    hostname = sa.Column(sa.String(255), nullable=True)
    # The remote display: its connection and its service.
    connection_state = sa.Column(sa.String(16), nullable=True)
    connection_since = sa.Column(sa.DateTime, nullable=True)
    display = sa.Column(sa.String(16), nullable=True)
    username = sa.Column(sa.String(255), nullable=True)
    idle_seconds = sa.Column(sa.Integer, nullable=True)
    cpu_percent = sa.Column(sa.Float, nullable=True)
    memory_percent = sa.Column(sa.Float, nullable=True)
    disk_free_mb = sa.Column(sa.Integer, nullable=True)
    reports = sa.Column(sa.BigInteger, nullable=False, default=0,
                        server_default="0")
    created_at = sa.Column(sa.DateTime, nullable=False, default=_utcnow)


class Incident(Base):
    """A desktop fault under the five-minute rule.

    Opened when the agent goes silent, the display stops or the thin
    client reports a fault; ended when the desktop is healthy again
    (recovered), when its session moved to another desktop (moved), or
    without either (closed). ``seconds``: from the fault to a working
    desktop (recovered or moved).
    """

    __tablename__ = "incidents"
    __table_args__ = (
        sa.Index("incidents_state_deadline_idx", "state", "deadline"),
        sa.Index("incidents_desktop_id_state_idx", "desktop_id", "state"),
        sa.Index("incidents_opened_at_idx", "opened_at"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    kind = sa.Column(sa.String(32), nullable=False)
    state = sa.Column(sa.String(16), nullable=False, default=INCIDENT_OPEN)
    reason = sa.Column(sa.String(1024), nullable=True)
    # No foreign keys: the record stays when the desktop is deleted.
    desktop_id = sa.Column(sa.String(36), nullable=False)
    pool_id = sa.Column(sa.String(36), nullable=True)
    session_id = sa.Column(sa.String(36), nullable=True)
    username = sa.Column(sa.String(255), nullable=True)
    opened_at = sa.Column(PreciseDateTime, nullable=False)
    deadline = sa.Column(PreciseDateTime, nullable=False)
    probed_at = sa.Column(sa.DateTime, nullable=True)
    probe_result = sa.Column(sa.String(1024), nullable=True)
    resolved_at = sa.Column(PreciseDateTime, nullable=True)
    new_desktop_id = sa.Column(sa.String(36), nullable=True)
    seconds = sa.Column(sa.Float, nullable=True)
    updated_at = sa.Column(sa.DateTime, nullable=True)


# -- business monitoring (R15) -------------------------------------------


class Department(TimestampMixin, Base):
    """A department: the directory users its rules match.

    ``rules`` is an allocator rule document restricted to the user's
    criteria (groups, ou, attributes, match); the department of lowest
    ``priority`` whose rules match is the user's.
    """

    __tablename__ = "departments"
    __table_args__ = (
        sa.UniqueConstraint("name", name="uniq_departments0name"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(255), nullable=False)
    description = sa.Column(sa.String(1024), nullable=True)
    priority = sa.Column(sa.Integer, nullable=False, default=100)
    rules = sa.Column(sa.JSON, nullable=False, default=dict)
    revision = sa.Column(sa.Integer, nullable=False, default=1)


class ShiftPlanSlot(Base):
    """One slot of a shift plan: agents expected of a department at a site.

    ``local_date``, ``local_start`` and ``fold`` are the slot as the plan
    wrote it ([monitoring] timezone; fold 1: the second occurrence of a
    repeated hour); ``starts_at`` and ``ends_at`` are UTC.
    """

    __tablename__ = "shift_plan_slots"
    __table_args__ = (
        sa.UniqueConstraint("department_id", "site", "starts_at",
                            name="uniq_shift_plan_slots0dept0site0start"),
        sa.Index("shift_plan_slots_starts_at_idx", "starts_at"),
        sa.Index("shift_plan_slots_local_date_idx", "local_date"),
    )

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                   primary_key=True, autoincrement=True)
    department_id = sa.Column(
        sa.String(36), sa.ForeignKey("departments.id", ondelete="CASCADE"),
        nullable=False)
    site = sa.Column(sa.String(255), nullable=False)
    local_date = sa.Column(sa.Date, nullable=False)
    local_start = sa.Column(sa.String(5), nullable=False)
    fold = sa.Column(sa.Integer, nullable=False, default=0)
    slot_minutes = sa.Column(sa.Integer, nullable=False)
    starts_at = sa.Column(sa.DateTime, nullable=False)
    ends_at = sa.Column(sa.DateTime, nullable=False)
    expected = sa.Column(sa.Integer, nullable=False)


class AgentCount(Base):
    """One minute's agents of a department at a site (and pool).

    ``pool`` is the pool's name; the row with pool "" is the department
    and site's total, with the plan's ``expected``.
    """

    __tablename__ = "agent_counts"
    __table_args__ = (
        sa.UniqueConstraint("minute", "department", "site", "pool",
                            name="uniq_agent_counts0minute0dept0site0pool"),
        sa.Index("agent_counts_dept_site_minute_idx", "department", "site",
                 "minute"),
    )

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                   primary_key=True, autoincrement=True)
    minute = sa.Column(sa.DateTime, nullable=False)
    department = sa.Column(sa.String(255), nullable=False)
    site = sa.Column(sa.String(255), nullable=False)
    pool = sa.Column(sa.String(255), nullable=False)
    active = sa.Column(sa.Integer, nullable=False, default=0)
    idle = sa.Column(sa.Integer, nullable=False, default=0)
    offline = sa.Column(sa.Integer, nullable=False, default=0)
    expected = sa.Column(sa.Integer, nullable=True)


class Alert(Base):
    """An alert of the broker's business monitoring.

    ``state``: pending (the condition holds, not long enough yet), firing,
    resolved. ``open_key`` is the kind and subject while the alert is
    pending or firing (NULL once resolved): one open alert per kind and
    subject, however many conductors evaluate.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        sa.UniqueConstraint("open_key", name="uniq_alerts0open_key"),
        sa.Index("alerts_state_kind_idx", "state", "kind"),
        sa.Index("alerts_started_at_idx", "started_at"),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    kind = sa.Column(sa.String(64), nullable=False)
    subject = sa.Column(sa.String(255), nullable=False)
    severity = sa.Column(sa.String(16), nullable=False, default="warning")
    state = sa.Column(sa.String(16), nullable=False)
    open_key = sa.Column(sa.String(255), nullable=True)
    department = sa.Column(sa.String(255), nullable=True)
    site = sa.Column(sa.String(255), nullable=True)
    pool = sa.Column(sa.String(255), nullable=True)
    started_at = sa.Column(sa.DateTime, nullable=False)
    fired_at = sa.Column(sa.DateTime, nullable=True)
    ended_at = sa.Column(sa.DateTime, nullable=True)
    updated_at = sa.Column(sa.DateTime, nullable=True)
    values = sa.Column(sa.JSON, nullable=True)
    message = sa.Column(sa.String(1024), nullable=True)
    acknowledged_by = sa.Column(sa.String(255), nullable=True)
    acknowledged_at = sa.Column(sa.DateTime, nullable=True)
