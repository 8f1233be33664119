"""The conductor: allocation, logout and pool upkeep.

The RPC endpoint (and, with ``[conductor] use_local``, the object the API
calls directly). It owns everything that changes desktops: the allocator
chain, the atomic claim (through the DB API), release actions and the pool
manager that keeps every pool's ``min_ready`` desktops booted.
"""

import datetime
import functools
import socket
import threading
import time

from futurist import periodics
from oslo_db import exception as db_exc
from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_utils import uuidutils

from vdi_broker import allocators
from vdi_broker.allocators import base as allocator_base
from vdi_broker import compute
from vdi_broker.compute import base as compute_base
from vdi_broker import consoles
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

LOG = logging.getLogger(__name__)

# Failed boots in a row before a pool is reported degraded.
DEGRADED_AFTER_FAILURES = 3


def _now():
    return db.utcnow()


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


class ConductorManager:
    """Conductor endpoint. Version history in conductor/rpcapi.py."""

    target = messaging.Target(version="1.2")

    def __init__(self, conf, compute_driver=None, ownership=None):
        self.conf = conf
        self._compute = compute_driver
        # Which pools this conductor keeps (conductor/coordination.py);
        # None: every pool (one conductor, or the all-in-one mode).
        self.ownership = ownership
        self._owned = None
        self._consoles = {}
        self.host = socket.gethostname()
        self._lock = threading.Lock()
        self._failures = {}
        self._capacity = None
        self._capacity_at = None
        self._flavors = {}

    # -- drivers ---------------------------------------------------------

    @property
    def compute(self):
        if self._compute is None:
            with self._lock:
                if self._compute is None:
                    self._compute = compute.get_driver(self.conf)
        return self._compute

    def _console(self, console_type):
        driver = self._consoles.get(console_type)
        if driver is None:
            driver = consoles.get_driver(console_type, self.conf,
                                         self.compute)
            self._consoles[console_type] = driver
        return driver

    def _connection(self, desktop, pool):
        console = self._console(pool["console_type"])
        view = dict(desktop, pool={"id": pool["id"], "name": pool["name"]})
        return console.get_connection(view)

    # -- the login path (R7) ---------------------------------------------

    def _choose(self, ctxt, login, inputs=None):
        """Build the request and walk the allocator chain.

        ``inputs``: what db.allocation_inputs returns (read here when
        not given). Returns (request, allocator record, decision, trace,
        pool).
        """
        if inputs is None:
            # The seat, the thin client and the chain in one read.
            inputs = db.allocation_inputs(ctxt, login.get("seat"),
                                          login["client_id"])
        seat, client = inputs["seat"], inputs["client"]
        site = (seat or {}).get("site") or (client or {}).get("site")
        request = allocator_base.AllocationRequest.from_dict({
            "principal": login["principal"],
            "client_id": login["client_id"], "seat": login.get("seat"),
            "seat_tags": (seat or {}).get("tags") or (), "site": site})
        record, decision, trace = allocators.walk(
            self.conf, inputs["allocators"], request)
        pool = None
        if decision is not None:
            pool = next((p for p in inputs["pools"]
                         if decision.pool in (p["id"], p["name"])), None)
        return request, record, decision, trace, pool

    @messaging.expected_exceptions(exception.VdiBrokerException)
    @_database_down_is_503
    def allocate(self, ctxt, login):
        """Give a logged-in user a desktop and open a session.

        ``login`` holds the principal (a dict), client_id, seat, and the new
        session's id, token_hash and expires_at (ISO 8601). Returns the
        session, desktop, pool, allocator and connection details.

        The allocator chain is walked inside the claim's transaction
        (db.allocate's ``choose``): one transaction per login.
        """
        if login.get("deadline") and \
                _now() > _parse_time(login["deadline"]):
            # The API gave up on this login (the bus was down, the
            # conductor too busy): claiming a desktop now would leak it.
            LOG.warning("Dropping a login of %s that arrived after its "
                        "deadline", login["principal"]["username"])
            raise exception.ConductorUnavailable()
        username = login["principal"]["username"]
        chosen = {}

        def choose(inputs):
            request, record, decision, trace, pool = self._choose(
                ctxt, login, inputs)
            chosen.update(request=request, record=record, trace=trace,
                          pool=pool)
            if record is None:
                raise exception.NoAllocatorMatches(username=username,
                                                   tried=_brief(trace))
            if pool is None:
                LOG.error("Allocator %s points at pool %s, which does not "
                          "exist", record["name"], decision.pool)
                raise exception.ServiceUnavailable(
                    reason="allocator %s has no pool" % record["name"])
            if not pool["enabled"]:
                chosen["disabled"] = True
                raise exception.PoolExhausted(
                    pool=pool["name"], status="disabled",
                    status_reason="pool is disabled")
            return {"pool_id": pool["id"],
                    "binding_kind": decision.binding_kind,
                    "binding_key": decision.binding_key,
                    "allocator_id": record["id"],
                    "allocator_name": record["name"]}

        session_values = {
            "id": login["session_id"], "token_hash": login["token_hash"],
            "expires_at": _parse_time(login["expires_at"])}
        try:
            result = db.allocate(
                ctxt, {"username": username,
                       "client_id": login["client_id"],
                       "seat": login.get("seat")},
                None, session_values,
                attempts=self.conf.allocator.claim_attempts,
                candidates=self.conf.allocator.claim_candidates,
                choose=choose)
        except exception.NoAllocatorMatches:
            request = chosen["request"]
            db.event_record(ctxt, "allocation", "login", result="failure",
                            username=username, actor=username,
                            message="no allocator matches",
                            detail={"client_id": request.client_id,
                                    "seat": request.seat,
                                    "trace": chosen["trace"]})
            raise
        except exception.PoolExhausted as e:
            if chosen.get("disabled"):
                raise
            pool, record = chosen.get("pool"), chosen.get("record")
            LOG.warning("Pool %s has no ready desktop for %s",
                        pool["name"] if pool else e.kwargs.get("pool"),
                        username)
            db.event_record(ctxt, "allocation", "login", result="failure",
                            username=username, actor=username,
                            pool_id=pool["id"] if pool else None,
                            message=e.message,
                            detail={"allocator": record and record["name"],
                                    "client_id": login["client_id"]})
            raise
        record = chosen["record"]
        connection = self._connection(result["desktop"], result["pool"])
        return {
            "session": _public_session(result["session"]),
            "desktop": _public_desktop(result["desktop"]),
            "pool": {"id": result["pool"]["id"],
                     "name": result["pool"]["name"]},
            "allocator": {"id": record["id"], "name": record["name"],
                          "plugin": record["plugin"]},
            "binding": (_public_binding(result["binding"])
                        if result["binding"] else None),
            "reused": result["reused"],
            "connection": connection,
        }

    @messaging.expected_exceptions(exception.VdiBrokerException)
    def explain(self, ctxt, login):
        """Dry-run the allocator chain: which allocator, and why."""
        request, record, decision, trace, _pool = self._choose(ctxt, login)
        outcome = {"allocator": None, "decision": None}
        if record is not None:
            outcome["allocator"] = record["name"]
            outcome["decision"] = {"pool": decision.pool,
                                   "binding_kind": decision.binding_kind,
                                   "binding_key": decision.binding_key,
                                   "reason": decision.reason}
            if decision.binding_kind:
                binding = db.binding_find(ctxt, decision.binding_kind,
                                          decision.binding_key)
                outcome["binding"] = (_public_binding(binding)
                                      if binding else None)
            try:
                pool = db.pool_get(ctxt, decision.pool)
                counts = db.pool_desktop_counts(ctxt, [pool["id"]])
                outcome["pool"] = {
                    "id": pool["id"], "name": pool["name"],
                    "status": pool["status"],
                    "ready": counts.get(pool["id"], {}).get(models.READY, 0)}
            except exception.PoolNotFound:
                outcome["pool"] = None
        return {"request": request.to_dict(), "trace": trace,
                "outcome": outcome}

    @messaging.expected_exceptions(exception.VdiBrokerException)
    @_database_down_is_503
    def get_connection(self, ctxt, session_id):
        """Connection details of an active session's desktop."""
        session = db.session_get(ctxt, session_id)
        desktop = db.desktop_get(ctxt, session["desktop_id"])
        pool = db.pool_get(ctxt, desktop["pool_id"])
        return self._connection(desktop, pool)

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
        console = self._console(pool["console_type"])
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
        """Log out: close the session and start the release action."""
        session, desktop, release = db.session_close(ctxt, session_id,
                                                     reason)
        if release in (models.RELEASING, models.DELETING):
            # Start the release now, so that the desktop is back in the
            # pool as soon as possible; the pool manager finishes it (and
            # retries it after a crash).
            try:
                self._process_release(ctxt, desktop)
            except Exception:
                LOG.exception("Release of desktop %s failed; the pool "
                              "manager will retry it", desktop["id"])
        return {"session": _public_session(session),
                "release": release}

    # -- pool upkeep (R5, R10) -------------------------------------------

    def periodic_tasks(self):
        """Callables for a futurist PeriodicWorker."""
        return [
            (_periodic(self.pool_upkeep, self.conf.conductor.pool_interval),
             (), {}),
            (_periodic(self.expire_sessions, 60), (), {}),
        ]

    def expire_sessions(self, ctxt=None):
        ctxt = ctxt or vdi_context.get_admin_context()
        for session_id in db.sessions_expired(ctxt, _now()):
            self.close_session(ctxt, session_id, "expired")

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

    def pool_upkeep(self, ctxt=None):
        """One pass of the pool manager over the pools this conductor keeps.

        With several conductors each pool is kept by one of them (see
        conductor/coordination.py), and max_concurrent_builds is a budget
        of each conductor over its own pools.
        """
        ctxt = ctxt or vdi_context.get_admin_context()
        budget = self.conf.conductor.max_concurrent_builds
        pools = self._owned_pools(ctxt)
        building = {}
        for pool in pools:
            building[pool["id"]] = self._refresh_pool(ctxt, pool)
        budget -= sum(building.values())
        # The emptiest pools (ready + building against min_ready) get the
        # global build budget first, so a big pool cannot starve the
        # small ones.
        counts = db.pool_desktop_counts(ctxt)

        def fill(pool):
            states = counts.get(pool["id"], {})
            have = states.get(models.READY, 0) + building[pool["id"]]
            return have / max(pool["min_ready"], 1)

        for pool in sorted(pools, key=fill):
            if not pool["enabled"]:
                continue
            budget -= self._grow_or_shrink(ctxt, pool, building[pool["id"]],
                                           max(budget, 0))

    def _refresh_pool(self, ctxt, pool):
        """Advance every desktop of the pool; return how many build."""
        building = 0
        for desktop in db.desktop_list(ctxt, {"pool_id": pool["id"]}):
            state = desktop["state"]
            try:
                if state == models.BUILDING:
                    building += self._check_build(ctxt, pool, desktop)
                elif state == models.RELEASING:
                    self._process_release(ctxt, desktop)
                elif state == models.ERROR:
                    self._replace_broken(ctxt, pool, desktop)
                elif state == models.DELETING:
                    self._delete_desktop(ctxt, desktop)
            except exception.ComputeUnavailable as e:
                LOG.warning("Pool %s: cloud unavailable: %s", pool["name"],
                            e)
                if state == models.BUILDING:
                    building += 1
            except Exception:
                # One broken desktop must not stop the pool manager for
                # every pool: log it, go on, try again at the next pass.
                LOG.exception("Pool %s: desktop %s (%s) could not be "
                              "processed", pool["name"], desktop["id"],
                              state)
                if state == models.BUILDING:
                    building += 1
        return building

    def _check_build(self, ctxt, pool, desktop):
        if desktop["server_id"] is None:
            # Crashed between the row and the boot request.
            age = (_now() - desktop["created_at"]).total_seconds()
            if age > 60:
                db.desktop_transition(ctxt, desktop["id"], [models.BUILDING],
                                      {"state": models.ERROR,
                                       "state_reason": "no server"})
                return 0
            return 1
        try:
            server = self.compute.get_server(desktop["server_id"])
        except exception.ServerNotFound:
            self._build_failed(ctxt, pool, desktop, "server vanished")
            return 0
        if server.status == compute_base.ACTIVE:
            db.desktop_transition(ctxt, desktop["id"], [models.BUILDING],
                                  {"state": models.READY,
                                   "address": server.address,
                                   "host": server.host,
                                   "state_reason": None})
            self._build_succeeded(ctxt, pool)
            return 0
        if server.status == compute_base.ERROR:
            self._build_failed(ctxt, pool, desktop,
                               server.fault or "server in ERROR")
            return 0
        age = (_now() - desktop["created_at"]).total_seconds()
        if age > self.conf.conductor.build_timeout:
            self._build_failed(ctxt, pool, desktop,
                               "not ACTIVE after %d s" % age)
            return 0
        return 1

    def _build_succeeded(self, ctxt, pool):
        if self._failures.pop(pool["id"], None) or \
                pool["status"] == "degraded":
            db.pool_set_status(ctxt, pool["id"], "active", None)
            db.event_record(ctxt, "pool", "pool.recovered",
                            pool_id=pool["id"], target_type="pool",
                            target_id=pool["id"])

    def _build_failed(self, ctxt, pool, desktop, reason):
        LOG.warning("Pool %s: desktop %s failed to boot: %s", pool["name"],
                    desktop["id"], reason)
        db.desktop_transition(ctxt, desktop["id"], [models.BUILDING],
                              {"state": models.ERROR,
                               "state_reason": reason[:1000]})
        count, since = self._failures.get(pool["id"], (0, _now()))
        count += 1
        self._failures[pool["id"]] = (count, since)
        db.event_record(ctxt, "pool", "desktop.build", result="failure",
                        pool_id=pool["id"], desktop_id=desktop["id"],
                        message=reason[:1000])
        if count >= DEGRADED_AFTER_FAILURES:
            db.pool_set_status(
                ctxt, pool["id"], "degraded",
                "%d boots failed in a row since %s UTC; last error: %s" % (
                    count, since.isoformat(timespec="seconds"),
                    reason)[:1000])

    def _grow_or_shrink(self, ctxt, pool, building, budget):
        """Boot toward min_ready within the limits; return boots started."""
        counts = db.pool_desktop_counts(ctxt, [pool["id"]]).get(
            pool["id"], {})
        ready = counts.get(models.READY, 0)
        live = sum(n for state, n in counts.items()
                   if state not in (models.DELETING, models.ERROR))
        if live > pool["max_size"] and ready:
            self._shrink(ctxt, pool, min(live - pool["max_size"], ready))
            return 0
        wanted = pool["min_ready"] - ready - building
        room = pool["max_size"] - live
        slots = pool["max_concurrent_builds"] - building
        count = max(0, min(wanted, room, slots, budget))
        count = self._within_capacity(ctxt, pool, count, wanted)
        if count and self._failures.get(pool["id"], (0,))[0] >= \
                DEGRADED_AFTER_FAILURES:
            # A failing pool boots one probe desktop at a time, not a
            # storm of doomed builds.
            count = 1 if building == 0 else 0
        for _ in range(count):
            self._boot(ctxt, pool)
        return count

    # -- capacity (R11) ----------------------------------------------------

    def _cloud_capacity(self):
        """Free capacity per provider, cached; None when unknown."""
        now = time.monotonic()
        ttl = self.conf.conductor.capacity_cache_time
        if self._capacity_at is None or now - self._capacity_at >= ttl:
            try:
                self._capacity = self.compute.get_capacity()
            except exception.VdiBrokerException as e:
                LOG.warning("Cloud capacity unknown: %s", e)
                self._capacity = None
            self._capacity_at = now
        return self._capacity

    def _flavor(self, name):
        if name not in self._flavors:
            try:
                self._flavors[name] = self.compute.get_flavor(name)
            except exception.VdiBrokerException as e:
                LOG.warning("Flavor %s unknown: %s", name, e)
                return None
        return self._flavors[name]

    def _within_capacity(self, ctxt, pool, count, wanted):
        """How many of ``count`` boots fit in the cloud right now.

        Memory is the bottleneck of a VDI cloud (R11): a pool grows only
        into free memory and vCPUs (Placement: (total - reserved) x
        allocation_ratio - used, per provider). A pool that cannot reach
        its target says so in its status instead of piling up builds
        that would fail with NoValidHost.
        """
        if wanted <= 0:
            return count
        capacity = self._cloud_capacity()
        flavor = self._flavor(pool["flavor"]) if capacity else None
        if not capacity or not flavor:
            return count
        fits = 0
        for provider in capacity["providers"]:
            fits += max(0, min(
                provider["memory_mb"]["free"] // flavor["memory_mb"],
                provider["vcpus"]["free"] // flavor["vcpus"]))
        if fits < wanted:
            reason = ("cannot reach min_ready: %d more desktops of flavor "
                      "%s (%d MB, %d vCPU) wanted, the cloud has room for "
                      "%d" % (wanted, pool["flavor"], flavor["memory_mb"],
                              flavor["vcpus"], fits))
            if pool["status"] != "no_capacity" or \
                    pool["status_reason"] != reason:
                LOG.warning("Pool %s: %s", pool["name"], reason)
                db.pool_set_status(ctxt, pool["id"], "no_capacity", reason)
        elif pool["status"] == "no_capacity":
            db.pool_set_status(ctxt, pool["id"], "active", None)
        count = min(count, fits)
        # Spend the cached capacity, so that the next pool (or pass) sees
        # what these boots take.
        left = count
        for provider in capacity["providers"]:
            while left and \
                    provider["memory_mb"]["free"] >= flavor["memory_mb"] and \
                    provider["vcpus"]["free"] >= flavor["vcpus"]:
                provider["memory_mb"]["free"] -= flavor["memory_mb"]
                provider["vcpus"]["free"] -= flavor["vcpus"]
                left -= 1
        return count

    def _shrink(self, ctxt, pool, count):
        for desktop in db.desktop_list(
                ctxt, {"pool_id": pool["id"], "state": models.READY},
                limit=count):
            moved = db.desktop_transition(
                ctxt, desktop["id"], [models.READY],
                {"state": models.DELETING, "state_reason": "pool shrunk"})
            if not moved:
                continue
            try:
                self._delete_desktop(ctxt, moved)
            except Exception:
                # Left in 'deleting': the next pass retries it.
                LOG.exception("Pool %s: deleting desktop %s failed",
                              pool["name"], moved["id"])

    def _boot(self, ctxt, pool):
        desktop_id = uuidutils.generate_uuid()
        name = "vdi-%s-%s" % (pool["name"][:40], desktop_id[:8])
        db.desktop_create(ctxt, {"id": desktop_id, "pool_id": pool["id"],
                                 "name": name, "state": models.BUILDING})
        spec = compute_base.ServerSpec(
            name=name, flavor=pool["flavor"], image=pool["image"],
            networks=pool["networks"] or [],
            availability_zone=pool["availability_zone"],
            metadata=dict(pool["server_metadata"] or {},
                          **{compute_base.META_BROKER: "1",
                             compute_base.META_POOL: pool["id"],
                             compute_base.META_DESKTOP: desktop_id}),
            tags=[compute_base.BROKER_TAG,
                  compute_base.POOL_TAG_PREFIX + pool["id"]])
        try:
            server = self.compute.create_server(spec)
        except exception.VdiBrokerException as e:
            self._build_failed(ctxt, pool, {"id": desktop_id}, e.message)
            return
        db.desktop_transition(ctxt, desktop_id, [models.BUILDING],
                              {"server_id": server.id, "host": server.host})

    def _process_release(self, ctxt, desktop):
        """Run (or finish) a desktop's release action."""
        if desktop["state"] == models.DELETING:
            self._delete_desktop(ctxt, desktop)
            return
        reason = desktop.get("state_reason") or ""
        if not reason.startswith("release:"):
            return
        action = reason.split(":")[1]
        if not reason.endswith(":issued"):
            pool = db.pool_get(ctxt, desktop["pool_id"])
            try:
                if action == "rebuild":
                    self.compute.rebuild_server(desktop["server_id"],
                                                pool["image"])
                else:
                    self.compute.reboot_server(desktop["server_id"])
            except exception.ComputeError as e:
                # The server is gone or refuses the action: the desktop is
                # replaced (left in releasing, it would fail the pool
                # manager's every pass). ComputeUnavailable is retried.
                LOG.warning("Desktop %s: %s failed: %s", desktop["id"],
                            action, e)
                reason = ("server vanished"
                          if isinstance(e, exception.ServerNotFound)
                          else "%s failed: %s" % (action, e))
                db.desktop_transition(ctxt, desktop["id"],
                                      [models.RELEASING],
                                      {"state": models.ERROR,
                                       "state_reason": reason[:1000]})
                return
            db.desktop_transition(
                ctxt, desktop["id"], [models.RELEASING],
                {"state_reason": "release:%s:issued" % action})
            return
        try:
            server = self.compute.get_server(desktop["server_id"])
        except exception.ServerNotFound:
            db.desktop_transition(ctxt, desktop["id"], [models.RELEASING],
                                  {"state": models.ERROR,
                                   "state_reason": "server vanished"})
            return
        if server.status == compute_base.ACTIVE:
            db.desktop_transition(ctxt, desktop["id"], [models.RELEASING],
                                  {"state": models.READY,
                                   "state_reason": None,
                                   "address": server.address})
        elif server.status == compute_base.ERROR:
            db.desktop_transition(ctxt, desktop["id"], [models.RELEASING],
                                  {"state": models.ERROR,
                                   "state_reason": server.fault or
                                   "%s failed" % action})

    def _replace_broken(self, ctxt, pool, desktop):
        """Delete a desktop in error; a bound one hands its binding on.

        The owner of a bound desktop gets a healthy one of the same pool
        at once, not at the next login (R1: a fault is fixed by moving the
        user). With no ready desktop the broken one is kept, and its
        binding with it, until the next pass.
        """
        moved = db.binding_rehome(
            ctxt, desktop["id"], attempts=self.conf.allocator.claim_attempts,
            candidates=self.conf.allocator.claim_candidates)
        if moved is False:
            LOG.warning("Pool %s: bound desktop %s failed and no ready "
                        "desktop can replace it yet", pool["name"],
                        desktop["id"])
            return
        if moved:
            LOG.info("Pool %s: binding %s:%s moved from failed desktop %s "
                     "to %s", pool["name"], moved["kind"], moved["key"],
                     desktop["id"], moved["desktop_id"])
        self._delete_desktop(ctxt, desktop)

    def _delete_desktop(self, ctxt, desktop):
        if desktop.get("server_id"):
            self.compute.delete_server(desktop["server_id"])
        db.desktop_destroy(ctxt, desktop["id"])


def _periodic(method, spacing):
    """futurist marks functions, not bound methods: wrap the method."""
    def task():
        return method()
    task.__name__ = method.__name__
    return periodics.periodic(spacing=spacing, run_immediately=True)(task)


def _parse_time(value):
    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(value).replace(tzinfo=None)


def _brief(trace):
    return [{"allocator": step["allocator"], "result": step["result"]}
            for step in trace]


def _iso(value):
    return value.isoformat() + "Z" if value else None


def _public_session(session):
    return {"id": session["id"], "username": session["username"],
            "client_id": session["client_id"], "seat": session["seat"],
            "state": session["state"],
            "created_at": _iso(session["created_at"]),
            "expires_at": _iso(session["expires_at"]),
            "closed_at": _iso(session["closed_at"]),
            "close_reason": session["close_reason"]}


def _public_desktop(desktop):
    return {"id": desktop["id"], "name": desktop["name"],
            "pool_id": desktop["pool_id"], "state": desktop["state"],
            "address": desktop["address"], "server_id": desktop["server_id"]}


def _public_binding(binding):
    return {"id": binding["id"], "kind": binding["kind"],
            "key": binding["key"], "desktop_id": binding["desktop_id"]}


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
