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

"""Business monitoring through the API (SQLite, MariaDB, PostgreSQL).

Departments tag sessions at login; the shift plan is imported as CSV,
across a daylight-saving change, and exported again; agents are counted
active, idle and offline from the thin clients' heartbeats, against the
plan, into the one-minute history; alerts fire, clear by themselves and
are acknowledged.
"""

import datetime

from oslo_utils import timeutils
import testscenarios

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import database
from vdi_broker.db import api as db

load_tests = testscenarios.load_tests_apply_scenarios

# Europe/Paris: clocks go forward on 2026-03-29 at 02:00 (to 03:00) and
# back on 2026-10-25 at 03:00 (to 02:00).
PARIS = "Europe/Paris"

HOTEL = {"name": "hotel", "priority": 10,
         "rules": {"groups": ["hotel-agents"]}}
FLIGHT = {"name": "flight", "priority": 20,
          "rules": {"ou": ["ou=flight,ou=nantong,dc=callcentre,"
                           "dc=example"]}}
VIP = {"name": "vip", "priority": 30,
       "rules": {"attributes": {"department": ["vip"]}}}

NOW = datetime.datetime(2026, 12, 8, 8, 5, 0)  # 09:05 in Paris.


class MonitoringApiTestCase(testscenarios.WithScenarios, base.TestCase):

    scenarios = database.BACKENDS

    def setUp(self):
        super().setUp()
        self.flags(group="monitoring", timezone=PARIS, active_interval=60)
        self.flags(group="client_session", register_unknown_clients=True)
        self.flags(group="alerts", below_plan_for=120,
                   below_plan_min_expected=1, below_plan_share=0.2)
        timeutils.set_time_override(NOW)
        self.addCleanup(timeutils.clear_time_override)
        self.broker = broker_fixture.use_broker(self, backend=self.backend)
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt
        for department in (HOTEL, FLIGHT, VIP):
            self.app.post_json("/v1/departments", department, status=201)

    def import_plan(self, text, status=200, method="put"):
        call = getattr(self.app, method)
        return call("/v1/shift-plans", text.encode("utf-8"),
                    headers={"Content-Type": "text/csv"}, status=status,
                    expect_errors=status >= 400)

    def heartbeat(self, login, input_events):
        body = login.json
        self.app.post_json(
            "/v1/client/heartbeat",
            {"client_id": body["session"]["client_id"],
             "session_id": body["session"]["id"],
             "input_events": input_events},
            headers={"X-Session-Token": body["session"]["token"]},
            status=204)


class TestDepartments(MonitoringApiTestCase):

    def test_sessions_are_tagged_with_the_department(self):
        for user, client in (("amy", "tc-1"), ("bob", "tc-2"),
                             ("vera", "tc-3"), ("carl", "tc-4")):
            self.broker.login(user, client_id=client)
        found = {s["username"]: s["department"]
                 for s in db.session_list(self.ctxt)}
        self.assertEqual({"amy": "hotel", "bob": "flight", "vera": "vip",
                          "carl": None}, found)

    def test_crud_and_bad_rules(self):
        listed = self.app.get("/v1/departments").json["departments"]
        self.assertEqual(["flight", "hotel", "vip"],
                         [d["name"] for d in listed])
        resp = self.app.post_json("/v1/departments",
                                  {"name": "x", "rules": {"seats": ["a"]}},
                                  status=400)
        self.assertIn("seats", resp.json["error"]["message"])
        self.app.post_json("/v1/departments", {"name": "hotel"},
                           status=409)
        dep = self.app.patch_json("/v1/departments/hotel",
                                  {"priority": 5}).json["department"]
        self.assertEqual((5, 2), (dep["priority"], dep["revision"]))
        self.app.delete("/v1/departments/vip", status=204)
        self.app.get("/v1/departments/vip", status=404)


class TestShiftPlans(MonitoringApiTestCase):

    def test_plan_across_spring_forward_and_fall_back(self):
        plan = "\n".join([
            "date,interval_start,department,site,required_agents",
            # Spring forward: 02:00 and 02:30 do not exist that day.
            "2026-03-29,01:30,hotel,shanghai,2",
            "2026-03-29,02:00,hotel,shanghai,0",
            "2026-03-29,02:30,hotel,shanghai,0",
            "2026-03-29,03:00,hotel,shanghai,4",
            # Fall back: 02:00 twice, given twice; 02:30 once (both).
            "2026-10-25,02:00,hotel,shanghai,5",
            "2026-10-25,02:00,hotel,shanghai,6",
            "2026-10-25,02:30,hotel,shanghai,7",
        ]) + "\n"
        result = self.import_plan(plan).json["shift_plan"]
        self.assertEqual((30, PARIS), (result["slot_minutes"],
                                       result["timezone"]))
        slots = self.app.get("/v1/shift-plans?department=hotel").json[
            "slots"]
        found = [(s["date"], s["slot_start"], s["starts_at"], s["ends_at"],
                  s["expected"]) for s in slots]
        self.assertEqual([
            ("2026-03-29", "01:30", "2026-03-29T00:30:00Z",
             "2026-03-29T01:00:00Z", 2),
            # 03:00 CEST is 01:00 UTC: right after 01:30 CET.
            ("2026-03-29", "03:00", "2026-03-29T01:00:00Z",
             "2026-03-29T01:30:00Z", 4),
            ("2026-10-25", "02:00", "2026-10-25T00:00:00Z",
             "2026-10-25T00:30:00Z", 5),
            ("2026-10-25", "02:30", "2026-10-25T00:30:00Z",
             "2026-10-25T01:00:00Z", 7),
            ("2026-10-25", "02:00", "2026-10-25T01:00:00Z",
             "2026-10-25T01:30:00Z", 6),
            ("2026-10-25", "02:30", "2026-10-25T01:30:00Z",
             "2026-10-25T02:00:00Z", 7),
        ], found)
        self.assertEqual([False, False, False, False, True, True],
                         [s["repeated_hour"] for s in slots])
        # The plan's expected agents at a UTC moment of the second 02:00.
        self.assertEqual({("hotel", "shanghai"): 6},
                         db.shift_plan_expected(
                             self.ctxt,
                             datetime.datetime(2026, 10, 25, 1, 10)))
        # Exported as CSV, and imported again to the same slots.
        resp = self.app.get("/v1/shift-plans?department=hotel",
                            headers={"Accept": "text/csv"})
        self.assertEqual("text/csv", resp.content_type)
        lines = resp.text.splitlines()
        self.assertEqual("date,slot_start,department,site,expected",
                         lines[0])
        self.assertEqual(["2026-10-25,02:00,hotel,shanghai,5",
                          "2026-10-25,02:30,hotel,shanghai,7",
                          "2026-10-25,02:00,hotel,shanghai,6",
                          "2026-10-25,02:30,hotel,shanghai,7"], lines[3:])
        again = self.import_plan(resp.text, method="post").json[
            "shift_plan"]
        self.assertEqual((6, 6), (again["slots"], again["replaced"]))
        self.assertEqual(found, [
            (s["date"], s["slot_start"], s["starts_at"], s["ends_at"],
             s["expected"]) for s in self.app.get(
                "/v1/shift-plans?department=hotel").json["slots"]])

    def test_errors_name_the_line(self):
        header = "date,interval_start,department,site,required_agents\n"
        for body, words in (
                (header + "2026-12-08,09:00,hotel,shanghai,4\n"
                 "2026-12-08,9h30,hotel,shanghai,4\n", "line 3"),
                (header + "2026-03-29,02:30,hotel,shanghai,3\n",
                 "line 2: 2026-03-29 02:30 does not exist"),
                (header + "2026-12-08,09:00,nobody,shanghai,3\n",
                 "line 2: no department nobody"),
                ("date,department\n2026-12-08,hotel\n", "no start column")):
            resp = self.import_plan(body, status=400)
            self.assertIn(words, resp.json["error"]["message"])
        resp = self.app.put("/v1/shift-plans", b"{}",
                            headers={"Content-Type": "application/json"},
                            status=400)
        self.assertIn("text/csv", resp.json["error"]["message"])
        self.assertEqual([], self.app.get("/v1/shift-plans").json["slots"])


class TestAgentsAndAlerts(MonitoringApiTestCase):

    def test_counting_history_and_alert_firing_and_clearing(self):
        # 09:00-09:30 in Paris: 3 hotel agents at Shanghai planned.
        self.import_plan(
            "date,interval_start,department,site,required_agents\n"
            "2026-12-08,09:00,hotel,shanghai,3\n"
            "2026-12-08,09:30,hotel,shanghai,3\n")
        amy = self.broker.login("amy", client_id="tc-1")
        sam = self.broker.login("sam", client_id="tc-2")
        self.heartbeat(amy, 12)
        self.heartbeat(sam, 0)
        agents = self.app.get("/v1/agents").json["agents"]
        hotel = [a for a in agents if a["department"] == "hotel"][0]
        self.assertEqual(
            {"department": "hotel", "site": "shanghai", "active": 1,
             "idle": 1, "offline": 0, "expected": 3,
             "pools": [{"pool": "sh-agents", "active": 1, "idle": 1,
                        "offline": 0}]}, hotel)

        manager = self.broker.manager
        manager.count_agents(self.ctxt)
        # Active 1 of 3 planned: below 80% of the plan, pending first.
        changed = manager.evaluate_alerts(self.ctxt)
        self.assertIn(("open", "agents_below_plan"),
                      [(a, r["kind"]) for a, r in changed])
        alert = self.app.get("/v1/alerts?kind=agents_below_plan").json[
            "alerts"][0]
        self.assertEqual(("pending", "hotel@shanghai"),
                         (alert["state"], alert["subject"]))
        self.assertEqual({"active": 1, "expected": 3, "idle": 1,
                          "offline": 0, "threshold": 2.4}, alert["values"])

        # Two minutes later (amy's input is older than the active
        # interval now): firing.
        timeutils.advance_time_seconds(121)
        self.heartbeat(amy, 3)
        manager.count_agents(self.ctxt)
        manager.evaluate_alerts(self.ctxt)
        alert = self.app.get("/v1/alerts/%s" % alert["id"]).json["alert"]
        self.assertEqual("firing", alert["state"])
        self.assertIsNotNone(alert["fired_at"])
        firing = self.app.get("/v1/alerts?state=firing").json["alerts"]
        self.assertIn(alert["id"], [a["id"] for a in firing])

        # An operator acknowledges it; it stays firing.
        ack = self.app.post("/v1/alerts/%s/acknowledge" % alert["id"]).json[
            "alert"]
        self.assertEqual("firing", ack["state"])
        self.assertIsNotNone(ack["acknowledged_at"])
        self.app.post("/v1/alerts/%s/acknowledge" % alert["id"], status=409)

        # Both agents work, and the plan is corrected to 2: the alert
        # clears by itself.
        timeutils.advance_time_seconds(60)
        self.import_plan(
            "date,interval_start,department,site,required_agents\n"
            "2026-12-08,09:00,hotel,shanghai,2\n")
        for login in (amy, sam):
            self.heartbeat(login, 5)
        manager.count_agents(self.ctxt)
        manager.evaluate_alerts(self.ctxt)
        alert = self.app.get("/v1/alerts/%s" % alert["id"]).json["alert"]
        self.assertEqual("resolved", alert["state"])
        self.assertIsNotNone(alert["ended_at"])
        actions = [e["action"] for e in db.event_list(
            self.ctxt, {"target_id": alert["id"]})]
        self.assertEqual(sorted(["alert.firing", "alert.resolved",
                                 "alert.acknowledge"]), sorted(actions))

        # The history: one row a minute of the totals, with the plan.
        history = self.app.get(
            "/v1/agents/history?department=hotel&site=shanghai&since="
            "2026-12-08T08:00:00Z").json["history"]
        self.assertEqual([(1, 1, 3), (1, 1, 3), (2, 0, 2)],
                         [(h["active"], h["idle"], h["expected"])
                          for h in history])
        pools = self.app.get(
            "/v1/agents/history?pool=sh-agents&since="
            "2026-12-08T08:00:00Z").json["history"]
        self.assertEqual(3, len(pools))
        self.assertIsNone(pools[0]["expected"])

    def test_offline_agents_and_history_purge(self):
        amy = self.broker.login("amy", client_id="tc-1")
        self.heartbeat(amy, 4)
        timeutils.advance_time_seconds(600)
        self.broker.manager.mark_clients_offline(self.ctxt)
        agents = self.app.get("/v1/agents?department=hotel").json["agents"]
        self.assertEqual([(0, 0, 1)], [(a["active"], a["idle"],
                                        a["offline"]) for a in agents])
        self.broker.manager.count_agents(self.ctxt)
        self.assertEqual(1, len(db.agent_counts_list(
            self.ctxt, NOW - datetime.timedelta(days=1))))
        # A second conductor counting the same minute writes nothing.
        self.assertFalse(self.broker.manager.count_agents(self.ctxt)[2])
        timeutils.advance_time_delta(datetime.timedelta(days=15))
        # The totals and the pool row.
        self.assertEqual(2, db.agent_counts_purge(
            self.ctxt, timeutils.utcnow() - datetime.timedelta(days=14)))


class TestThinClientHealth(MonitoringApiTestCase):

    def health(self, client_id, failures, error=None, status=204):
        return self.app.post_json("/v1/client/heartbeat", {
            "client_id": client_id, "health": {
                "display": "ok", "network": "1000baseT",
                "last_connection_error": error,
                "connection_failures": failures}}, status=status,
            expect_errors=status >= 400)

    def test_repeated_connection_failures_flag_the_client_faulty(self):
        self.app.post_json("/v1/thin-clients", {
            "client_id": "tc-h1", "model": "t640", "site": "shanghai"})
        self.health("tc-h1", 1, "RDP: connection refused")
        client = self.app.get("/v1/thin-clients/tc-h1").json["thin_client"]
        self.assertEqual(("online", None), (client["status"],
                                            client["fault_reason"]))
        self.assertEqual("1000baseT", client["health"]["network"])
        self.health("tc-h1", 3, "RDP: connection refused")
        client = self.app.get("/v1/thin-clients/tc-h1").json["thin_client"]
        self.assertEqual(("faulty", "3 connections failed in a row: RDP: "
                          "connection refused"),
                         (client["status"], client["fault_reason"]))
        listed = self.app.get(
            "/v1/thin-clients?site=shanghai&model=t640&status=faulty"
        ).json["thin_clients"]
        self.assertEqual(["tc-h1"], [c["client_id"] for c in listed])
        # A connection that works: online again.
        self.health("tc-h1", 0)
        client = self.app.get("/v1/thin-clients/tc-h1").json["thin_client"]
        self.assertEqual(("online", None), (client["status"],
                                            client["fault_reason"]))
        # A new client registering faulty at its first heartbeat.
        self.health("tc-h2", 5)
        client = self.app.get("/v1/thin-clients/tc-h2").json["thin_client"]
        self.assertEqual("faulty", client["status"])
        resp = self.health("tc-h2", -1, status=400)
        self.assertIn("connection_failures", resp.json["error"]["message"])
