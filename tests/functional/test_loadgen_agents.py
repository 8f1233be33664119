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

"""vdi-broker-loadgen --mode agents against a broker over HTTP.

Desktops booted on the fake cloud with their agent secrets in the
servers' metadata; the simulator plays their agents through sockets,
with a hang, a display drop and a crash on a schedule. On SQLite,
MariaDB and PostgreSQL.
"""

import contextlib
import io
import os
import threading
import time

import fixtures
import sqlalchemy as sa
import testscenarios

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import database
from tests.fixtures import http_server
from vdi_broker.api import deploy
from vdi_broker.cmd import loadgen as loadgen_cmd
from vdi_broker.cmd import manage
from vdi_broker.db import api as db
from vdi_broker.loadgen import agents as agents_mode

load_tests = testscenarios.load_tests_apply_scenarios

DESKTOPS = 12


class LoadgenAgentsTest(testscenarios.WithScenarios, base.TestCase):

    scenarios = database.BACKENDS

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(
            self, backend=self.backend,
            flags={("agent", "broker_url"): "http://broker.example",
                   ("agent", "min_report_interval"): 0.1})
        pool = self.broker.create_pool(
            "agents", min_ready=DESKTOPS, max_size=DESKTOPS,
            max_concurrent_builds=DESKTOPS).json["pool"]
        self.broker.fill_pools()
        self.desktops = db.desktop_list(self.broker.ctxt,
                                        {"pool_id": pool["id"]})
        self.server = self.useFixture(http_server.WSGIServer(
            deploy.build_app(self.conf, self.broker.broker_app)))

    def _registrations(self, desktop_id):
        with self.broker.database.engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT COUNT(*) FROM events WHERE action = "
                "'agent.register' AND desktop_id = :d"),
                {"d": desktop_id}).scalar()

    def test_agents_report_with_faults(self):
        agents = agents_mode.agents_from_servers(
            self.broker.cloud.servers.values())
        self.assertEqual(DESKTOPS, len(agents))
        faults = agents_mode.schedule_faults(
            agents, {"hang": 1 / DESKTOPS, "display": 1 / DESKTOPS,
                     "crash": 1 / DESKTOPS}, start=1.0, window=0.2,
            duration=1.0, seed=1)
        self.assertEqual(["crash", "display", "hang"],
                         sorted(f[0] for f in faults))
        report = agents_mode.AgentSimulation(
            self.server.url, agents, interval=0.4, duration=3.5,
            concurrency=4).run()
        summary = report.summary()
        self.assertEqual(0, summary["errors"], report.format())
        self.assertGreater(summary["requests"], DESKTOPS * 5)
        by_fault = {a.fault: a for a in agents}
        rows = {d["id"]: db.agent_get(self.broker.ctxt, d["id"])
                for d in self.desktops}
        # Everyone registered; the hung desktop stopped reporting at its
        # fault, the others went on.
        self.assertTrue(all(r["registered_at"] for r in rows.values()))
        hung = by_fault["hang"]
        healthy = by_fault[None]
        self.assertLess(hung.reports, healthy.reports - 2)
        self.assertLess(rows[hung.desktop_id]["reports"],
                        rows[healthy.desktop_id]["reports"])
        # The crashed agent registered again after its restart.
        self.assertEqual(2, self._registrations(by_fault["crash"].desktop_id))
        self.assertEqual(1, self._registrations(healthy.desktop_id))
        # The display is back at the end.
        self.assertEqual("running",
                         rows[by_fault["display"].desktop_id]["display"])

    def test_command_line(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, "desktops.csv")
        # The desktops file of vdi-broker-manage agent rekey (new secrets:
        # no other process reads the fake cloud's metadata).
        pool, count = manage.agent_rekey(self.broker.ctxt, "agents", path)
        self.assertEqual(DESKTOPS, count)
        self.assertEqual(0o600, os.stat(path).st_mode & 0o777)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = loadgen_cmd.main([
                "--url", self.server.url, "--mode", "agents",
                "--desktops-file", path, "--report-interval", "0.5",
                "--duration", "1.5", "--hang-share", "0.25",
                "--fault-start", "0.5", "--fault-window", "0.1",
                "--concurrency", "4"])
        self.assertEqual(0, status, out.getvalue())
        self.assertIn("%d guest agents" % DESKTOPS, out.getvalue())
        self.assertIn("faults hang", out.getvalue())
        self.assertIn(", 0 errors", out.getvalue())


class FiveMinuteRuleEndToEndTest(testscenarios.WithScenarios, base.TestCase):
    """The rule in small, in real time: a hung desktop's user moves.

    A user is logged in; the simulator plays every desktop's agent and
    hangs the user's desktop; the conductor's watch (called here as its
    periodic task would) opens the incident once the agent has been
    silent for silent_after, and at the fix time moves the session: the
    thin client's next poll, with the same token, shows another desktop.
    """

    scenarios = database.BACKENDS

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(
            self, backend=self.backend,
            flags={("agent", "broker_url"): "http://broker.example",
                   ("agent", "min_report_interval"): 0.1,
                   ("agent", "silent_after"): 2,
                   ("agent", "fix_time"): 2})
        self.broker.create_pool("agents", min_ready=6, max_size=6,
                                max_concurrent_builds=6)
        self.broker.create_allocator("everyone", plugin="pool",
                                     pool="agents", is_default=True)
        self.broker.fill_pools()
        self.server = self.useFixture(http_server.WSGIServer(
            deploy.build_app(self.conf, self.broker.broker_app)))

    def test_hung_desktop_session_moves_with_the_same_token(self):
        login = self.broker.login("amy")
        url = self.broker.session_url(login)
        token = {"X-Session-Token": login.json["session"]["token"]}
        desktop_id = login.json["desktop"]["id"]
        agents = agents_mode.agents_from_servers(
            self.broker.cloud.servers.values())
        for agent in agents:
            if agent.desktop_id == desktop_id:
                agent.fault, agent.fault_at = "hang", 1.0
        simulation = agents_mode.AgentSimulation(
            self.server.url, agents, interval=0.3, duration=30,
            concurrency=4)
        thread = threading.Thread(target=simulation.run, daemon=True)
        thread.start()
        started = time.monotonic()
        moved_to = None
        try:
            while time.monotonic() - started < 25:
                self.broker.manager.watch_agents(self.broker.ctxt)
                shown = self.app_get(url, token)
                if shown["desktop"]["id"] != desktop_id:
                    moved_to = shown["desktop"]["id"]
                    break
                time.sleep(0.2)
        finally:
            simulation.stop()
            thread.join(10)
        self.assertIsNotNone(moved_to, "the session did not move")
        incident = db.incident_list(self.broker.ctxt,
                                    {"desktop_id": desktop_id})[0]
        self.assertEqual("moved", incident["state"])
        self.assertEqual(moved_to, incident["new_desktop_id"])
        # Opened after silent_after, moved at the fix time (and a pass).
        self.assertGreaterEqual(incident["seconds"], 2.0)
        self.assertEqual("active", db.session_get(
            self.broker.ctxt, login.json["session"]["id"])["state"])

    def app_get(self, url, headers):
        return self.broker.app.get(url, headers=headers, status=200).json
