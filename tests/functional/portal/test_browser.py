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

"""The portal in a real browser (Chromium driven by Playwright).

Against the all-in-one broker (noauth API, in-process conductor, fake
cloud) served over HTTP, and the portal on loopback: what an operator,
the helpdesk and a reader do, checked against the API. Screenshots of
every page go to VDI_PORTAL_SCREENSHOTS (see tests/fixtures/browser.py).
"""

import re

from playwright.sync_api import expect

from tests.fixtures import browser as browser_fixture
from tests.functional.portal import base


class BrowserTestCase(base.PortalTestCase):

    def setUp(self):
        super().setUp()
        self.browser = self.useFixture(browser_fixture.Browser())

    def sign_in(self, persona="admin", page=None, **kwargs):
        page = page or self.browser.new_page(**kwargs)
        page.goto(self.portal.url + "/")
        self.assertIn("/signin", page.url)
        page.check("#persona-%s" % persona)
        page.click("form[action='/signin'] button[type=submit]")
        page.wait_for_url(self.portal.url + "/")
        return page

    def confirm(self, page):
        """Answer the confirmation page; returns the flash's text."""
        page.wait_for_selector("form.confirm")
        page.click("form.confirm button[type=submit]")
        page.wait_for_selector(".flash")
        return page.inner_text(".flash")

    def pool_by_name(self, name):
        return self.api_get("/v1/pools", name=name)["pools"][0]


class TestOverview(BrowserTestCase):

    def test_overview_matches_the_api_and_refreshes(self):
        self.broker.login("amy", client_id="tc-sh-1")
        self.broker.login("bob", client_id="tc-nt-1")
        self.broker.login("amy", password="wrong", client_id="tc-sh-2",
                          status=401)
        page = self.sign_in("operator")

        pools = self.api_get("/v1/pools")["pools"]
        self.assertEqual(4, len(pools))
        for pool in pools:
            row = page.locator("tr[data-pool='%s']" % pool["id"])
            counts = pool["desktops"]
            expected = {
                "ready": counts["ready"],
                "target": min(pool["min_ready"], pool["max_size"]),
                "building": counts["building"],
                "failed": counts["error"] + counts["quarantined"],
                "assigned": counts["assigned"]}
            shown = {key: int(row.locator("[data-field=%s]" %
                                          key).inner_text())
                     for key in expected}
            self.assertEqual(expected, shown, pool["name"])

        logins = self.api_get("/v1/events", action="login")["events"]
        succeeded = sum(1 for e in logins if e["result"] == "success")
        failed = sum((e["detail"] or {}).get("count", 1)
                     for e in logins if e["result"] == "failure")
        self.assertEqual((2, 1), (succeeded, failed))
        self.assertEqual(str(succeeded), page.inner_text(
            "[data-bind='logins.succeeded']"))
        self.assertEqual(str(failed), page.inner_text(
            "[data-bind='logins.failed']"))
        self.assertIn("wrong_password", page.inner_text(
            "[data-bind-list='logins.failure_reasons']"))
        self.assertEqual("2", page.inner_text("[data-bind=sessions]"))
        self.browser.screenshot(page, "portal-overview")

        # A pool whose boots fail says why (the pool manager degrades it).
        sh = self.pool_by_name("sh-agents")
        self.broker.flags(group="fake_compute", failure_rate=1.0)
        self.broker.app.patch_json("/v1/pools/%s" % sh["id"],
                                   {"min_ready": 4})
        for _ in range(10):
            self.broker.manager.pool_upkeep(self.broker.ctxt)
            if self.pool_by_name("sh-agents")["status"] == "degraded":
                break
        self.assertEqual("degraded", self.pool_by_name("sh-agents")["status"])

        # The page refreshes itself: no navigation, new figures.
        page.evaluate("window.__same_page = true")
        self.broker.login("sam", client_id="tc-sh-3")
        # (The page's CSP forbids eval, so no wait_for_function here.)
        expect(page.locator("[data-bind=sessions]")).to_have_text(
            "3", timeout=15000)
        row = page.locator("tr[data-pool='%s']" % sh["id"])
        expect(row.locator("[data-field=target]")).to_have_text(
            "4", timeout=15000)
        expect(row.locator("[data-field=reasons]")).to_contain_text(
            "fake boot failure", timeout=15000)
        self.assertIn("boots failing", row.locator(
            "[data-field=reasons]").inner_text())
        self.assertTrue(page.evaluate("window.__same_page === true"))

    def test_refresh_adds_and_removes_pools(self):
        page = self.sign_in("reader")
        rows = page.locator("#pool-table tbody tr[data-pool]")
        self.assertEqual(4, rows.count())
        page.evaluate("window.__same_page = true")
        pool = self.broker.create_pool(
            "aa-overflow", min_ready=0, max_size=2,
            site="nantong").json["pool"]
        row = page.locator("#pool-table tr[data-pool='%s']" % pool["id"])
        expect(row).to_have_count(1, timeout=15000)
        self.assertEqual(5, rows.count())
        self.assertEqual("aa-overflow", row.locator("th a").inner_text())
        self.assertEqual("/pools/%s" % pool["id"],
                         row.locator("th a").get_attribute("href"))
        self.assertEqual("0", row.locator(
            "[data-field=target]").inner_text())
        self.assertEqual(pool["status"], row.locator(
            "[data-field=status] .badge").inner_text())
        self.assertEqual([p["id"] for p in self.api_get("/v1/pools")[
            "pools"]], rows.evaluate_all(
                "els => els.map(e => e.getAttribute('data-pool'))"))
        self.broker.app.delete("/v1/pools/%s" % pool["id"])
        expect(row).to_have_count(0, timeout=15000)
        self.assertEqual(4, rows.count())
        self.assertTrue(page.evaluate("window.__same_page === true"))

    def test_times_are_in_the_viewers_zone_and_chinese(self):
        self.broker.login("amy", client_id="tc-sh-1")
        page = self.sign_in("reader", locale="zh-CN",
                            timezone_id="Asia/Shanghai",
                            extra_http_headers={
                                "Accept-Language": "zh-CN,zh;q=0.9"})
        self.assertEqual("zh-CN", page.get_attribute("html", "lang"))
        self.assertIn("概览", page.inner_text("header nav"))
        event = self.api_get("/v1/events", action="login")["events"][0]
        page.goto(self.portal.url + "/events?action=login")
        cell = page.locator("time[datetime='%s']" % event["created_at"])
        # Rendered in UTC by the server, shown in Shanghai time (UTC+8).
        utc_hour = int(event["created_at"][11:13])
        local = cell.first.inner_text()
        self.assertNotIn("UTC", local)
        self.assertIn("%02d:" % ((utc_hour + 8) % 24), local)
        self.browser.screenshot(page, "portal-events-zh")
        # The switch back to English, kept in a cookie.
        page.select_option("#lang-switch", "en")
        page.wait_for_load_state()
        page.wait_for_selector("html[lang=en]")
        self.assertIn("Overview", page.inner_text("header nav"))


class TestActions(BrowserTestCase):

    def test_operator_reboots_a_desktop(self):
        self.broker.login("amy", client_id="tc-sh-1")
        desktop = self.api_get("/v1/desktops",
                               assigned_user="amy")["desktops"][0]
        page = self.sign_in("operator")
        page.goto(self.portal.url + "/desktops")
        page.fill("#f-user", "amy")
        page.click("form.filters button[type=submit]")
        page.click("a[href='/desktops/%s']" % desktop["id"])
        self.browser.screenshot(page, "portal-desktop")
        page.click("button[data-action=reboot]")
        self.browser.screenshot(page, "portal-confirm")
        message = self.confirm(page)
        self.assertIn("accepted", message)
        self.assertIn(("reboot", desktop["server_id"]),
                      self.broker.cloud.calls)
        events = self.api_get("/v1/events", action="desktop.reboot",
                              desktop_id=desktop["id"])["events"]
        self.assertEqual(1, len(events))
        self.assertEqual("portal-operator", events[0]["actor"])

    def test_helpdesk_logs_an_agent_off(self):
        self.broker.login("amy", client_id="tc-sh-1", seat="SH-2F-001")
        page = self.sign_in("helpdesk")
        page.click("header nav a[href='/users']")
        page.fill("#username", "amy")
        page.press("#username", "Enter")
        page.wait_for_selector("text=tc-sh-1")
        self.assertIn("SH-2F-001", page.inner_text("main"))
        self.browser.screenshot(page, "portal-users")
        page.click("form[action$='/logoff'] button")
        message = self.confirm(page)
        self.assertIn("amy logged off", message)
        sessions = self.api_get("/v1/sessions", username="amy")["sessions"]
        self.assertEqual(["closed"], [s["state"] for s in sessions])
        self.assertEqual("forced by operator", sessions[0]["close_reason"])

    def test_admin_reorders_allocators(self):
        page = self.sign_in("admin")
        page.goto(self.portal.url + "/allocators")
        before = page.locator("#chain tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.allocator)")
        self.assertEqual(["vip-personal", "training-seats",
                          "shanghai-agents", "nantong-agents",
                          "everyone-else"], before)
        self.browser.screenshot(page, "portal-allocators")
        page.click("button[aria-label='Move vip-personal down']")
        message = self.confirm(page)
        self.assertIn("New order", message)
        after = page.locator("#chain tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.allocator)")
        self.assertEqual(["training-seats", "vip-personal"], after[:2])
        api_order = [a["name"] for a in self.api_get(
            "/v1/allocators", sort_key="priority")["allocators"]]
        self.assertEqual(after, api_order)

    def test_explanation_with_reasons(self):
        page = self.sign_in("reader")
        page.goto(self.portal.url + "/explain")
        page.fill("#e-user", "amy")
        page.fill("#e-seat", "SH-TR-01")
        page.click("form.filters button[type=submit]")
        page.wait_for_selector("#trace")
        verdict = page.inner_text(".verdict")
        self.assertIn("training-seats", verdict)
        rows = page.locator("#trace tbody tr")
        self.assertIn("no match", rows.nth(0).inner_text())
        self.assertIn("selected", rows.nth(1).inner_text())
        self.browser.screenshot(page, "portal-explain")

    def test_allocator_rules_show_the_apis_validation(self):
        page = self.sign_in("admin")
        allocator = self.broker.allocators["shanghai-agents"]
        page.goto(self.portal.url + "/allocators/" + allocator["id"])
        page.fill("#rules", '{"colour": ["blue"]}')
        page.click("form.stacked button[type=submit]")
        message = self.confirm(page)
        self.assertIn("400", message)
        self.assertIn("colour", message)
        self.browser.screenshot(page, "portal-allocator-invalid")
        page.fill("#rules", "not json")
        page.click("form.stacked button[type=submit]")
        self.assertIn("not valid JSON", page.inner_text(".flash"))


class TestReader(BrowserTestCase):

    def test_reader_sees_no_action_and_is_refused(self):
        self.broker.login("amy", client_id="tc-sh-1")
        desktop = self.api_get("/v1/desktops",
                               assigned_user="amy")["desktops"][0]
        pool = self.pool_by_name("sh-agents")
        page = self.sign_in("reader")
        for path in ("/desktops/" + desktop["id"], "/pools/" + pool["id"],
                     "/allocators", "/users?username=amy", "/sessions",
                     "/thin-clients", "/seats"):
            page.goto(self.portal.url + path)
            self.assertEqual(
                0, page.locator("main form[method=post]").count(), path)
        # Forcing one: a POST with a valid CSRF token is refused by the
        # API's policy, and the page says so.
        token = page.get_attribute("form[action='/signout'] "
                                   "input[name=csrf_token]", "value")
        browser_fixture.force_post(
            page, "/desktops/%s/action" % desktop["id"],
            {"csrf_token": token, "action": "reboot", "confirmed": "1",
             "desktop_name": desktop["name"],
             "next": "/desktops/" + desktop["id"]})
        page.wait_for_selector(".flash-error")
        refusal = page.inner_text(".flash-error")
        self.assertIn("403 Forbidden", refusal)
        self.assertIn("vdi_broker:desktops:action:reboot", refusal)
        self.assertNotIn(("reboot", desktop["server_id"]),
                         self.broker.cloud.calls)
        self.browser.screenshot(page, "portal-reader-refused")


class TestCsrf(BrowserTestCase):

    def test_posts_without_the_token_are_refused(self):
        self.broker.login("amy", client_id="tc-sh-1")
        desktop = self.api_get("/v1/desktops",
                               assigned_user="amy")["desktops"][0]
        page = self.sign_in("admin")
        url = self.portal.url + "/desktops/%s/action" % desktop["id"]
        form = {"action": "reboot", "confirmed": "1"}
        token = page.get_attribute("form[action='/signout'] "
                                   "input[name=csrf_token]", "value")
        request = page.context.request
        for given in (None, "", "wrong-" + token, token[:-1]):
            fields = dict(form)
            if given is not None:
                fields["csrf_token"] = given
            response = request.post(url, form=fields)
            self.assertEqual(403, response.status, given)
            self.assertIn("CSRF", response.text())
        # From another site, even with the token.
        response = request.post(url, form=dict(form, csrf_token=token),
                                headers={"Origin": "http://evil.example"})
        self.assertEqual(403, response.status)
        self.assertNotIn(("reboot", desktop["server_id"]),
                         self.broker.cloud.calls)
        # The same form with the session's token goes through.
        response = request.post(url, form=dict(form, csrf_token=token))
        self.assertEqual(200, response.status)
        self.assertIn(("reboot", desktop["server_id"]),
                      self.broker.cloud.calls)

    def test_sign_in_needs_its_form_token(self):
        page = self.browser.new_page()
        response = page.context.request.post(
            self.portal.url + "/signin", form={"persona": "admin"})
        self.assertEqual(403, response.status)
        page.goto(self.portal.url + "/")
        self.assertIn("/signin", page.url)

    def test_headers_and_cookie(self):
        page = self.browser.new_page()
        response = page.goto(self.portal.url + "/signin")
        csp = response.headers["content-security-policy"]
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertEqual(0, page.locator("script:not([src])").count())
        self.sign_in("admin", page=page)
        cookies = {c["name"]: c for c in page.context.cookies()}
        session = cookies["vdi_portal_session"]
        self.assertTrue(session["httpOnly"])
        self.assertEqual("Lax", session["sameSite"])
        self.assertEqual(0, len(re.findall("token", session["value"])))


class TestEveryPage(BrowserTestCase):
    """Every page: a screenshot, and no serious accessibility violation.

    Also keyboard use: the skip link is the first stop of Tab.
    """

    def test_pages_screenshots_and_accessibility(self):
        self.broker.login("amy", client_id="tc-sh-1", seat="SH-TR-01")
        self.broker.login("bob", client_id="tc-nt-1")
        self.broker.app.post_json("/v1/thin-clients", {
            "client_id": "tc-sh-9", "site": "shanghai", "seat": "SH-2F-001",
            "status": "faulty", "description": "display cable loose",
            "tags": ["2f"]})
        self.broker.app.post_json("/v1/schedules", {
            "name": "day-shift", "pool_id": "sh-agents",
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "start_time": "08:00", "end_time": "18:00",
            "timezone": "Asia/Shanghai", "min_ready": 3,
            "prewarm_minutes": 30})
        desktop = self.api_get("/v1/desktops",
                               assigned_user="amy")["desktops"][0]
        pool = self.pool_by_name("sh-agents")
        allocator = self.broker.allocators["shanghai-agents"]
        pages = [
            ("portal-overview", "/"),
            ("portal-pools", "/pools"),
            ("portal-pool", "/pools/" + pool["id"]),
            ("portal-desktops", "/desktops"),
            ("portal-desktop", "/desktops/" + desktop["id"]),
            ("portal-users", "/users?username=amy"),
            ("portal-sessions", "/sessions"),
            ("portal-thin-clients", "/thin-clients"),
            ("portal-seats", "/seats"),
            ("portal-allocators", "/allocators"),
            ("portal-allocator", "/allocators/" + allocator["id"]),
            ("portal-explain", "/explain?username=amy&seat=SH-TR-01"),
            ("portal-events", "/events"),
            ("portal-alerts-empty", "/alerts"),
        ]
        signin = self.browser.new_page()
        signin.goto(self.portal.url + "/signin")
        self.browser.screenshot(signin, "portal-signin")
        self.assertEqual([], browser_fixture.axe_violations(signin))
        signin.keyboard.press("Tab")
        self.assertEqual("skip", signin.evaluate(
            "document.activeElement.className"))

        page = self.sign_in("admin")
        for name, path in pages:
            response = page.goto(self.portal.url + path)
            self.assertEqual(200, response.status, path)
            page.wait_for_load_state("networkidle")
            self.browser.screenshot(page, name)
            self.assertEqual([], browser_fixture.axe_violations(page),
                             path)
        # The check finds what it should: a button without a name.
        page.evaluate("document.querySelector('main').appendChild("
                      "document.createElement('button'))")
        self.assertIn("button-name", [v["id"] for v in
                                      browser_fixture.axe_violations(page)])
        # A confirmation page, and the Chinese overview.
        page.goto(self.portal.url + "/desktops/" + desktop["id"])
        page.click("button[data-action=rebuild]")
        page.wait_for_selector("form.confirm")
        self.browser.screenshot(page, "portal-confirm")
        self.assertEqual([], browser_fixture.axe_violations(page))
        page.click("form.confirm a.button")
        page.select_option("#lang-switch", "zh_CN")
        page.wait_for_selector("html[lang=zh-CN]")
        page.goto(self.portal.url + "/")
        self.browser.screenshot(page, "portal-overview-zh")
        self.assertEqual([], browser_fixture.axe_violations(page))

    def test_wall_display(self):
        page = self.sign_in("reader", viewport={"width": 2560,
                                                "height": 1440})
        size = page.evaluate(
            "parseFloat(getComputedStyle(document.documentElement)"
            ".fontSize)")
        self.assertGreater(size, 20)
        self.browser.screenshot(page, "portal-overview-wall")
