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

"""What the OSC plugin sends, against a stub of the API over HTTP.

The functional tests (tests/functional/osc) run the real ``openstack``
command against a real broker. These tests cover the client's error
handling and paging, and the requests of the commands whose API is
written in the contract of this round but may not be in the tree yet
(seats, thin clients, schedules, events, allocator reorder, desktop
actions): each is checked against that contract's shapes.
"""

import json
import socket
import time

import fixtures
from osc_lib import exceptions
import testtools

from tests.unit.osc import stub
from vdi_broker.osc import client as vdi_client
from vdi_broker.osc.v1 import allocators
from vdi_broker.osc.v1 import bindings
from vdi_broker.osc.v1 import desktops
from vdi_broker.osc.v1 import events
from vdi_broker.osc.v1 import hosts
from vdi_broker.osc.v1 import incidents
from vdi_broker.osc.v1 import jobs
from vdi_broker.osc.v1 import maintenance
from vdi_broker.osc.v1 import pools
from vdi_broker.osc.v1 import rollouts
from vdi_broker.osc.v1 import schedules
from vdi_broker.osc.v1 import seats
from vdi_broker.osc.v1 import thin_clients

POOL_ID = "0b4e5f5e-6b8e-4a38-9d36-4c1b1d6f0a11"
DESKTOP = {"id": "d-1", "name": "vdi-sh-1", "state": "ready",
           "pool_id": POOL_ID}


class StubTestCase(testtools.TestCase):

    prefix = ""

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger())
        self.broker = self.useFixture(stub.StubBroker(self.prefix))
        self.client = self.broker.client()

    def run_command(self, command_class, argv):
        return stub.run_command(command_class, argv, self.client)

    def last(self):
        return self.broker.requests[-1]


class TestClient(StubTestCase):

    def test_asks_for_its_api_version(self):
        # The header names the catalog's service type, as the broker
        # reads it (vdi_broker/api/microversion.py).
        self.broker.reply("GET", "/v1/pools", 200, {"pools": []})
        self.run_command(pools.ListPool, [])
        self.assertEqual("vdi 1.0",
                         self.last()["headers"]["Openstack-Api-Version"])

    def test_error_document_becomes_command_error(self):
        self.broker.reply("GET", "/v1/pools/p", 409, {"error": {
            "code": 409, "title": "Conflict",
            "message": "Pool p is in use: it still has 2 desktops.",
            "request_id": "req-123"}})
        e = self.assertRaises(exceptions.CommandError, self.run_command,
                              pools.ShowPool, ["p"])
        self.assertEqual("Conflict (HTTP 409): Pool p is in use: it still "
                         "has 2 desktops. (Request-ID: req-123)", str(e))

    def test_error_without_json(self):
        self.broker.reply("GET", "/v1/pools", 502,
                          "<html><body>Bad   gateway</body></html>")
        e = self.assertRaises(exceptions.CommandError, self.run_command,
                              pools.ListPool, [])
        self.assertEqual("HTTP 502 Error: <html><body>Bad gateway</body>"
                         "</html>", str(e))

    def test_unreachable_broker(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        # Nothing listens on the port any more.
        client = vdi_client.Client(self.client.adapter.session,
                                   endpoint="http://127.0.0.1:%d" % port,
                                   timeout=5)
        e = self.assertRaises(exceptions.CommandError, stub.run_command,
                              pools.ListPool, [], client)
        self.assertIn("Cannot connect to the VDI broker at "
                      "http://127.0.0.1:%d (GET http://127.0.0.1:%d/v1/pools)"
                      % (port, port), str(e))

    def test_timeout(self):
        def slow(request):
            time.sleep(1.5)
            return {"pools": [], "links": []}

        self.broker.reply("GET", "/v1/pools", 200, slow)
        client = vdi_client.Client(self.client.adapter.session,
                                   endpoint=self.broker.url, timeout=0.3)
        e = self.assertRaises(exceptions.CommandError, stub.run_command,
                              pools.ListPool, [], client)
        self.assertEqual("The VDI broker did not answer GET %s/v1/pools "
                         "within 0.3 seconds" % self.broker.url, str(e))

    def test_no_endpoint(self):
        client = vdi_client.Client(self.client.adapter.session)
        e = self.assertRaises(exceptions.CommandError, stub.run_command,
                              pools.ListPool, [], client)
        self.assertIn("VDI broker", str(e))

    def test_pages_are_followed(self):
        def page(request):
            marker = request["query"].get("marker")
            start = int(marker) if marker else 0
            limit = int(request["query"].get("limit", 2))
            size = min(limit, 2)
            items = [{"id": str(i), "name": "p%d" % i}
                     for i in range(start + 1, min(start + size, 5) + 1)]
            links = []
            if len(items) == size and items[-1]["id"] != "5":
                links = [{"rel": "next", "href":
                          "http://elsewhere/v1/pools?limit=%d&marker=%s" % (
                              limit, items[-1]["id"])}]
            return {"pools": items, "links": links}

        self.broker.reply("GET", "/v1/pools", 200, page)
        _headings, rows = self.run_command(pools.ListPool,
                                           ["--sort", "name:desc"])[0]
        self.assertEqual(["p1", "p2", "p3", "p4", "p5"],
                         [row[1] for row in rows])
        self.assertEqual([None, "2", "4"],
                         [r["query"].get("marker")
                          for r in self.broker.requests])
        for request in self.broker.requests:
            self.assertEqual("name", request["query"]["sort_key"])
            self.assertEqual("desc", request["query"]["sort_dir"])
        del self.broker.requests[:]
        _headings, rows = self.run_command(pools.ListPool,
                                           ["--limit", "3"])[0]
        self.assertEqual(["p1", "p2", "p3"], [row[1] for row in rows])
        self.assertEqual(["3", "3"], [r["query"]["limit"]
                                      for r in self.broker.requests])

    def test_names_are_quoted(self):
        self.broker.reply("GET", "/v1/pools/a b/c", 200,
                          {"pool": {"id": "1", "name": "a b/c"}})
        self.run_command(pools.ShowPool, ["a b/c"])
        self.assertEqual("/v1/pools/a b/c", self.last()["path"])

    def test_pool_set_merges_and_sends_revision(self):
        self.broker.reply("GET", "/v1/pools/p", 200, {"pool": {
            "id": POOL_ID, "name": "p", "revision": 7,
            "networks": ["a"], "metadata": {"team": "hotel"}}})
        self.broker.reply("PATCH", "/v1/pools/p", 200,
                          lambda r: {"pool": dict(r["body"], id=POOL_ID)})
        self.run_command(pools.SetPool, ["p", "--network", "b",
                                         "--metadata", "floor=2",
                                         "--min-ready", "3"])
        patch = self.last()
        self.assertEqual('"7"', patch["headers"]["If-Match"])
        self.assertEqual({"networks": ["a", "b"], "min_ready": 3,
                          "metadata": {"team": "hotel", "floor": "2"}},
                         patch["body"])
        # Plain fields: no read first, If-Match only when asked.
        del self.broker.requests[:]
        self.run_command(pools.SetPool, ["p", "--disable",
                                         "--readiness-probe", "tcp"])
        (patch,) = self.broker.requests
        self.assertNotIn("If-Match", patch["headers"])
        self.assertEqual({"enabled": False, "readiness_probe": "tcp"},
                         patch["body"])
        self.run_command(pools.SetPool, ["p", "--default-readiness-probe"])
        self.assertEqual({"readiness_probe": None}, self.last()["body"])
        self.run_command(pools.SetPool, ["p", "--no-network",
                                         "--if-match", "9"])
        self.assertEqual('"9"', self.last()["headers"]["If-Match"])
        self.assertEqual({"networks": []}, self.last()["body"])

    def test_delete_many_reports_failures(self):
        self.broker.reply("DELETE", "/v1/pools/a", 204)
        e = self.assertRaises(exceptions.CommandError, self.run_command,
                              pools.DeletePool, ["a", "missing"])
        self.assertEqual("1 of 2 pools failed to delete.", str(e))
        self.assertIn("Failed to delete pool missing: Not Found (HTTP 404)",
                      self.logger.output)
        self.assertEqual(["/v1/pools/a", "/v1/pools/missing"],
                         [r["path"] for r in self.broker.requests])


class TestCatalogEndpointWithVersion(StubTestCase):
    """An endpoint registered as .../v1 works as well as the root."""

    prefix = "/v1"

    def test_v1_is_not_doubled(self):
        self.broker.reply("GET", "/v1/v1/pools", 500, {})
        self.broker.reply("GET", "/v1/pools", 200,
                          {"pools": [], "links": []})
        self.run_command(pools.ListPool, [])
        self.assertEqual("/v1/pools", self.last()["path"])


class TestContractRequests(StubTestCase):
    """Requests of the commands written against the round's contract."""

    def _action(self, argv, command_class):
        self.broker.reply("POST", "/v1/desktops/d-1/action", 202,
                          {"desktop": DESKTOP})
        (columns, values), _out = self.run_command(command_class, argv)
        self.assertEqual("d-1", dict(zip(columns, values))["id"])
        request = self.last()
        self.assertEqual("application/json",
                         request["headers"].get("Accept"))
        return request["body"]

    def test_desktop_actions(self):
        cases = [
            (desktops.RebootDesktop, ["d-1"], {"reboot": {"hard": False}}),
            (desktops.RebootDesktop, ["d-1", "--hard"],
             {"reboot": {"hard": True}}),
            (desktops.RebuildDesktop, ["d-1"], {"rebuild": {}}),
            (desktops.ReplaceDesktop, ["d-1"], {"replace": {}}),
            (desktops.MoveDesktop, ["d-1", "--user", "sam"],
             {"move": {"user": "sam"}}),
            (desktops.QuarantineDesktop, ["d-1", "--reason", "no sound"],
             {"quarantine": {"reason": "no sound"}}),
            (desktops.QuarantineDesktop, ["d-1"], {"quarantine": {}}),
            (desktops.UnquarantineDesktop, ["d-1"], {"unquarantine": {}}),
            (desktops.UnquarantineDesktop, ["d-1", "--action", "rebuild"],
             {"unquarantine": {"action": "rebuild"}}),
        ]
        for command_class, argv, body in cases:
            self.assertEqual(body, self._action(argv, command_class), argv)

    def test_desktop_action_conflict(self):
        self.broker.reply("POST", "/v1/desktops/d-1/action", 409, {"error": {
            "code": 409, "title": "Conflict", "request_id": "req-1",
            "message": "Desktop d-1 is building; it cannot be rebuilt."}})
        e = self.assertRaises(exceptions.CommandError, self.run_command,
                              desktops.RebuildDesktop, ["d-1"])
        self.assertIn("cannot be rebuilt", str(e))

    def test_allocator_reorder(self):
        self.broker.reply("POST", "/v1/allocators/reorder", 200, {
            "allocators": [{"id": "2", "name": "b", "priority": 10},
                           {"id": "1", "name": "a", "priority": 20}]})
        (headings, rows), _out = self.run_command(
            allocators.ReorderAllocator, ["b", "a"])
        self.assertEqual({"allocators": ["b", "a"]}, self.last()["body"])
        self.assertEqual([("b", 10), ("a", 20)],
                         [(row[1], row[2]) for row in rows])

    def test_binding_set(self):
        self.broker.reply("PATCH", "/v1/bindings/b-1", 200,
                          {"binding": {"id": "b-1", "desktop_id": "d-2"}})
        self.run_command(bindings.SetBinding,
                         ["b-1", "--desktop", "d-2", "--if-match", "3"])
        self.assertEqual({"desktop_id": "d-2"}, self.last()["body"])
        self.assertEqual('"3"', self.last()["headers"]["If-Match"])

    def test_seat_create_and_set(self):
        self.broker.reply("POST", "/v1/seats", 201,
                          lambda r: {"seat": dict(r["body"], id="s-1")})
        self.run_command(seats.CreateSeat, [
            "SH-2F-001", "--site", "shanghai", "--location", "2F row 1",
            "--department", "hotel", "--tag", "window", "--tag", "2f"])
        self.assertEqual({"name": "SH-2F-001", "site": "shanghai",
                          "location": "2F row 1", "department": "hotel",
                          "tags": ["window", "2f"]}, self.last()["body"])
        self.broker.reply("GET", "/v1/seats/SH-2F-001", 200, {"seat": {
            "id": "s-1", "tags": ["window", "2f"], "revision": 4}})
        self.broker.reply("PATCH", "/v1/seats/SH-2F-001", 200,
                          lambda r: {"seat": dict(r["body"], id="s-1")})
        self.run_command(seats.SetSeat, ["SH-2F-001", "--tag", "training",
                                         "--description", "by the door"])
        self.assertEqual({"tags": ["window", "2f", "training"],
                          "description": "by the door"},
                         self.last()["body"])
        self.assertEqual('"4"', self.last()["headers"]["If-Match"])
        self.broker.reply("GET", "/v1/seats", 200, {"seats": [], "links": []})
        self.run_command(seats.ListSeat, ["--site", "shanghai",
                                          "--department", "hotel",
                                          "--sort", "site"])
        self.assertEqual({"site": "shanghai", "department": "hotel",
                          "sort_key": "site", "sort_dir": "asc"},
                         self.last()["query"])

    def test_thin_client_requests(self):
        self.broker.reply("POST", "/v1/thin-clients", 201, lambda r: {
            "thin_client": dict(r["body"], id="t-1")})
        self.run_command(thin_clients.CreateThinClient, [
            "tc-0001", "--seat", "SH-2F-001", "--model", "HP t430",
            "--tag", "lobby"])
        self.assertEqual({"client_id": "tc-0001", "seat": "SH-2F-001",
                          "model": "HP t430", "tags": ["lobby"]},
                         self.last()["body"])
        self.broker.reply("PATCH", "/v1/thin-clients/tc-0001", 200,
                          lambda r: {"thin_client": dict(r["body"])})
        self.run_command(thin_clients.SetThinClient,
                         ["tc-0001", "--no-seat", "--revision", "2",
                          "--status", "faulty", "--client-id", "tc-0002"])
        self.assertEqual({"seat": None, "status": "faulty",
                          "client_id": "tc-0002"}, self.last()["body"])
        self.assertEqual('"2"', self.last()["headers"]["If-Match"])
        self.assertRaises(exceptions.CommandError, self.run_command,
                          thin_clients.SetThinClient,
                          ["tc-0001", "--no-seat", "--seat", "x"])
        self.broker.reply("GET", "/v1/thin-clients", 200, {
            "thin_clients": [{"id": "t-1", "client_id": "tc-0001",
                              "status": "online"}], "links": []})
        (headings, rows), _out = self.run_command(
            thin_clients.ListThinClient, ["--status", "online", "--sort",
                                          "last_seen_at:desc"])
        self.assertEqual({"status": "online", "sort_key": "last_seen_at",
                          "sort_dir": "desc"}, self.last()["query"])
        self.assertEqual("tc-0001", rows[0][1])

    def test_schedule_requests(self):
        self.broker.reply("POST", "/v1/schedules", 201, lambda r: {
            "schedule": dict(r["body"], id="sc-1")})
        self.run_command(schedules.CreateSchedule, [
            "weekday-morning", "--pool", "sh-agents", "--days", "mon-fri",
            "--start", "07:30", "--end", "11:30", "--min-ready", "20",
            "--timezone", "Asia/Shanghai", "--disable"])
        self.assertEqual({"name": "weekday-morning", "pool_id": "sh-agents",
                          "days": ["mon", "tue", "wed", "thu", "fri"],
                          "start_time": "07:30", "end_time": "11:30",
                          "timezone": "Asia/Shanghai", "min_ready": 20,
                          "enabled": False}, self.last()["body"])
        self.broker.reply("PATCH", "/v1/schedules/sc-1", 200,
                          lambda r: {"schedule": dict(r["body"])})
        self.run_command(schedules.SetSchedule,
                         ["sc-1", "--enable", "--prewarm-minutes", "30"])
        self.assertEqual({"enabled": True, "prewarm_minutes": 30},
                         self.last()["body"])
        # A pool name is looked up: the filter takes the ID.
        self.broker.reply("GET", "/v1/pools/sh-agents", 200,
                          {"pool": {"id": POOL_ID}})
        self.broker.reply("GET", "/v1/schedules", 200,
                          {"schedules": [], "links": []})
        self.run_command(schedules.ListSchedule,
                         ["--pool", "sh-agents", "--enabled", "--sort",
                          "name"])
        self.assertEqual({"pool_id": POOL_ID, "enabled": "true",
                          "sort_key": "name", "sort_dir": "asc"},
                         self.last()["query"])

    def test_job_requests(self):
        self.broker.reply("POST", "/v1/jobs", 201, lambda r: {
            "job": dict(r["body"], id="job-1")})
        self.run_command(jobs.CreateJob, [
            "--kind", "file_push", "--parameter", "path=C:/notice.txt",
            "--parameter", "contents=shift at 8", "--parameters",
            '{"mode": "0644"}', "--pool", "sh-agents", "--site", "nantong",
            "--desktop", "vdi-sh-1", "--skip-in-use", "--max-retries", "2",
            "--run-at", "2026-12-03T20:00:00Z"])
        self.assertEqual({
            "kind": "file_push",
            "parameters": {"path": "C:/notice.txt", "contents": "shift at 8",
                           "mode": "0644"},
            "targets": {"pools": ["sh-agents"], "sites": ["nantong"],
                        "desktops": ["vdi-sh-1"]},
            "in_use": "skip", "max_retries": 2,
            "run_at": "2026-12-03T20:00:00Z"}, self.last()["body"])
        # A password is asked for, never taken from the command line.
        self.useFixture(fixtures.MockPatch("getpass.getpass",
                                           return_value="N3w-Pa55word"))
        self.run_command(jobs.CreateJob, [
            "--kind", "password", "--parameter", "username=localadmin",
            "--pool", "sh-agents"])
        self.assertEqual({"username": "localadmin",
                          "password": "N3w-Pa55word"},
                         self.last()["body"]["parameters"])
        self.assertNotIn("in_use", self.last()["body"])
        self.broker.reply("POST", "/v1/jobs/job-1/cancel", 200,
                          {"job": {"id": "job-1", "state": "cancelled"}})
        self.run_command(jobs.CancelJob, ["job-1"])
        self.assertEqual(("POST", "/v1/jobs/job-1/cancel"),
                         (self.last()["method"], self.last()["path"]))
        self.broker.reply("GET", "/v1/jobs/job-1/targets", 200,
                          {"targets": []})
        self.run_command(jobs.ListJobTarget, ["job-1", "--state", "failed"])
        self.assertEqual({"state": "failed"}, self.last()["query"])
        self.assertRaises(exceptions.CommandError, self.run_command,
                          jobs.CreateJob, ["--kind", "command",
                                           "--parameter", "command=true"])

    def test_rollout_requests(self):
        self.broker.reply("POST", "/v1/pools/sh-agents/rollouts", 201,
                          lambda r: {"rollout": dict(r["body"], id="r-1")})
        self.run_command(rollouts.CreateRollout, [
            "sh-agents", "--image", "win11-2026-12", "--canary-share",
            "0.05", "--wave-size", "20", "--max-failures", "3",
            "--window", "saturday-night"])
        self.assertEqual({"image": "win11-2026-12", "canary_share": 0.05,
                          "wave_size": 20, "max_failures": 3,
                          "window": "saturday-night"}, self.last()["body"])
        for command_class, action in ((rollouts.PauseRollout, "pause"),
                                      (rollouts.ResumeRollout, "resume"),
                                      (rollouts.RollbackRollout,
                                       "rollback")):
            self.broker.reply("POST", "/v1/rollouts/r-1/action", 200,
                              {"rollout": {"id": "r-1"}})
            self.run_command(command_class, ["r-1", "--reason", "ticket 7"])
            self.assertEqual({"action": action, "reason": "ticket 7"},
                             self.last()["body"])
        self.broker.reply("GET", "/v1/pools/sh-agents/rollouts", 200,
                          {"rollouts": []})
        self.run_command(rollouts.ListRollout, ["--pool", "sh-agents",
                                                "--state", "paused"])
        self.assertEqual("paused", self.last()["query"]["state"])
        self.broker.reply("GET", "/v1/rollouts/r-1", 200,
                          {"rollout": {"id": "r-1"}})
        self.run_command(rollouts.ShowRollout, ["r-1"])
        self.assertEqual(("GET", "/v1/rollouts/r-1"),
                         (self.last()["method"], self.last()["path"]))

    def test_maintenance_window_requests(self):
        self.broker.reply("POST", "/v1/maintenance-windows", 201,
                          lambda r: {"maintenance_window": dict(
                              r["body"], id="w-1")})
        self.run_command(maintenance.CreateMaintenanceWindow, [
            "saturday-night", "--site", "nantong", "--cron", "0 22 * * sat",
            "--timezone", "Asia/Shanghai", "--duration", "240", "--drain"])
        self.assertEqual({"name": "saturday-night", "site": "nantong",
                          "cron": "0 22 * * sat",
                          "timezone": "Asia/Shanghai",
                          "duration_minutes": 240, "drain": True},
                         self.last()["body"])
        self.run_command(maintenance.CreateMaintenanceWindow, [
            "patch-day", "--pool", "sh-agents", "--start",
            "2026-12-24T22:00:00Z", "--end", "2026-12-25T02:00:00Z"])
        self.assertEqual({"name": "patch-day", "pool_id": "sh-agents",
                          "starts_at": "2026-12-24T22:00:00Z",
                          "ends_at": "2026-12-25T02:00:00Z"},
                         self.last()["body"])
        self.assertRaises(exceptions.CommandError, self.run_command,
                          maintenance.CreateMaintenanceWindow,
                          ["no-time", "--pool", "sh-agents"])
        self.broker.reply("DELETE", "/v1/maintenance-windows/w-1", 204,
                          None)
        self.run_command(maintenance.DeleteMaintenanceWindow, ["w-1"])
        self.assertEqual(("DELETE", "/v1/maintenance-windows/w-1"),
                         (self.last()["method"], self.last()["path"]))

    def test_desktop_console(self):
        url = "https://console.example.org:6082/spice_auto.html?token=8c1e"
        self.broker.reply("POST", "/v1/desktops/d 1/console", 200, {
            "console": {"desktop_id": "d 1", "type": "spice-html5",
                        "protocol": "spice-html5", "url": url}},
            headers={"Cache-Control": "no-store"})
        (columns, values), _out = self.run_command(desktops.ConsoleDesktop,
                                                   ["d 1"])
        shown = dict(zip(columns, values))
        self.assertEqual(url, shown["url"])
        self.assertEqual("spice-html5", shown["type"])
        request = self.last()
        self.assertEqual(("POST", "/v1/desktops/d 1/console", None),
                         (request["method"], request["path"],
                          request["body"]))

    def test_desktop_console_refused(self):
        self.broker.reply("POST", "/v1/desktops/d-1/console", 409, {
            "error": {"code": 409, "title": "Conflict",
                      "message": "Pool sh-agents's console type rdp has "
                                 "no browser console.",
                      "request_id": "req-9"}})
        e = self.assertRaises(exceptions.CommandError, self.run_command,
                              desktops.ConsoleDesktop, ["d-1"])
        self.assertIn("409", str(e))
        self.assertIn("no browser console", str(e))

    HOSTS = {
        "hosts": [
            {"name": "cn-sh-02",
             "provider": {"uuid": "p2", "name": "cn-sh-02.example.org"},
             "desktops": {"building": 1, "total": 1},
             "builds": {"in_flight": 1, "queued": 0, "allowance": 10,
                        "limit": 10, "note": None},
             "load_percent": None, "memory_mb": None, "vcpus": None},
            {"name": "cn-sh-01",
             "provider": {"uuid": "p1", "name": "cn-sh-01.example.org"},
             "desktops": {"ready": 12, "assigned": 61, "total": 73},
             "builds": {"in_flight": 2, "queued": 1, "allowance": 5,
                        "limit": 10, "note": "load 82%"},
             "load_percent": 82.4,
             "memory_mb": {"used": 614400, "capacity": 774144,
                           "allocation_ratio": 1.5, "used_percent": 79.4},
             "vcpus": {"used": 300, "capacity": 256,
                       "used_percent": 117.2}}],
        "capacity_known": True, "capacity_error": None,
        "capacity_read_at": "2026-12-02T08:14:03Z",
        "boot_queue": {"in_flight": 3, "limit": 50}}

    def test_host_list(self):
        self.broker.reply("GET", "/v1/hosts", 200, self.HOSTS)
        (headings, rows), _out = self.run_command(hosts.ListHost, [])
        self.assertEqual(("Name", "Desktops", "Ready", "Assigned", "Boots",
                          "Allowance", "Queued", "Memory Used %",
                          "vCPUs Used %"), headings)
        rows = list(rows)
        self.assertEqual(("cn-sh-01", 73, 12, 61, 2, 5, 1, 79.4, 117.2),
                         rows[0])
        # States without desktops are 0; no Placement figures: empty.
        self.assertEqual(("cn-sh-02", 1, 0, 0, 1, 10, 0, None, None),
                         rows[1])
        self.assertEqual(("GET", "/v1/hosts"),
                         (self.last()["method"], self.last()["path"]))
        (headings, rows), _out = self.run_command(hosts.ListHost,
                                                  ["--long"])
        long_row = dict(zip(headings, list(rows)[0]))
        self.assertEqual((774144, 1.5, "load 82%", "cn-sh-01.example.org"),
                         (long_row["Memory Limit MB"], long_row["RAM Ratio"],
                          long_row["Note"], long_row["Provider"]))

    def test_host_list_without_placement(self):
        body = dict(self.HOSTS, capacity_known=False,
                    capacity_error="Placement timed out")
        self.broker.reply("GET", "/v1/hosts", 200, body)
        self.run_command(hosts.ListHost, [])
        self.assertIn("Placement timed out", self.logger.output)

    def test_host_show(self):
        self.broker.reply("GET", "/v1/hosts", 200, self.HOSTS)
        for name in ("cn-sh-01", "cn-sh-01.example.org",
                     "cn-sh-01.other.domain"):
            (columns, values), _out = self.run_command(hosts.ShowHost,
                                                       [name])
            shown = dict(zip(columns, values))
            self.assertEqual("cn-sh-01", shown["name"], name)
            self.assertEqual("2026-12-02T08:14:03Z",
                             shown["capacity_read_at"])
            self.assertEqual(774144,
                             shown["memory_mb"].machine_readable()[
                                 "capacity"])
        e = self.assertRaises(exceptions.CommandError, self.run_command,
                              hosts.ShowHost, ["cn-bj-01"])
        self.assertIn("No compute host cn-bj-01", str(e))

    def test_host_show_ambiguous_label(self):
        body = {"hosts": [dict(self.HOSTS["hosts"][1], name="cn-1.a"),
                          dict(self.HOSTS["hosts"][1], name="cn-1.b",
                               provider=None)]}
        self.broker.reply("GET", "/v1/hosts", 200, body)
        e = self.assertRaises(exceptions.CommandError, self.run_command,
                              hosts.ShowHost, ["cn-1"])
        self.assertIn("More than one host", str(e))
        (columns, values), _out = self.run_command(hosts.ShowHost,
                                                   ["cn-1.b"])
        self.assertEqual("cn-1.b", dict(zip(columns, values))["name"])

    def test_event_requests(self):
        self.broker.reply("GET", "/v1/events", 200, {"events": [
            {"id": 9, "created_at": "2026-11-26T06:00:00Z", "kind": "admin",
             "action": "pool.update", "result": "success",
             "actor": "admin", "username": None, "message": "p"}],
            "links": []})
        (headings, rows), _out = self.run_command(events.ListEvent, [
            "--kind", "admin", "--action", "pool.update", "--user", "amy",
            "--pool", POOL_ID, "--since", "2026-11-26T00:00:00Z",
            "--until", "2026-11-27", "--limit", "10", "--marker", "20"])
        # A pool UUID is not looked up: the pool may be gone.
        self.assertEqual(1, len(self.broker.requests))
        self.assertEqual({"kind": "admin", "action": "pool.update",
                          "username": "amy", "pool_id": POOL_ID,
                          "since": "2026-11-26T00:00:00Z",
                          "until": "2026-11-27", "limit": "10",
                          "marker": "20"}, self.last()["query"])
        self.assertEqual(("ID", "Created At", "Kind", "Action", "Result",
                          "Actor", "User", "Message"), headings)
        self.assertEqual(9, rows[0][0])
        self.broker.reply("GET", "/v1/events/9", 200, {"event": {
            "id": 9, "detail": {"changes": ["min_ready"]}}})
        (columns, values), _out = self.run_command(events.ShowEvent, ["9"])
        self.assertEqual({"changes": ["min_ready"]},
                         dict(zip(columns, values))["detail"]
                         .machine_readable())

    def test_incident_requests(self):
        self.broker.reply("GET", "/v1/incidents", 200, {"incidents": [
            {"id": "i-1", "opened_at": "2026-12-08T09:00:00Z",
             "kind": "agent_silent", "state": "moved",
             "desktop_id": "d-1", "username": "amy", "seconds": 301.0}],
            "links": []})
        (headings, rows), _out = self.run_command(incidents.ListIncident, [
            "--state", "moved", "--kind", "agent_silent", "--user", "amy",
            "--pool", POOL_ID, "--limit", "5"])
        self.assertEqual({"state": "moved", "kind": "agent_silent",
                          "username": "amy", "pool_id": POOL_ID,
                          "limit": "5"}, self.last()["query"])
        self.assertEqual(("ID", "Opened At", "Kind", "State", "Desktop ID",
                          "User", "Seconds"), headings)
        self.assertEqual(301.0, rows[0][6])
        self.broker.reply("GET", "/v1/incidents/i-1", 200, {"incident": {
            "id": "i-1", "new_desktop_id": "d-2"}})
        (columns, values), _out = self.run_command(incidents.ShowIncident,
                                                   ["i-1"])
        self.assertEqual("d-2", dict(zip(columns, values))["new_desktop_id"])

    def test_explain_formats(self):
        document = {"request": {"principal": {"username": "amy"}},
                    "trace": [], "outcome": {"allocator": None}}
        self.broker.reply("POST", "/v1/allocators/explain", 200,
                          {"explain": document})
        _result, out = self.run_command(allocators.ExplainAllocator,
                                        ["amy", "--seat", "S1", "-f",
                                         "json"])
        self.assertEqual(document, json.loads(out))
        self.assertEqual({"username": "amy", "seat": "S1"},
                         self.last()["body"])
        _result, out = self.run_command(allocators.ExplainAllocator,
                                        ["amy"])
        self.assertIn("Winner:   none", out)
