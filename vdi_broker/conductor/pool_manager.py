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

"""The pool manager: keeps every pool's ready desktops booted (R5, R10).

A mixin of :class:`~vdi_broker.conductor.manager.ConductorManager`, run
every ``[conductor] pool_interval`` seconds. One pass over the pools this
conductor keeps:

1. advances each pool's desktops that need work (building, releasing,
   error, deleting; quarantined ones are left to the operator), with one
   server listing per pool (by the pool's tag) instead of one request per
   desktop;
2. runs the readiness probes of desktops whose server is ACTIVE;
3. feeds the boots that finished to the adaptive throttle;
4. opens and closes maintenance windows (conductor/maintenance.py) and
   runs the image roll-outs (conductor/rollouts.py), which queue rebuilds
   and may raise a pool's target by a surge;
5. works out each pool's new desktops toward its effective min_ready
   (raised by its schedules and roll-outs) within the pool's size and the
   cloud's free capacity, or shrinks a pool above its target;
6. starts, in one admission (conductor/boot_queue.py), the new desktops
   and the queued restarts the boot limits allow: the deployment's, the
   pool's allowance and each compute host's, over every conductor.

See doc/source/admin/pool-upkeep.rst.
"""

import concurrent.futures
import secrets
import time

from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import uuidutils

from vdi_broker.compute import base as compute_base
from vdi_broker import context as vdi_context
from vdi_broker.conductor import boot_queue
from vdi_broker.conductor import capacity
from vdi_broker.conductor import cloud_passes
from vdi_broker.conductor import maintenance
from vdi_broker.conductor import probes
from vdi_broker.conductor import rollouts
from vdi_broker.conductor import schedules as schedule_rules
from vdi_broker.conductor import throttle
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker.guest_agent import protocol

LOG = logging.getLogger(__name__)

# Desktops a pass has something to do with. Ready and assigned ones need
# nothing; quarantined ones wait for an operator.
WORK_STATES = (models.BUILDING, models.RELEASING, models.ERROR,
               models.DELETING)

# state_reason of a building desktop whose server was rebooted because
# its readiness probe did not pass in time.
PROBE_REBOOTED = "readiness probe: rebooted"


def _utc_clock():
    return timeutils.utcnow(with_timezone=True)


def _halved(pool):
    """The allowance after a failure: half of the current one."""
    return throttle.halve(throttle.pool_allowance(pool))


class PoolServers:
    """The servers of one pool, listed once per pass.

    ``get`` answers from the listing and falls back to one GET for a
    server missing from it; a listing that failed fails every lookup of
    the pass (without asking the cloud again).
    """

    def __init__(self, compute, pool_id):
        self._compute = compute
        self._tags = [compute_base.BROKER_TAG,
                      compute_base.POOL_TAG_PREFIX + pool_id]
        self._by_id = None
        self._by_desktop = None
        self._error = None

    def _load(self):
        if self._error is not None:
            raise self._error
        if self._by_id is not None:
            return
        try:
            servers = self._compute.list_servers(tags=self._tags)
        except exception.VdiBrokerException as e:
            self._error = e
            raise
        self._by_id = {s.id: s for s in servers}
        self._by_desktop = {s.metadata.get(compute_base.META_DESKTOP): s
                            for s in servers}

    def get(self, server_id):
        """The server; raises ServerNotFound when it is gone."""
        self._load()
        server = self._by_id.get(server_id)
        if server is None:
            server = self._compute.get_server(server_id)
        return server

    def of_desktop(self, desktop_id):
        """The server booted for a desktop (by its metadata), or None."""
        self._load()
        return self._by_desktop.get(desktop_id)


class PoolUpkeep(capacity.CapacityChecks):
    """The pool manager part of the conductor."""

    def _init_upkeep(self, clock=None):
        self.boot_queue = boot_queue.BootQueue(self)
        self.rollouts = rollouts.RolloutKeeper(self)
        # Aware UTC "now" for the schedules: tests freeze it.
        self._clock = clock or _utc_clock
        self.windows = maintenance.WindowKeeper(db, self._clock)
        self._init_capacity()
        # Pools with a failure recorded by this conductor since their last
        # success (their row may not show it yet in this pass).
        self._failing = set()

    # -- the pass ----------------------------------------------------------

    def pool_upkeep(self, ctxt=None):
        """One pass of the pool manager over the pools this conductor keeps.

        With several conductors each pool is kept by one of them (see
        conductor/coordination.py); the boot limits hold over all of them
        (the boot queue counts in the database).
        """
        ctxt = ctxt or vdi_context.get_admin_context()
        owned = self._owned_pools(ctxt)
        building = {}
        finished = []
        restarting = db.desktops_restarting(ctxt, [p["id"] for p in owned])
        # One cloud's pools after the other's, each cloud in a thread of
        # its own: a cloud that does not answer holds up only its pools.
        building.update(cloud_passes.run_by_cloud(
            self.conf, owned, lambda pool: self._refresh_and_read(
                ctxt, pool, finished, restarting.get(pool["id"], ()))))
        self.boot_queue.adapt(ctxt, finished, timeutils.utcnow())
        # Read again: the refresh may have changed their throttle state.
        fresh = {p["id"]: p for p in db.pool_list(ctxt)}
        pools = [fresh[p["id"]] for p in owned if p["id"] in fresh]
        targets = self._targets(ctxt, pools)
        counts = db.pool_desktop_counts(ctxt)
        # Maintenance windows (drains, announcements) and image
        # roll-outs: their rebuilds join this pass's admission.
        windows = self._maintenance_pass(ctxt, list(fresh.values()))
        self._rollout_pass(ctxt, pools, targets, counts, windows)

        def fill(pool):
            states = counts.get(pool["id"], {})
            have = states.get(models.READY, 0) + building[pool["id"]]
            return have / max(targets[pool["id"]][0], 1)

        # The emptiest pools get the first boot slots, so that a big pool
        # cannot starve the small ones (the slots then go round-robin).
        plan = []
        for pool in sorted(pools, key=fill):
            rows = []
            if pool["enabled"]:
                target, scheduled = targets[pool["id"]]
                rows = self._grow_or_shrink(
                    ctxt, pool, building[pool["id"]], target=target,
                    scheduled=scheduled, counts=counts.get(pool["id"], {}))
            plan.append({"id": pool["id"], "rows": rows})
        # The hosts' loads, for the admission (read here, at most every
        # capacity_cache_time, never inside its transaction).
        self._host_loads(refresh=True)
        idle = not restarting and not any(p["rows"] for p in plan) and \
            not any(counts.get(p["id"], {}).get(models.RELEASING) or
                    p["boots_wanted"] or p["boot_wait_reason"]
                    for p in pools)
        sent = {}
        try:
            if not idle:
                # (An idle deployment writes nothing at each pass.)
                self._start_boots(ctxt, {p["id"]: p for p in pools}, plan,
                                  sent)
        finally:
            # The capacity planned for boots not sent is free again.
            for pool_id, spent in self._spent.items():
                self._refund(pool_id, len(spent) - sent.get(pool_id, 0))
            self._spent = {}

    def _refresh_and_read(self, ctxt, pool, finished, restarting):
        """Refresh a pool, then read its cloud's capacity (cached).

        In the pool's cloud's thread: a cloud slow to answer costs its
        own thread the time, not the rest of the pass.
        """
        building = self._refresh_pool(ctxt, pool, finished, restarting)
        if pool["enabled"] and self.clouds.several:
            self._cloud_capacity(pool)
        return building

    def _maintenance_pass(self, ctxt, pools):
        """Open windows by pool (conductor/maintenance.py); {} on error."""
        try:
            return self.windows.run(ctxt, pools)
        except Exception:
            LOG.exception("Maintenance windows not checked in this pass")
            return {}

    def _rollout_pass(self, ctxt, pools, targets, counts, windows):
        """Run the roll-outs; raise the targets by their surges."""
        try:
            surges = self.rollouts.run(
                ctxt, pools, {p: t[0] for p, t in targets.items()}, counts,
                windows)
        except Exception:
            LOG.exception("Image roll-outs not run in this pass")
            return
        for pool_id, surge in surges.items():
            target, scheduled = targets[pool_id]
            targets[pool_id] = (target + surge, scheduled)

    def _start_boots(self, ctxt, pools, plan, sent):
        """Admit what the boot limits allow, then send it to the cloud.

        ``sent``: filled with the new desktops sent, by pool.
        """
        result = self.boot_queue.admit(ctxt, pools=plan)
        created = [pools[pool_id] for pool_id in result["created"]]
        # Each cloud's boots in a thread of its own (conductor/
        # cloud_passes.py): a cloud slow to answer delays only its own.
        sent.update(cloud_passes.run_by_cloud(
            self.conf, created, lambda pool: self._send_boots(
                ctxt, pool, result["created"][pool["id"]])))
        for desktop in result["restarts"]:
            try:
                self.boot_queue.issue(ctxt, desktop,
                                      pools.get(desktop["pool_id"]))
            except Exception:
                LOG.exception("Desktop %s: restart not sent; the pool "
                              "manager tries again", desktop["id"])

    def _targets(self, ctxt, pools):
        """{pool_id: (effective min_ready, has enabled schedules)}."""
        now = self._clock()
        by_pool = {}
        for schedule in db.schedule_list(ctxt, {"enabled": True}):
            by_pool.setdefault(schedule["pool_id"], []).append(schedule)
        targets = {}
        for pool in pools:
            own = by_pool.get(pool["id"], [])
            usable = []
            for schedule in own:
                try:
                    schedule_rules.window_bounds(schedule, now)
                except (ValueError, LookupError) as e:
                    # zoneinfo's ZoneInfoNotFoundError is a KeyError.
                    LOG.warning("Pool %s: schedule %s is ignored: %s",
                                pool["name"], schedule["name"], e)
                    continue
                usable.append(schedule)
            target, source = schedule_rules.effective_min_ready(
                pool, usable, now)
            if source is not None:
                LOG.debug("Pool %s: schedule %s sets min_ready %d",
                          pool["name"], source["name"], target)
            targets[pool["id"]] = (target, bool(usable))
        return targets

    # -- advancing desktops ------------------------------------------------

    def _refresh_pool(self, ctxt, pool, finished=None, restarting=()):
        """Advance every desktop of the pool; return how many build.

        Boots that finished are appended to ``finished`` (for the
        throttle); ``restarting``: the pool's assigned and quarantined
        desktops with a restart queued or running.
        """
        finished = [] if finished is None else finished
        building = 0
        servers = PoolServers(self.compute_of(pool), pool["id"])
        # Desktops to probe, and booted ones to promote to ready (in one
        # transaction at the end: a pass may promote hundreds).
        waiting, promote = [], []
        for desktop in db.desktop_list(
                ctxt, {"pool_id": pool["id"], "state": list(WORK_STATES)}):
            state = desktop["state"]
            try:
                if state == models.BUILDING:
                    building += self._check_build(ctxt, pool, desktop,
                                                  servers, waiting, promote)
                elif state == models.RELEASING:
                    self._process_release(ctxt, desktop, servers=servers,
                                          pool=pool, waiting=waiting,
                                          finished=finished)
                elif state == models.ERROR:
                    self._replace_broken(ctxt, pool, desktop)
                elif state == models.DELETING:
                    self._delete_desktop(ctxt, desktop, pool)
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
        now = timeutils.utcnow()
        for desktop in restarting:
            try:
                self.boot_queue.track(ctxt, pool, desktop, servers, now)
            except Exception:
                LOG.exception("Pool %s: restart of desktop %s not "
                              "followed", pool["name"], desktop["id"])
        if promote:
            moved = db.desktop_transition_many(
                ctxt, [(desktop["id"], [models.BUILDING], values)
                       for desktop, values in promote])
            for desktop, values in promote[:moved]:
                self._boot_finished(finished, pool, desktop,
                                    values["ready_at"], values["host"])
                self._build_succeeded(ctxt, pool)
                self.notify_desktop(ctxt, dict(desktop, **values))
        if waiting:
            building -= self._probe(ctxt, pool, waiting, finished)
        return building

    @staticmethod
    def _boot_finished(finished, pool, desktop, when, host=None):
        """Note a boot that ended with the desktop ready (the throttle's).

        From its slot's start (a create: its row) to ``when``.
        """
        started = desktop.get("boot_started_at")
        if started is None and desktop["state"] == models.BUILDING:
            started = desktop["created_at"]
        if started is None:
            return
        finished.append((pool["id"], host or desktop.get("host"),
                         throttle.Boot(started, max(0.0, (
                             when - started).total_seconds()))))

    def _check_build(self, ctxt, pool, desktop, servers=None, waiting=None,
                     promote=None):
        """Advance a building desktop; 1 while it still builds, else 0."""
        servers = servers or PoolServers(self.compute_of(pool), pool["id"])
        if desktop["server_id"] is None:
            # The boot request failed without an answer, or the conductor
            # died between the row and the request: the server may exist
            # all the same. Adopt it by the desktop id in its metadata.
            server = servers.of_desktop(desktop["id"])
            if server is None:
                age = timeutils.delta_seconds(desktop["created_at"],
                                              timeutils.utcnow())
                if age > self.conf.conductor.boot_request_grace:
                    self.notify_desktop(ctxt, db.desktop_transition(
                        ctxt, desktop["id"], [models.BUILDING],
                        {"state": models.ERROR,
                         "state_reason": desktop["state_reason"] or
                         "no server"}))
                    return 0
                return 1
            LOG.info("Pool %s: desktop %s adopts server %s booted for it",
                     pool["name"], desktop["id"], server.id)
            desktop = db.desktop_transition(
                ctxt, desktop["id"], [models.BUILDING],
                {"server_id": server.id, "host": server.host})
            if desktop is None:
                return 0
        else:
            try:
                server = servers.get(desktop["server_id"])
            except exception.ServerNotFound:
                self._build_failed(ctxt, pool, desktop, "server vanished")
                return 0
        if server.host and server.host != desktop["host"]:
            # Where Nova placed it: the per-host build limit counts it.
            desktop = db.desktop_transition(
                ctxt, desktop["id"], [models.BUILDING],
                {"host": server.host}) or desktop
        if server.status == compute_base.ACTIVE:
            return self._server_active(ctxt, pool, desktop, server, waiting,
                                       promote)
        if server.status == compute_base.ERROR:
            self._build_failed(ctxt, pool, desktop,
                               server.fault or "server in ERROR")
            return 0
        age = timeutils.delta_seconds(desktop["created_at"],
                                      timeutils.utcnow())
        if age > self.conf.conductor.build_timeout:
            self._build_failed(ctxt, pool, desktop,
                               "not ACTIVE after %d s" % age)
            return 0
        return 1

    def _server_active(self, ctxt, pool, desktop, server, waiting,
                       promote=None):
        """A building desktop's server is ACTIVE: ready, or probe it.

        Without a probe the desktop is ready: appended to ``promote`` as
        (id, values) when given, else moved at once.
        """
        now = timeutils.utcnow()
        values = {"address": server.address, "host": server.host}
        if probes.probe_kind(self.conf, pool) == "none":
            values.update(boot_queue.DONE, state=models.READY,
                          state_reason=None,
                          active_at=desktop["active_at"] or now,
                          ready_at=now)
            if promote is not None:
                promote.append((desktop, values))
                return 0
            moved = db.desktop_transition(ctxt, desktop["id"],
                                          [models.BUILDING], values)
            if moved:
                self._build_succeeded(ctxt, pool)
                self.notify_desktop(ctxt, moved)
            return 0
        if desktop["active_at"] is None:
            values["active_at"] = now
            desktop = db.desktop_transition(
                ctxt, desktop["id"], [models.BUILDING], values)
            if desktop is None:
                return 0
        if waiting is not None:
            waiting.append(desktop)
        return 1

    # -- readiness probes --------------------------------------------------

    def _probe(self, ctxt, pool, desktops, finished=None):
        """Probe desktops at once; return how many stopped building."""
        workers = min(len(desktops), self.conf.pool_manager.probe_workers)
        registered = None
        if probes.probe_kind(self.conf, pool) in probes.AGENT_PROBES:
            registered = db.agents_registered(ctxt, desktops)
        with concurrent.futures.ThreadPoolExecutor(workers) as executor:
            results = list(executor.map(
                lambda d: probes.run(self.conf, pool, d, registered),
                desktops))
        done = 0
        for desktop, failure in zip(desktops, results):
            try:
                done += self._probed(ctxt, pool, desktop, failure,
                                     finished)
            except exception.ComputeUnavailable as e:
                LOG.warning("Pool %s: cloud unavailable: %s", pool["name"],
                            e)
            except Exception:
                LOG.exception("Pool %s: desktop %s: probe result not "
                              "applied", pool["name"], desktop["id"])
        return done

    def _probed(self, ctxt, pool, desktop, failure, finished=None):
        """Apply one probe result; 1 when the desktop left building."""
        now = timeutils.utcnow()
        state = desktop["state"]
        if failure is None:
            moved = db.desktop_transition(
                ctxt, desktop["id"], [state],
                dict(boot_queue.DONE, state=models.READY,
                     state_reason=None, ready_at=now))
            if moved and finished is not None:
                self._boot_finished(finished, pool, desktop, now)
            if moved and state == models.BUILDING:
                self._build_succeeded(ctxt, pool)
            self.notify_desktop(ctxt, moved)
            return 1 if state == models.BUILDING else 0
        waited = (now - desktop["active_at"]).total_seconds()
        timeout = self.conf.pool_manager.ready_timeout
        if waited <= timeout:
            return 0
        if state == models.RELEASING:
            self.notify_desktop(ctxt, db.desktop_transition(
                ctxt, desktop["id"], [models.RELEASING],
                {"state": models.ERROR,
                 "state_reason": ("readiness probe did not pass within "
                                  "%d s after the release: %s" % (
                                      timeout, failure))[:1000]}))
            return 0
        if not (desktop["state_reason"] or "").startswith(PROBE_REBOOTED):
            # Within the boot it belongs to: the desktop still builds and
            # holds its boot slot.
            LOG.warning("Pool %s: desktop %s not ready %d s after ACTIVE "
                        "(%s); rebooting it", pool["name"], desktop["id"],
                        waited, failure)
            self.compute_of(pool).reboot_server(desktop["server_id"],
                                                hard=True)
            db.desktop_transition(
                ctxt, desktop["id"], [models.BUILDING],
                {"active_at": None,
                 "state_reason": ("%s (%s)" % (PROBE_REBOOTED,
                                               failure))[:1000]})
            return 0
        self._build_failed(ctxt, pool, desktop,
                           "readiness probe did not pass within %d s, "
                           "even after a reboot: %s" % (timeout, failure))
        return 1

    # -- the build throttle ------------------------------------------------

    def _build_succeeded(self, ctxt, pool):
        """A boot succeeded: a degraded pool recovers.

        (The throttle hears of it with its duration: _boot_finished.)
        """
        if not (pool.get("build_failures") or pool.get("failing_since") or
                pool["status"] == "degraded" or
                pool["id"] in self._failing):
            return
        self._failing.discard(pool["id"])
        current = db.pool_build_result(ctxt, pool["id"])
        pool.update(build_failures=0, failing_since=None)
        if current["status"] == "degraded":
            pool["status"] = current["status"]
            self._set_pool_status(ctxt, pool, "active", None)
            LOG.info("Pool %s boots again: active", pool["name"])
            db.event_record(ctxt, "pool", "pool.recovered",
                            pool_id=pool["id"], target_type="pool",
                            target_id=pool["id"])

    def _build_failed(self, ctxt, pool, desktop, reason):
        LOG.warning("Pool %s: desktop %s failed to boot: %s", pool["name"],
                    desktop["id"], reason)
        self.notify_desktop(ctxt, db.desktop_transition(
            ctxt, desktop["id"], [models.BUILDING],
            {"state": models.ERROR, "state_reason": reason[:1000]}))
        db.event_record(ctxt, "pool", "desktop.build", result="failure",
                        pool_id=pool["id"], desktop_id=desktop["id"],
                        message=reason[:1000])
        self._boot_failed(ctxt, pool, reason)

    def _boot_failed(self, ctxt, pool, reason):
        """Count a failure: throttle down, and degrade after N in a row."""
        self._failing.add(pool["id"])
        current = db.pool_build_result(
            ctxt, pool["id"], error=reason, allowance=_halved)
        window = throttle.pool_allowance(current)
        pool.update(build_failures=current["build_failures"],
                    failing_since=current["failing_since"],
                    build_allowance=current["build_allowance"])
        count = current["build_failures"]
        LOG.info("Pool %s: %d boot(s) failed in a row; %d concurrent "
                 "build(s) allowed now", pool["name"], count, window)
        if count >= self.conf.conductor.degraded_after_failures:
            reason = "%d boots failed in a row since %s UTC; last error: " \
                "%s" % (count, current["failing_since"].isoformat(
                    timespec="seconds"), reason)
            self._set_pool_status(ctxt, pool, "degraded", reason[:1000])

    def _set_pool_status(self, ctxt, pool, status, reason):
        """Set (and announce) a pool's status; ``pool`` is updated."""
        previous = pool["status"]
        db.pool_set_status(ctxt, pool["id"], status, reason)
        pool.update(status=status, status_reason=reason)
        if status != previous and self.notifier.enabled:
            self.notifier.pool_status(ctxt, pool, status, reason,
                                      previous)

    def _slow_answer(self, ctxt, pool, seconds):
        db.boot_feedback(ctxt, pools={pool["id"]: lambda row: {
            "build_allowance": _halved(row)}})
        window = throttle.pool_allowance(db.pool_get(ctxt, pool["id"]))
        LOG.warning("Pool %s: the cloud took %.1f s to accept a boot "
                    "([conductor] slow_build_request %.1f s); %d "
                    "concurrent build(s) allowed now", pool["name"],
                    seconds, self.conf.conductor.slow_build_request, window)

    # -- growing and shrinking ---------------------------------------------

    def _grow_or_shrink(self, ctxt, pool, building, target=None,
                        scheduled=False, counts=None):
        """The new desktops the pool wants (rows), or shrink it.

        ``target`` is the pool's effective min_ready (its own, or raised
        by a schedule); ``scheduled``: the pool has enabled schedules, so
        ready desktops above the target (a window closed) are given back.
        Desktops releasing count as coming back: a release storm does not
        boot new desktops on top of the restarts. The boot limits are the
        boot queue's business (see _start_boots).
        """
        if cloud_passes.cloud_down(self, ctxt, pool):
            # Its cloud does not answer: nothing to boot there (the
            # pool's status says why; its ready desktops still serve).
            return []
        if counts is None:
            counts = db.pool_desktop_counts(ctxt, [pool["id"]]).get(
                pool["id"], {})
        if target is None:
            target = min(pool["min_ready"], pool["max_size"])
        ready = counts.get(models.READY, 0)
        live = sum(n for state, n in counts.items()
                   if state not in (models.DELETING, models.ERROR,
                                    models.QUARANTINED))
        if live > pool["max_size"] and ready:
            self._shrink(ctxt, pool, min(live - pool["max_size"], ready))
            return []
        if scheduled and ready > target:
            self._shrink(ctxt, pool, ready - target)
            return []
        wanted = target - ready - building - counts.get(models.RELEASING, 0)
        room = pool["max_size"] - live
        # No more than the pool's allowance could start (the boot queue
        # may start fewer).
        slots = throttle.pool_allowance(pool) - building
        count = max(0, min(wanted, room, slots))
        count = self._within_capacity(ctxt, pool, count, wanted)
        if count and (pool.get("build_failures") or 0) >= \
                self.conf.conductor.degraded_after_failures:
            # A failing pool boots one probe desktop at a time, not a
            # storm of doomed builds.
            count = 1 if building == 0 else 0
        rows = []
        for _ in range(count):
            desktop_id = uuidutils.generate_uuid()
            rows.append({"id": desktop_id, "pool_id": pool["id"],
                         "name": "vdi-%s-%s" % (pool["name"][:40],
                                                desktop_id[:8]),
                         "state": models.BUILDING, "image": pool["image"]})
        return rows

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
                self._delete_desktop(ctxt, moved, pool)
            except Exception:
                # Left in 'deleting': the next pass retries it.
                LOG.exception("Pool %s: deleting desktop %s failed",
                              pool["name"], moved["id"])

    def _send_boots(self, ctxt, pool, rows):
        """Send the boot requests of admitted desktops (rows written).

        The rows were written first, so that a server can always be
        traced to its desktop; the server ids after the requests, in one
        more transaction. A failed, unanswered or slow request ends the
        batch: the rest would meet the same cloud. The rows of boots not
        sent are deleted (their slots with them). Returns how many were
        sent.
        """
        booted = []
        sent = 0
        try:
            for row in rows:
                sent += 1
                server, go_on = self._create_server(ctxt, pool, row)
                if server is not None:
                    booted.append((row["id"], [models.BUILDING],
                                   {"server_id": server.id,
                                    "host": server.host}))
                if not go_on:
                    break
        finally:
            if booted:
                db.desktop_transition_many(ctxt, booted)
            db.desktop_destroy_unbooted(ctxt,
                                        [r["id"] for r in rows[sent:]])
        return sent

    def _agent_metadata(self, ctxt, desktop_id):
        """The guest agent's metadata of a new server: URL and secret.

        A new secret per boot; the database keeps only its hash. None
        without ``[agent] broker_url``.
        """
        url = self.conf.agent.broker_url
        if not url:
            return {}
        secret = secrets.token_urlsafe(32)
        db.agent_secret_set(ctxt, desktop_id, protocol.secret_hash(secret))
        return {protocol.META_BROKER_URL: url, protocol.META_SECRET: secret}

    def _create_server(self, ctxt, pool, row):
        """Send one boot request: (server or None, go on with the batch)."""
        desktop_id = row["id"]
        spec = compute_base.ServerSpec(
            name=row["name"], flavor=pool["flavor"], image=pool["image"],
            networks=pool["networks"] or [],
            availability_zone=pool["availability_zone"],
            metadata=dict(pool["server_metadata"] or {},
                          **self._agent_metadata(ctxt, desktop_id),
                          **{compute_base.META_BROKER: "1",
                             compute_base.META_POOL: pool["id"],
                             compute_base.META_DESKTOP: desktop_id}),
            tags=[compute_base.BROKER_TAG,
                  compute_base.POOL_TAG_PREFIX + pool["id"]])
        started = time.monotonic()
        try:
            server = self.compute_of(pool).create_server(spec)
        except exception.ComputeUnavailable as e:
            # No answer: the server may exist all the same. The desktop
            # stays building without a server; the next passes adopt the
            # server by its metadata, or give it up after
            # [conductor] boot_request_grace.
            LOG.warning("Pool %s: boot of desktop %s unanswered: %s",
                        pool["name"], desktop_id, e)
            db.desktop_transition(ctxt, desktop_id, [models.BUILDING],
                                  {"state_reason": e.message[:1000]})
            db.event_record(ctxt, "pool", "desktop.build", result="failure",
                            pool_id=pool["id"], desktop_id=desktop_id,
                            message=e.message[:1000])
            self._boot_failed(ctxt, pool, e.message)
            return None, False
        except exception.VdiBrokerException as e:
            self._build_failed(ctxt, pool, {"id": desktop_id}, e.message)
            return None, False
        seconds = time.monotonic() - started
        slow = self.conf.conductor.slow_build_request
        if slow and seconds > slow:
            self._slow_answer(ctxt, pool, seconds)
            return server, False
        return server, True

    # -- releases, broken desktops, deletion -------------------------------

    def _process_release(self, ctxt, desktop, servers=None, pool=None,
                         waiting=None, finished=None, start=None):
        """Run (or finish) a desktop's release action.

        ``state_reason`` tracks it: ``release:<action>`` (to do: the
        restart waits in the boot queue, ``boot_queued_at``),
        ``release:<action>:issued`` (sent), ``...:seen`` (the server was
        seen restarting). An ACTIVE server counts as restarted once seen
        restarting, or [pool_manager] release_settle_time after the
        request; then the readiness probe (if any) must pass.

        ``start``: try to start a queued restart now (the logout and
        operator paths; by default when not called by a pass, which
        starts the queue in order at its end).
        """
        if desktop["state"] == models.DELETING:
            self._delete_desktop(ctxt, desktop, pool)
            return
        reason = desktop.get("state_reason") or ""
        if not reason.startswith("release:"):
            return
        parts = reason.split(":")
        action = parts[1]
        phase = parts[2] if len(parts) > 2 else None
        if pool is None:
            pool = db.pool_get(ctxt, desktop["pool_id"])
        if start is None:
            start = servers is None
        if phase is None:
            self._release_queued(ctxt, desktop, pool, action, start)
            return
        try:
            if servers is not None:
                server = servers.get(desktop["server_id"])
            else:
                server = self.compute_of(pool).get_server(
                    desktop["server_id"])
        except exception.ServerNotFound:
            self.notify_desktop(ctxt, db.desktop_transition(
                ctxt, desktop["id"], [models.RELEASING],
                dict(boot_queue.DONE, state=models.ERROR,
                     state_reason="server vanished")))
            return
        if server.status in (compute_base.REBOOT, compute_base.REBUILD,
                             compute_base.BUILD):
            if phase == "issued":
                db.desktop_transition(
                    ctxt, desktop["id"], [models.RELEASING],
                    {"state_reason": "release:%s:seen" % action})
            return
        if server.status == compute_base.ERROR:
            self.notify_desktop(ctxt, db.desktop_transition(
                ctxt, desktop["id"], [models.RELEASING],
                dict(boot_queue.DONE, state=models.ERROR,
                     state_reason=server.fault or "%s failed" % action)))
            return
        if server.status != compute_base.ACTIVE:
            return
        now = timeutils.utcnow()
        if phase == "issued":
            waited = (now - desktop["updated_at"]).total_seconds()
            if waited < self.conf.pool_manager.release_settle_time:
                # ACTIVE right after the request: not restarted yet.
                return
        if probes.probe_kind(self.conf, pool) == "none":
            moved = db.desktop_transition(
                ctxt, desktop["id"], [models.RELEASING],
                dict(boot_queue.DONE, state=models.READY,
                     state_reason=None, address=server.address,
                     active_at=now, ready_at=now))
            if moved and finished is not None:
                self._boot_finished(finished, pool, desktop, now,
                                    server.host)
            self.notify_desktop(ctxt, moved)
            return
        if phase != "probing":
            desktop = db.desktop_transition(
                ctxt, desktop["id"], [models.RELEASING],
                {"state_reason": "release:%s:probing" % action,
                 "address": server.address, "active_at": now})
            if desktop is None:
                return
        if waiting is not None:
            waiting.append(desktop)

    def _release_queued(self, ctxt, desktop, pool, action, start):
        """A release whose restart has not been sent yet."""
        if desktop.get("boot_started_at") is None:
            if desktop.get("boot_queued_at") is None:
                # Released by a path that did not queue it: queue it now.
                desktop = db.desktop_transition(
                    ctxt, desktop["id"], [models.RELEASING],
                    {"boot_queued_at": timeutils.utcnow(),
                     "boot_action": desktop.get("boot_action") or action})
                if desktop is None:
                    return
            if start:
                self.boot_queue.start_now(ctxt, desktop, pool)
            return
        # Admitted, not sent: its sender may still be at it; after the
        # grace time it stopped (a crash) and the restart is sent again.
        waited = timeutils.delta_seconds(desktop["boot_started_at"],
                                         timeutils.utcnow())
        if waited > self.conf.conductor.boot_request_grace:
            LOG.warning("Desktop %s: restart admitted %d s ago but not "
                        "sent; sending it", desktop["id"], waited)
            self.boot_queue.issue(ctxt, desktop, pool)

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
        self._delete_desktop(ctxt, desktop, pool)

    def _delete_desktop(self, ctxt, desktop, pool=None):
        if desktop.get("server_id"):
            self.compute_of(pool or desktop["pool_id"]).delete_server(
                desktop["server_id"])
        db.desktop_destroy(ctxt, desktop["id"])
        self.notify_desktop(ctxt, desktop, "deleted")
