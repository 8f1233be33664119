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

"""The pool manager's state in the admin API: throttle, degraded, probe."""

from tests import base
from tests.fixtures import broker as broker_fixture


class TestPoolUpkeepApi(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.app = self.broker.app

    def test_degraded_pool_shows_why_and_recovers(self):
        self.broker.flags(group="fake_compute", failure_rate=1.0)
        self.broker.flags(group="conductor", degraded_after_failures=2)
        pool = self.broker.create_pool("agents", min_ready=2,
                                       max_size=2).json["pool"]
        self.assertEqual({"failures": 0, "failing_since": None,
                          "last_error": None}, pool["build"])
        for _ in range(2):
            self.broker.manager.pool_upkeep(self.broker.ctxt)
        listed = self.app.get("/v1/pools").json["pools"][0]
        self.assertEqual("degraded", listed["status"])
        self.assertIn("2 boots failed in a row since",
                      listed["status_reason"])
        self.assertIn("fake boot failure", listed["status_reason"])
        self.assertEqual(2, listed["build"]["failures"])
        self.assertTrue(listed["build"]["failing_since"].endswith("Z"))
        self.assertIn("fake boot failure", listed["build"]["last_error"])
        # Only degraded pools, by filter.
        self.assertEqual(["agents"], [p["name"] for p in self.app.get(
            "/v1/pools?status=degraded").json["pools"]])
        self.broker.flags(group="fake_compute", failure_rate=0.0)
        self.broker.fill_pools()
        shown = self.app.get("/v1/pools/agents").json["pool"]
        self.assertEqual(("active", None, 0),
                         (shown["status"], shown["status_reason"],
                          shown["build"]["failures"]))

    def test_readiness_probe_per_pool(self):
        pool = self.broker.create_pool("probed",
                                       readiness_probe="tcp").json["pool"]
        self.assertEqual("tcp", pool["readiness_probe"])
        resp = self.app.patch_json("/v1/pools/probed",
                                   {"readiness_probe": None})
        self.assertIsNone(resp.json["pool"]["readiness_probe"])
        resp = self.app.patch_json("/v1/pools/probed",
                                   {"readiness_probe": "guest"},
                                   expect_errors=True)
        broker_fixture.assert_error(self, resp, 400)
