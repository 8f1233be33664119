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

"""Several clouds (issue 19): two Nova emulators, pools in each.

Each cloud is a Nova emulator reached over HTTP by the real
python-novaclient and keystoneauth1, behind a proxy that can black-hole
it (tests/fixtures/clouds.py). A cloud that goes silent stops its own
pools refilling, with the reason in their status; the other cloud's
pools go on refilling in the same passes, not slowed by the timeouts.
"""

import logging
import time

import fixtures

from tests import base
from tests.fixtures import clouds as cloud_fixtures
from tests.fixtures import database
from tests.fixtures import nova_emulator
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker import context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models


def _pool(ctxt, name, cloud, **values):
    values = dict({
        "name": name, "cloud": cloud, "flavor": "vdi.small",
        "image": nova_emulator.DEFAULT_IMAGE,
        "networks": [nova_emulator.DEFAULT_NETWORK],
        "min_ready": 2, "max_size": 10, "max_concurrent_builds": 10},
        **values)
    return db.pool_create(ctxt, values)


class CloudsTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.useFixture(database.Database("sqlite"))
        self.flags(group="conductor", capacity_cache_time=0)
        self.ctxt = context.get_admin_context()

    def ready(self, pool):
        return db.pool_desktop_counts(self.ctxt, [pool["id"]]).get(
            pool["id"], {}).get(models.READY, 0)

    def fill(self, manager, pools, want, passes=10):
        for _ in range(passes):
            manager.pool_upkeep(self.ctxt)
            if all(self.ready(p) >= n for p, n in zip(pools, want)):
                break
        return [self.ready(p) for p in pools]


class TestTwoClouds(CloudsTestCase):

    def setUp(self):
        super().setUp()
        self.clouds = cloud_fixtures.use_clouds(self, ["east", "west"])
        self.manager = conductor_manager.ConductorManager(self.conf)
        self.east = _pool(self.ctxt, "east-agents", "east")
        self.west = _pool(self.ctxt, "west-agents", "west")

    def test_each_pool_boots_in_its_own_cloud(self):
        self.assertEqual([2, 2], self.fill(self.manager,
                                           [self.east, self.west], [2, 2]))
        for name, pool in (("east", self.east), ("west", self.west)):
            servers = self.clouds[name].servers()
            self.assertEqual(2, len(servers))
            self.assertEqual({pool["id"]},
                             {s["metadata"]["vdi_pool"] for s in servers})
        # Each cloud's reconciler sees its own servers only: nothing to
        # adopt, nothing to delete.
        report = self.manager.reconcile(self.ctxt)
        self.assertEqual({"east": "done", "west": "done"}, report["clouds"])
        self.assertEqual(4, report["servers"])
        self.assertEqual(0, report["deleted"] + report["adopted"])

    def test_a_cloud_down_stops_only_its_own_pools(self):
        self.fill(self.manager, [self.east, self.west], [2, 2])
        self.clouds["east"].down()
        for pool in (self.east, self.west):
            db.pool_update(self.ctxt, pool["id"], {"min_ready": 5})
        started = time.monotonic()
        west_times = []
        for _ in range(8):
            before = time.monotonic()
            self.manager.pool_upkeep(self.ctxt)
            west_times.append(time.monotonic() - before)
            if self.ready(self.west) >= 5:
                break
        # West refilled; east did not, and says why.
        self.assertEqual(5, self.ready(self.west))
        self.assertEqual(2, self.ready(self.east))
        self.assertEqual(2, len(self.clouds["east"].servers()))
        east = db.pool_get(self.ctxt, self.east["id"])
        west = db.pool_get(self.ctxt, self.west["id"])
        self.assertEqual("cloud_down", east["status"])
        self.assertIn("cloud east unavailable", east["status_reason"])
        self.assertEqual("active", west["status"])
        health = self.manager.clouds.health("east")
        self.assertTrue(health.down)
        self.assertGreaterEqual(health.errors, 2)
        self.assertFalse(self.manager.clouds.health("west").down)
        self.assertEqual(0, self.manager.clouds.health("west").errors)
        # Once east is known down its calls fail at once: the passes
        # after the first ones do not wait for its timeouts.
        self.assertLess(min(west_times), 1.0, west_times)
        self.assertLess(time.monotonic() - started, 30)
        # The ready desktops of the down cloud still count (a login
        # needs no Nova to claim one).
        self.assertEqual(2, db.pool_desktop_counts(
            self.ctxt, [east["id"]])[east["id"]][models.READY])

        # East is back: the next passes find out and refill it.
        self.clouds["east"].up()
        for _ in range(20):
            self.manager.pool_upkeep(self.ctxt)
            if self.ready(self.east) >= 5:
                break
            time.sleep(0.2)
        self.assertEqual(5, self.ready(self.east))
        self.assertEqual("active",
                         db.pool_get(self.ctxt, self.east["id"])["status"])
        self.assertFalse(self.manager.clouds.health("east").down)

    def test_reconciler_skips_only_the_cloud_that_is_down(self):
        self.fill(self.manager, [self.east, self.west], [2, 2])
        # A leftover server in west (its pool is gone): reconciled away
        # while east is down.
        gone = _pool(self.ctxt, "gone", "west", min_ready=1)
        self.fill(self.manager, [gone], [1])
        for desktop in db.desktop_list(self.ctxt, {"pool_id": gone["id"]}):
            db.desktop_destroy(self.ctxt, desktop["id"])
        db.pool_delete(self.ctxt, gone["id"])
        self.clouds["east"].down()
        report = self.manager.reconcile(self.ctxt)
        self.assertEqual({"east": "skipped", "west": "done"},
                         report["clouds"])
        self.assertEqual(1, report["deleted"])
        self.assertEqual(2, len(self.clouds["west"].servers()))


class TestBudgetPerCloud(CloudsTestCase):

    def test_each_cloud_has_its_own_boot_budget(self):
        clouds = cloud_fixtures.use_clouds(self, ["east", "west"],
                                           max_concurrent_builds=2,
                                           boot_time=3600)
        manager = conductor_manager.ConductorManager(self.conf)
        pools = [_pool(self.ctxt, "%s-%d" % (cloud, i), cloud,
                       min_ready=4)
                 for cloud in ("east", "west") for i in range(2)]
        manager.pool_upkeep(self.ctxt)
        manager.pool_upkeep(self.ctxt)
        for name in ("east", "west"):
            self.assertEqual(2, clouds[name].emulator.booting_high_water)
        waiting = [db.pool_get(self.ctxt, p["id"])["boots_wanted"]
                   for p in pools]
        self.assertEqual(16 - 4, sum(waiting))


class TestCapacityByZone(CloudsTestCase):
    """Capacity counts the providers of the pool's zone (aggregates)."""

    def test_zone_capacity(self):
        clouds = cloud_fixtures.use_clouds(self, ["east"], providers=[
            # vdi.small: 2 vCPU, 4 GB. az1 holds 2, az2 holds 8.
            {"name": "compute-1", "vcpus": 4, "memory_mb": 8192},
            {"name": "compute-2", "vcpus": 16, "memory_mb": 32768}])
        emulator = clouds["east"].emulator
        emulator.add_aggregate("rack-1", "az1", ["compute-1"])
        emulator.add_aggregate("rack-2", "az2", ["compute-2"])
        manager = conductor_manager.ConductorManager(self.conf)
        small = _pool(self.ctxt, "az1-agents", "east",
                      availability_zone="az1", min_ready=4)
        big = _pool(self.ctxt, "az2-agents", "east",
                    availability_zone="az2", min_ready=4)
        self.assertEqual([2, 4], self.fill(manager, [small, big], [4, 4]))
        small = db.pool_get(self.ctxt, small["id"])
        self.assertEqual("no_capacity", small["status"])
        self.assertIn("availability zone az1 has room for 0",
                      small["status_reason"])
        self.assertEqual("active", db.pool_get(self.ctxt,
                                               big["id"])["status"])
        # The servers are where the zones put them; no NoValidHost.
        hosts = {}
        for server in emulator.live_servers():
            pool = server["metadata"]["vdi_pool"]
            hosts.setdefault(pool, set()).add(
                emulator.providers[server["provider"]]["name"])
        self.assertEqual({small["id"]: {"compute-1"},
                          big["id"]: {"compute-2"}}, hosts)
        # Placement was asked for the zone's aggregate members.
        queries = [r["query"].get("member_of") for r in emulator.requests
                   if r["kind"] == "placement" and r["query"]]
        self.assertIn(["in:%s" % next(
            u for u, a in emulator.aggregates.items()
            if a["zone"] == "az1")], queries)
