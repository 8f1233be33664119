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

"""Pool upkeep: server listing, build limits, throttle, probes, schedules.

Against the fake cloud (conductor/pool_manager.py driven pass by pass,
as in test_pool_manager.py) and against the Nova emulator over HTTP with
the real Nova driver.
"""

import datetime
import socket
import zoneinfo

from oslo_utils import timeutils
import sqlalchemy as sa

from tests.fixtures import nova_emulator
from tests.functional.compute import base as nova_base
from tests.functional import test_pool_manager
from vdi_broker.compute import base as compute_base
from vdi_broker.compute import nova
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker.conductor import pool_manager
from vdi_broker.conductor import throttle
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


class UpkeepTestCase(test_pool_manager.PoolManagerTestCase):

    def _building_per_host(self):
        hosts = {}
        for desktop in db.desktop_list(self.ctxt,
                                       {"state": models.BUILDING}):
            server = self.cloud.servers[desktop["server_id"]]
            hosts[server["host"]] = hosts.get(server["host"], 0) + 1
        return hosts

    def _building(self, pool):
        return self._counts(pool).get(models.BUILDING, 0)

    def _backdate(self, desktop_id, **seconds):
        """Move a desktop's timestamps this many seconds into the past."""
        values = {column: timeutils.utcnow() - datetime.timedelta(seconds=ago)
                  for column, ago in seconds.items()}
        with self.database.engine.begin() as conn:
            conn.execute(sa.update(models.Desktop.__table__)
                         .where(models.Desktop.id == desktop_id)
                         .values(**values))


class NovaUpkeepTestCase(UpkeepTestCase):
    """The pool manager with the Nova driver and the emulator."""

    emulator_kwargs = {}
    nova_overrides = {}

    def setUp(self):
        super().setUp()
        self.emulator = self.useFixture(nova_emulator.NovaEmulator(
            **self.emulator_kwargs))
        self.nova_conf = nova_base.make_conf(self.emulator,
                                             **self.nova_overrides)
        self.driver = nova.NovaComputeDriver(self.nova_conf)
        self.manager = conductor_manager.ConductorManager(
            self.conf, compute_driver=self.driver)

    def _pool(self, name="agents", **values):
        values.setdefault("flavor", "vdi.small")
        values.setdefault("image", nova_emulator.DEFAULT_IMAGE)
        values.setdefault("networks", [nova_emulator.DEFAULT_NETWORK])
        return super()._pool(name, **values)

    def _activate_all(self):
        with self.emulator.lock:
            for server in self.emulator.servers.values():
                if server["pending"]:
                    server["pending"] = (0,) + server["pending"][1:]


# -- 1. one server listing per pass -------------------------------------------

class TestServerListing(UpkeepTestCase):

    def test_one_listing_per_pass_not_one_request_per_desktop(self):
        self.flags(group="fake_compute", boot_time=3600)
        pool = self._pool(min_ready=30, max_size=30,
                          max_concurrent_builds=30)
        self._upkeep()
        self.assertEqual(30, self.cloud.requests["create"])
        self.cloud.requests.clear()
        self._upkeep(passes=2)
        self.assertEqual({"list": 2}, dict(self.cloud.requests))
        self._settle_builds()
        self.cloud.requests.clear()
        self._upkeep()
        self.assertEqual({"list": 1}, dict(self.cloud.requests))
        self.assertEqual({models.READY: 30}, self._counts(pool))
        # Nothing building or releasing: the cloud is not asked at all.
        self.cloud.requests.clear()
        self._upkeep()
        self.assertEqual({}, dict(self.cloud.requests))

    def test_server_missing_from_the_listing_is_asked_for(self):
        self.flags(group="fake_compute", boot_time=3600)
        pool = self._pool(min_ready=3, max_size=3)
        self._upkeep()
        desktops = self._desktops(pool)
        hidden, gone = desktops[0]["server_id"], desktops[1]["server_id"]
        real_list = self.driver.list_servers
        self.driver.list_servers = lambda tags=None: [
            s for s in real_list(tags) if s.id != hidden]
        with self.cloud.lock:
            self.cloud.servers.pop(gone)
        self._settle_builds()
        self.cloud.requests.clear()
        self._upkeep()
        # One listing; one GET for each desktop missing from it.
        self.assertEqual({"list": 1, "show": 2, "create": 1},
                         dict(self.cloud.requests))
        self.assertEqual(models.READY, db.desktop_get(
            self.ctxt, desktops[0]["id"])["state"])
        self.assertEqual(models.ERROR, db.desktop_get(
            self.ctxt, desktops[1]["id"])["state"])


class TestServerListingNova(NovaUpkeepTestCase):

    emulator_kwargs = {"boot_time": 3600}
    nova_overrides = {"list_page_size": 10}

    def test_one_paged_listing_per_pass(self):
        pool = self._pool(min_ready=15, max_size=15,
                          max_concurrent_builds=15)
        self._upkeep()
        self.assertEqual(15, self.emulator.calls("create"))
        shows, lists = self.emulator.calls("show"), self.emulator.calls(
            "list")
        self._upkeep()
        # 15 servers in pages of 10: 10, 5 and the empty page that ends
        # the listing; no GET per desktop.
        self.assertEqual(0, self.emulator.calls("show") - shows)
        self.assertEqual(3, self.emulator.calls("list") - lists)
        self._activate_all()
        self._upkeep()
        self.assertEqual({models.READY: 15}, self._counts(pool))
        self.assertEqual(0, self.emulator.calls("show") - shows)
        for desktop in self._desktops(pool):
            self.assertTrue(desktop["address"].startswith("10.0."))
            self.assertIn(desktop["host"], ("compute-1", "compute-2"))
            self.assertIsNotNone(desktop["ready_at"])


# -- 4. the adaptive build throttle -------------------------------------------

class TestBuildThrottle(UpkeepTestCase):

    def test_failures_halve_builds_and_successes_raise_them(self):
        self.flags(group="conductor", degraded_after_failures=100)
        self.flags(group="fake_compute", failure_rate=1.0)
        pool = self._pool(min_ready=16, max_size=16,
                          max_concurrent_builds=16)
        self._upkeep()
        self.assertEqual(16, self._building(pool))
        self._upkeep()              # 16 failures: 16 -> 8 -> ... -> 1
        self.assertEqual(1, self._building(pool))
        current = db.pool_get(self.ctxt, pool["id"])
        self.assertEqual(16, current["build_failures"])
        self.assertIsNotNone(current["failing_since"])
        self.assertIn("fake boot failure", current["last_build_error"])
        self.assertEqual("active", current["status"])
        # The cloud heals: one more failure (booted while failing), then
        # every success allows one more build.
        self.flags(group="fake_compute", failure_rate=0.0)
        building = []
        for _ in range(5):
            self._upkeep()
            building.append(self._building(pool))
        self.assertEqual([1, 2, 4, 8, 1], building)
        self._upkeep()
        self.assertEqual(16, self._counts(pool).get(models.READY))
        current = db.pool_get(self.ctxt, pool["id"])
        self.assertEqual(0, current["build_failures"])
        self.assertIsNone(current["failing_since"])
        # The last error stays as history.
        self.assertIn("fake boot failure", current["last_build_error"])

    def test_slow_answers_halve_builds(self):
        self.flags(group="fake_compute", boot_time=3600, create_delay=0.2)
        self.flags(group="conductor", slow_build_request=0.1)
        pool = self._pool(min_ready=8, max_size=8, max_concurrent_builds=8)
        self._upkeep()              # slow: 8 -> 4, the pass stops
        self.assertEqual(1, self._building(pool))
        self._upkeep()              # one more, slow: 4 -> 2
        self.assertEqual(2, self._building(pool))
        self._upkeep()              # 2 building, 2 allowed
        self.assertEqual(2, self._building(pool))
        self.assertEqual(2, self.cloud.requests["create"])
        # The cloud is fast again; the two boots succeed: 2 -> 4.
        self.flags(group="fake_compute", create_delay=0.0)
        self._settle_builds()
        self._upkeep()
        self.assertEqual(2, self._counts(pool).get(models.READY))
        self.assertEqual(4, self._building(pool))
        # Slowness is not failure: the pool is neither failing nor
        # degraded.
        current = db.pool_get(self.ctxt, pool["id"])
        self.assertEqual((0, "active"), (current["build_failures"],
                                         current["status"]))

    def test_degraded_pool_stays_throttled_across_a_takeover(self):
        self.flags(group="conductor", degraded_after_failures=2)
        self.flags(group="fake_compute", failure_rate=1.0)
        pool = self._pool(min_ready=4, max_size=4, max_concurrent_builds=4)
        self._upkeep(passes=2)
        current = db.pool_get(self.ctxt, pool["id"])
        self.assertEqual("degraded", current["status"])
        reason = current["status_reason"]
        self.assertRegex(reason, r"^4 boots failed in a row since "
                                 r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d UTC; "
                                 r"last error: fake boot failure")
        # Another conductor takes the pool over: it knows nothing of the
        # first one's throttle, but the pool's row tells it.
        self.flags(group="fake_compute", boot_time=3600)
        other = conductor_manager.ConductorManager(
            self.conf, compute_driver=self.driver)
        self.assertEqual(1, throttle.pool_allowance(current))
        for _ in range(3):
            other.pool_upkeep(self.ctxt)
            self.assertLessEqual(self._building(pool), 1)
        self.assertEqual("degraded",
                         db.pool_get(self.ctxt, pool["id"])["status"])
        # The cloud heals: the probe boot succeeds, the pool recovers.
        self.flags(group="fake_compute", failure_rate=0.0, boot_time=0)
        for _ in range(6):
            self._settle_builds()
            other.pool_upkeep(self.ctxt)
        current = db.pool_get(self.ctxt, pool["id"])
        self.assertEqual(("active", None, 0),
                         (current["status"], current["status_reason"],
                          current["build_failures"]))
        self.assertEqual({models.READY: 4}, self._counts(pool))
        self.assertEqual(1, len(db.event_list(
            self.ctxt, {"action": "pool.recovered"})))


class TestBuildThrottleNova(NovaUpkeepTestCase):

    def test_no_valid_host_degrades_then_recovers(self):
        self.flags(group="conductor", degraded_after_failures=3)
        self.emulator.inject_fault("create", no_valid_host=True, count=3)
        pool = self._pool(min_ready=3, max_size=3, max_concurrent_builds=3)
        self._upkeep()
        self._upkeep()
        current = db.pool_get(self.ctxt, pool["id"])
        self.assertEqual("degraded", current["status"])
        self.assertIn("3 boots failed in a row", current["status_reason"])
        self.assertIn("No valid host", current["status_reason"])
        # Degraded: one probe boot (the fault is spent: it succeeds).
        self.assertEqual(1, self._building(pool))
        self._upkeep(passes=4)
        current = db.pool_get(self.ctxt, pool["id"])
        self.assertEqual("active", current["status"])
        self.assertEqual({models.READY: 3}, self._counts(pool))
        # The failed servers are gone with their desktops.
        live = {s["id"] for s in self.emulator.live_servers()}
        self.assertEqual(live, {d["server_id"]
                                for d in self._desktops(pool)})

    def test_slow_create_halves_builds(self):
        self.emulator.boot_time = 3600
        self.flags(group="conductor", slow_build_request=0.2)
        self.emulator.inject_fault("create", delay=0.4, count=None)
        pool = self._pool(min_ready=8, max_size=8, max_concurrent_builds=8)
        self._upkeep(passes=3)      # 8 -> 4 -> 2 allowed
        self.assertEqual(2, self._building(pool))
        self.assertEqual(2, self.emulator.calls("create"))
        self.emulator.clear_faults()
        self._activate_all()
        self._upkeep()              # 2 successes: 4 allowed
        self.assertEqual(2, self._counts(pool).get(models.READY))
        self.assertEqual(4, self._building(pool))


# -- 2. build limit per compute host ------------------------------------------

class TestBuildsPerHost(UpkeepTestCase):

    def test_boots_held_back_while_a_host_is_at_its_limit(self):
        self.flags(group="conductor", max_builds_per_host=3)
        self.flags(group="fake_compute", boot_time=3600)
        pool = self._pool(min_ready=20, max_size=20,
                          max_concurrent_builds=20)
        other = self._pool("other", min_ready=5, max_size=5,
                           max_concurrent_builds=5)
        per_pass = []
        for _ in range(3):
            self._upkeep()
            hosts = self._building_per_host()
            self.assertLessEqual(max(hosts.values()), 3, hosts)
            per_pass.append(sum(hosts.values()))
        # No host known: one host's worth; then the room left on the
        # known hosts; then nothing while a host is at the limit.
        self.assertEqual([3, 6, 6], per_pass)
        self._settle_builds()
        self._upkeep()
        self.assertEqual(6, sum(self._building_per_host().values()))
        ready = (self._counts(pool).get(models.READY, 0) +
                 self._counts(other).get(models.READY, 0))
        self.assertEqual(6, ready)


class TestBuildsPerHostNova(NovaUpkeepTestCase):

    # Two equal hosts: the emulator's scheduler (most free memory first)
    # alternates between them.
    emulator_kwargs = {"boot_time": 3600, "host_in_build": True,
                       "providers": [
                           {"name": "compute-1", "vcpus": 32,
                            "memory_mb": 65536},
                           {"name": "compute-2", "vcpus": 32,
                            "memory_mb": 65536}]}

    def test_hosts_reported_by_nova_limit_boots(self):
        self.flags(group="conductor", max_builds_per_host=2)
        pool = self._pool(min_ready=12, max_size=12,
                          max_concurrent_builds=12)
        creates = []
        for _ in range(4):
            self._upkeep()
            hosts = {}
            for server in self.emulator.live_servers():
                if server["status"] == "BUILD":
                    name = self.emulator.providers[server["provider"]][
                        "name"]
                    hosts[name] = hosts.get(name, 0) + 1
            self.assertLessEqual(max(hosts.values()), 2, hosts)
            creates.append(self.emulator.calls("create"))
        # Nothing known: one host's worth; then the room left on the
        # hosts Nova reported; then nothing while they are full.
        self.assertEqual([2, 4, 4, 4], creates)
        # The broker learnt the hosts from Nova's answers.
        self.assertEqual({"compute-1", "compute-2"}, {
            d["host"] for d in self._desktops(pool) if d["host"]})
        self.assertEqual(4, self._building(pool))


# -- 3. readiness probe -------------------------------------------------------

class TestReadinessProbe(UpkeepTestCase):

    def setUp(self):
        super().setUp()
        # Fake servers get 127.0.0.1, .2, ...: the probe reaches them.
        self.flags(group="fake_compute", address_range="127.0.0.0/29")
        self.listener = socket.socket()
        self.addCleanup(self.listener.close)
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.flags(group="pool_manager", probe_ports={"fake": self.port},
                   probe_connect_timeout=0.5)

    def test_ready_only_once_the_console_port_answers(self):
        pool = self._pool(min_ready=1, max_size=1, readiness_probe="tcp")
        self._upkeep(passes=2)
        desktop = self._desktops(pool)[0]
        self.assertEqual("127.0.0.1", desktop["address"])
        # ACTIVE, not answering: still building, with active_at.
        self.assertEqual(compute_base.ACTIVE, self._server(desktop).status)
        self.assertEqual(models.BUILDING, desktop["state"])
        self.assertIsNotNone(desktop["active_at"])
        self.assertIsNone(desktop["ready_at"])
        self.listener.listen(8)
        self._upkeep()
        desktop = db.desktop_get(self.ctxt, desktop["id"])
        self.assertEqual(models.READY, desktop["state"])
        self.assertLessEqual(desktop["active_at"], desktop["ready_at"])

    def test_probe_timeout_reboots_then_replaces(self):
        self.flags(group="pool_manager", ready_timeout=30)
        pool = self._pool(min_ready=1, max_size=1, readiness_probe="tcp")
        self._upkeep(passes=2)
        desktop = self._desktops(pool)[0]
        self._backdate(desktop["id"], active_at=31)
        self._upkeep()
        self.assertIn(("reboot", desktop["server_id"]), self.cloud.calls)
        current = db.desktop_get(self.ctxt, desktop["id"])
        self.assertEqual(models.BUILDING, current["state"])
        self.assertTrue(current["state_reason"].startswith(
            pool_manager.PROBE_REBOOTED), current["state_reason"])
        self._settle_builds()
        self._upkeep()
        self._backdate(desktop["id"], active_at=31)
        self._upkeep()
        current = db.desktop_get(self.ctxt, desktop["id"])
        self.assertEqual(models.ERROR, current["state"])
        self.assertIn("even after a reboot", current["state_reason"])
        self.assertIn("127.0.0.1:%d" % self.port, current["state_reason"])
        self.assertEqual(1, db.pool_get(self.ctxt,
                                        pool["id"])["build_failures"])

    def test_default_probe_from_config_and_none_per_pool(self):
        self.flags(group="pool_manager", readiness_probe="tcp")
        probed = self._pool("probed", min_ready=1, max_size=1)
        plain = self._pool("plain", min_ready=1, max_size=1,
                           readiness_probe="none")
        self._upkeep(passes=2)
        self.assertEqual({models.BUILDING: 1}, self._counts(probed))
        self.assertEqual({models.READY: 1}, self._counts(plain))

    def test_release_reboot_waits_for_the_probe(self):
        self.listener.listen(8)
        # One desktop at 127.0.0.1, where the listener is.
        pool = self._pool(min_ready=1, max_size=2, readiness_probe="tcp")
        self._fill(pool, passes=6)
        result = self._login(pool, "amy")
        self.listener.close()
        # The fake reboot is instant: do not wait to see it happen.
        self.flags(group="fake_compute", boot_time=0)
        self.flags(group="pool_manager", release_settle_time=0)
        self.manager.close_session(self.ctxt, result["session"]["id"],
                                   "logout")
        desktop_id = result["desktop"]["id"]
        self._upkeep(passes=2)
        current = db.desktop_get(self.ctxt, desktop_id)
        self.assertEqual((models.RELEASING, "release:reboot:probing"),
                         (current["state"], current["state_reason"]))
        self.flags(group="pool_manager", ready_timeout=30)
        self._backdate(desktop_id, active_at=31)
        self._upkeep()
        current = db.desktop_get(self.ctxt, desktop_id)
        self.assertEqual(models.ERROR, current["state"])
        self.assertIn("after the release", current["state_reason"])


class TestReleaseRestartNova(NovaUpkeepTestCase):
    """ACTIVE right after a reboot request is not a finished reboot."""

    emulator_kwargs = {"action_time": 0.0}

    def _released(self):
        pool = self._pool(min_ready=1, max_size=2)
        self._fill(pool)
        result = self._login(pool, "amy")
        self.manager.close_session(self.ctxt, result["session"]["id"],
                                   "logout")
        return result["desktop"]["id"]

    def test_restart_never_seen_waits_for_the_settle_time(self):
        self.flags(group="pool_manager", release_settle_time=30)
        desktop_id = self._released()
        self.assertEqual(1, self.emulator.calls("reboot"))
        self._upkeep(passes=2)
        current = db.desktop_get(self.ctxt, desktop_id)
        self.assertEqual((models.RELEASING, "release:reboot:issued"),
                         (current["state"], current["state_reason"]))
        self._backdate(desktop_id, updated_at=31)
        self._upkeep()
        current = db.desktop_get(self.ctxt, desktop_id)
        self.assertEqual(models.READY, current["state"])
        self.assertIsNotNone(current["ready_at"])

    def test_restart_seen_is_done_when_active_again(self):
        self.emulator.action_time = 3600
        desktop_id = self._released()
        self._upkeep()
        self.assertEqual("release:reboot:seen", db.desktop_get(
            self.ctxt, desktop_id)["state_reason"])
        self._activate_all()
        self._upkeep()
        self.assertEqual(models.READY,
                         db.desktop_get(self.ctxt, desktop_id)["state"])


# -- 5. schedules and prewarm -------------------------------------------------

class TestSchedules(UpkeepTestCase):

    def setUp(self):
        super().setUp()
        self.now = datetime.datetime(2026, 11, 26, 8, 29, tzinfo=PARIS)
        self.manager = conductor_manager.ConductorManager(
            self.conf, compute_driver=self.driver, clock=lambda: self.now)

    def _at(self, hour, minute, day=26):
        self.now = datetime.datetime(2026, 11, day, hour, minute,
                                     tzinfo=PARIS)

    def test_prewarm_boots_before_the_start_at_the_throttled_rate(self):
        self.flags(group="conductor", max_concurrent_builds=50)
        pool = self._pool(min_ready=2, max_size=20, max_concurrent_builds=4,
                          release_action="keep")
        db.schedule_create(self.ctxt, {
            "name": "day-shift", "pool_id": pool["name"],
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "start_time": "09:00", "end_time": "17:00",
            "timezone": "Europe/Paris", "min_ready": 20,
            "prewarm_minutes": 30})
        self._fill(pool)
        self.flags(group="fake_compute", boot_time=3600)
        self._upkeep(passes=2)      # 08:29: the pool's own min_ready
        self.assertEqual({models.READY: 2}, self._counts(pool))
        self._at(8, 30)             # prewarm starts: 4 at a time
        self._upkeep(passes=2)
        self.assertEqual({models.READY: 2, models.BUILDING: 4},
                         self._counts(pool))
        minute = 31
        while self._counts(pool).get(models.READY, 0) < 20:
            self._at(8, minute)
            self._settle_builds()
            self._upkeep()
            self.assertLessEqual(self._building(pool), 4)
            minute += 1
        # Ready by 08:35, long before 09:00.
        self.assertLessEqual(minute, 36)
        self.assertEqual({models.READY: 20}, self._counts(pool))
        self._at(12, 0)
        self._login(pool, "amy")
        self._login(pool, "bob")
        self._upkeep()
        self.assertEqual({models.READY: 18, models.ASSIGNED: 2},
                         self._counts(pool))
        # 17:00: the window closes; ready desktops go back down to the
        # pool's min_ready; the ones in use stay.
        self._at(17, 0)
        self._upkeep()
        self.assertEqual({models.READY: 2, models.ASSIGNED: 2},
                         self._counts(pool))
        self.assertEqual(4, len(self.cloud.servers))

    def test_disabled_or_broken_schedule_is_ignored(self):
        pool = self._pool(min_ready=1, max_size=10)
        db.schedule_create(self.ctxt, {
            "name": "off", "pool_id": pool["id"], "days": ["thu"],
            "start_time": "08:00", "end_time": "18:00", "timezone": "UTC",
            "min_ready": 8, "enabled": False})
        db.schedule_create(self.ctxt, {
            "name": "broken", "pool_id": pool["id"], "days": ["thu"],
            "start_time": "08:00", "end_time": "18:00",
            "timezone": "Nowhere/Atlantis", "min_ready": 9})
        self._upkeep(passes=3)
        self.assertEqual({models.READY: 1}, self._counts(pool))


# -- 6. a crash between the desktop row and the boot --------------------------

class TestCrashBeforeServerId(UpkeepTestCase):

    def test_server_booted_for_the_desktop_is_adopted(self):
        self.flags(group="fake_compute", boot_time=3600)
        pool = self._pool(min_ready=1, max_size=1)
        self._upkeep()
        desktop = self._desktops(pool)[0]
        # As if the conductor died before it wrote the server id down.
        db.desktop_transition(self.ctxt, desktop["id"], [models.BUILDING],
                              {"server_id": None})
        self._upkeep()
        current = db.desktop_get(self.ctxt, desktop["id"])
        self.assertEqual(desktop["server_id"], current["server_id"])
        self.assertEqual(1, len(self.cloud.servers))
        self._settle_builds()
        self._upkeep()
        self.assertEqual({models.READY: 1}, self._counts(pool))

    def test_no_server_after_a_minute_is_given_up(self):
        pool = self._pool(min_ready=1, max_size=1)
        desktop = db.desktop_create(self.ctxt, {
            "pool_id": pool["id"], "name": "vdi-agents-orphan",
            "state": models.BUILDING})
        self._upkeep()
        self.assertEqual(models.BUILDING, db.desktop_get(
            self.ctxt, desktop["id"])["state"])
        self._backdate(desktop["id"], created_at=61)
        self._upkeep(passes=3)
        self.assertNotIn(desktop["id"],
                         [d["id"] for d in self._desktops(pool)])
        self.assertEqual({models.READY: 1}, self._counts(pool))


# -- the batched writes of a pass ------------------------------------------


class TestBatchedWrites(UpkeepTestCase):

    def test_transition_many_counts_what_moved(self):
        pool = self._pool(min_ready=0, max_size=5)
        rows = [{"id": "d-%d" % i, "pool_id": pool["id"],
                 "name": "d%d" % i, "state": models.BUILDING}
                for i in range(4)]
        db.desktop_create_many(self.ctxt, rows)
        db.desktop_transition(self.ctxt, "d-0", [models.BUILDING],
                              {"state": models.ERROR})
        moved = db.desktop_transition_many(self.ctxt, [
            ("d-%d" % i, [models.BUILDING],
             {"state": models.READY, "address": "10.0.0.%d" % i})
            for i in range(3)] + [
            ("d-3", [models.READY, models.BUILDING],
             {"server_id": "s-3"})])
        self.assertEqual(3, moved)
        states = {d["id"]: (d["state"], d["address"], d["server_id"],
                            d["generation"])
                  for d in self._desktops(pool)}
        self.assertEqual({
            "d-0": (models.ERROR, None, None, 2),
            "d-1": (models.READY, "10.0.0.1", None, 2),
            "d-2": (models.READY, "10.0.0.2", None, 2),
            "d-3": (models.BUILDING, None, "s-3", 2)}, states)
        db.desktop_destroy_unbooted(self.ctxt, ["d-0", "d-1", "d-3"])
        # Only building rows without a server go.
        self.assertEqual(["d-0", "d-1", "d-2", "d-3"],
                         sorted(d["id"] for d in self._desktops(pool)))
        db.desktop_transition(self.ctxt, "d-3", [models.BUILDING],
                              {"server_id": None})
        db.desktop_destroy_unbooted(self.ctxt, ["d-3"])
        self.assertNotIn("d-3", [d["id"] for d in self._desktops(pool)])


class TestBatchedWritesMySQL(TestBatchedWrites):
    backend = "mysql"


class TestBatchedWritesPostgreSQL(TestBatchedWrites):
    backend = "postgresql"
