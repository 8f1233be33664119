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

"""The boot queue and the adaptive throttle against the fake cloud (R10).

* The throttle follows boot times: the fake cloud's boots slow down
  during the test and the allowances of the pool and of its hosts fall;
  they climb back when boots are quick again.
* A loaded host (its load as the cloud reports it) gets fewer boots at
  once than an idle one.
* Two conductors (two ConductorManagers, each with its pools and its own
  threads, one database, one cloud) never boot more than the global
  limit together, on SQLite, MariaDB and PostgreSQL.
"""

import threading
import time

from tests.fixtures import nova_emulator
from tests.functional.compute import base as nova_base
from tests.functional import test_pool_manager
from vdi_broker.compute import nova
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker.conductor import throttle
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models


class BootQueueTestCase(test_pool_manager.PoolManagerTestCase):

    def _booting(self):
        with self.cloud.lock:
            return self.cloud.booting()


class TestBootDuration(BootQueueTestCase):
    """Slow boots lower the allowances, quick ones raise them again."""

    TARGET = 1.0
    QUICK = 0.05
    SLOW = 2.5

    def setUp(self):
        super().setUp()
        self.flags(group="conductor", boot_duration_target=self.TARGET,
                   max_builds_per_host=8)
        self.cloud.boot_time = self.QUICK

    def _allowance(self, pool):
        return throttle.pool_allowance(db.pool_get(self.ctxt, pool["id"]))

    def _passes(self, pool, done, timeout):
        """Run passes until ``done(allowance)``; return the allowances."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.manager.pool_upkeep(self.ctxt)
            allowance = self._allowance(pool)
            if not seen or seen[-1] != allowance:
                seen.append(allowance)
            if done(allowance):
                return seen
            time.sleep(0.05)
        self.fail("allowances %s, counts %s" % (seen, self._counts(pool)))

    def test_allowance_follows_boot_time(self):
        pool = self._pool(min_ready=8, max_size=60,
                          max_concurrent_builds=8)
        self._passes(pool, lambda a: self._counts(pool).get(
            models.READY) == 8, 20)
        self.assertEqual(8, self._allowance(pool))
        # The cloud struggles: boots take 2.5 s, the target is 1 s. The
        # allowance halves once per round of boots (8 boots started
        # together are one round), not once per slow boot.
        self.cloud.boot_time = self.SLOW
        db.pool_update(self.ctxt, pool["id"], {"min_ready": 60})
        falling = self._passes(pool, lambda a: a == 1, 60)
        self.assertEqual([8, 4, 2, 1], falling)
        current = db.pool_get(self.ctxt, pool["id"])
        self.assertGreater(current["boot_seconds"], self.TARGET)
        # The hosts the slow boots ran on are throttled too.
        hosts = db.boot_hosts(self.ctxt)
        self.assertEqual({"fake-host-1", "fake-host-2"}, set(hosts))
        for row in hosts.values():
            self.assertLess(row["allowance"], 8)
        # The cloud recovers: quick boots raise the allowance, by one
        # for each, back to the pool's limit.
        self.cloud.boot_time = self.QUICK
        rising = self._passes(pool, lambda a: a == 8, 60)
        self.assertEqual(sorted(rising), rising)
        self.assertEqual((1, 8), (rising[0], rising[-1]))
        # Back at the limit: nothing lowered is stored any more. Each
        # host climbs with the boots it ran (half of them): a few more.
        self.assertIsNone(db.pool_get(self.ctxt,
                                      pool["id"])["build_allowance"])
        self._passes(pool, lambda a: {None} == {
            row["allowance"] for row in db.boot_hosts(self.ctxt).values()},
            60)


class TestLoadedHost(BootQueueTestCase):
    """A host the cloud reports loaded gets fewer boots at once."""

    def test_loaded_host_boots_one_at_a_time(self):
        self.flags(group="conductor", max_builds_per_host=4,
                   capacity_cache_time=0)
        pool = self._pool(min_ready=16, max_size=16,
                          max_concurrent_builds=16)
        self._fill(pool, passes=10)
        by_host = {}
        for desktop in self._desktops(pool):
            by_host.setdefault(desktop["host"], []).append(desktop)
        self.assertEqual({"fake-host-1": 8, "fake-host-2": 8},
                         {h: len(d) for h, d in by_host.items()})
        # Placement's view: host 1 is nearly full, host 2 nearly empty.
        self.cloud.host_load = {"fake-host-1": 0.95, "fake-host-2": 0.1}
        self.cloud.boot_time = 600
        self._upkeep()          # reads the loads
        sessions = [self._login(pool, "agent%02d" % i) for i in range(16)]
        self.cloud.booting_high_water = 0
        self.cloud.host_high_water.clear()
        for result in sessions:
            self.manager.close_session(self.ctxt, result["session"]["id"],
                                       "logout")
        self.assertEqual({"fake-host-1": 1, "fake-host-2": 4},
                         dict(self.cloud.host_high_water))
        reason = db.pool_get(self.ctxt, pool["id"])["boot_wait_reason"]
        self.assertRegex(reason, r"^host fake-host-[12]: ")
        for _ in range(40):
            self._settle_builds()
            self._upkeep()
            if self._counts(pool) == {models.READY: 16}:
                break
        self.assertEqual({models.READY: 16}, self._counts(pool))
        self.assertEqual({"fake-host-1": 1, "fake-host-2": 4},
                         dict(self.cloud.host_high_water))
        # The idle host was not held back by the loaded one.
        self.assertEqual(5, self.cloud.booting_high_water)


class TestLoadedHostNova(BootQueueTestCase):
    """The same with the Nova driver: loads from Placement, over HTTP."""

    def test_loaded_host_boots_one_at_a_time(self):
        emulator = self.useFixture(nova_emulator.NovaEmulator(providers=[
            # Most of compute-1's memory is booked by other servers.
            {"name": "compute-1", "vcpus": 64, "memory_mb": 1000000,
             "used_memory_mb": 950000},
            {"name": "compute-2", "vcpus": 64, "memory_mb": 40000}]))
        self.manager = conductor_manager.ConductorManager(
            self.conf, compute_driver=nova.NovaComputeDriver(
                nova_base.make_conf(emulator)))
        self.flags(group="conductor", max_builds_per_host=4,
                   capacity_cache_time=0)
        pool = self._pool(min_ready=8, max_size=8, max_concurrent_builds=8,
                          flavor="vdi.small",
                          image=nova_emulator.DEFAULT_IMAGE,
                          networks=[nova_emulator.DEFAULT_NETWORK])
        self._fill(pool, passes=10)
        hosts = [d["host"] for d in self._desktops(pool)]
        self.assertEqual({"compute-1", "compute-2"}, set(hosts))
        emulator.action_time = 3600
        sessions = [self._login(pool, "agent%d" % i) for i in range(8)]
        for result in sessions:
            self.manager.close_session(self.ctxt, result["session"]["id"],
                                       "logout")
        self._upkeep(passes=2)
        self.assertEqual(1, emulator.host_high_water["compute-1"])
        self.assertEqual(min(4, hosts.count("compute-2")),
                         emulator.host_high_water["compute-2"])
        self.assertIn("(load 9", db.pool_get(
            self.ctxt, pool["id"])["boot_wait_reason"])


class _Owns:
    """Pool ownership of one conductor: a fixed share of the pools."""

    def __init__(self, pool_ids):
        self.pool_ids = set(pool_ids)

    def owns(self, pool_id):
        return pool_id in self.pool_ids


class TestTwoConductors(BootQueueTestCase):
    """Two conductors, one database: the global limit holds over both."""

    LIMIT = 4

    def setUp(self):
        super().setUp()
        self.flags(group="conductor", max_concurrent_builds=self.LIMIT)
        # Fake reboots last 0.15 s: a pass may never see one restarting
        # (then the settle time says when it is done).
        self.flags(group="pool_manager", release_settle_time=1)
        self.cloud.boot_time = 0.3
        self.pools = [self._pool("pool%d" % i, min_ready=4, max_size=4,
                                 max_concurrent_builds=10)
                      for i in range(6)]
        ids = [p["id"] for p in self.pools]
        # Each conductor keeps three pools (as the hash ring would).
        self.conductors = [
            conductor_manager.ConductorManager(
                self.conf, compute_driver=self.driver,
                ownership=_Owns(ids[:3])),
            conductor_manager.ConductorManager(
                self.conf, compute_driver=self.driver,
                ownership=_Owns(ids[3:]))]
        self.errors = []

    def _total(self):
        counts = db.pool_desktop_counts(self.ctxt)
        return sum(counts.get(p["id"], {}).get(models.READY, 0)
                   for p in self.pools)

    def _run_both(self, until, timeout=60):
        """Each conductor's passes in its own thread, until ``until()``."""
        stop = threading.Event()

        def loop(manager):
            while not stop.is_set():
                try:
                    manager.pool_upkeep(self.ctxt)
                except Exception as e:
                    self.errors.append(e)
                stop.wait(0.02)

        threads = [threading.Thread(target=loop, args=(m,), daemon=True)
                   for m in self.conductors]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and not until():
                self.assertLessEqual(sum(self._booting().values()),
                                     self.LIMIT)
                time.sleep(0.02)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
        self.assertEqual([], self.errors)
        self.assertTrue(until(), [
            {k: d[k] for k in ("state", "state_reason", "boot_queued_at",
                               "boot_started_at", "boot_action",
                               "updated_at", "host")}
            for d in db.desktop_list(self.ctxt)
            if d["state"] != models.READY])

    def test_global_limit_holds_over_two_conductors(self):
        self._run_both(lambda: self._total() == 24)
        self.assertEqual(self.LIMIT, self.cloud.booting_high_water)
        # Both built: each for its own pools.
        for share in (self.pools[:3], self.pools[3:]):
            for pool in share:
                self.assertEqual({models.READY: 4}, self._counts(pool))
        # Shift change: 24 logouts, sent to both conductors at once while
        # their passes run.
        sessions = [self._login(pool, "%s-agent%d" % (pool["name"], i))
                    for pool in self.pools for i in range(4)]
        self.cloud.booting_high_water = 0

        def logouts(manager, share):
            for result in share:
                try:
                    manager.close_session(self.ctxt,
                                          result["session"]["id"], "logout")
                except Exception as e:
                    self.errors.append(e)

        senders = [threading.Thread(target=logouts,
                                    args=(m, sessions[i::2]), daemon=True)
                   for i, m in enumerate(self.conductors)]
        for sender in senders:
            sender.start()
        self._run_both(lambda: not any(s.is_alive() for s in senders) and
                       self._total() == 24)
        self.assertLessEqual(self.cloud.booting_high_water, self.LIMIT)
        reboots = [c for c in self.cloud.calls if c[0] == "reboot"]
        self.assertEqual(24, len(reboots))


class TestTwoConductorsMySQL(TestTwoConductors):
    backend = "mysql"


class TestTwoConductorsPostgreSQL(TestTwoConductors):
    backend = "postgresql"
