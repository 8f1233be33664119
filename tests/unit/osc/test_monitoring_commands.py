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

"""openstack vdi department / shift plan / agent / alert: the requests."""

import os
import tempfile

from osc_lib import exceptions

from tests.unit.osc import test_requests
from vdi_broker.osc.v1 import monitoring

CSV = "date,slot_start,department,site,expected\r\n" \
      "2026-12-08,08:00,hotel,shanghai,12\r\n"


class TestDepartmentCommands(test_requests.StubTestCase):

    def test_create_with_rules(self):
        self.broker.reply("POST", "/v1/departments", 201, {"department": {
            "id": "d1", "name": "hotel", "rules": {}, "priority": 10}})
        self.run_command(monitoring.CreateDepartment, [
            "hotel", "--priority", "10", "--group", "hotel-agents",
            "--ou", "ou=hotel,dc=example", "--attribute", "title=agent",
            "--match", "any"])
        self.assertEqual({"name": "hotel", "priority": 10, "rules": {
            "groups": ["hotel-agents"], "ou": ["ou=hotel,dc=example"],
            "attributes": {"title": ["agent"]}, "match": "any"}},
            self.last()["body"])

    def test_set_needs_an_option(self):
        self.assertRaises(exceptions.CommandError, self.run_command,
                          monitoring.SetDepartment, ["hotel"])

    def test_list_sorted_by_priority(self):
        self.broker.reply("GET", "/v1/departments", 200,
                          {"departments": [], "links": []})
        self.run_command(monitoring.ListDepartment, [])
        self.assertEqual("priority", self.last()["query"]["sort_key"])


class TestShiftPlanCommands(test_requests.StubTestCase):

    def test_import_sends_the_csv(self):
        self.broker.reply("PUT", "/v1/shift-plans", 200, {"shift_plan": {
            "slots": 1, "replaced": 0, "days": 1, "slot_minutes": 15,
            "timezone": "UTC", "dates": ["2026-12-08"]}})
        with tempfile.NamedTemporaryFile("w", suffix=".csv",
                                         delete=False) as f:
            f.write("\ufeff" + CSV)
        self.addCleanup(os.unlink, f.name)
        (columns, values), _out = self.run_command(
            monitoring.ImportShiftPlan, [f.name])
        request = self.last()
        # Read as text (universal new lines), without the byte-order mark.
        self.assertEqual(CSV.replace("\r\n", "\n"), request["body"])
        self.assertEqual("PUT", request["method"])
        self.assertEqual(1, dict(zip(columns, values))["slots"])

    def test_export_writes_the_csv(self):
        self.broker.reply("GET", "/v1/shift-plans", 200, CSV,
                          headers={"Content-Type": "text/csv"})
        _result, out = self.run_command(
            monitoring.ExportShiftPlan, ["--department", "hotel",
                                         "--from", "2026-12-08"])
        self.assertEqual(CSV, out)
        request = self.last()
        self.assertEqual("text/csv", request["headers"]["Accept"])
        self.assertEqual({"department": "hotel", "from": "2026-12-08"},
                         request["query"])


class TestAgentAndAlertCommands(test_requests.StubTestCase):

    def test_agent_list_with_pools(self):
        self.broker.reply("GET", "/v1/agents", 200, {
            "at": "2026-12-08T08:00:00Z", "active_interval": 60,
            "agents": [{"department": "hotel", "site": "shanghai",
                        "active": 3, "idle": 1, "offline": 0,
                        "expected": 4,
                        "pools": [{"pool": "sh", "active": 3, "idle": 1,
                                   "offline": 0}]}]})
        (headings, rows), _out = self.run_command(monitoring.ListAgent,
                                                  ["--pools"])
        self.assertEqual([("hotel", "shanghai", "", 3, 1, 0, 4),
                          ("hotel", "shanghai", "sh", 3, 1, 0, None)],
                         rows)

    def test_acknowledge(self):
        self.broker.reply("POST", "/v1/alerts/a-1/acknowledge", 200,
                          {"alert": {"id": "a-1", "state": "firing"}})
        self.run_command(monitoring.AcknowledgeAlert, ["a-1"])
        self.assertEqual("POST", self.last()["method"])

    def test_alert_list_filters(self):
        self.broker.reply("GET", "/v1/alerts", 200, {"alerts": [],
                                                     "links": []})
        self.run_command(monitoring.ListAlert, ["--state", "firing",
                                                "--kind", "boots_failing"])
        self.assertEqual({"state": "firing", "kind": "boots_failing"},
                         self.last()["query"])
