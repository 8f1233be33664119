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

"""The conductor: logout, pool upkeep, healing and the slow work.

The RPC endpoint (and, with ``[conductor] use_local``, the object the API
calls directly). Logins are not its work any more: the API runs them in
one database transaction (vdi_broker/login). The conductor keeps what is
slow or periodic: boots and release actions, the pool manager that keeps
every pool's ``min_ready`` desktops booted (it sees the desktops logins
took at its next pass), reconciliation, healing, schedules and guest
jobs. ``allocate``, ``explain`` and ``get_connection`` remain as
deprecated delegations to the login service, for APIs of the previous
release during a rolling upgrade.
"""

import datetime
import functools
import socket
import threading

from futurist import periodics
from oslo_db import exception as db_exc
from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_utils import timeutils

from vdi_broker import alerts
from vdi_broker import compute
from vdi_broker.conductor import agents as agent_watch
from vdi_broker.conductor import desktop_actions
from vdi_broker.conductor import hosts as host_status
from vdi_broker.conductor import jobs as job_runner
from vdi_broker.conductor import pool_manager
from vdi_broker.conductor import reconciler
from vdi_broker.conf import client_session as client_session_conf
from vdi_broker import consoles
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker.login import service as login_service
from vdi_broker.monitoring import agents
from vdi_broker import notifications

LOG = logging.getLogger(__name__)


def _database_down_is_503(method):
    """A lost database is a 503 for the thin client, not a 500.

    oslo.db's DBConnectionError is no broker exception: over RPC it would
    arrive as an unexpected remote error. Raise DatabaseUnavailable (an
    expected exception) instead.
    """
    @functools.wraps(method)
    def wrapper(self, ctxt, *args, **kwargs):
        try:
            return method(self, ctxt, *args, **kwargs)
        except db_exc.DBConnectionError:
            LOG.warning("%s: the database is not reachable",
                        method.__name__)
            raise exception.DatabaseUnavailable()
    return wrapper


class ConductorManager(pool_manager.PoolUpkeep):
    """Conductor endpoint. Version history in conductor/rpcapi.py.

    The pool manager (pool_upkeep and its helpers) is in
    conductor/pool_manager.py.
    """

    target = messaging.Target(version="1.5")

    def __init__(self, conf, compute_driver=None, ownership=None,
                 clock=None):
        self.conf = conf
        # The clouds, by name (None: the default cloud, whose driver is
        # ``compute_driver`` when given): compute/registry.py.
        self.clouds = compute.clouds(conf, default=compute_driver)
        # Which pools this conductor keeps (conductor/coordination.py);
        # None: every pool (one conductor, or the all-in-one mode).
        self.ownership = ownership
        self._owned = None
        self._consoles = {}
        self.host = socket.gethostname()
        self._lock = threading.Lock()
        # oslo.messaging notifications ([notifications]; off: one boolean).
        self.notifier = notifications.get_notifier(conf,
                                                   "vdi-broker-conductor")
        # ``clock``: aware UTC now for the schedules (tests freeze it).
        self._init_upkeep(clock)

    # -- drivers ---------------------------------------------------------

    @property
    def compute(self):
        """The default cloud's (watched) driver."""
        return self.clouds.get(None)

    def compute_of(self, pool):
        """The (watched) driver of the cloud ``pool`` lives in.

        ``pool``: a pool row, or a pool id (read only with several
        clouds).
        """
        if not self.clouds.several:
            return self.compute
        if isinstance(pool, str):
            pool = db.pool_get(vdi_context.get_admin_context(), pool)
        return self.clouds.for_pool(pool)

    def _console(self, console_type, pool=None):
        cloud = compute.cloud_registry.cloud_of(self.conf, pool)
        driver = self._consoles.get((cloud, console_type))
        if driver is None:
            driver = consoles.get_driver(console_type, self.conf,
                                         self.clouds.get(cloud))
            self._consoles[(cloud, console_type)] = driver
        return driver

    def _connection(self, desktop, pool):
        console = self._console(pool["console_type"], pool)
        view = dict(desktop, pool={"id": pool["id"], "name": pool["name"]})
        return console.get_connection(view)

    # -- the login path: in the API now (vdi_broker/login) ---------------

    @functools.cached_property
    def login_service(self):
        """The login service, with this conductor's drivers."""
        return login_service.LoginService(
            self.conf, compute=lambda: self.compute,
            clouds=lambda: self.clouds,
            quarantine=self.desktop_actions.quarantine_many,
            notifier=self.notifier)

    @messaging.expected_exceptions(exception.VdiBrokerException)
    @_database_down_is_503
    def allocate(self, ctxt, login):
        """Deprecated: the API runs logins itself (LoginService.login).

        Kept for the RPC API's sake: an API of the previous release calls
        it during a rolling upgrade.
        """
        return self.login_service.login(ctxt, login)

    def notify_desktop(self, ctxt, desktop, state=None):
        """A desktop's notification (desktop.ready, .error, ...).

        ``desktop``: the desktop as it is now (None: nothing moved, no
        notification); ``state`` for a deleted one.
        """
        if self.notifier.enabled and desktop:
            self.notifier.desktop(ctxt, desktop, state)

    @messaging.expected_exceptions(exception.VdiBrokerException)
    def explain(self, ctxt, login):
        """Deprecated: LoginService.explain (the API runs it itself)."""
        return self.login_service.explain(ctxt, login)

    @messaging.expected_exceptions(exception.VdiBrokerException)
    @_database_down_is_503
    def get_connection(self, ctxt, session_id):
        """Deprecated: LoginService.get_connection (the API's)."""
        return self.login_service.get_connection(ctxt, session_id)

    def ping(self, ctxt):
        """Answer a health check (vdi-broker-status)."""
        return {"host": self.host}

    @messaging.expected_exceptions(exception.VdiBrokerException)
    @_database_down_is_503
    def get_connection_file(self, ctxt, session_id):
        """A client file (.vv, .rdp) for the session's desktop.

        Returns {"media_type", "filename", "content"}; raises NotFound when
        the pool's protocol has no such file.
        """
        session = db.session_get(ctxt, session_id)
        desktop = db.desktop_get(ctxt, session["desktop_id"])
        pool = db.pool_get(ctxt, desktop["pool_id"])
        console = self._console(pool["console_type"], pool)
        view = dict(desktop, pool={"id": pool["id"], "name": pool["name"]})
        result = console.connection_file(view, console.get_connection(view))
        if result is None:
            raise exception.NotFound(
                message="Console type %s has no connection file." %
                pool["console_type"])
        media_type, content = result
        extension = {"application/x-virt-viewer": "vv",
                     "application/x-rdp": "rdp"}.get(media_type, "txt")
        return {"media_type": media_type, "content": content,
                "filename": "%s.%s" % (desktop["name"], extension)}

    @messaging.expected_exceptions(exception.VdiBrokerException)
    @_database_down_is_503
    def close_session(self, ctxt, session_id, reason):
        """Close a session and start the release action.

        The expiry and the agents' session timeouts call it; over RPC it
        remains for APIs of the previous release, which sent their logouts
        here (this release's API ends sessions itself:
        LoginService.logout, and casts release_desktop).
        """
        closed = self.login_service.logout(ctxt, session_id, reason,
                                           release=self.release_desktop)
        return {"session": login_service.public_session(closed["session"]),
                "release": closed["release"]}

    def release_desktop(self, ctxt, desktop_id):
        """Start a released desktop's release action now (RPC 1.5, a cast).

        The API ended the session and recorded the release on the desktop
        (``releasing`` or ``deleting``); this sends the reboot, rebuild or
        delete at once rather than at the pool manager's next pass, so
        that the desktop is back in its pool sooner. Anything else (a
        desktop moved on meanwhile, a lost cast) is left to the pool
        manager, which finishes the release and retries it after a crash.
        """
        try:
            desktop = db.desktop_get(ctxt, desktop_id)
            if desktop["state"] in (models.RELEASING, models.DELETING):
                self._process_release(ctxt, desktop)
        except exception.DesktopNotFound:
            pass
        except Exception:
            LOG.exception("Release of desktop %s failed; the pool manager "
                          "will retry it", desktop_id)

    # -- pool upkeep (R5, R10) -------------------------------------------

    def periodic_tasks(self):
        """Callables for a futurist PeriodicWorker."""
        return [
            (_periodic(self.pool_upkeep, self.conf.conductor.pool_interval),
             (), {}),
            (_periodic(self.expire_sessions, 60), (), {}),
        ] + self._client_tasks() + self._healing_tasks() + \
            self._job_tasks() + self._agent_tasks() + \
            self._monitoring_tasks()

    def _client_tasks(self):
        after = client_session_conf.offline_after(self.conf)
        if not after:
            return []
        if after != self.conf.client_session.client_offline_after:
            LOG.warning("[client_session] client_offline_after (%d s) is "
                        "less than %d heartbeat intervals of %d s: thin "
                        "clients are set offline after %d s",
                        self.conf.client_session.client_offline_after,
                        client_session_conf.MIN_MISSED_HEARTBEATS,
                        self.conf.client_session.heartbeat_interval, after)
        return [(_periodic(self.mark_clients_offline, 60), (), {})]

    def mark_clients_offline(self, ctxt=None):
        """Thin clients silent for too long go offline (R14)."""
        ctxt = ctxt or vdi_context.get_admin_context()
        cutoff = timeutils.utcnow() - datetime.timedelta(
            seconds=client_session_conf.offline_after(self.conf))
        gone = db.thin_clients_mark_offline(ctxt, cutoff)
        if gone:
            LOG.info("%d thin clients sent no heartbeat since %s UTC and "
                     "are offline now", len(gone),
                     cutoff.isoformat(timespec="seconds"))
        return gone

    # -- self-healing and desktop actions (conductor/reconciler.py,
    # conductor/desktop_actions.py) ----------------------------------------

    @functools.cached_property
    def desktop_actions(self):
        return desktop_actions.DesktopActions(self)

    @functools.cached_property
    def reconciler(self):
        return reconciler.Reconciler(self)

    def _healing_tasks(self):
        tasks = []
        for method, spacing in (
                (self.reconcile, self.conf.conductor.reconcile_interval),
                (self.health_check,
                 self.conf.conductor.health_check_interval)):
            if spacing:
                tasks.append((_periodic(method, spacing), (), {}))
        return tasks

    @messaging.expected_exceptions(exception.VdiBrokerException)
    def desktop_action(self, ctxt, desktop_id, action, args):
        """Run an operator's action on a desktop (RPC 1.3)."""
        return self.desktop_actions.run(ctxt, desktop_id, action, args)

    @messaging.expected_exceptions(exception.VdiBrokerException)
    def report_fault(self, ctxt, session_id, reason):
        """A thin client reports its desktop faulty (RPC 1.3)."""
        return self.desktop_actions.report_fault(ctxt, session_id, reason)

    @messaging.expected_exceptions(exception.VdiBrokerException)
    @_database_down_is_503
    def host_status(self, ctxt):
        """The compute hosts with their desktops, boots, capacity (1.4)."""
        with self._lock:
            cache = getattr(self, "_host_capacity", None)
            if cache is None:
                cache = self._host_capacity = host_status.CapacityCache()
        return host_status.host_status(self, ctxt, cache)

    @messaging.expected_exceptions(exception.VdiBrokerException)
    @_database_down_is_503
    def desktop_console(self, ctxt, desktop_id):
        """An operator's browser console of a desktop (RPC 1.4).

        Only for a pool whose console type opens in a browser (a URL of
        Nova's spice-html5 or noVNC proxy, with a one-time token). The
        URL is returned, never logged nor recorded: the event says who
        opened which console.
        """
        desktop = db.desktop_get(ctxt, desktop_id)
        pool = db.pool_get(ctxt, desktop["pool_id"])
        console_type = pool["console_type"]
        if not consoles.has_browser_console(console_type):
            raise exception.Conflict(reason=(
                "pool %s has console type %s, which has no browser "
                "console (only spice-html5 and novnc do)" % (
                    pool["name"], console_type)))
        if not desktop["server_id"]:
            raise exception.Conflict(reason=(
                "desktop %s has no server yet (it is %s)" % (
                    desktop["id"], desktop["state"])))
        connection = self._connection(desktop, pool)
        db.event_record(ctxt, "admin", "desktop.console",
                        target_type="desktop", target_id=desktop["id"],
                        desktop_id=desktop["id"], pool_id=pool["id"],
                        username=desktop["assigned_user"],
                        message="%s console opened" % console_type)
        return {"desktop_id": desktop["id"], "type": console_type,
                "protocol": connection["protocol"],
                "url": connection["url"]}
    # -- business monitoring (vdi_broker/monitoring, vdi_broker/alerts) ---

    @functools.cached_property
    def alert_evaluator(self):
        return alerts.Evaluator(self.conf, self.notifier)

    def _monitoring_tasks(self):
        tasks = []
        for method, spacing in (
                (self.count_agents, self.conf.monitoring.interval),
                (self.evaluate_alerts, self.conf.alerts.interval)):
            if spacing:
                tasks.append((_periodic(method, spacing), (), {}))
        return tasks

    def count_agents(self, ctxt=None):
        """Count the agents and write the minute's history (R15)."""
        ctxt = ctxt or vdi_context.get_admin_context()
        return agents.record_minute(ctxt, self.conf)

    def evaluate_alerts(self, ctxt=None):
        """One evaluation of the broker's alerts."""
        ctxt = ctxt or vdi_context.get_admin_context()
        return self.alert_evaluator.evaluate(ctxt)

    # -- guest jobs (conductor/jobs.py) ------------------------------------

    @functools.cached_property
    def job_runner(self):
        return job_runner.JobRunner(self.conf, self.host, self.notifier)

    def _job_tasks(self):
        if not self.conf.jobs.interval:
            return []
        return [(_periodic(self.run_jobs, self.conf.jobs.interval), (), {})]

    def run_jobs(self, ctxt=None):
        """One pass of the guest job runner."""
        return self.job_runner.run_once(ctxt)

    def reconcile(self, ctxt=None):
        """One reconciler pass (also run at start and periodically)."""
        ctxt = ctxt or vdi_context.get_admin_context()
        try:
            return self.reconciler.reconcile(ctxt)
        except exception.ComputeUnavailable as e:
            LOG.warning("Reconciler pass skipped: %s", e)
            return None

    def health_check(self, ctxt=None):
        """One health check of the ready and assigned desktops."""
        ctxt = ctxt or vdi_context.get_admin_context()
        return self.reconciler.health_check(ctxt)

    def expire_sessions(self, ctxt=None):
        """Close expired sessions, but those a user is connected to.

        Kept unless the pool's ``expiry_when_connected`` says otherwise
        (ending it would restart a desktop someone works on): a session
        whose agent says, in a recent report, that the display is
        connected, or whose thin client's viewer is connected where the
        combining rule lets the thin client decide
        (session_state.kept_at_expiry). It is closed once that end says
        disconnected or falls silent.
        """
        ctxt = ctxt or vdi_context.get_admin_context()
        now = timeutils.utcnow()
        expired = db.sessions_expired(ctxt, now)
        kept = {}
        if expired:
            kept = db.sessions_kept_connected(
                ctxt, expired, now, self.conf.agent.silent_after,
                client_session_conf.offline_after(self.conf))
        for session_id in expired:
            if session_id in kept:
                LOG.debug("Session %s expired but its user is connected "
                          "(says the %s): kept", session_id,
                          kept[session_id].replace("_", " "))
                continue
            self.close_session(ctxt, session_id, "expired")
        return len(expired) - len(kept)

    # -- guest agents and incidents (conductor/agents.py) ------------------

    @functools.cached_property
    def agent_watch(self):
        return agent_watch.AgentWatch(self)

    def _agent_tasks(self):
        if not self.conf.agent.interval:
            return []
        return [(_periodic(self.watch_agents, self.conf.agent.interval),
                 (), {})]

    def watch_agents(self, ctxt=None):
        """One pass of session timeouts and incidents."""
        return self.agent_watch.run_once(ctxt)

    def _owned_pools(self, ctxt):
        pools = db.pool_list(ctxt)
        if self.ownership is None:
            return pools
        owned = [pool for pool in pools
                 if self.ownership.owns(pool["id"])]
        ids = frozenset(pool["id"] for pool in owned)
        if ids != self._owned:
            LOG.info("The pool manager of this conductor keeps %d of %d "
                     "pools", len(ids), len(pools))
            self._owned = ids
        return owned


def _periodic(method, spacing):
    """futurist marks functions, not bound methods: wrap the method."""
    def task():
        return method()
    task.__name__ = method.__name__
    return periodics.periodic(spacing=spacing, run_immediately=True)(task)


class PeriodicRunner:
    """Runs the manager's periodic tasks in a background thread."""

    def __init__(self, manager):
        self.worker = periodics.PeriodicWorker(manager.periodic_tasks())
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.worker.start,
                                       name="vdi-broker-periodic",
                                       daemon=True)
        self.thread.start()

    def stop(self, timeout=10):
        self.worker.stop()
        self.worker.wait(timeout)
        if self.thread is not None:
            self.thread.join(timeout)
