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

"""GET /v1/hosts and POST /v1/desktops/{id}/console through the API.

Against the fake cloud (its Placement figures: one provider per host)
with the in-process conductor; the same two calls against the Nova
emulator's Placement are in tests/functional/compute/.
"""

import logging
from urllib import parse

import fixtures

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import nova_emulator as emu
from tests.functional.api import test_quarantine_nova as nova_test
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

OPERATOR = {"X-Roles": "manager,member,reader", "X-User-Id": "op-1",
            "X-Project-Id": "ops"}
READER = {"X-Roles": "reader", "X-User-Id": "rd-1", "X-Project-Id": "ops"}
HELPDESK = {"X-Roles": "member,reader", "X-User-Id": "hd-1",
            "X-Project-Id": "ops"}


class HostsTestCase(base.TestCase):
    """The database's figures on SQLite, MariaDB and PostgreSQL."""

    backend = "sqlite"

    def setUp(self):
        super().setUp()
        flags = {("fake_compute", "hosts"): ["cn-1.example.org",
                                             "cn-2.example.org"],
                 ("fake_compute", "capacity_memory_mb"): 40 * 8192,
                 ("fake_compute", "capacity_vcpus"): 64,
                 ("api", "operator_project_id"): "ops"}
        self.broker = broker_fixture.use_broker(
            self, backend=self.backend, flags=flags)
        self.pools, _ = self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt

    def test_hosts_count_the_desktops_and_placement(self):
        body = self.app.get("/v1/hosts", headers=READER).json
        self.assertTrue(body["capacity_known"])
        by_name = {h["name"]: h for h in body["hosts"]}
        self.assertEqual({"cn-1.example.org", "cn-2.example.org"},
                         set(by_name))
        desktops = db.desktop_list(self.ctxt)
        for name, host in by_name.items():
            mine = [d for d in desktops if d["host"] == name]
            self.assertGreater(len(mine), 0)
            self.assertEqual(len(mine), host["desktops"]["total"])
            self.assertEqual(
                sum(1 for d in mine if d["state"] == models.READY),
                host["desktops"].get("ready", 0))
            servers = sum(1 for s in self.broker.cloud.servers.values()
                          if s["host"] == name)
            # Half the cloud's memory per host, a flavor per server.
            self.assertEqual(20 * 8192, host["memory_mb"]["capacity"])
            self.assertEqual(servers * 8192, host["memory_mb"]["used"])
            self.assertEqual((20 - servers) * 8192,
                             host["memory_mb"]["free"])
            self.assertEqual(round(100.0 * servers / 20, 1),
                             host["memory_mb"]["used_percent"])
            self.assertEqual(1.0, host["memory_mb"]["allocation_ratio"])
            self.assertEqual(32, host["vcpus"]["capacity"])
            self.assertEqual(0, host["builds"]["in_flight"])
            self.assertEqual(self.broker.conf.conductor.max_concurrent_builds,
                             host["builds"]["allowance"])
        self.assertEqual(self.broker.conf.conductor.max_concurrent_builds,
                         body["boot_queue"]["limit"])
        self.assertEqual(0, body["boot_queue"]["in_flight"])

    def test_builds_in_progress_per_host(self):
        # A pool that wants more: its boots are in flight until the next
        # pass sees them ACTIVE (the fake cloud boots in no time, but the
        # desktops stay building until the pool manager looks).
        self.broker.cloud.boot_time = 60
        pool = self.broker.create_pool("growing", min_ready=3,
                                       max_size=3).json["pool"]
        self.broker.manager.pool_upkeep(self.ctxt)
        building = db.desktop_list(self.ctxt, {
            "pool_id": pool["id"], "state": models.BUILDING})
        self.assertEqual(3, len(building))
        body = self.app.get("/v1/hosts", headers=READER).json
        per_host = {h["name"]: h["builds"]["in_flight"]
                    for h in body["hosts"]}
        expected = {}
        for d in building:
            expected[d["host"]] = expected.get(d["host"], 0) + 1
        placed = {h: n for h, n in expected.items() if h is not None}
        for host, count in placed.items():
            self.assertEqual(count, per_host[host])
        self.assertEqual(expected.get(None, 0),
                         body["unplaced"]["in_flight"])
        self.assertEqual(3, body["boot_queue"]["in_flight"])

    def test_queued_restarts_per_host(self):
        # Every slot taken: an operator's reboot waits in the queue.
        self.broker.cloud.boot_time = 60
        self.broker.flags(group="conductor", max_concurrent_builds=1)
        self.broker.create_pool("growing", min_ready=2, max_size=2)
        self.broker.manager.pool_upkeep(self.ctxt)
        ready = db.desktop_list(self.ctxt, {
            "pool_id": self.pools["sh-agents"]["id"],
            "state": models.READY})[0]
        self.app.post_json("/v1/desktops/%s/action" % ready["id"],
                           {"reboot": {}}, status=202)
        self.assertIsNotNone(db.desktop_get(self.ctxt, ready["id"])[
            "boot_queued_at"])
        body = self.app.get("/v1/hosts", headers=READER).json
        by_name = {h["name"]: h for h in body["hosts"]}
        self.assertEqual(1, by_name[ready["host"]]["builds"]["queued"])
        self.assertEqual(1, sum(h["builds"]["queued"]
                                for h in body["hosts"]))
        self.assertEqual(1, body["boot_queue"]["queued_restarts"])
        self.assertEqual(1, body["boot_queue"]["in_flight"])
        self.assertEqual(1, body["boot_queue"]["limit"])
        self.assertEqual(1, body["boot_queue"]["queued_creates"])

    def test_no_capacity_known(self):
        self.broker.flags(group="fake_compute", capacity_memory_mb=0)
        body = self.app.get("/v1/hosts", headers=READER).json
        self.assertFalse(body["capacity_known"])
        self.assertTrue(body["hosts"])
        for host in body["hosts"]:
            self.assertIsNone(host["memory_mb"])
            self.assertGreater(host["desktops"]["total"], 0)

    def test_other_projects_are_refused(self):
        self.app.get("/v1/hosts", headers=dict(READER, **{
            "X-Project-Id": "elsewhere"}), status=403)


class HostsMySQLTestCase(HostsTestCase):
    backend = "mysql"


class HostsPostgreSQLTestCase(HostsTestCase):
    backend = "postgresql"


class ConsoleTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self, flags={
            ("api", "operator_project_id"): "ops"})
        self.pools, _ = self.broker.setup_call_centre()
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt
        self.html5 = self.broker.create_pool(
            "html5", min_ready=1, max_size=1,
            console_type="spice-html5").json["pool"]
        self.novnc = self.broker.create_pool(
            "vnc", min_ready=1, max_size=1,
            console_type="novnc").json["pool"]
        self.broker.fill_pools()

    def desktop_of(self, pool):
        return db.desktop_list(self.ctxt, {"pool_id": pool["id"]})[0]

    def test_spice_html5_and_novnc_urls(self):
        for pool, path in ((self.html5, "/spice_auto.html"),
                           (self.novnc, "/vnc_lite.html")):
            desktop = self.desktop_of(pool)
            resp = self.app.post(
                "/v1/desktops/%s/console" % desktop["id"], headers=OPERATOR)
            self.assertEqual(200, resp.status_int)
            self.assertEqual("no-store", resp.headers["Cache-Control"])
            console = resp.json["console"]
            self.assertEqual(pool["console_type"], console["type"])
            self.assertEqual(desktop["id"], console["desktop_id"])
            url = parse.urlsplit(console["url"])
            self.assertEqual(path, url.path)
            self.assertIn("token", url.query)
            events = db.event_list(self.ctxt, {"action": "desktop.console",
                                               "desktop_id": desktop["id"]})
            self.assertEqual(1, len(events))
            self.assertEqual("op-1", events[0]["actor"])
            # The one-time token is in no event.
            token = parse.parse_qs(url.query)
            self.assertNotIn(str(token), str(events[0]))
            self.assertNotIn(console["url"], str(events[0]))

    def test_rdp_pool_has_no_browser_console(self):
        desktop = self.desktop_of(self.pools["sh-agents"])
        resp = self.app.post("/v1/desktops/%s/console" % desktop["id"],
                             headers=OPERATOR, status=409)
        message = resp.json["error"]["message"]
        self.assertIn("rdp", message)
        self.assertIn("no browser console", message)

    def test_not_running_server_is_409(self):
        desktop = self.desktop_of(self.html5)
        self.broker.cloud.servers[desktop["server_id"]]["status"] = "SHUTOFF"
        resp = self.app.post("/v1/desktops/%s/console" % desktop["id"],
                             headers=OPERATOR, status=409)
        self.assertIn("SHUTOFF", resp.json["error"]["message"])

    def test_unknown_desktop_is_404(self):
        self.app.post("/v1/desktops/nope/console", headers=OPERATOR,
                      status=404)

    def test_reader_and_helpdesk_are_refused(self):
        desktop = self.desktop_of(self.html5)
        before = self.broker.cloud.requests["console"]
        for headers in (READER, HELPDESK):
            self.app.post("/v1/desktops/%s/console" % desktop["id"],
                          headers=headers, status=403)
        self.assertEqual(before, self.broker.cloud.requests["console"])
        self.assertEqual([], db.event_list(
            self.ctxt, {"action": "desktop.console"}))


class NovaHostsTestCase(base.TestCase):
    """The same two calls with the Nova driver on the Nova emulator."""

    def setUp(self):
        super().setUp()
        self.emulator = self.useFixture(emu.NovaEmulator())
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.flags(group="pool_manager", release_settle_time=0)
        self.flags(group="api", operator_project_id="ops")
        self.broker = self.useFixture(nova_test.NovaBroker(self.conf,
                                                           self.emulator))
        self.broker.setup_call_centre()
        self.html5 = self.broker.create_pool(
            "html5", min_ready=1, max_size=1,
            console_type="spice-html5").json["pool"]
        self.broker.fill_pools()
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt

    def test_placement_figures_with_the_overcommit_ratio(self):
        body = self.app.get("/v1/hosts", headers=READER).json
        self.assertTrue(body["capacity_known"])
        by_name = {h["name"]: h for h in body["hosts"]}
        # The sharing storage provider is no host.
        self.assertEqual({"compute-1", "compute-2"}, set(by_name))
        desktops = db.desktop_list(self.ctxt)
        self.assertEqual(len(desktops), sum(
            h["desktops"]["total"] for h in body["hosts"]))
        for name, host in by_name.items():
            rp = next(u for u, p in self.emulator.providers.items()
                      if p["name"] == name)
            inventory = self.emulator.providers[rp]["inventories"]
            memory = inventory["MEMORY_MB"]
            self.assertEqual(
                int((memory["total"] - memory["reserved"]) *
                    memory["allocation_ratio"]),
                host["memory_mb"]["capacity"])
            self.assertEqual(memory["allocation_ratio"],
                             host["memory_mb"]["allocation_ratio"])
            self.assertEqual(self.emulator._usage(rp).get("MEMORY_MB", 0),
                             host["memory_mb"]["used"])
            self.assertEqual(
                sum(1 for d in desktops if d["host"] == name),
                host["desktops"]["total"])
            self.assertEqual(rp, host["provider"]["uuid"])
        self.assertEqual(1.5, by_name["compute-2"]["memory_mb"][
            "allocation_ratio"])

    def test_placement_is_read_once_per_cache_time(self):
        def placement_requests():
            return sum(1 for r in self.emulator.requests
                       if r["kind"] == "placement")

        self.flags(group="conductor", capacity_cache_time=3600)
        before = placement_requests()
        first = self.app.get("/v1/hosts", headers=READER).json
        read = placement_requests() - before
        # The providers' list, the inventories of the three providers,
        # the usages of the two compute nodes (not of the sharing
        # storage provider, which has no memory or vCPUs).
        self.assertEqual(1 + 3 + 2, read)
        second = self.app.get("/v1/hosts", headers=READER).json
        self.assertEqual(read, placement_requests() - before)
        self.assertEqual(first["capacity_read_at"],
                         second["capacity_read_at"])
        self.flags(group="conductor", capacity_cache_time=0)
        self.app.get("/v1/hosts", headers=READER)
        self.assertEqual(2 * read, placement_requests() - before)

    def test_placement_down_leaves_the_figures_out(self):
        self.emulator.inject_fault("placement", status=503, count=100)
        body = self.app.get("/v1/hosts", headers=READER).json
        self.assertFalse(body["capacity_known"])
        self.assertTrue(body["capacity_error"])
        self.assertTrue(body["hosts"])
        self.assertNotIn("token", body["capacity_error"].lower())

    def test_spice_html5_console_from_nova(self):
        desktop = db.desktop_list(self.ctxt, {"pool_id": self.html5["id"]})[0]
        before = len([r for r in self.emulator.requests
                      if r["kind"] == "console"])
        console = self.app.post("/v1/desktops/%s/console" % desktop["id"],
                                headers=OPERATOR).json["console"]
        self.assertEqual("spice-html5", console["type"])
        self.assertIn("token=", console["url"])
        after = [r for r in self.emulator.requests
                 if r["kind"] == "console"]
        self.assertEqual(before + 1, len(after))


class PoolAllowanceTestCase(base.TestCase):
    """The pool's boots.allowance is the one the boot queue applies."""

    def test_failing_pool_starts_throttled(self):
        broker = broker_fixture.use_broker(self)
        pool = broker.create_pool("p", min_ready=0, max_size=4,
                                  max_concurrent_builds=8).json["pool"]
        self.assertEqual(8, pool["boots"]["allowance"])
        # Two failed boots in a row, the throttle not run yet: halved
        # twice, as conductor/throttle.py's initial() gives the queue.
        db.pool_update(broker.ctxt, pool["id"], {"build_failures": 2},
                       event=False)
        boots = broker.app.get("/v1/pools/p").json["pool"]["boots"]
        self.assertEqual((2, 8), (boots["allowance"], boots["limit"]))
        db.pool_update(broker.ctxt, pool["id"], {"build_allowance": 5},
                       event=False)
        boots = broker.app.get("/v1/pools/p").json["pool"]["boots"]
        self.assertEqual(5, boots["allowance"])
