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

"""``openstack vdi ...``: the real OSC command against a running broker.

Each test serves a broker (noauth, fake compute, in-process conductor)
over HTTP and runs the ``openstack`` program of the test's virtualenv in
a subprocess, with ``--os-auth-type none --os-vdi-endpoint <url>``: the
whole path of an operator's command, from argument parsing through
keystoneauth to the API and back to the table or JSON output.
"""

import json
import os
import socket
import subprocess
import sys

import fixtures
import testscenarios
import testtools

from tests import base
from tests.fixtures import api_server
from tests.fixtures import broker as broker_fixture
from tests.fixtures import database
from tests.fixtures import nova_emulator
from vdi_broker.api import handler
from vdi_broker.api.schemas import pools as pool_schemas

OPENSTACK = os.path.join(os.path.dirname(sys.executable), "openstack")


class OpenStackVdiTestCase(base.TestCase):

    backend = "sqlite"

    def setUp(self):
        super().setUp()
        if not os.path.exists(OPENSTACK):
            self.fail("%s is missing: install python-openstackclient "
                      "(test-requirements.txt)" % OPENSTACK)
        # Each run of ``openstack`` starts Python and OSC (2-3 s of CPU;
        # several times that on a loaded machine): more time than the
        # base class gives.
        self.useFixture(fixtures.Timeout(600, gentle=True))
        self.broker = broker_fixture.use_broker(self, backend=self.backend)
        self.server = self.useFixture(api_server.ApiServer(self.broker))
        self.home = self.useFixture(fixtures.TempDir()).path

    def _env(self):
        # No clouds.yaml, OS_* variables or proxy of the machine: only
        # what the command line says.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("OS_") and
               k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        env.update(HOME=self.home, NO_PROXY="127.0.0.1,localhost",
                   no_proxy="127.0.0.1,localhost", CLIFF_MAX_TERM_WIDTH="0",
                   PYTHONWARNINGS="ignore")
        return env

    def run_openstack(self, *args, fail=False):
        """Run ``openstack vdi <args>``; (stdout, stderr)."""
        cmd = [OPENSTACK, "--os-auth-type", "none",
               "--os-vdi-endpoint", self.server.url, "vdi"] + list(args)
        proc = subprocess.run(cmd, env=self._env(), cwd=self.home,
                              capture_output=True, text=True, timeout=120)
        detail = "%s\nrc=%s\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(cmd), proc.returncode, proc.stdout, proc.stderr)
        if fail:
            self.assertNotEqual(0, proc.returncode, detail)
            self.assertNotIn("Traceback", proc.stderr, detail)
        else:
            self.assertEqual(0, proc.returncode, detail)
        return proc.stdout, proc.stderr

    def openstack_json(self, *args):
        out, _err = self.run_openstack(*(args + ("-f", "json")))
        return json.loads(out)

    def api(self, path):
        """The same resource read through the API directly."""
        return self.broker.app.get(path).json

    def assertCleanError(self, stderr, text):
        """One line with the broker's message, no traceback."""
        self.assertIn(text, stderr)
        self.assertNotIn("Traceback", stderr)
        self.assertLessEqual(len(stderr.strip().splitlines()), 2, stderr)


def _untimed(item):
    # MariaDB keeps whole seconds: the create answer has microseconds.
    return {k: v for k, v in item.items()
            if k not in ("created_at", "updated_at")}


class TestPools(OpenStackVdiTestCase):

    def test_create_list_show(self):
        pool = self.openstack_json(
            "pool", "create", "sh agents", "--flavor", "win10-4c8g",
            "--image", "win10-golden", "--network", "agents-net",
            "--site", "shanghai", "--min-ready", "1", "--max-size", "4",
            "--release-action", "rebuild", "--metadata", "team=hotel")
        self.assertEqual("sh agents", pool["name"])
        self.assertEqual(["agents-net"], pool["networks"])
        self.assertEqual({"team": "hotel"}, pool["metadata"])
        self.assertEqual(1, pool["revision"])
        self.assertEqual(_untimed(pool),
                         _untimed(self.api("/v1/pools/%s" % pool["id"])[
                             "pool"]))
        self.broker.create_pool("nt-agents", site="nantong")
        # The table: headings and the pool's row.
        out, _err = self.run_openstack("pool", "list")
        self.assertIn("| Min Ready |", out)
        self.assertIn("| sh agents ", out)
        listed = self.openstack_json("pool", "list", "--site", "shanghai")
        self.assertEqual(["sh agents"], [p["Name"] for p in listed])
        listed = self.openstack_json("pool", "list", "--sort", "name:desc",
                                     "--limit", "1")
        self.assertEqual(["sh agents"], [p["Name"] for p in listed])

    def test_set_and_delete(self):
        self.broker.create_pool("sh agents", min_ready=1, max_size=4,
                                metadata={"team": "hotel"})
        self.broker.create_pool("nt-agents", site="nantong")
        pool = self.api("/v1/pools/sh%20agents")["pool"]
        # set: networks and metadata merge; the revision goes with it.
        changed = self.openstack_json(
            "pool", "set", "sh agents", "--network", "mgmt-net",
            "--metadata", "floor=2", "--min-ready", "2", "--disable")
        self.assertEqual(["agents-net", "mgmt-net"], changed["networks"])
        self.assertEqual({"team": "hotel", "floor": "2"},
                         changed["metadata"])
        self.assertEqual(2, changed["min_ready"])
        self.assertFalse(changed["enabled"])
        self.assertEqual(2, changed["revision"])
        # A stale revision: the broker's conflict, one clean line.
        _out, err = self.run_openstack("pool", "set", "sh agents",
                                       "--min-ready", "3", "--if-match",
                                       "1", fail=True)
        self.assertCleanError(err, "Conflict (HTTP 409)")
        _out, err = self.run_openstack("pool", "set", "sh agents",
                                       "--min-ready", "9", fail=True)
        self.assertCleanError(err, "Bad Request (HTTP 400): ")
        self.assertIn("min_ready (9) is larger than max_size (4)", err)
        shown = self.openstack_json("pool", "show", pool["id"])
        self.assertEqual(2, shown["min_ready"])
        self.run_openstack("pool", "delete", "sh agents", "nt-agents")
        _out, err = self.run_openstack("pool", "show", "sh agents",
                                       fail=True)
        self.assertCleanError(err, "Not Found (HTTP 404): ")
        self.assertEqual([], self.api("/v1/pools")["pools"])


class TestAllocators(OpenStackVdiTestCase):

    def setUp(self):
        super().setUp()
        self.broker.setup_call_centre()
        self.broker.fill_pools()

    def test_create_list_show(self):
        allocator = self.openstack_json(
            "allocator", "create", "hotel-agents", "--plugin", "pool",
            "--pool", "sh-agents", "--priority", "25",
            "--group", "hotel-agents", "--attribute", "department=hotel",
            "--match", "all", "--description", "hotel team")
        self.assertEqual({"groups": ["hotel-agents"],
                          "attributes": {"department": ["hotel"]},
                          "match": "all"}, allocator["rules"])
        self.assertEqual(self.broker.pools["sh-agents"]["id"],
                         allocator["pool_id"])
        listed = self.openstack_json("allocator", "list", "--long")
        self.assertEqual(["vip-personal", "training-seats", "hotel-agents",
                          "shanghai-agents", "nantong-agents",
                          "everyone-else"], [a["Name"] for a in listed])
        self.assertEqual(["hotel-agents"], [a["Name"] for a in listed
                                            if a["Priority"] == 25])
        self.assertEqual(allocator["rules"], listed[2]["Rules"])
        out, _err = self.run_openstack("allocator", "show", "hotel-agents")
        self.assertIn("attributes: department=hotel; groups: hotel-agents; "
                      "match: all", out)

    def test_set_and_delete(self):
        self.broker.create_allocator(
            "hotel-agents", pool="sh-agents", priority=25,
            rules={"groups": ["hotel-agents"]})
        changed = self.openstack_json(
            "allocator", "set", "hotel-agents", "--no-rules", "--disable",
            "--priority", "5", "--if-match", "1")
        self.assertEqual({}, changed["rules"])
        self.assertFalse(changed["enabled"])
        self.assertEqual(2, changed["revision"])
        listed = self.openstack_json("allocator", "list", "--disabled")
        self.assertEqual(["hotel-agents"], [a["Name"] for a in listed])
        _out, err = self.run_openstack(
            "allocator", "create", "broken", "--plugin", "pool",
            "--pool", "no-such-pool", fail=True)
        self.assertCleanError(err, "(HTTP 404)")
        self.run_openstack("allocator", "delete", "hotel-agents")
        self.assertEqual(5, len(self.api("/v1/allocators")["allocators"]))

    def test_explain(self):
        out, _err = self.run_openstack("allocator", "explain", "amy",
                                       "--seat", "SH-TR-01")
        lines = out.splitlines()
        self.assertIn("  User:     amy (Amy Wu)", lines)
        self.assertIn("   10  vip-personal (user): NO MATCH", lines)
        self.assertIn("         - groups: not a member of any of "
                      "vip-agents", lines)
        self.assertIn("   20  training-seats (seat): SELECTED - seat "
                      "binding SH-TR-01", lines)
        self.assertIn("         + seat_tags: seat tagged training", lines)
        self.assertIn("  Winner:   training-seats", lines)
        training = self.broker.pools["training-room"]
        self.assertIn("  Pool:     training-room (%s), status active, "
                      "2 ready" % training["id"], lines)
        # -f json: the broker's document as it is.
        document = self.openstack_json("allocator", "explain", "carl")
        expected = self.broker.app.post_json(
            "/v1/allocators/explain", {"username": "carl"}).json["explain"]
        self.assertEqual(expected, document)
        self.assertEqual("everyone-else", document["outcome"]["allocator"])
        _out, err = self.run_openstack("allocator", "explain", "nobody",
                                       fail=True)
        self.assertCleanError(err, "Not Found (HTTP 404): ")


class TestDesktopsBindingsSessions(OpenStackVdiTestCase):

    def setUp(self):
        super().setUp()
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.login = self.broker.login("amy").json
        self.sh_id = self.broker.pools["sh-agents"]["id"]

    def test_desktops_and_sessions(self):
        login = self.login
        session_id = login["session"]["id"]
        sh_id = self.sh_id
        # Desktops: a pool name is looked up for the filter.
        assigned = self.openstack_json("desktop", "list", "--pool",
                                       "sh-agents", "--state", "assigned")
        self.assertEqual([login["desktop"]["id"]],
                         [d["ID"] for d in assigned])
        self.assertEqual("amy", assigned[0]["Assigned User"])
        ready = self.openstack_json("desktop", "list", "--pool", sh_id,
                                    "--state", "ready", "--long")
        self.assertEqual(1, len(ready))
        desktop = self.openstack_json("desktop", "show", ready[0]["ID"])
        self.assertEqual(sh_id, desktop["pool_id"])
        self.assertEqual("ready", desktop["state"])
        # Sessions.
        sessions = self.openstack_json("session", "list", "--user", "amy")
        self.assertEqual([session_id], [s["ID"] for s in sessions])
        shown = self.openstack_json("session", "show", session_id)
        self.assertEqual("active", shown["state"])
        self.assertEqual("tc-0001", shown["client_id"])
        # Force a logout.
        self.run_openstack("session", "delete", session_id)
        self.assertEqual("closed", self.api(
            "/v1/sessions/%s" % session_id)["session"]["state"])

    def test_bindings(self):
        sh_id = self.sh_id
        desktop = self.api("/v1/desktops?state=ready&pool_id=%s" % sh_id)[
            "desktops"][0]
        # Bindings: bind the ready desktop to a seat, then unbind it.
        binding = self.openstack_json(
            "binding", "create", "--kind", "seat", "--key", "SH-2F-001",
            "--desktop", desktop["id"])
        self.assertEqual(desktop["id"], binding["desktop_id"])
        listed = self.openstack_json("binding", "list", "--kind", "seat",
                                     "--pool", "sh-agents")
        self.assertEqual([binding["id"]], [b["ID"] for b in listed])
        self.assertEqual(binding, self.openstack_json("binding", "show",
                                                      binding["id"]))
        _out, err = self.run_openstack(
            "binding", "create", "--kind", "seat", "--key", "SH-2F-002",
            "--desktop", desktop["id"], fail=True)
        self.assertCleanError(err, "(HTTP 409)")
        self.run_openstack("binding", "delete", binding["id"])
        self.assertEqual([], self.api("/v1/bindings?kind=seat")["bindings"])
        # A pool with desktops is not deleted: the broker says why.
        _out, err = self.run_openstack("pool", "delete", "sh-agents",
                                       fail=True)
        self.assertIn("Failed to delete pool sh-agents: Conflict (HTTP 409)"
                      ": Pool %s is still in use: it still has 2 desktops"
                      % sh_id, err)
        self.assertIn("1 of 1 pools failed to delete.", err)
        self.assertNotIn("Traceback", err)


class TestConnection(OpenStackVdiTestCase):

    def test_unreachable_endpoint_and_os_endpoint(self):
        # keystoneauth's "none" plugin takes --os-endpoint too.
        cmd = [OPENSTACK, "--os-auth-type", "none", "--os-endpoint",
               self.server.url, "vdi", "pool", "list", "-f", "json"]
        proc = subprocess.run(cmd, env=self._env(), cwd=self.home,
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertEqual([], json.loads(proc.stdout))
        # Nobody listens: a clean error, no traceback.
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            url = "http://127.0.0.1:%d" % sock.getsockname()[1]
        cmd = [OPENSTACK, "--os-auth-type", "none", "--os-vdi-endpoint",
               url, "vdi", "pool", "list"]
        proc = subprocess.run(cmd, env=self._env(), cwd=self.home,
                              capture_output=True, text=True, timeout=120)
        self.assertNotEqual(0, proc.returncode)
        self.assertCleanError(proc.stderr, "Cannot connect to the VDI broker "
                                           "at %s (GET %s/v1/pools)" % (
                                               url, url))


class TestKeystoneCatalog(OpenStackVdiTestCase):
    """With Keystone: the ``vdi`` endpoint of the catalog, by interface.

    The Keystone of the Nova emulator issues the token and the catalog;
    the broker itself runs with noauth, so it accepts the token unchecked.
    """

    def test_catalog_endpoint_and_interface(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            dead = "http://127.0.0.1:%d" % sock.getsockname()[1]
        keystone = self.useFixture(nova_emulator.NovaEmulator(
            extra_services=[("vdi", "vdi-broker", {
                "public": self.server.url,
                # Registered with the version: not doubled.
                "internal": self.server.url + "/v1/",
                "admin": dead})]))
        self.broker.create_pool("sh-agents")
        base = [OPENSTACK, "--os-auth-type", "password",
                "--os-auth-url", keystone.auth_url,
                "--os-username", keystone.username,
                "--os-password", keystone.password,
                "--os-project-name", keystone.project_name,
                "--os-user-domain-name", "Default",
                "--os-project-domain-name", "Default",
                "--os-region-name", keystone.region]
        for interface in ("public", "internal"):
            proc = subprocess.run(
                base + ["--os-interface", interface, "vdi", "pool", "list",
                        "-f", "json"],
                env=self._env(), cwd=self.home, capture_output=True,
                text=True, timeout=120)
            self.assertEqual(0, proc.returncode, proc.stderr)
            self.assertEqual(["sh-agents"],
                             [p["Name"] for p in json.loads(proc.stdout)])
        proc = subprocess.run(
            base + ["--os-interface", "admin", "vdi", "pool", "list"],
            env=self._env(), cwd=self.home, capture_output=True, text=True,
            timeout=120)
        self.assertNotEqual(0, proc.returncode)
        self.assertCleanError(proc.stderr, "Cannot connect to the VDI "
                                           "broker at %s" % dead)
        self.assertTrue(keystone.issued_tokens)


class TestServerDatabases(testscenarios.WithScenarios,
                          OpenStackVdiTestCase):
    """A short round trip on MariaDB and PostgreSQL.

    Each ``openstack`` run costs seconds of start-up, so the servers get
    the revision and error paths, not every command again.
    """

    scenarios = database.SERVER_BACKENDS

    def test_round_trip(self):
        self.broker.create_pool("p", max_size=2)
        changed = self.openstack_json("pool", "set", "p", "--network",
                                      "n2", "--min-ready", "1")
        self.assertEqual(["agents-net", "n2"], changed["networks"])
        self.assertEqual(2, changed["revision"])
        _out, err = self.run_openstack("pool", "set", "p", "--min-ready",
                                       "2", "--if-match", "1", fail=True)
        self.assertCleanError(err, "Conflict (HTTP 409)")
        self.run_openstack("pool", "delete", "p")
        self.assertEqual([], self.api("/v1/pools")["pools"])


def _route(path, method):
    return any(declared == path and method in methods
               for declared, methods in handler.ROUTE_DECLARATIONS)


def _needs(path, method="POST"):
    """Skip until the API of this round's contract has ``path``.

    The commands for these resources were written against the contract
    while the API was being built; once merged, these tests run them
    against it.
    """
    return testtools.skipUnless(_route(path, method),
                                "%s %s is not in this tree's API yet" % (
                                    method, path))


class TestContractResources(OpenStackVdiTestCase):
    """Seats, thin clients, schedules, events, reorder, desktop actions."""

    @_needs("/v1/seats")
    @_needs("/v1/thin-clients")
    def test_seats_and_thin_clients(self):
        seat = self.openstack_json("seat", "create", "SH-3F-001", "--site",
                                   "shanghai", "--department", "hotel",
                                   "--tag", "window")
        self.assertEqual(["window"], seat["tags"])
        seat = self.openstack_json("seat", "set", "SH-3F-001", "--tag",
                                   "training", "--location", "3F row 1")
        self.assertEqual(["window", "training"], seat["tags"])
        self.assertEqual("3F row 1", seat["location"])
        self.assertEqual(2, seat["revision"])
        listed = self.openstack_json("seat", "list", "--department", "hotel")
        self.assertEqual(["SH-3F-001"], [s["Name"] for s in listed])
        client = self.openstack_json("thin", "client", "create", "tc-0042",
                                     "--seat", "SH-3F-001", "--model",
                                     "HP t430")
        self.assertEqual("SH-3F-001", client["seat"])
        _out, err = self.run_openstack("seat", "delete", "SH-3F-001",
                                       fail=True)
        self.assertCleanError(err, "(HTTP 409)")
        listed = self.openstack_json("thin", "client", "list", "--seat",
                                     "SH-3F-001", "--sort", "client_id")
        self.assertEqual(["tc-0042"], [c["Client ID"] for c in listed])
        client = self.openstack_json("thin", "client", "set", "tc-0042",
                                     "--no-seat", "--status", "faulty",
                                     "--if-match", str(client["revision"]))
        self.assertIsNone(client["seat"])
        self.assertEqual("faulty", client["status"])
        self.run_openstack("thin", "client", "delete", "tc-0042")
        self.run_openstack("seat", "delete", "SH-3F-001")
        self.assertEqual([], self.api("/v1/seats?name=SH-3F-001")["seats"])

    @_needs("/v1/schedules")
    def test_schedules(self):
        self.broker.create_pool("sh-agents", max_size=30)
        schedule = self.openstack_json(
            "schedule", "create", "weekday-morning", "--pool", "sh-agents",
            "--days", "mon-fri", "--start", "07:30", "--end", "11:30",
            "--min-ready", "20", "--prewarm-minutes", "15", "--timezone",
            "Asia/Shanghai")
        self.assertEqual(["mon", "tue", "wed", "thu", "fri"],
                         schedule["days"])
        listed = self.openstack_json("schedule", "list", "--pool",
                                     "sh-agents")
        self.assertEqual([schedule["id"]], [s["ID"] for s in listed])
        changed = self.openstack_json("schedule", "set", schedule["id"],
                                      "--disable", "--if-match",
                                      str(schedule["revision"]))
        self.assertFalse(changed["enabled"])
        _out, err = self.run_openstack("schedule", "set", schedule["id"],
                                       "--min-ready", "31", fail=True)
        self.assertCleanError(err, "(HTTP 400)")
        self.run_openstack("schedule", "delete", schedule["id"])
        self.assertEqual([], self.api("/v1/schedules")["schedules"])

    @_needs("/v1/jobs")
    def test_jobs(self):
        self.broker.create_pool("sh-agents", min_ready=2, max_size=2)
        self.broker.fill_pools()
        job = self.openstack_json(
            "job", "create", "--kind", "command", "--name", "inventory",
            "--parameter", "command=hostname", "--pool", "sh-agents",
            "--concurrency", "1", "--run-at", "2099-01-01T00:00:00Z")
        self.assertEqual(("scheduled", {"command": "hostname"}),
                         (job["state"], job["parameters"]))
        listed = self.openstack_json("job", "list", "--state", "scheduled")
        self.assertEqual([job["id"]], [j["ID"] for j in listed])
        now = self.openstack_json(
            "job", "create", "--kind", "message", "--parameters",
            '{"message": "break at 10", "seconds": 60}', "--pool",
            "sh-agents")
        self.broker.manager.job_runner.run_once(self.broker.ctxt, wait=True)
        targets = self.openstack_json("job", "target", "list", now["id"])
        self.assertEqual(["ok", "ok"], [t["State"] for t in targets])
        cancelled = self.openstack_json("job", "cancel", job["id"])
        self.assertEqual("cancelled", cancelled["state"])
        _out, err = self.run_openstack("job", "cancel", job["id"], fail=True)
        self.assertCleanError(err, "(HTTP 409)")
        _out, err = self.run_openstack("job", "create", "--kind", "command",
                                       "--parameter", "command=true",
                                       fail=True)
        self.assertIn("--pool", err)

    @_needs("/v1/rollouts", "GET")
    def test_rollouts_and_maintenance_windows(self):
        self.broker.create_pool("sh-agents", min_ready=2, max_size=4)
        self.broker.fill_pools()
        window = self.openstack_json(
            "maintenance", "window", "create", "saturday-night", "--pool",
            "sh-agents", "--cron", "0 22 * * sat", "--timezone",
            "Asia/Shanghai", "--duration", "240", "--drain")
        self.assertEqual(("0 22 * * sat", True),
                         (window["cron"], window["drain"]))
        listed = self.openstack_json("maintenance", "window", "list",
                                     "--pool", "sh-agents")
        self.assertEqual([window["id"]], [w["ID"] for w in listed])
        shown = self.openstack_json("maintenance", "window", "show",
                                    "saturday-night")
        self.assertEqual(window["id"], shown["id"])
        _out, err = self.run_openstack(
            "maintenance", "window", "create", "bad", "--pool", "sh-agents",
            "--cron", "99 * * * *", "--duration", "5", fail=True)
        self.assertCleanError(err, "(HTTP 400)")
        rollout = self.openstack_json(
            "rollout", "create", "sh-agents", "--image", "win11-next",
            "--canary-share", "0.5", "--wave-size", "1")
        self.assertEqual(("running", "win11-next"),
                         (rollout["state"], rollout["image"]))
        listed = self.openstack_json("rollout", "list", "--pool",
                                     "sh-agents")
        self.assertEqual([rollout["id"]], [r["ID"] for r in listed])
        paused = self.openstack_json("rollout", "pause", rollout["id"],
                                     "--reason", "ticket 7")
        self.assertEqual(("paused", "ticket 7"),
                         (paused["state"], paused["status_reason"]))
        _out, err = self.run_openstack("rollout", "pause", rollout["id"],
                                       fail=True)
        self.assertCleanError(err, "(HTTP 409)")
        resumed = self.openstack_json("rollout", "resume", rollout["id"])
        self.assertEqual("running", resumed["state"])
        back = self.openstack_json("rollout", "rollback", rollout["id"])
        self.assertEqual("rolling_back", back["state"])
        shown = self.openstack_json("rollout", "show", rollout["id"])
        self.assertEqual(back["previous_image"], shown["target_image"])
        self.run_openstack("maintenance", "window", "delete",
                           "saturday-night")
        self.assertEqual([], self.api("/v1/maintenance-windows")[
            "maintenance_windows"])

    @_needs("/v1/hosts", "GET")
    @_needs("/v1/desktops/{desktop_id}/console")
    def test_hosts_and_console(self):
        html5 = self.broker.create_pool(
            "html5-agents", min_ready=1, max_size=1,
            console_type="spice-html5").json["pool"]
        rdp = self.broker.create_pool("rdp-agents", min_ready=1,
                                      max_size=1).json["pool"]
        self.broker.fill_pools()
        body = self.api("/v1/hosts")
        listed = self.openstack_json("host", "list")
        self.assertEqual(sorted(h["name"] for h in body["hosts"]),
                         [h["Name"] for h in listed])
        self.assertEqual(sum(h["desktops"]["total"] for h in body["hosts"]),
                         sum(h["Desktops"] for h in listed))
        name = body["hosts"][0]["name"]
        host = self.openstack_json("host", "show", name)
        self.assertEqual(body["hosts"][0]["desktops"], host["desktops"])
        _out, err = self.run_openstack("host", "show", "no-such-host",
                                       fail=True)
        self.assertCleanError(err, "No compute host no-such-host")

        desktop = self.api("/v1/desktops?pool_id=%s" %
                           html5["id"])["desktops"][0]
        console = self.openstack_json("desktop", "console", desktop["id"])
        self.assertEqual("spice-html5", console["type"])
        self.assertTrue(console["url"].startswith("http"), console)
        other = self.api("/v1/desktops?pool_id=%s" %
                         rdp["id"])["desktops"][0]
        _out, err = self.run_openstack("desktop", "console", other["id"],
                                       fail=True)
        self.assertCleanError(err, "(HTTP 409)")

    @_needs("/v1/events", "GET")
    def test_events(self):
        self.broker.create_pool("sh-agents")
        events = self.openstack_json("event", "list", "--action",
                                     "pool.create", "--pool", "sh-agents")
        self.assertEqual(["pool.create"], [e["Action"] for e in events])
        event = self.openstack_json("event", "show", str(events[0]["ID"]))
        self.assertEqual("pool", event["target_type"])

    @_needs("/v1/allocators/reorder")
    def test_reorder(self):
        _pools, allocators = self.broker.setup_call_centre()
        names = sorted(allocators, reverse=True)
        rows = self.openstack_json("allocator", "reorder", *names)
        self.assertEqual(names, [r["Name"] for r in rows])
        self.assertEqual([10 * (i + 1) for i in range(len(names))],
                         [r["Priority"] for r in rows])
        _out, err = self.run_openstack("allocator", "reorder", names[0],
                                       fail=True)
        self.assertCleanError(err, "(HTTP 400)")

    @_needs("/v1/desktops/{desktop_id}/action")
    def test_desktop_actions(self):
        self.broker.setup_call_centre()
        self.broker.fill_pools()

        def ready(pool):
            return self.api("/v1/desktops?state=ready&pool_id=%s" %
                            self.broker.pools[pool]["id"])["desktops"][0]

        # Vera's desktop is bound to her (vip-personal): move, replace.
        vip = self.broker.login("vera").json["desktop"]["id"]
        moved = self.openstack_json("desktop", "move", vip, "--user", "sam")
        self.assertEqual("sam", moved["assigned_user"])
        replaced = self.openstack_json("desktop", "replace", vip)
        self.assertEqual("deleting", replaced["state"])
        (binding,) = self.api("/v1/bindings?kind=user&key=sam")["bindings"]
        self.assertNotEqual(vip, binding["desktop_id"])
        # Ready desktops leave the pool while they restart.
        shown = self.openstack_json("desktop", "reboot",
                                    ready("sh-agents")["id"], "--hard")
        self.assertEqual("releasing", shown["state"])
        shown = self.openstack_json("desktop", "rebuild",
                                    ready("nt-agents")["id"])
        self.assertEqual("releasing", shown["state"])
        desktop = ready("training-room")["id"]
        shown = self.openstack_json("desktop", "quarantine", desktop,
                                    "--reason", "no sound")
        self.assertEqual("quarantined", shown["state"])
        self.assertEqual("no sound", shown["fault_reason"])
        shown = self.openstack_json("desktop", "unquarantine", desktop,
                                    "--action", "keep")
        self.assertNotEqual("quarantined", shown["state"])
        # Not quarantined any more: the broker refuses, one clean line.
        _out, err = self.run_openstack("desktop", "unquarantine", desktop,
                                       fail=True)
        self.assertCleanError(err, "(HTTP 409)")

    @testtools.skipUnless(
        "readiness_probe" in pool_schemas.create["properties"],
        "pools have no readiness_probe in this tree's API yet")
    def test_pool_readiness_probe(self):
        self.broker.create_pool("p")
        shown = self.openstack_json("pool", "set", "p", "--readiness-probe",
                                    "tcp")
        self.assertEqual("tcp", shown["readiness_probe"])
        shown = self.openstack_json("pool", "set", "p",
                                    "--default-readiness-probe")
        self.assertIsNone(shown["readiness_probe"])

    @_needs("/v1/bindings/{binding_id}", "PATCH")
    def test_binding_set(self):
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        pool_id = self.broker.pools["training-room"]["id"]
        first, second = [d["id"] for d in self.api(
            "/v1/desktops?state=ready&pool_id=%s" % pool_id)["desktops"]]
        binding = self.broker.app.post_json("/v1/bindings", {
            "kind": "seat", "key": "SH-TR-01",
            "desktop_id": first}).json["binding"]
        etag = self.broker.app.get("/v1/bindings/%s" % binding["id"]).headers[
            "ETag"]
        moved = self.openstack_json("binding", "set", binding["id"],
                                    "--desktop", second, "--if-match",
                                    etag.strip('"'))
        self.assertEqual(second, moved["desktop_id"])
