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

"""The Hosts page, the browser console and the pools' boot queue.

In Chromium against the all-in-one broker (fake cloud: two compute
hosts with Placement figures), as tests/functional/portal/test_browser.py.
Screenshots: portal-hosts, portal-pool-boot-queue, portal-console,
portal-desktop-no-console (see tests/fixtures/browser.py).
"""

from urllib import parse

from playwright.sync_api import expect

from tests.fixtures import browser as browser_fixture
from tests.functional.portal import test_browser
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

CONSOLE_PAGE = "<!DOCTYPE html><html lang=en><title>SPICE</title>" \
    "<p id=spice>spice-html5 console</p></html>"


class HostsConsoleTestCase(test_browser.BrowserTestCase):

    def setUp(self):
        super().setUp()
        # Placement's figures of the fake cloud: a provider per host.
        self.broker.flags(group="fake_compute",
                          capacity_memory_mb=64 * 8192, capacity_vcpus=128)
        self.html5 = self.broker.create_pool(
            "html5-agents", min_ready=1, max_size=2,
            console_type="spice-html5").json["pool"]
        self.broker.fill_pools()

    def html5_desktop(self):
        return self.api_get("/v1/desktops",
                            pool_id=self.html5["id"])["desktops"][0]


class TestHosts(HostsConsoleTestCase):

    def test_hosts_page_matches_the_api(self):
        self.broker.login("amy", client_id="tc-sh-1")
        body = self.api_get("/v1/hosts")
        self.assertEqual({"fake-host-1", "fake-host-2"},
                         {h["name"] for h in body["hosts"]})
        page = self.sign_in("operator")
        page.click("header nav >> text=Hosts")
        page.wait_for_url(self.portal.url + "/hosts")
        for host in body["hosts"]:
            row = page.locator("tr[data-host='%s']" % host["name"])
            desktops = host["desktops"]
            figures = {
                "total": str(desktops["total"]),
                "ready": str(desktops.get("ready", 0)),
                "assigned": str(desktops.get("assigned", 0)),
                "failed": str(desktops.get("error", 0) +
                              desktops.get("quarantined", 0)),
                "builds": "%d / %d" % (host["builds"]["in_flight"],
                                       host["builds"]["allowance"]),
                "queued": str(host["builds"]["queued"]),
                "vcpus": "%d / %d" % (host["vcpus"]["used"],
                                      host["vcpus"]["capacity"]),
            }
            shown = {key: row.locator("[data-figure=%s]" %
                                      key).inner_text().strip()
                     for key in figures}
            self.assertEqual(figures, shown, host["name"])
            memory = host["memory_mb"]
            self.assertGreater(memory["used"], 0)
            self.assertIn("%s%%" % memory["used_percent"],
                          row.locator("[data-figure=memory]").inner_text())
            meter = row.locator("meter")
            self.assertEqual(str(memory["used"]),
                             meter.get_attribute("value"))
            self.assertEqual(str(memory["capacity"]),
                             meter.get_attribute("max"))
        self.assertEqual("%d / %d" % (body["boot_queue"]["in_flight"],
                                      body["boot_queue"]["limit"]),
                         page.inner_text("#global-queue "
                                         "[data-figure=in_flight]"))
        self.browser.screenshot(page, "portal-hosts")
        self.assertEqual([], browser_fixture.axe_violations(page))

        # A host links to its desktops.
        host = body["hosts"][0]
        page.click("tr[data-host='%s'] th a" % host["name"])
        page.wait_for_url("**/desktops?host=*")
        self.assertEqual(host["name"], page.input_value("#f-host"))
        rows = page.locator("table.list tbody tr")
        self.assertEqual(host["desktops"]["total"], rows.count())
        on_host = db.desktop_list(self.broker.ctxt, {"host": host["name"]})
        self.assertEqual(len(on_host), rows.count())
        for i in range(rows.count()):
            self.assertEqual(host["name"],
                             rows.nth(i).locator("td").nth(3).inner_text())


class TestConsole(HostsConsoleTestCase):

    def test_operator_opens_the_spice_html5_console(self):
        desktop = self.html5_desktop()
        page = self.sign_in("operator")
        # The fake cloud's console proxy (nothing listens there): the
        # browser's request is answered here, and seen.
        seen = []

        def proxy(route):
            seen.append(route.request.url)
            route.fulfill(status=200, content_type="text/html",
                          body=CONSOLE_PAGE)

        page.context.route("http://127.0.0.1:6082/**", proxy)
        page.goto(self.portal.url + "/desktops/" + desktop["id"])
        self.browser.screenshot(page, "portal-desktop-console")
        self.assertEqual([], browser_fixture.axe_violations(page))
        button = page.locator("button[data-action=console]")
        expect(button).to_contain_text("spice-html5")
        with page.context.expect_page() as opened:
            button.click()
        tab = opened.value
        tab.wait_for_load_state()
        expect(tab.locator("#spice")).to_have_text("spice-html5 console")
        url = parse.urlsplit(tab.url)
        self.assertEqual(("127.0.0.1:6082", "/spice_auto.html"),
                         (url.netloc, url.path))
        self.assertTrue(parse.parse_qs(url.query)["token"][0])
        self.assertEqual([tab.url], seen)
        # The desktop's page stays where it was.
        self.assertEqual(self.portal.url + "/desktops/" + desktop["id"],
                         page.url)
        events = self.api_get("/v1/events", action="desktop.console",
                              desktop_id=desktop["id"])["events"]
        self.assertEqual(1, len(events))
        self.assertNotIn(parse.parse_qs(url.query)["token"][0],
                         str(events))

    def test_console_page_without_script_offers_the_link(self):
        desktop = self.html5_desktop()
        page = self.sign_in("operator", java_script_enabled=False)
        page.goto(self.portal.url + "/desktops/" + desktop["id"])
        with page.context.expect_page() as opened:
            page.click("button[data-action=console]")
        tab = opened.value
        tab.wait_for_selector("#console-link")
        link = tab.get_attribute("#console-link", "href")
        self.assertIn("/spice_auto.html?token=", link)
        self.browser.screenshot(tab, "portal-console")

    def test_rdp_pool_says_it_has_no_browser_console(self):
        self.broker.login("amy", client_id="tc-sh-1")
        desktop = self.api_get("/v1/desktops",
                               assigned_user="amy")["desktops"][0]
        page = self.sign_in("operator")
        page.goto(self.portal.url + "/desktops/" + desktop["id"])
        self.assertEqual(0, page.locator(
            "button[data-action=console]").count())
        self.assertIn("has no browser console",
                      page.inner_text("#console-none"))
        self.assertIn("rdp", page.inner_text("#console-none"))
        self.browser.screenshot(page, "portal-desktop-no-console")
        self.assertEqual([], browser_fixture.axe_violations(page))

    def test_console_refused_by_nova_is_shown(self):
        desktop = self.html5_desktop()
        page = self.sign_in("operator")
        page.goto(self.portal.url + "/desktops/" + desktop["id"])
        self.broker.cloud.servers[desktop["server_id"]]["status"] = "SHUTOFF"
        with page.context.expect_page() as opened:
            page.click("button[data-action=console]")
        tab = opened.value
        tab.wait_for_selector(".flash-error")
        message = tab.inner_text(".flash-error")
        self.assertIn("409", message)
        self.assertIn("SHUTOFF", message)


class TestPoolBootQueue(HostsConsoleTestCase):

    def test_boot_queue_and_allowance_on_the_pool_pages(self):
        # Slow boots, one at a time in the deployment: the pool's other
        # new desktop waits in the boot queue.
        self.broker.cloud.boot_time = 600
        self.broker.flags(group="conductor", max_concurrent_builds=1)
        sh = self.pool_by_name("sh-agents")
        self.broker.app.patch_json("/v1/pools/%s" % sh["id"], {
            "min_ready": 4, "max_size": 8})
        self.broker.manager.pool_upkeep(self.broker.ctxt)
        self.broker.manager.pool_upkeep(self.broker.ctxt)
        pool = self.pool_by_name("sh-agents")
        boots = pool["boots"]
        self.assertEqual(1, boots["in_flight"])
        self.assertGreater(boots["queued"], 0)
        self.assertTrue(boots["waiting_reason"])
        building = db.desktop_list(self.broker.ctxt, {
            "pool_id": sh["id"], "state": models.BUILDING})
        self.assertEqual(1, len(building))

        page = self.sign_in("operator")
        page.goto(self.portal.url + "/pools/" + sh["id"])
        box = page.locator("#boot-queue")
        self.assertEqual(str(boots["in_flight"]), box.locator(
            "[data-figure=in_flight]").inner_text())
        self.assertTrue(box.locator("[data-figure=allowance]").inner_text()
                        .startswith("%d / %d" % (boots["allowance"],
                                                 boots["limit"])))
        self.assertTrue(box.locator("[data-figure=queued]").inner_text()
                        .startswith(str(boots["queued"])))
        self.assertEqual(boots["waiting_reason"], box.locator(
            "[data-figure=waiting_reason]").inner_text())
        self.browser.screenshot(page, "portal-pool-boot-queue")
        self.assertEqual([], browser_fixture.axe_violations(page))

        page.goto(self.portal.url + "/pools")
        row = page.locator("tr", has=page.locator(
            "a[href='/pools/%s']" % sh["id"]))
        self.assertEqual("%d / %d" % (boots["in_flight"],
                                      boots["allowance"]),
                         row.locator("[data-figure=boots]").inner_text())
        self.assertEqual(str(boots["queued"]),
                         row.locator("[data-figure=queued]").inner_text())
        self.assertIn("waiting in the boot queue", row.inner_text())


class TestReaderOnNewPages(HostsConsoleTestCase):

    def test_reader_sees_no_button_and_is_refused(self):
        desktop = self.html5_desktop()
        page = self.sign_in("reader")
        for path in ("/hosts", "/desktops/" + desktop["id"]):
            page.goto(self.portal.url + path)
            self.assertEqual(
                0, page.locator("main form[method=post]").count(), path)
            self.assertEqual(0, page.locator("main button").count(), path)
        self.assertIn("for operators", page.inner_text("#console-none"))
        before = self.broker.cloud.requests["console"]
        token = page.get_attribute("form[action='/signout'] "
                                   "input[name=csrf_token]", "value")
        response = page.context.request.post(
            self.portal.url + "/desktops/%s/console" % desktop["id"],
            form={"csrf_token": token, "desktop_name": desktop["name"]})
        self.assertEqual(403, response.status)
        self.assertIn("403 Forbidden", response.text())
        self.assertIn("vdi_broker:desktops:console", response.text())
        self.assertEqual(before, self.broker.cloud.requests["console"])
        self.assertEqual([], self.api_get(
            "/v1/events", action="desktop.console")["events"])
