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

"""The overview's active agents against the shift plan, in Chromium.

Against the all-in-one broker, as tests/functional/portal/
test_browser.py: a department and a shift plan for now through the
API, agents logged in with thin-client heartbeats (input makes them
active), the conductor's one-minute count for the history. Screenshots:
portal-overview-agents, portal-overview-agents-zh.
"""

import datetime

from oslo_utils import timeutils
from playwright.sync_api import expect

from tests.fixtures import browser as browser_fixture
from tests.functional.portal import test_browser
from vdi_broker.db import api as db

HOTEL = {"name": "hotel", "priority": 10,
         "rules": {"groups": ["hotel-agents"]}}


class TestAgentsAgainstThePlan(test_browser.BrowserTestCase):

    def setUp(self):
        super().setUp()
        self.broker.flags(group="client_session",
                          register_unknown_clients=True)
        app = self.broker.app
        app.post_json("/v1/departments", HOTEL, status=201)
        # The current slot and the next one (UTC, the default zone): 3
        # hotel agents expected at Shanghai.
        now = timeutils.utcnow()
        start = now.replace(minute=now.minute - now.minute % 30, second=0,
                            microsecond=0)
        lines = ["date,slot_start,department,site,expected"]
        for n in range(2):
            slot = start + datetime.timedelta(minutes=30 * n)
            lines.append("%s,%s,hotel,shanghai,3" % (
                slot.date().isoformat(), slot.strftime("%H:%M")))
        app.put("/v1/shift-plans", ("\n".join(lines) + "\n").encode(),
                headers={"Content-Type": "text/csv"}, status=200)
        self.amy = self.broker.login("amy", client_id="tc-sh-1")
        self.sam = self.broker.login("sam", client_id="tc-sh-2")
        self.heartbeat(self.amy, 12)
        self.heartbeat(self.sam, 0)
        # Ten minutes ago (written as the conductor does), and now.
        earlier = now.replace(second=0, microsecond=0) - \
            datetime.timedelta(minutes=10)
        db.agent_counts_record(self.broker.ctxt, earlier, [
            {"department": "hotel", "site": "shanghai", "pool": "",
             "active": 0, "idle": 2, "offline": 0, "expected": 3}])
        self.broker.manager.count_agents(self.broker.ctxt)

    def heartbeat(self, login, input_events):
        body = login.json
        self.broker.app.post_json(
            "/v1/client/heartbeat",
            {"client_id": body["session"]["client_id"],
             "session_id": body["session"]["id"],
             "input_events": input_events},
            headers={"X-Session-Token": body["session"]["token"]},
            status=204)

    def team(self):
        agents = self.api_get("/v1/agents", department="hotel")["agents"]
        self.assertEqual(1, len(agents))
        return agents[0]

    def test_overview_shows_the_api_figures_and_refreshes(self):
        page = self.sign_in("reader")
        team = self.team()
        self.assertEqual((1, 1, 3), (team["active"], team["idle"],
                                     team["expected"]))
        row = page.locator("#agents-table tr[data-team='hotel@shanghai']")
        shown = {key: row.locator("[data-field=%s]" % key).inner_text()
                 for key in ("active", "idle", "offline", "expected")}
        self.assertEqual({key: str(team[key]) for key in shown}, shown)
        bar = row.locator("meter[data-field=bar]")
        self.assertEqual("1", bar.get_attribute("value"))
        self.assertEqual("3", bar.get_attribute("max"))
        self.assertIn("short", row.get_attribute("class"))
        self.assertEqual("1", page.inner_text(
            "#agents-table [data-bind='agents.active']"))
        self.assertEqual("3", page.inner_text(
            "#agents-table [data-bind='agents.expected']"))

        # The chart: the history's two minutes, active and expected.
        history = self.api_get("/v1/agents/history")["history"]
        self.assertEqual(2, len(history))
        for line in ("active", "expected"):
            points = page.get_attribute(
                "#agents-chart polyline[data-chart=%s]" % line, "points")
            self.assertEqual(2, len(points.split()), line)
        self.assertEqual("3", page.text_content(
            "#agents-chart text[data-chart=top]"))
        self.assertEqual("1", page.inner_text(
            "[data-bind='agents.chart.last_active']"))
        self.assertEqual("3", page.inner_text(
            "[data-bind='agents.chart.last_expected']"))
        self.browser.screenshot(page, "portal-overview-agents")
        self.assertEqual([], browser_fixture.axe_violations(page))

        # Sam types: two active, the page follows by itself.
        page.evaluate("window.__same_page = true")
        self.heartbeat(self.sam, 7)
        self.assertEqual(2, self.team()["active"])
        expect(row.locator("[data-field=active]")).to_have_text(
            "2", timeout=15000)
        expect(row.locator("[data-field=idle]")).to_have_text(
            "0", timeout=15000)
        self.assertEqual("2", bar.evaluate("el => String(el.value)"))
        self.assertTrue(page.evaluate("window.__same_page === true"))

    def test_in_chinese(self):
        page = self.sign_in("operator", locale="zh-CN",
                            extra_http_headers={
                                "Accept-Language": "zh-CN,zh;q=0.9"})
        self.assertEqual("在岗坐席与排班对比",
                         page.inner_text("#agents-heading"))
        row = page.locator("#agents-table tr[data-team='hotel@shanghai']")
        self.assertEqual("3", row.locator(
            "[data-field=expected]").inner_text())
        self.browser.screenshot(page, "portal-overview-agents-zh")
        self.assertEqual([], browser_fixture.axe_violations(page))

    def plan(self, *teams):
        """A plan of the current and next slots for ``teams``.

        (department, site, expected); its days replace the stored ones.
        """
        now = timeutils.utcnow()
        start = now.replace(minute=now.minute - now.minute % 30, second=0,
                            microsecond=0)
        lines = ["date,slot_start,department,site,expected"]
        for n in range(2):
            slot = start + datetime.timedelta(minutes=30 * n)
            for department, site, expected in teams:
                lines.append("%s,%s,%s,%s,%d" % (
                    slot.date().isoformat(), slot.strftime("%H:%M"),
                    department, site, expected))
        self.broker.app.put(
            "/v1/shift-plans", ("\n".join(lines) + "\n").encode(),
            headers={"Content-Type": "text/csv"}, status=200)

    def test_refresh_adds_and_removes_teams(self):
        page = self.sign_in("reader")
        rows = page.locator("#agents-table tbody tr[data-team]")
        self.assertEqual(["hotel@shanghai"], rows.evaluate_all(
            "els => els.map(e => e.getAttribute('data-team'))"))
        page.evaluate("window.__same_page = true")

        # A department that appears after the page loaded: planned at
        # Nantong, nobody there yet.
        self.broker.app.post_json("/v1/departments", {
            "name": "flight", "priority": 20,
            "rules": {"groups": ["flight-agents"]}}, status=201)
        self.plan(("hotel", "shanghai", 3), ("flight", "nantong", 6))
        flight = page.locator("#agents-table tr[data-team='flight@nantong']")
        expect(flight).to_have_count(1, timeout=15000)
        self.assertEqual(
            ("flight", "nantong", "0", "6"),
            (flight.locator("th").inner_text(),
             flight.locator("td").first.inner_text(),
             flight.locator("[data-field=active]").inner_text(),
             flight.locator("[data-field=expected]").inner_text()))
        self.assertIn("short", flight.get_attribute("class"))
        self.assertEqual("6", flight.locator(
            "meter[data-field=bar]").get_attribute("max"))
        expect(page.locator(
            "#agents-table [data-bind='agents.expected']")).to_have_text(
            "9", timeout=15000)
        self.assertEqual(["flight@nantong", "hotel@shanghai"],
                         rows.evaluate_all(
                             "els => els.map("
                             "e => e.getAttribute('data-team'))"))
        self.browser.screenshot(page, "portal-overview-team-added")
        self.assertEqual([], browser_fixture.axe_violations(page))

        # The department is deleted (its plan with it): its row goes.
        self.broker.app.delete("/v1/departments/flight", status=204)
        self.assertEqual(["hotel@shanghai"], [
            "%s@%s" % (t["department"], t["site"])
            for t in self.api_get("/v1/agents")["agents"]])
        expect(flight).to_have_count(0, timeout=15000)
        self.assertEqual(1, rows.count())
        expect(page.locator(
            "#agents-table [data-bind='agents.expected']")).to_have_text(
            "3", timeout=15000)
        self.assertTrue(page.evaluate("window.__same_page === true"))
