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

"""The maintenance page (guest jobs) and the events filter, in Chromium.

Against the all-in-one broker (noauth API, in-process conductor, fake
cloud and fake guest executor), as tests/functional/portal/
test_browser.py. The conductor's job runner is run by the test
(``run_jobs``), so that a job's results are there when the page is read.
Screenshots: portal-jobs, portal-job-new, portal-job-confirm,
portal-job, portal-job-cancelled, portal-events-filtered.
"""

import datetime
import zoneinfo

from playwright.sync_api import expect

from tests.fixtures import browser as browser_fixture
from tests.functional.portal import test_browser
from vdi_broker.executors import fake as fake_executor

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
PASSWORD = "N3w-Local-Pa55"


def _utc(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _shanghai_local(moment):
    """A datetime-local value: ``moment`` on a Shanghai clock."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


class MaintenanceTestCase(test_browser.BrowserTestCase):

    def setUp(self):
        super().setUp()
        self.flags(group="jobs", secret_keys=["portal-test-key-5d1e"])
        fake_executor.reset()
        self.addCleanup(fake_executor.reset)

    def run_jobs(self):
        self.broker.manager.job_runner.run_once(self.broker.ctxt, wait=True)

    def job(self, job_id):
        return self.api_get("/v1/jobs/%s" % job_id)["job"]

    def targets(self, job_id):
        return self.api_get("/v1/jobs/%s/targets" % job_id)["targets"]

    def create_job(self, **body):
        body.setdefault("kind", "command")
        body.setdefault("parameters", {"command": "hostname"})
        body.setdefault("targets", {"pools": ["sh-agents"]})
        return self.broker.app.post_json("/v1/jobs", body).json["job"]

    def csrf_token(self, page):
        return page.get_attribute("form[action='/signout'] "
                                  "input[name=csrf_token]", "value")


class TestJobs(MaintenanceTestCase):

    def test_operator_schedules_a_job_and_reads_its_results(self):
        self.broker.login("amy", client_id="tc-sh-1")
        busy = self.api_get("/v1/desktops",
                            assigned_user="amy")["desktops"][0]
        pool = self.pool_by_name("sh-agents")
        ready = [d for d in self.api_get(
            "/v1/desktops", pool_id=pool["id"])["desktops"]
            if d["state"] == "ready"]
        self.assertTrue(ready)
        broken = ready[0]
        self.broker.flags(group="fake_executor",
                          fail_targets=[broken["name"]])

        page = self.sign_in("operator")
        page.click("header nav >> text=Maintenance")
        page.wait_for_url(self.portal.url + "/jobs")
        page.click("#new-job")
        page.wait_for_url(self.portal.url + "/jobs/new")
        # The script shows the command's parameters only.
        self.assertTrue(page.is_visible("#p-command-command"))
        self.assertFalse(page.is_visible("#p-message-message"))
        page.fill("#j-name", "inventory")
        page.select_option("#j-kind", "command")
        page.fill("#p-command-command", "hostname")
        page.select_option("#j-pools", [pool["id"]])
        page.fill("#j-retries", "0")
        self.browser.screenshot(page, "portal-job-new")
        self.assertEqual([], browser_fixture.axe_violations(page))
        # From the keyboard: right after the full-page screenshot a mouse
        # click at the button's coordinates was lost (the layout of the
        # taller page was still being restored).
        page.focus("#job-form button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_selector("form.confirm")
        question = page.inner_text(".question")
        self.assertIn("inventory", question)
        self.assertIn("pools sh-agents", question)
        self.assertIn("now", question)
        self.assertIn("Desktops in use are skipped", question)
        self.browser.screenshot(page, "portal-job-confirm")
        message = self.confirm(page)
        self.assertIn("Job inventory scheduled", message)
        self.assertIn("/jobs/", page.url)
        job_id = page.url.rsplit("/", 1)[1]
        job = self.job(job_id)
        self.assertEqual(("inventory", "command", "scheduled", "skip"),
                         (job["name"], job["kind"], job["state"],
                          job["in_use"]))
        self.assertEqual({"pools": [pool["id"]]}, job["targets"])
        self.assertEqual("portal-operator", job["created_by"])

        # The page of a job not finished follows it by itself.
        page.evaluate("window.__same_page = true")
        self.run_jobs()
        expect(page.locator("#job-title [data-job-state]")).to_have_text(
            "finished", timeout=15000)
        expect(page.locator("#job-changed")).to_be_visible()
        self.assertTrue(page.evaluate("window.__same_page === true"))
        job = self.job(job_id)
        self.assertEqual(str(job["results"]["ok"]), page.inner_text(
            "#counts [data-count=ok]"))
        page.click("#reload")
        page.wait_for_selector("#targets tbody tr[data-state]")
        # A finished job's page polls no more.
        self.assertEqual(0, page.locator("#job-title[data-source]").count())
        job = self.job(job_id)
        self.assertEqual("finished", job["state"])
        for state, count in job["results"].items():
            self.assertEqual(str(count), page.inner_text(
                "#counts [data-count=%s]" % state), state)
        targets = {t["desktop_name"]: t for t in self.targets(job_id)}
        rows = page.locator("#targets tbody tr")
        self.assertEqual(len(targets), rows.count())
        self.assertEqual("skipped", targets[busy["name"]]["state"])
        skipped = page.locator("#targets tr[data-desktop='%s']" %
                               busy["name"])
        self.assertEqual("skipped", skipped.get_attribute("data-state"))
        self.assertIn("in use", skipped.locator(
            "[data-field=reason]").inner_text())
        failed = page.locator("#targets tr[data-desktop='%s']" %
                              broken["name"])
        self.assertEqual("failed", failed.get_attribute("data-state"))
        self.assertIn("failed on %s" % broken["name"], failed.locator(
            "[data-field=reason]").inner_text())
        self.assertIn("fake: ran 'hostname' failed", failed.locator(
            "[data-field=output]").inner_text())
        for name, target in targets.items():
            if target["state"] == "ok":
                row = page.locator("#targets tr[data-desktop='%s']" % name)
                self.assertIn(target["output"], row.locator(
                    "[data-field=output]").inner_text())
        self.browser.screenshot(page, "portal-job")
        self.assertEqual([], browser_fixture.axe_violations(page))
        # Only the failed desktops.
        page.click("#target-filter >> text=failed")
        page.wait_for_url("**/jobs/%s?state=failed" % job_id)
        self.assertEqual(1, page.locator("#targets tbody tr").count())
        # A finished job cannot be cancelled: no button.
        self.assertEqual(0, page.locator(
            "button[data-action=cancel]").count())
        # Its events link back.
        page.goto(self.portal.url + "/events?kind=job")
        self.assertGreaterEqual(page.locator(
            "a[href='/jobs/%s']" % job_id).count(), 3)

    def test_scheduled_job_at_the_viewers_time_then_cancelled(self):
        page = self.sign_in("operator")
        page.goto(self.portal.url + "/jobs/new?pool=sh-agents&kind=message")
        # Tomorrow 20:00 in Shanghai (the browser's zone) is 12:00 UTC.
        tomorrow = (datetime.datetime.now(SHANGHAI) +
                    datetime.timedelta(days=1)).replace(
                        hour=20, minute=0, second=0, microsecond=0)
        page.fill("#j-name", "evening notice")
        self.assertEqual("message", page.input_value("#j-kind"))
        page.fill("#p-message-message", "Desktops restart at 21:00.")
        page.fill("#p-message-seconds", "600")
        page.fill("#j-run-at", tomorrow.strftime("%Y-%m-%dT%H:%M"))
        page.click("#job-form button[type=submit]")
        page.wait_for_selector("form.confirm")
        question = page.inner_text(".question")
        expected_utc = tomorrow.astimezone(datetime.timezone.utc)
        self.assertIn(expected_utc.strftime("%Y-%m-%d 12:00 UTC"), question)
        # A message reaches the agents at work: said, and in red.
        self.assertIn("also runs on desktops in use", question)
        self.assertEqual(1, page.locator("form.confirm.danger").count())
        self.assertIn("scheduled", self.confirm(page))
        job_id = page.url.rsplit("/", 1)[1]
        job = self.job(job_id)
        self.assertEqual(expected_utc, _utc(job["run_at"]))
        self.assertEqual({"message": "Desktops restart at 21:00.",
                          "seconds": 600}, job["parameters"])
        self.assertEqual("run", job["in_use"])
        # Shown in the viewer's time.
        self.assertIn("20:00", page.inner_text(
            "time[datetime='%s']" % job["run_at"]))

        page.goto(self.portal.url + "/jobs")
        row = page.locator("#jobs tr[data-job='%s']" % job_id)
        self.assertIn("scheduled", row.inner_text())
        self.browser.screenshot(page, "portal-jobs")
        self.assertEqual([], browser_fixture.axe_violations(page))
        row.locator("button[data-action=cancel]").click()
        page.wait_for_selector("form.confirm.danger")
        self.assertIn("evening notice", page.inner_text(".question"))
        message = self.confirm(page)
        self.assertIn("Job evening notice cancelled", message)
        self.assertEqual("cancelled", self.job(job_id)["state"])
        row = page.locator("#jobs tr[data-job='%s']" % job_id)
        self.assertIn("cancelled", row.inner_text())
        self.assertEqual(0, row.locator("button").count())
        self.browser.screenshot(page, "portal-job-cancelled")
        self.run_jobs()
        self.assertEqual([], fake_executor.calls("send_message"))

    def test_password_never_in_a_page(self):
        desktop = self.api_get("/v1/desktops", state="ready")["desktops"][0]
        page = self.sign_in("operator")
        page.goto(self.portal.url + "/desktops/" + desktop["id"])
        page.click("#job-on-desktop")
        page.wait_for_url("**/jobs/new?desktop=*")
        self.assertEqual(desktop["name"], page.input_value("#j-desktops"))
        page.select_option("#j-kind", "password")
        page.fill("#p-password-username", "agent")
        page.fill("#p-password-password", PASSWORD)
        page.click("#job-form button[type=submit]")
        page.wait_for_selector("form.confirm")
        self.assertNotIn(PASSWORD, page.content())
        self.assertIn(desktop["name"], page.inner_text(".question"))
        ref = page.get_attribute("form.confirm input[name=secret_ref]",
                                 "value")
        self.confirm(page)
        self.assertNotIn(PASSWORD, page.content())
        job_id = page.url.rsplit("/", 1)[1]
        job = self.job(job_id)
        self.assertEqual({"username": "agent", "password": "***"},
                         job["parameters"])
        self.run_jobs()
        calls = fake_executor.calls("set_password")
        self.assertEqual([[desktop["id"]]], [c["targets"] for c in calls])
        self.assertEqual("ok", self.targets(job_id)[0]["state"])
        self.assertEqual("finished", self.job(job_id)["state"])
        # The reference is good once: a second confirmation fails.
        browser_fixture.force_post(page, "/jobs", {
            "csrf_token": self.csrf_token(page), "confirmed": "1",
            "kind": "password", "p_password_username": "agent",
            "desktops": desktop["name"], "secret_ref": ref})
        page.wait_for_selector(".flash-error")
        self.assertIn("enter it again", page.inner_text(".flash-error"))
        self.assertEqual(1, len(self.api_get("/v1/jobs")["jobs"]))

    def test_missing_fields_and_targets_are_said(self):
        page = self.sign_in("operator")
        page.goto(self.portal.url + "/jobs/new")
        page.fill("#p-command-command", "hostname")
        page.click("#job-form button[type=submit]")
        self.assertIn("Choose the targets", page.inner_text(".flash-error"))
        page.fill("#j-desktops", "no-such-desktop")
        page.fill("#p-command-command", "")
        page.click("#job-form button[type=submit]")
        self.assertIn("Fill in: Command line",
                      page.inner_text(".flash-error"))
        self.assertEqual([], self.api_get("/v1/jobs")["jobs"])


class TestJobsReader(MaintenanceTestCase):

    def test_reader_sees_no_job_buttons_and_is_refused(self):
        scheduled = self.create_job(
            name="later", run_at="2099-01-01T00:00:00Z")
        page = self.sign_in("reader")
        for path in ("/jobs", "/jobs/" + scheduled["id"], "/jobs/new"):
            page.goto(self.portal.url + path)
            self.assertEqual(
                0, page.locator("main form[method=post]").count(), path)
            self.assertEqual(0, page.locator("#new-job").count(), path)
        token = self.csrf_token(page)
        browser_fixture.force_post(
            page, "/jobs/%s/cancel" % scheduled["id"],
            {"csrf_token": token, "confirmed": "1", "name": "later",
             "next": "/jobs"})
        page.wait_for_selector(".flash-error")
        refusal = page.inner_text(".flash-error")
        self.assertIn("403 Forbidden", refusal)
        self.assertIn("vdi_broker:jobs:cancel", refusal)
        self.assertEqual("scheduled", self.job(scheduled["id"])["state"])
        self.browser.screenshot(page, "portal-job-reader-refused")
        browser_fixture.force_post(page, "/jobs", {
            "csrf_token": token, "confirmed": "1", "kind": "command",
            "p_command_command": "reboot", "desktops": "vdi-sh-1"})
        page.wait_for_selector(".flash-error")
        refusal = page.inner_text(".flash-error")
        self.assertIn("403 Forbidden", refusal)
        self.assertIn("vdi_broker:jobs:create", refusal)
        self.assertEqual(1, len(self.api_get("/v1/jobs")["jobs"]))

    def test_in_chinese(self):
        job = self.create_job(name="inventory")
        self.run_jobs()
        page = self.sign_in("reader", locale="zh-CN",
                            extra_http_headers={
                                "Accept-Language": "zh-CN,zh;q=0.9"})
        self.assertIn("维护", page.inner_text("header nav"))
        page.goto(self.portal.url + "/jobs")
        self.assertEqual("维护：客户机作业", page.inner_text("h1"))
        page.goto(self.portal.url + "/jobs/" + job["id"])
        self.assertIn("每台桌面的结果", page.content())
        self.assertIn("按桌面", page.inner_text("#h-targets"))
        self.browser.screenshot(page, "portal-job-zh")
        self.assertEqual([], browser_fixture.axe_violations(page))

    def test_job_posts_without_the_token_are_refused(self):
        scheduled = self.create_job(run_at="2099-01-01T00:00:00Z")
        page = self.sign_in("admin")
        token = self.csrf_token(page)
        request = page.context.request
        cancel = self.portal.url + "/jobs/%s/cancel" % scheduled["id"]
        create = self.portal.url + "/jobs"
        job_form = {"confirmed": "1", "kind": "command",
                    "p_command_command": "hostname",
                    "pools": "sh-agents"}
        for url, form in ((cancel, {"confirmed": "1"}),
                          (create, job_form)):
            for given in (None, "wrong-" + token):
                fields = dict(form)
                if given is not None:
                    fields["csrf_token"] = given
                response = request.post(url, form=fields)
                self.assertEqual(403, response.status, url)
                self.assertIn("CSRF", response.text())
            response = request.post(
                url, form=dict(form, csrf_token=token),
                headers={"Origin": "http://evil.example"})
            self.assertEqual(403, response.status, url)
        self.assertEqual("scheduled", self.job(scheduled["id"])["state"])
        self.assertEqual(1, len(self.api_get("/v1/jobs")["jobs"]))
        # With the token: done.
        response = request.post(cancel, form={"confirmed": "1",
                                              "csrf_token": token})
        self.assertEqual(200, response.status)
        self.assertEqual("cancelled", self.job(scheduled["id"])["state"])


class TestEventsFilter(MaintenanceTestCase):

    def test_filter_by_user_pool_action_result_and_time(self):
        self.broker.login("amy", client_id="tc-sh-1")
        self.broker.login("bob", client_id="tc-nt-1")
        self.broker.login("amy", password="wrong", client_id="tc-sh-2",
                          status=401)
        sh = self.pool_by_name("sh-agents")
        logins = self.api_get("/v1/events", action="login",
                              username="amy")["events"]
        self.assertEqual(2, len(logins))
        page = self.sign_in("reader")
        page.click("header nav >> text=Events")
        page.fill("#f-user", "amy")
        page.fill("#f-action", "login")
        page.select_option("#f-result", "success")
        page.select_option("#f-pool", sh["id"])
        page.click("form.filters button[type=submit]")
        page.wait_for_url("**/events?*")
        rows = page.locator("table.list tbody tr")
        self.assertEqual(1, rows.count())
        self.assertIn("amy", rows.first.inner_text())
        self.assertEqual("Asia/Shanghai", page.input_value(
            "input[name=tz]"))
        self.browser.screenshot(page, "portal-events-filtered")
        self.assertEqual([], browser_fixture.axe_violations(page))

        # The time range is the viewer's (Shanghai): an hour before the
        # first login to a minute after the last one finds them both...
        first = min(_utc(e["created_at"]) for e in logins)
        last = max(_utc(e["created_at"]) for e in logins)
        page.goto(self.portal.url + "/events?username=amy&action=login")
        page.fill("#f-since", _shanghai_local(first -
                                              datetime.timedelta(hours=1)))
        page.fill("#f-until", _shanghai_local(last +
                                              datetime.timedelta(minutes=2)))
        page.click("form.filters button[type=submit]")
        page.wait_for_selector("#time-range")
        self.assertEqual(2, page.locator("table.list tbody tr").count())
        self.assertIn((first - datetime.timedelta(hours=1)).astimezone(
            SHANGHAI).strftime("%H:%M"), page.inner_text("#time-range"))
        # ...and a range that ends before them finds none (were the
        # times taken as UTC, 8 hours later, it would find them).
        page.fill("#f-since", _shanghai_local(first -
                                              datetime.timedelta(hours=3)))
        page.fill("#f-until", _shanghai_local(first -
                                              datetime.timedelta(hours=1)))
        page.click("form.filters button[type=submit]")
        page.wait_for_selector("text=No events match.")

    def test_pages(self):
        for number, name in enumerate(("amy", "bob", "sam"), 1):
            self.broker.login(name, client_id="tc-sh-%d" % number)
        self.flags(group="portal", page_size=2)
        logins = self.api_get("/v1/events", action="login")["events"]
        self.assertGreaterEqual(len(logins), 3)
        page = self.sign_in("reader")
        page.goto(self.portal.url + "/events?action=login")
        seen = []
        while True:
            rows = page.locator("table.list tbody tr")
            self.assertLessEqual(rows.count(), 2)
            seen.extend(rows.nth(i).locator("time").get_attribute(
                "datetime") for i in range(rows.count()))
            following = page.locator("nav.pager a[rel=next]")
            if not following.count():
                break
            following.click()
            page.wait_for_load_state()
            self.assertIn("action=login", page.url)
        self.assertEqual([e["created_at"] for e in logins], seen)
        self.assertEqual(1, page.locator("nav.pager >> text=First "
                                         "page").count())
