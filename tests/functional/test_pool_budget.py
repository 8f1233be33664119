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

"""The global build budget goes to the emptiest pools first."""

from tests import base
from tests.fixtures import database
from vdi_broker.compute import fake
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker import context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models


class TestBuildBudget(base.TestCase):

    def test_small_pool_is_not_starved_by_a_big_one(self):
        self.useFixture(database.Database("sqlite"))
        self.flags(group="fake_compute", boot_time=0)
        self.flags(group="conductor", max_concurrent_builds=5)
        ctxt = context.get_admin_context()
        # Named so that the big pool comes first in any listing.
        big = db.pool_create(ctxt, {"name": "a-big", "flavor": "f",
                                    "image": "i", "min_ready": 100,
                                    "max_size": 100,
                                    "max_concurrent_builds": 10})
        small = db.pool_create(ctxt, {"name": "b-small", "flavor": "f",
                                      "image": "i", "min_ready": 4,
                                      "max_size": 4,
                                      "max_concurrent_builds": 10})
        manager = conductor_manager.ConductorManager(
            self.conf, compute_driver=fake.FakeComputeDriver(
                self.conf, cloud=fake.FakeCloud()))
        for _ in range(3):
            manager.pool_upkeep(ctxt)
        counts = db.pool_desktop_counts(ctxt)
        self.assertEqual(4, counts[small["id"]].get(models.READY))
        # The global limit held: never more than 5 booting at once.
        self.assertLessEqual(counts[big["id"]].get(models.BUILDING, 0), 5)
