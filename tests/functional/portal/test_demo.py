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

"""The demo's data fills the portal's pages (tools/run-demo.sh)."""

import datetime
import os
import re
import signal
import subprocess
import sys
import time

import fixtures
from oslo_utils import timeutils
import requests
import testtools

from tests import base
from tests.fixtures import api_server
from tests.fixtures import broker as broker_fixture
from tests.fixtures import browser as browser_fixture
from tests.fixtures import portal as portal_fixture
from tests.functional.demo import test_run_demo as run_demo
from vdi_broker.demo import setup as demo_setup
from vdi_broker.demo import shift


class TestDemoData(base.TestCase):

    def test_every_page_has_rows(self):
        # The fake cloud as tools/run-demo.sh configures it.
        broker = broker_fixture.use_broker(self, flags={
            ("fake_compute", "hosts"): ["cn-sh-01", "cn-sh-02", "cn-nt-01",
                                        "cn-nt-02"],
            ("fake_compute", "capacity_memory_mb"): (21 * 2 + 64) * 8192,
            ("fake_compute", "capacity_vcpus"): (21 * 2 + 64) * 4})
        demo_setup.setup(broker.ctxt, os.path.join(broker.tmp, "demo.json"),
                         21, "demo-Passw0rd")
        broker.fill_pools(passes=40)
        # The conductor's alert evaluation, with tools/run-demo.sh's
        # [alerts] below_plan_for: the insurance team nobody works in is
        # below its plan (pending, then firing half a minute later).
        broker.flags(group="alerts", below_plan_for=30)
        now = timeutils.utcnow()
        for moment in (now, now + datetime.timedelta(seconds=31)):
            broker.manager.alert_evaluator.evaluate(broker.ctxt, now=moment)
        firing = broker.app.get("/v1/alerts", params={
            "state": "firing", "kind": "agents_below_plan"}).json["alerts"]
        self.assertIn("insurance@nantong", [a["subject"] for a in firing])
        api = self.useFixture(api_server.ApiServer(broker))
        # The shift's heartbeats (vdi-broker-shift-demo).
        self.assertGreater(shift.heartbeats(shift.Broker(api.url)), 10)
        portal = self.useFixture(portal_fixture.PortalServer(self, api.url))
        http = requests.Session()
        form = http.get(portal.url + "/signin").text
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          form).group(1)
        http.post(portal.url + "/signin", data={"csrf_token": token,
                                                "persona": "reader"})
        for path in ("/", "/pools", "/desktops", "/hosts", "/thin-clients",
                     "/seats", "/allocators", "/events"):
            page = http.get(portal.url + path)
            self.assertEqual(200, page.status_code, path)
            rows = re.findall(r"<tr[ >]", page.text.split("<tbody>")[1])
            self.assertGreater(len(rows), 2, path)
            self.assertNotIn("No ", page.text.split("<tbody>")[1][:200])
        clients = http.get(portal.url + "/thin-clients?status=faulty").text
        self.assertIn("display cable loose", clients)
        for status in ("online", "offline"):
            page = http.get(portal.url + "/thin-clients?status=" + status)
            rows = re.findall(r"<tr[ >]", page.text.split("<tbody>")[1])
            self.assertGreater(len(rows), 1, status)
            self.assertIn("badge-" + status, page.text)
        # The maintenance page: a job to run now, one later.
        jobs = http.get(portal.url + "/jobs").text
        self.assertIn("training-room inventory", jobs)
        self.assertIn("shift change notice", jobs)
        alerts = http.get(portal.url + "/alerts").text
        self.assertIn("insurance@nantong", alerts)
        self.assertIn("insurance@nantong", http.get(portal.url + "/").text)
        # A roll-out (the VIP pool's, completed at the conductor's first
        # pass: its desktops booted on the new image) and two windows.
        rollouts = http.get(portal.url + "/rollouts").text
        self.assertIn("win10-golden-2026-12", rollouts)
        self.assertIn('data-state="completed"', rollouts)
        windows = http.get(portal.url + "/maintenance-windows").text
        for name in ("nantong-saturday-night", "training-room-evenings"):
            self.assertIn('data-window="%s"' % name, windows)
        hosts = http.get(portal.url + "/hosts").text
        for name in ("cn-sh-01", "cn-nt-02"):
            self.assertIn('data-host="%s"' % name, hosts)
        self.assertIn("<meter", hosts)
        # The training room's desktops open in the browser.
        pool = broker.app.get("/v1/pools/training-room").json["pool"]
        training = broker.app.get("/v1/desktops", params={
            "pool_id": pool["id"]}).json["desktops"]
        desktop = http.get(portal.url + "/desktops/" + training[0]["id"])
        self.assertIn("spice-html5", desktop.text)


# Every page of the portal, and what it lists, in the running demo:
# (path, the rows it must show, at least how many).
DEMO_PAGES = [
    ("/", "#agents-table tbody tr[data-team]", 4),
    ("/", "#pool-table tbody tr[data-pool]", 4),
    ("/", "#firing-alerts li[data-alert]", 1),
    ("/pools", "table.list tbody tr", 4),
    ("/desktops", "table.list tbody tr", 10),
    ("/hosts", "table.list tbody tr[data-host]", 4),
    ("/sessions", "table.list tbody tr", 10),
    ("/users?username=agent0002", "table.list tbody tr", 1),
    ("/explain?username=agent0002", "#trace tbody tr", 2),
    ("/thin-clients", "table.list tbody tr", 10),
    ("/seats", "table.list tbody tr", 10),
    ("/allocators", "#chain tbody tr", 5),
    ("/jobs", "#jobs tbody tr[data-job]", 2),
    ("/rollouts", "#rollouts tbody tr[data-rollout]", 1),
    ("/maintenance-windows", "#windows tbody tr[data-window]", 2),
    ("/alerts", "#alerts tbody tr[data-alert]", 1),
    ("/events", "table.list tbody tr", 10),
]


class TestRunningDemo(testtools.TestCase):
    """tools/run-demo.sh running: every portal page in Chromium has rows."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(900, gentle=True))
        self.state = self.useFixture(fixtures.TempDir()).path
        self.browser = self.useFixture(browser_fixture.Browser())

    def start_demo(self):
        self.api_url = "http://127.0.0.1:%d" % run_demo.free_port()
        portal_port = run_demo.free_port()
        self.portal_url = "http://127.0.0.1:%d" % portal_port
        env = dict(os.environ, VDI_DEMO_PORT=self.api_url.rsplit(":", 1)[1],
                   VDI_DEMO_PORTAL_PORT=str(portal_port),
                   VDI_DEMO_STATE=self.state, VDI_DEMO_VENV=sys.prefix,
                   VDI_DEMO_AGENTS="40")
        self.out = os.path.join(self.state, "run-demo.out")
        with open(self.out, "wb") as out:
            proc = subprocess.Popen(
                ["bash", run_demo.SCRIPT], env=env, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)

        def stop():
            # The script's own process group: the script, its API and
            # its portal (its EXIT trap stops them too).
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.addCleanup(stop)
        return proc

    def output(self):
        with open(self.out, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_for(self, proc, what, check, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.fail("run-demo.sh exited (%s) before %s:\n%s" % (
                    proc.returncode, what, self.output()[-3000:]))
            try:
                if check():
                    return
            except requests.RequestException:
                pass
            time.sleep(2)
        self.fail("no %s within %ss:\n%s" % (what, timeout,
                                             self.output()[-3000:]))

    def firing(self):
        return requests.get(self.api_url + "/v1/alerts", params={
            "state": "firing"}, timeout=10).json()["alerts"]

    def test_every_portal_page_shows_the_demo(self):
        proc = self.start_demo()
        self.wait_for(proc, "shift", lambda: "Logs: " in self.output(),
                      600)
        out = self.output()
        self.assertIn("The operations portal: %s/" % self.portal_url, out)
        self.assertIn("PASS  no desktop held by two people", out)
        # The conductor's evaluation raised the demo's alert by itself.
        self.wait_for(proc, "firing alert", lambda: any(
            a["subject"] == "insurance@nantong" for a in self.firing()),
            120)

        page = self.browser.new_page()
        page.goto(self.portal_url + "/")
        page.check("#persona-reader")
        page.click("form[action='/signin'] button[type=submit]")
        page.wait_for_url(self.portal_url + "/")
        for path, rows, least in DEMO_PAGES:
            if page.url != self.portal_url + path:
                page.goto(self.portal_url + path)
            self.assertEqual(0, page.locator(".flash-error").count(), path)
            found = page.locator(rows).count()
            self.assertGreaterEqual(found, least, "%s: %s" % (path, rows))
            self.assertEqual(0, page.locator(
                "%s tr:not([hidden]) td.muted[colspan]" %
                rows.split(" tr")[0]).count(),
                path)
            name = path.strip("/").split("?")[0].replace("/", "-")
            self.browser.screenshot(page, "demo-" + (name or "overview"))
        page.goto(self.portal_url + "/alerts")
        self.assertIn("insurance@nantong", page.inner_text("#alerts"))
        page.goto(self.portal_url + "/rollouts")
        self.assertIn("win10-golden-2026-12", page.inner_text("#rollouts"))
