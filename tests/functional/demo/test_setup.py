# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The demo's pools hold every agent of the shift it runs.

``VDI_DEMO_AGENTS=2000 tools/run-demo.sh`` refused 1,420 logins: the pools
were sized for 300 agents. Here ``demo setup`` runs for N agents into a
real (SQLite) database, the allocator chain is walked for every agent at
the seat the shift gives them (the conductor's dry run), and each pool
must keep a ready desktop for every agent sent to it.
"""

import collections
import os
import types

import fixtures

from tests import base
from tests.fixtures import database
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.demo import setup as demo_setup
from vdi_broker.demo import shift
from vdi_broker.identity import static


class DemoSetupTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(database.Database())
        # One hash round: the directory's passwords are not under test.
        self.useFixture(fixtures.MockPatchObject(
            demo_setup, "DEMO_ITERATIONS", 1))
        self.users_file = os.path.join(
            self.useFixture(fixtures.TempDir()).path, "users.json")
        self.ctxt = vdi_context.get_admin_context()
        self.manager = conductor_manager.ConductorManager(self.conf)

    def _setup(self, count):
        return demo_setup.setup(self.ctxt, self.users_file, count, "pw")

    def _demand(self, count):
        """{pool: agents the chain sends there} for the morning logins."""
        driver = static.StaticIdentityDriver(types.SimpleNamespace(
            static_identity=types.SimpleNamespace(
                users_file=self.users_file)))
        demand = collections.Counter()
        for i in range(count):
            principal = driver.lookup("agent%04d" % i)
            result = self.manager.explain(self.ctxt, {
                "principal": principal.to_dict(),
                "client_id": "tc-morning-%04d" % i,
                "seat": shift._seat_for(i)})
            demand[result["outcome"]["decision"]["pool"]] += 1
        return demand

    def _assert_pools_hold(self, count):
        demand = self._demand(count)
        self.assertEqual(count, sum(demand.values()))
        short = {}
        for pool in db.pool_list(self.ctxt):
            wanted = demand.get(pool["name"], 0) + demand.get(pool["id"], 0)
            if pool["min_ready"] < wanted or pool["max_size"] < wanted:
                short[pool["name"]] = (pool["min_ready"], pool["max_size"],
                                       wanted)
        self.assertEqual({}, short, "pool: (min_ready, max_size, agents)")

    def test_two_thousand_agents(self):
        self._setup(2000)
        self._assert_pools_hold(2000)

    def test_default_three_hundred_agents(self):
        self._setup(300)
        self._assert_pools_hold(300)

    def test_a_second_run_for_more_agents_resizes(self):
        self._setup(300)
        summary = self._setup(1000)
        self.assertIn("wrote 1000 demo users to %s (password: pw)"
                      % self.users_file, summary)
        self.assertTrue(any(line.startswith("resized pool sh-agents")
                            for line in summary), summary)
        self._assert_pools_hold(1000)
        # The same number again changes nothing.
        summary = self._setup(1000)
        self.assertIn("kept existing users file %s" % self.users_file,
                      summary)
        self.assertFalse([line for line in summary
                          if line.startswith("resized")], summary)
