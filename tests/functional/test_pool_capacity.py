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

"""Pools grow only into free capacity, and say so when they cannot (R11)."""

import logging

import fixtures

from tests import base
from tests.fixtures import database
from tests.fixtures import nova_emulator
from tests.functional.compute import base as compute_base
from vdi_broker.compute import fake
from vdi_broker.compute import nova
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker import context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models


class CapacityTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.useFixture(database.Database("sqlite"))
        self.flags(group="conductor", capacity_cache_time=0)
        self.ctxt = context.get_admin_context()

    def upkeep(self, manager, passes):
        for _ in range(passes):
            manager.pool_upkeep(self.ctxt)
        return db.pool_desktop_counts(self.ctxt)


class TestFakeCloudCapacity(CapacityTestCase):

    def test_pool_stops_at_capacity_and_says_so(self):
        # Room for exactly 10 desktops of 8 GB.
        self.flags(group="fake_compute", boot_time=0,
                   capacity_memory_mb=10 * 8192, flavor_memory_mb=8192)
        pool = db.pool_create(self.ctxt, {
            "name": "agents", "flavor": "win10", "image": "golden",
            "min_ready": 15, "max_size": 20, "max_concurrent_builds": 20})
        manager = conductor_manager.ConductorManager(
            self.conf, compute_driver=fake.FakeComputeDriver(
                self.conf, cloud=fake.FakeCloud()))
        counts = self.upkeep(manager, 3)
        self.assertEqual({models.READY: 10}, counts[pool["id"]])
        pool = db.pool_get(self.ctxt, pool["id"])
        self.assertEqual("no_capacity", pool["status"])
        self.assertIn("5 more desktops of flavor win10 (8192 MB, 4 vCPU) "
                      "wanted, the cloud has room for 0",
                      pool["status_reason"])

        # More memory (a new compute node): the pool grows and recovers.
        self.flags(group="fake_compute", capacity_memory_mb=20 * 8192)
        counts = self.upkeep(manager, 3)
        self.assertEqual({models.READY: 15}, counts[pool["id"]])
        self.assertEqual("active",
                         db.pool_get(self.ctxt, pool["id"])["status"])


class TestNovaCapacity(CapacityTestCase):
    """Against the Nova emulator: Placement decides, no doomed builds."""

    def test_no_build_fails_with_no_valid_host(self):
        emulator = self.useFixture(nova_emulator.NovaEmulator(
            boot_time=0, providers=[
                {"name": "compute-1", "vcpus": 8, "memory_mb": 16384 + 512,
                 "reserved_memory_mb": 512}]))
        conf = compute_base.make_conf(emulator)
        driver = nova.NovaComputeDriver(conf)
        # vdi.large: 4 vCPU, 8 GB: the node holds two.
        pool = db.pool_create(self.ctxt, {
            "name": "agents", "flavor": "vdi.large",
            "image": nova_emulator.DEFAULT_IMAGE,
            "networks": [nova_emulator.DEFAULT_NETWORK],
            "min_ready": 4, "max_size": 4, "max_concurrent_builds": 4})
        manager = conductor_manager.ConductorManager(self.conf,
                                                     compute_driver=driver)
        counts = self.upkeep(manager, 4)
        self.assertEqual({models.READY: 2}, counts[pool["id"]])
        pool = db.pool_get(self.ctxt, pool["id"])
        self.assertEqual("no_capacity", pool["status"])
        self.assertEqual(2, len(driver.list_servers()))
        self.assertEqual([], [s for s in emulator.servers.values()
                              if s.get("status") == "ERROR"])
