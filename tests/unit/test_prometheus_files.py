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

"""The shipped alerting rules, Grafana dashboard and monitoring guide agree
with the metrics the broker and its probes export.

* every alert is tested by etc/prometheus/tests/vdi-broker-rules.test.yml
  (firing at least once) and has a severity, a summary and a description;
* every metric the rules and the dashboard use is one the broker, the
  scrape's collector or the probe exports;
* the monitoring guide names every metric family and every alert.

(tests/functional/test_prometheus.py runs promtool on the same files.)
"""

import json
import os
import re
import sys
import types

import fixtures
import yaml

from tests import base
from vdi_broker import metrics
from vdi_broker.metrics import collector
from vdi_broker.loadgen import probe

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(ROOT, "etc", "prometheus", "vdi-broker-rules.yml")
RULE_TESTS = os.path.join(ROOT, "etc", "prometheus", "tests",
                          "vdi-broker-rules.test.yml")
DASHBOARD = os.path.join(ROOT, "etc", "grafana", "vdi-broker.json")
GUIDE = os.path.join(ROOT, "doc", "source", "admin", "monitoring.rst")
NAME = re.compile(r"\bvdi_[a-z_]+\b")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def _load(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def family(sample_name):
    for suffix in SUFFIXES:
        if sample_name.endswith(suffix):
            return sample_name[:-len(suffix)]
    return sample_name


class ShippedFilesTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.rules = [rule for group in yaml.safe_load(_load(RULES))[
            "groups"] for rule in group["rules"]]
        self.alerts = [rule for rule in self.rules if "alert" in rule]

    def exported(self):
        """Every metric family name the broker and its probes export."""
        names = set()
        for metric in (metrics.LOGIN_DURATION, metrics.NOVA_DURATION,
                       metrics.NOVA_RETRIES, metrics.LDAP_DURATION,
                       metrics.NOTIFICATIONS):
            names.update(f.name for f in metric.describe())
        # The scrape's collector, with every source answering.
        self.useFixture(fixtures.MockPatch(
            "vdi_broker.db.api.metrics_snapshot", return_value={
                "pools": [{"id": "p", "name": "p", "site": "s",
                           "enabled": True, "status": "active",
                           "min_ready": 1, "max_size": 2,
                           "max_concurrent_builds": 2,
                           "build_allowance": None, "boots_wanted": 0,
                           "boot_wait_reason": None, "boot_seconds": 60.0,
                           "build_failures": 0}],
                "desktops": {}, "boots": {}, "schedules": [],
                "sessions": {}, "thin_clients": [("s", "online", 1)]}))
        modules = dict(sys.modules)
        for name, function, value in (
                ("vdi_broker.monitoring", "current_counts",
                 [{"department": "d", "site": "s", "active": 1, "idle": 0,
                   "expected": 1}]),
                ("vdi_broker.alerts", "counts",
                 [{"kind": "k", "state": "firing", "count": 1}])):
            module = types.ModuleType(name)
            setattr(module, function, lambda ctxt, v=value: v)
            modules[name] = module
        self.useFixture(fixtures.MonkeyPatch("sys.modules", modules))
        names.update(f.name for f in
                     collector.DatabaseCollector(self.conf).collect())
        names.update(f.name for f in
                     probe.ProbeMetrics("x", 60).registry.collect())
        return names

    def test_alerts_are_complete_and_unique(self):
        names = [rule["alert"] for rule in self.alerts]
        self.assertEqual(len(names), len(set(names)))
        self.assertGreaterEqual(len(names), 15)
        for rule in self.alerts:
            self.assertIn(rule["labels"]["severity"],
                          ("critical", "warning", "info"), rule["alert"])
            self.assertTrue(rule["annotations"]["summary"])
            self.assertTrue(rule["annotations"]["description"])

    def test_every_alert_is_tested_firing(self):
        firing = set()
        for case in yaml.safe_load(_load(RULE_TESTS))["tests"]:
            for check in case.get("alert_rule_test", ()):
                if check.get("exp_alerts"):
                    firing.add(check["alertname"])
        self.assertEqual(sorted(rule["alert"] for rule in self.alerts),
                         sorted(firing))

    def test_rules_and_dashboard_use_exported_metrics(self):
        exported = self.exported()
        used = {family(n) for rule in self.rules
                for n in NAME.findall(rule["expr"])}
        dashboard = json.loads(_load(DASHBOARD))
        exprs = [target["expr"] for panel in dashboard["panels"]
                 for target in panel.get("targets", ())]
        self.assertGreater(len(exprs), 20)
        used_by_dashboard = {family(n) for expr in exprs
                             for n in NAME.findall(expr)}
        self.assertEqual(set(), used - exported)
        self.assertEqual(set(), used_by_dashboard - exported)
        # The shift plan's two figures are watched by both.
        for name in ("vdi_agents_active", "vdi_agents_expected"):
            self.assertIn(name, used)
            self.assertIn(name, used_by_dashboard)

    def test_dashboard_is_importable(self):
        dashboard = json.loads(_load(DASHBOARD))
        ids = [panel["id"] for panel in dashboard["panels"]]
        self.assertEqual(len(ids), len(set(ids)))
        variables = {v["name"] for v in dashboard["templating"]["list"]}
        self.assertEqual({"datasource", "job", "site", "department"},
                         variables)
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                self.assertEqual("${datasource}",
                                 panel["datasource"]["uid"])

    def test_the_guide_names_every_metric_and_alert(self):
        guide = _load(GUIDE)
        exported = self.exported()
        missing = sorted(name for name in exported
                         if "``%s" % name not in guide)
        self.assertEqual([], missing)
        missing = sorted(rule["alert"] for rule in self.alerts
                         if "``%s``" % rule["alert"] not in guide)
        self.assertEqual([], missing)
