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

"""The alerts page and the overview's firing alerts, in Chromium.

Against the all-in-one broker, as tests/functional/portal/
test_browser.py. Alerts are opened through the storage layer (as the
conductor's monitor does), so that each test has the alerts it reads.
Screenshots: portal-overview-alerts, portal-alerts, portal-alert-confirm,
portal-alert-acknowledged, portal-alerts-reader-refused, portal-alerts-zh.
"""

import datetime

from playwright.sync_api import expect

from tests.fixtures import browser as browser_fixture
from tests.functional.portal import test_browser
from vdi_broker.db import api as db


class AlertsTestCase(test_browser.BrowserTestCase):

    def open_alert(self, kind="boots_failing", subject="sh-agents",
                   state="firing", values=None, **extra):
        return db.alert_open(self.broker.ctxt, dict(
            {"kind": kind, "subject": subject, "state": state,
             "values": values if values is not None else {"failures": 3}},
            **extra))

    def alert(self, alert_id):
        return self.api_get("/v1/alerts/%s" % alert_id)["alert"]

    def csrf_token(self, page):
        return page.get_attribute("form[action='/signout'] "
                                  "input[name=csrf_token]", "value")


class TestAlerts(AlertsTestCase):

    def test_overview_lists_firing_alerts_and_an_operator_acknowledges(self):
        boots = self.open_alert(values={"failures": 3, "threshold": 2})
        logins = self.open_alert(kind="login_failures", subject="all",
                                 values={"failures": 41, "threshold": 20})
        pending = self.open_alert(kind="agents_below_plan",
                                  subject="hotel", state="pending",
                                  values={"active": 12, "planned": 30})
        resolved = self.open_alert(kind="nova_errors", subject="nova",
                                   values={"errors": 5})
        db.alert_update(self.broker.ctxt, resolved["id"], "firing",
                        {"state": "resolved"})

        page = self.sign_in("operator", timezone_id="Asia/Shanghai")
        firing = self.api_get("/v1/alerts", state="firing")["alerts"]
        self.assertEqual({boots["id"], logins["id"]},
                         {a["id"] for a in firing})
        self.assertEqual(str(len(firing)), page.inner_text("#firing-count"))
        listed = page.locator("#firing-alerts li[data-alert]")
        self.assertEqual(2, listed.count())
        self.assertIn("boots_failing: sh-agents", page.inner_text(
            "#firing-alerts li[data-alert='%s']" % boots["id"]))
        self.assertEqual(0, page.locator(
            "#firing-alerts li[data-alert='%s']" % pending["id"]).count())
        self.browser.screenshot(page, "portal-overview-alerts")
        self.assertEqual([], browser_fixture.axe_violations(page))

        # The overview follows by itself: a new firing alert shows up.
        page.evaluate("window.__same_page = true")
        slow = self.open_alert(kind="boots_slow", subject="nt-agents",
                               values={"seconds": 600})
        expect(page.locator("#firing-count")).to_have_text(
            "3", timeout=15000)
        expect(page.locator("#firing-alerts li[data-alert='%s']" %
                            slow["id"])).to_have_count(1, timeout=15000)
        self.assertTrue(page.evaluate("window.__same_page === true"))

        # Its link leads to the alerts page, firing ones by default.
        page.click("header nav >> text=Alerts")
        page.wait_for_url(self.portal.url + "/alerts")
        self.assertEqual("firing", page.input_value("#f-state"))
        rows = page.locator("#alerts tbody tr[data-alert]")
        self.assertEqual(3, rows.count())
        self.assertEqual(0, page.locator(
            "tr[data-alert='%s']" % pending["id"]).count())
        row = page.locator("tr[data-alert='%s']" % boots["id"])
        self.assertIn("sh-agents", row.locator(
            "[data-field=subject]").inner_text())
        self.assertEqual("firing", row.locator(
            "[data-field=state]").inner_text())
        values = row.locator("[data-field=values]").inner_text()
        self.assertIn("failures: 3", values)
        self.assertIn("threshold: 2", values)
        # The start in the viewer's zone (Shanghai, UTC+8).
        started = self.alert(boots["id"])["fired_at"]
        cell = row.locator("[data-field=started] time")
        self.assertEqual(started, cell.get_attribute("datetime"))
        shown = cell.inner_text()
        self.assertNotIn("UTC", shown)
        utc = datetime.datetime.fromisoformat(started.replace("Z", "+00:00"))
        self.assertIn("%02d:%02d" % ((utc.hour + 8) % 24, utc.minute), shown)
        self.browser.screenshot(page, "portal-alerts")
        self.assertEqual([], browser_fixture.axe_violations(page))

        # Acknowledged, once confirmed.
        row.locator("button[data-action=acknowledge]").click()
        page.wait_for_selector("form.confirm")
        self.assertIn("boots_failing sh-agents", page.inner_text(".question"))
        self.browser.screenshot(page, "portal-alert-confirm")
        self.assertIsNone(self.alert(boots["id"])["acknowledged_by"])
        message = self.confirm(page)
        self.assertIn("Alert boots_failing sh-agents acknowledged", message)
        self.assertIn("/alerts", page.url)
        acknowledged = self.alert(boots["id"])
        self.assertEqual("portal-operator", acknowledged["acknowledged_by"])
        self.assertIsNotNone(acknowledged["acknowledged_at"])
        self.assertEqual("firing", acknowledged["state"])
        row = page.locator("tr[data-alert='%s']" % boots["id"])
        self.assertIn("portal-operator", row.locator(
            "[data-field=acknowledged]").inner_text())
        self.assertEqual(acknowledged["acknowledged_at"], row.locator(
            "[data-field=acknowledged] time").get_attribute("datetime"))
        self.assertEqual(0, row.locator(
            "button[data-action=acknowledge]").count())
        self.browser.screenshot(page, "portal-alert-acknowledged")
        self.assertEqual([], browser_fixture.axe_violations(page))
        # The overview says who is on it.
        page.goto(self.portal.url + "/")
        self.assertIn("portal-operator", page.inner_text(
            "#firing-alerts li[data-alert='%s']" % boots["id"]))

    def test_filters_by_state_and_kind(self):
        self.open_alert()
        pending = self.open_alert(kind="agents_below_plan",
                                  subject="hotel", state="pending",
                                  values={"active": 12, "planned": 30})
        resolved = self.open_alert(kind="nova_errors", subject="nova",
                                   values={"errors": 5})
        db.alert_update(self.broker.ctxt, resolved["id"], "firing",
                        {"state": "resolved"})
        page = self.sign_in("reader")
        page.goto(self.portal.url + "/alerts")
        page.select_option("#f-state", "pending")
        page.click("#alert-filters button[type=submit]")
        page.wait_for_url("**/alerts?state=pending*")
        rows = page.locator("#alerts tbody tr[data-alert]")
        self.assertEqual(1, rows.count())
        self.assertEqual(pending["id"], rows.first.get_attribute(
            "data-alert"))
        self.assertIn("planned: 30", page.inner_text(
            "#alerts [data-field=values]"))
        page.goto(self.portal.url + "/alerts?state=resolved")
        row = page.locator("tr[data-alert='%s']" % resolved["id"])
        self.assertEqual(1, row.count())
        self.assertEqual(self.alert(resolved["id"])["ended_at"], row.locator(
            "[data-field=ended] time").get_attribute("datetime"))
        page.goto(self.portal.url + "/alerts?state=any&kind=nova_errors")
        self.assertEqual("nova_errors", page.input_value("#f-kind"))
        rows = page.locator("#alerts tbody tr[data-alert]")
        self.assertEqual(1, rows.count())
        self.assertEqual(resolved["id"], rows.first.get_attribute(
            "data-alert"))
        page.goto(self.portal.url + "/alerts?state=any")
        self.assertEqual(3, page.locator(
            "#alerts tbody tr[data-alert]").count())
        page.goto(self.portal.url + "/alerts?kind=boots_slow")
        self.assertIn("No alerts match", page.inner_text("#alerts"))


class TestAlertsRefused(AlertsTestCase):

    def test_reader_sees_no_acknowledge_button_and_is_refused(self):
        alert = self.open_alert()
        page = self.sign_in("reader")
        self.assertIn("boots_failing", page.inner_text("#firing-alerts"))
        page.goto(self.portal.url + "/alerts")
        self.assertEqual(1, page.locator(
            "tr[data-alert='%s']" % alert["id"]).count())
        self.assertEqual(0, page.locator("main form[method=post]").count())
        self.assertEqual(0, page.locator(
            "button[data-action=acknowledge]").count())
        browser_fixture.force_post(
            page, "/alerts/%s/acknowledge" % alert["id"],
            {"csrf_token": self.csrf_token(page), "confirmed": "1",
             "name": "boots_failing sh-agents", "next": "/alerts"})
        page.wait_for_selector(".flash-error")
        refusal = page.inner_text(".flash-error")
        self.assertIn("403 Forbidden", refusal)
        self.assertIn("vdi_broker:alerts:acknowledge", refusal)
        self.assertIsNone(self.alert(alert["id"])["acknowledged_by"])
        self.browser.screenshot(page, "portal-alerts-reader-refused")
        self.assertEqual([], browser_fixture.axe_violations(page))

    def test_acknowledge_without_the_token_is_refused(self):
        alert = self.open_alert()
        page = self.sign_in("operator")
        token = self.csrf_token(page)
        request = page.context.request
        url = self.portal.url + "/alerts/%s/acknowledge" % alert["id"]
        for given in (None, "wrong-" + token):
            fields = {"confirmed": "1"}
            if given is not None:
                fields["csrf_token"] = given
            response = request.post(url, form=fields)
            self.assertEqual(403, response.status)
            self.assertIn("CSRF", response.text())
        response = request.post(url, form={"confirmed": "1",
                                           "csrf_token": token},
                                headers={"Origin": "http://evil.example"})
        self.assertEqual(403, response.status)
        self.assertIsNone(self.alert(alert["id"])["acknowledged_by"])
        # With the token: done.
        response = request.post(url, form={"confirmed": "1",
                                           "csrf_token": token})
        self.assertEqual(200, response.status)
        self.assertEqual("portal-operator",
                         self.alert(alert["id"])["acknowledged_by"])

    def test_in_chinese(self):
        self.open_alert()
        page = self.sign_in("operator", locale="zh-CN",
                            extra_http_headers={
                                "Accept-Language": "zh-CN,zh;q=0.9"})
        self.assertIn("告警", page.inner_text("header nav"))
        self.assertEqual("正在触发的告警", page.inner_text("#alerts-heading"))
        page.goto(self.portal.url + "/alerts")
        self.assertEqual("告警", page.inner_text("h1"))
        self.assertEqual("确认", page.inner_text(
            "button[data-action=acknowledge]"))
        self.browser.screenshot(page, "portal-alerts-zh")
        self.assertEqual([], browser_fixture.axe_violations(page))
