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

"""promtool on the shipped rules and on a real scrape.

``promtool`` comes with Debian's ``prometheus`` package
(tools/test-setup.sh installs it). Without it these tests are skipped,
unless ``VDI_BROKER_REQUIRE_PROMTOOL`` is set (tox -e functional): then
they fail.
"""

import json
import os

import fixtures
import yaml

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import prometheus
from vdi_broker.db import api as db

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(ROOT, "etc", "prometheus", "vdi-broker-rules.yml")
RULE_TESTS = os.path.join(ROOT, "etc", "prometheus", "tests",
                          "vdi-broker-rules.test.yml")
DASHBOARD = os.path.join(ROOT, "etc", "grafana", "vdi-broker.json")
# Grafana's variables, as a query would have them.
VARIABLES = {"$__rate_interval": "1m", "$job": ".*", "$site": ".*",
             "$department": ".*"}


class PromtoolRulesTest(base.TestCase):

    def test_rules_are_valid(self):
        code, out = prometheus.run_promtool(self, "check", "rules", RULES)
        self.assertEqual(0, code, out)
        self.assertIn("SUCCESS", out)

    def test_rule_unit_tests_pass(self):
        # Including the shift plan's (VdiAgentsBelowPlan) and every other
        # alert's cases (tests/unit/test_prometheus_files.py checks that
        # each alert has one).
        code, out = prometheus.run_promtool(self, "test", "rules",
                                            RULE_TESTS)
        self.assertEqual(0, code, out)
        self.assertIn("SUCCESS", out)

    def test_dashboard_queries_are_valid_promql(self):
        with open(DASHBOARD, encoding="utf-8") as f:
            dashboard = json.load(f)
        rules = []
        for panel in dashboard["panels"]:
            for target in panel.get("targets", ()):
                expr = target["expr"]
                for name, value in VARIABLES.items():
                    expr = expr.replace(name, value)
                self.assertNotIn("$", expr, panel["title"])
                rules.append({"record": "vdi:dashboard_%d_%s" % (
                    panel["id"], target["refId"]), "expr": expr})
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            "dashboard.yml")
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard",
                                        "rules": rules}]}, f)
        code, out = prometheus.run_promtool(self, "check", "rules", path)
        self.assertEqual(0, code, out)


class PromtoolScrapeTest(base.TestCase):

    def test_a_real_scrape_passes_promtool_check_metrics(self):
        broker = broker_fixture.use_broker(self)
        broker.setup_call_centre()
        broker.fill_pools()
        login = broker.login("amy")
        broker.login("amy", password="wrong", client_id="tc-0002",
                     status=401)
        broker.logout(login)
        db.thin_client_create(broker.ctxt, {"client_id": "tc-9",
                                            "site": "nantong",
                                            "status": "online"})
        text = broker.app.get(
            "/metrics", extra_environ={"REMOTE_ADDR": "127.0.0.1"}).text
        # Every family of the scrape is there.
        found = {name for name, _labels in prometheus.samples(text)}
        for name in ("vdi_login_duration_seconds_count",
                     "vdi_pool_desktops", "vdi_pool_target_ready",
                     "vdi_pool_boot_allowance", "vdi_thin_clients",
                     "vdi_sessions_active",
                     "vdi_scrape_collector_success"):
            self.assertIn(name, found)
        code, out = prometheus.run_promtool(self, "check", "metrics",
                                            stdin=text)
        self.assertEqual(0, code, out)
        self.assertEqual("", out.strip())
