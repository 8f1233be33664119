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

"""Roll-outs and maintenance windows in the portal, in Chromium.

Against the all-in-one broker (noauth API, in-process conductor, fake
cloud), as tests/functional/portal/test_browser.py; the conductor's pool
manager (which runs the roll-outs and opens the windows) is run by the
test. Screenshots: portal-windows, portal-window-confirm,
portal-rollouts, portal-rollout-confirm, portal-rollout,
portal-rollout-paused, portal-rollout-reader-refused,
portal-windows-draining, portal-rollouts-zh.
"""

import datetime
import zoneinfo

from oslo_utils import timeutils
from playwright.sync_api import expect

from tests.fixtures import browser as browser_fixture
from tests.functional.portal import test_browser

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


class RolloutTestCase(test_browser.BrowserTestCase):

    def upkeep(self, times=1):
        for _ in range(times):
            self.broker.manager.pool_upkeep(self.broker.ctxt)

    def rollout(self, rollout_id):
        return self.api_get("/v1/rollouts/%s" % rollout_id)["rollout"]

    def windows(self):
        return self.api_get("/v1/maintenance-windows")["maintenance_windows"]

    def csrf_token(self, page):
        return page.get_attribute("form[action='/signout'] "
                                  "input[name=csrf_token]", "value")


class TestWindows(RolloutTestCase):

    def test_operator_creates_windows_and_deletes_one(self):
        sh = self.pool_by_name("sh-agents")
        page = self.sign_in("operator")
        page.click("header nav >> text=Maintenance")
        page.click("#maintenance-tabs >> text=Maintenance windows")
        page.wait_for_url(self.portal.url + "/maintenance-windows")
        self.assertIn("No maintenance windows match.",
                      page.inner_text("#windows"))
        # Recurring, of a site, in the viewer's zone (the script fills
        # it in), draining.
        self.assertEqual("Asia/Shanghai", page.input_value("#w-tz"))
        page.fill("#w-name", "saturday-night")
        page.check("#w-scope-site")
        page.select_option("#w-site", "shanghai")
        page.fill("#w-cron", "0 22 * * sat")
        page.fill("#w-duration", "240")
        page.check("#w-drain")
        self.browser.screenshot(page, "portal-window-new")
        self.assertEqual([], browser_fixture.axe_violations(page))
        page.focus("#window-form button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_selector("form.confirm")
        question = page.inner_text(".question")
        self.assertIn("saturday-night", question)
        self.assertIn("every pool of site shanghai", question)
        self.assertIn("0 22 * * sat (Asia/Shanghai)", question)
        self.assertIn("no new logins", question)
        self.browser.screenshot(page, "portal-window-confirm")
        self.assertIn("Maintenance window saturday-night created",
                      self.confirm(page))
        [window] = self.windows()
        self.assertEqual(
            ("shanghai", None, "0 22 * * sat", "Asia/Shanghai", 240, True),
            (window["site"], window["pool_id"], window["cron"],
             window["timezone"], window["duration_minutes"],
             window["drain"]))
        row = page.locator("#windows tr[data-window='saturday-night']")
        self.assertIn("site shanghai", row.inner_text())
        # Its next opening, in the viewer's time: Saturday 22:00.
        opens = row.locator("time").first
        self.assertEqual(window["opens_at"], opens.get_attribute("datetime"))
        self.assertIn("22:00", opens.inner_text())

        # One-off, of a pool, at the viewer's (Shanghai) time.
        start = (timeutils.utcnow() + datetime.timedelta(days=1)).replace(
            tzinfo=datetime.timezone.utc, second=0, microsecond=0)
        page.fill("#w-name", "sh-once")
        page.select_option("#w-pool", sh["id"])
        page.check("#w-kind-once")
        page.fill("#w-starts", start.astimezone(SHANGHAI).strftime(
            "%Y-%m-%dT%H:%M"))
        page.fill("#w-ends", (start + datetime.timedelta(hours=2))
                  .astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M"))
        page.focus("#window-form button[type=submit]")
        page.keyboard.press("Enter")
        self.assertIn("Maintenance window sh-once created",
                      self.confirm(page))
        once = [w for w in self.windows() if w["name"] == "sh-once"][0]
        self.assertEqual((sh["id"], None, False),
                         (once["pool_id"], once["cron"], once["drain"]))
        self.assertEqual(start.strftime("%Y-%m-%dT%H:%M"),
                         once["starts_at"][:16])
        self.assertEqual(2, page.locator("#windows tbody tr[data-window]")
                         .count())
        self.browser.screenshot(page, "portal-windows")
        self.assertEqual([], browser_fixture.axe_violations(page))

        # A bad cron: the API's message, nothing created.
        page.fill("#w-name", "bad")
        page.select_option("#w-pool", sh["id"])
        page.fill("#w-cron", "61 * * * *")
        page.focus("#window-form button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_selector("form.confirm")
        page.click("form.confirm button[type=submit]")
        page.wait_for_selector(".flash-error")
        self.assertIn("400", page.inner_text(".flash-error"))
        self.assertEqual(2, len(self.windows()))

        # Delete, confirmed.
        page.click("#windows tr[data-window='sh-once'] "
                   "button[data-action=delete]")
        page.wait_for_selector("form.confirm.danger")
        self.assertIn("sh-once", page.inner_text(".question"))
        self.assertIn("Maintenance window sh-once deleted",
                      self.confirm(page))
        self.assertEqual(["saturday-night"],
                         [w["name"] for w in self.windows()])
        self.assertEqual(0, page.locator(
            "#windows tr[data-window='sh-once']").count())

    def test_an_open_draining_window_is_shown(self):
        now = timeutils.utcnow()
        self.broker.app.post_json("/v1/maintenance-windows", {
            "name": "nt-now", "pool_id": "nt-agents", "drain": True,
            "starts_at": (now - datetime.timedelta(minutes=5)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"),
            "ends_at": (now + datetime.timedelta(hours=1)).strftime(
                "%Y-%m-%dT%H:%M:%SZ")}, status=201)
        self.upkeep()
        nt = self.pool_by_name("nt-agents")
        self.assertIsNotNone(nt["draining_until"])
        page = self.sign_in("reader")
        page.goto(self.portal.url + "/maintenance-windows")
        row = page.locator("#windows tr[data-window='nt-now']")
        self.assertEqual("yes", row.get_attribute("data-open"))
        self.assertEqual("draining", row.locator(
            "[data-field=open] .badge").inner_text())
        banner = page.inner_text("#draining-now")
        self.assertIn("nt-agents", banner)
        self.assertNotIn("sh-agents", banner)
        self.browser.screenshot(page, "portal-windows-draining")
        self.assertEqual([], browser_fixture.axe_violations(page))


class TestRollouts(RolloutTestCase):

    def test_operator_starts_pauses_resumes_and_rolls_back(self):
        sh = self.pool_by_name("sh-agents")
        old_image = sh["image"]
        page = self.sign_in("operator")
        page.goto(self.portal.url + "/rollouts")
        self.assertIn("No roll-outs match.", page.inner_text("#rollouts"))
        page.select_option("#r-pool", sh["id"])
        page.fill("#r-image", "win11-next")
        page.fill("#r-canary", "50")
        page.fill("#r-wave", "1")
        page.focus("#rollout-form button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_selector("form.confirm.danger")
        question = page.inner_text(".question")
        self.assertIn("sh-agents from image %s to win11-next" % old_image,
                      question)
        self.assertIn("50.0% first", question)
        self.browser.screenshot(page, "portal-rollout-confirm")
        message = self.confirm(page)
        self.assertIn("Roll-out of pool sh-agents to image win11-next "
                      "started", message)
        rollout_id = page.url.rsplit("/", 1)[1]
        rollout = self.rollout(rollout_id)
        self.assertEqual(("running", "canary", "win11-next", 0.5, 1,
                          "portal-operator"),
                         (rollout["state"], rollout["phase"],
                          rollout["image"], rollout["canary_share"],
                          rollout["wave_size"], rollout["created_by"]))
        self.assertEqual("running", page.inner_text(
            "#rollout-title [data-rollout-state]"))
        self.assertEqual(str(rollout["progress"]["total"]), page.inner_text(
            "#counts [data-count=total]"))
        self.browser.screenshot(page, "portal-rollout")
        self.assertEqual([], browser_fixture.axe_violations(page))

        # Pause, confirmed; the conductor rebuilds nothing more.
        page.click("button[data-action=pause]")
        page.wait_for_selector("form.confirm")
        self.assertIn("Rebuilds under way finish",
                      page.inner_text(".question"))
        self.assertIn("Roll-out of pool sh-agents paused",
                      self.confirm(page))
        self.assertEqual("paused", self.rollout(rollout_id)["state"])
        self.assertEqual("paused", page.inner_text(
            "#rollout-title [data-rollout-state]"))
        self.assertEqual(0, page.locator(
            "button[data-action=pause]").count())
        self.browser.screenshot(page, "portal-rollout-paused")
        self.upkeep(3)
        self.assertEqual(0, self.rollout(rollout_id)["progress"]["new"])

        # Resume; the page follows the conductor by itself.
        page.click("button[data-action=resume]")
        self.assertIn("Roll-out of pool sh-agents resumed",
                      self.confirm(page))
        self.assertEqual("running", self.rollout(rollout_id)["state"])
        page.evaluate("window.__same_page = true")
        for _ in range(20):
            self.upkeep()
            if self.rollout(rollout_id)["state"] == "completed":
                break
        rollout = self.rollout(rollout_id)
        self.assertEqual("completed", rollout["state"])
        expect(page.locator("#rollout-title [data-rollout-state]")
               ).to_have_text("completed", timeout=15000)
        expect(page.locator("#counts [data-count=new]")).to_have_text(
            str(rollout["progress"]["new"]), timeout=15000)
        expect(page.locator("#rollout-changed")).to_be_visible()
        self.assertTrue(page.evaluate("window.__same_page === true"))
        page.click("#reload")
        page.wait_for_selector("#rebuilds tbody tr[data-state=done]")
        rebuilt = self.api_get("/v1/rollouts/%s/desktops" %
                               rollout_id)["desktops"]
        self.assertEqual(len(rebuilt), page.locator(
            "#rebuilds tbody tr[data-state]").count())

        # The list: state, progress, and a roll-back, confirmed.
        page.goto(self.portal.url + "/rollouts")
        row = page.locator("#rollouts tr[data-rollout='%s']" % rollout_id)
        self.assertEqual("completed", row.get_attribute("data-state"))
        self.assertEqual("100", row.locator(
            "meter[data-field=progress]").get_attribute("value"))
        self.browser.screenshot(page, "portal-rollouts")
        self.assertEqual([], browser_fixture.axe_violations(page))
        row.locator("button[data-action=rollback]").click()
        page.wait_for_selector("form.confirm.danger")
        self.assertIn("back to image %s" % old_image,
                      page.inner_text(".question"))
        self.assertIn("Pool sh-agents is rolling back to image %s" %
                      old_image, self.confirm(page))
        self.assertEqual("rolling_back", self.rollout(rollout_id)["state"])
        self.assertEqual(old_image, self.pool_by_name("sh-agents")["image"])

    def test_a_refused_start_says_why(self):
        sh = self.pool_by_name("sh-agents")
        page = self.sign_in("operator")
        page.goto(self.portal.url + "/rollouts")
        page.select_option("#r-pool", sh["id"])
        page.fill("#r-image", sh["image"])
        page.focus("#rollout-form button[type=submit]")
        page.keyboard.press("Enter")
        message = self.confirm(page)
        self.assertIn("409", message)
        self.assertEqual([], self.api_get("/v1/rollouts")["rollouts"])

    def test_reader_sees_no_buttons_and_is_refused(self):
        rollout = self.broker.app.post_json(
            "/v1/pools/sh-agents/rollouts", {"image": "win11-next"},
            status=201).json["rollout"]
        self.broker.app.post_json("/v1/maintenance-windows", {
            "name": "saturday-night", "site": "shanghai",
            "cron": "0 22 * * sat", "duration_minutes": 60}, status=201)
        page = self.sign_in("reader")
        for path in ("/rollouts", "/rollouts/" + rollout["id"],
                     "/maintenance-windows"):
            page.goto(self.portal.url + path)
            self.assertEqual(
                0, page.locator("main form[method=post]").count(), path)
            self.assertEqual(0, page.locator(
                "main button[data-action]").count(), path)
        self.assertIn("saturday-night", page.inner_text("#windows"))
        token = self.csrf_token(page)
        browser_fixture.force_post(
            page, "/rollouts/%s/action" % rollout["id"],
            {"csrf_token": token, "confirmed": "1", "action": "pause",
             "next": "/rollouts"})
        page.wait_for_selector(".flash-error")
        refusal = page.inner_text(".flash-error")
        self.assertIn("403 Forbidden", refusal)
        self.assertIn("vdi_broker:rollouts:pause", refusal)
        self.assertEqual("running", self.rollout(rollout["id"])["state"])
        self.browser.screenshot(page, "portal-rollout-reader-refused")
        browser_fixture.force_post(page, "/rollouts", {
            "csrf_token": token, "confirmed": "1",
            "pool_id": "nt-agents", "image": "win11-next"})
        page.wait_for_selector(".flash-error")
        self.assertIn("vdi_broker:rollouts:create",
                      page.inner_text(".flash-error"))
        window = self.windows()[0]
        browser_fixture.force_post(
            page, "/maintenance-windows/%s/delete" % window["id"],
            {"csrf_token": token, "confirmed": "1"})
        page.wait_for_selector(".flash-error")
        self.assertIn("vdi_broker:maintenance_windows:delete",
                      page.inner_text(".flash-error"))
        browser_fixture.force_post(page, "/maintenance-windows", {
            "csrf_token": token, "confirmed": "1", "name": "sneaky",
            "scope": "site", "site": "nantong", "cron": "0 1 * * *",
            "duration_minutes": "60"})
        page.wait_for_selector(".flash-error")
        self.assertIn("vdi_broker:maintenance_windows:create",
                      page.inner_text(".flash-error"))
        self.assertEqual(["saturday-night"],
                         [w["name"] for w in self.windows()])
        self.assertEqual(1, len(self.api_get("/v1/rollouts")["rollouts"]))

    def test_posts_without_the_token_are_refused(self):
        rollout = self.broker.app.post_json(
            "/v1/pools/sh-agents/rollouts", {"image": "win11-next"},
            status=201).json["rollout"]
        page = self.sign_in("admin")
        token = self.csrf_token(page)
        request = page.context.request
        for path, form in (
                ("/rollouts/%s/action" % rollout["id"],
                 {"confirmed": "1", "action": "pause"}),
                ("/rollouts", {"confirmed": "1", "pool_id": "nt-agents",
                               "image": "win11-next"}),
                ("/maintenance-windows", {
                    "confirmed": "1", "name": "w", "scope": "site",
                    "site": "nantong", "cron": "0 1 * * *",
                    "duration_minutes": "60"})):
            for given in (None, "wrong-" + token):
                fields = dict(form)
                if given is not None:
                    fields["csrf_token"] = given
                response = request.post(self.portal.url + path,
                                        form=fields)
                self.assertEqual(403, response.status, path)
                self.assertIn("CSRF", response.text())
        self.assertEqual("running", self.rollout(rollout["id"])["state"])
        self.assertEqual(1, len(self.api_get("/v1/rollouts")["rollouts"]))
        self.assertEqual([], self.windows())

    def test_in_chinese(self):
        self.broker.app.post_json("/v1/pools/sh-agents/rollouts",
                                  {"image": "win11-next"}, status=201)
        page = self.sign_in("operator", locale="zh-CN",
                            extra_http_headers={
                                "Accept-Language": "zh-CN,zh;q=0.9"})
        page.goto(self.portal.url + "/rollouts")
        self.assertEqual("维护：镜像滚动更新", page.inner_text("h1"))
        self.assertIn("暂停", page.inner_text("#rollouts"))
        self.browser.screenshot(page, "portal-rollouts-zh")
        self.assertEqual([], browser_fixture.axe_violations(page))
        page.goto(self.portal.url + "/maintenance-windows")
        self.assertEqual("维护：维护窗口", page.inner_text("h1"))
        self.assertEqual([], browser_fixture.axe_violations(page))


class TestPages(RolloutTestCase):

    def test_rollouts_and_windows_a_page_at_a_time(self):
        for pool in ("sh-agents", "nt-agents", "vip-desktops"):
            self.broker.app.post_json("/v1/pools/%s/rollouts" % pool,
                                      {"image": "win11-next"}, status=201)
        for name in ("w-a", "w-b", "w-c"):
            self.broker.app.post_json("/v1/maintenance-windows", {
                "name": name, "site": "shanghai", "cron": "0 1 * * *",
                "duration_minutes": 30}, status=201)
        self.flags(group="portal", page_size=2)
        page = self.sign_in("reader")
        for path, rows, key in (
                ("/rollouts", "#rollouts tbody tr[data-rollout]",
                 "data-rollout"),
                ("/maintenance-windows", "#windows tbody tr[data-window]",
                 "data-window")):
            page.goto(self.portal.url + path)
            seen = []
            while True:
                found = page.locator(rows)
                self.assertLessEqual(found.count(), 2, path)
                seen.extend(found.nth(i).get_attribute(key)
                            for i in range(found.count()))
                following = page.locator("nav.pager a[rel=next]")
                if not following.count():
                    break
                following.click()
                page.wait_for_load_state()
            self.assertEqual(3, len(set(seen)), path)
            self.assertEqual(1, page.locator(
                "nav.pager >> text=First page").count(), path)
        self.assertEqual(["w-a", "w-b", "w-c"], seen)
