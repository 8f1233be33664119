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

"""vdi-broker-loadgen against a real broker over HTTP, and its audit.

The broker is the whole WSGI application with the conductor in-process
(tests/fixtures/broker.py) on a private database, served by a threading
HTTP server; the simulator talks to it through sockets like thin clients
would. Each scenario runs on SQLite, MariaDB and PostgreSQL.
"""

import contextlib
import io

import sqlalchemy as sa
import testscenarios

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import database
from tests.fixtures import http_server
from vdi_broker.api import deploy
from vdi_broker.cmd import loadgen as loadgen_cmd
from vdi_broker.db.sqlalchemy import models
from vdi_broker.loadgen import audit
from vdi_broker.loadgen import client as loadgen_client
from vdi_broker.loadgen import runner

load_tests = testscenarios.load_tests_apply_scenarios

BASE_DN = broker_fixture.BASE_DN
AGENTS = 16
VIPS = 4


def _users():
    users = [broker_fixture._user(
        "agent%02d" % i, "uid=agent%02d,ou=hotel,ou=shanghai,%s" % (
            i, BASE_DN), ["agents"], {"department": ["hotel"]})
        for i in range(AGENTS)]
    users += [broker_fixture._user(
        "vip%02d" % i, "uid=vip%02d,ou=vip,ou=shanghai,%s" % (i, BASE_DN),
        ["vip-agents"], {"department": ["vip"]}) for i in range(VIPS)]
    return users


class LoadgenTest(testscenarios.WithScenarios, base.TestCase):

    scenarios = database.BACKENDS
    backend = "sqlite"

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self, backend=self.backend,
                                                users=_users())
        self.broker.create_pool("floating", min_ready=AGENTS,
                                max_size=AGENTS, max_concurrent_builds=AGENTS,
                                release_action="keep")
        self.broker.create_pool("personal", min_ready=VIPS, max_size=VIPS,
                                release_action="keep")
        self.broker.create_allocator("vip", plugin="user", priority=10,
                                     pool="personal",
                                     rules={"groups": ["vip-agents"]})
        self.broker.create_allocator("agents", priority=20, pool="floating",
                                     rules={"ou": ["ou=shanghai," +
                                                   BASE_DN]})
        self.broker.fill_pools()
        self.server = self.useFixture(http_server.WSGIServer(
            deploy.build_app(self.conf, self.broker.broker_app)))
        self.client = loadgen_client.BrokerClient(self.server.url,
                                                  concurrency=8,
                                                  timeout=(3, 30))
        self.addCleanup(self.client.close)
        self.users = [(u["username"], broker_fixture.PASSWORD)
                      for u in _users()]

    def _audit(self, report=None):
        return audit.run(engine=self.broker.database.engine,
                         logins=report.logins if report else None,
                         cloud_servers=audit.cloud_servers(
                             self.broker.compute))

    def test_storm_then_shift_end(self):
        report = runner.Simulation(self.client, self.users, mode="storm",
                                   concurrency=8).run()
        summary = report.summary()
        self.assertEqual((AGENTS + VIPS, AGENTS + VIPS, 0),
                         (summary["count"], summary["ok"],
                          summary["errors"]), report.format())
        self.assertGreater(summary["rate"], 0)
        self.assertLessEqual(summary["p50"], summary["p99"])
        self.assertLessEqual(summary["p99"], summary["max"])
        desktops = {u: r["desktop"]["id"] for u, r in report.logins.items()}
        self.assertEqual(AGENTS + VIPS, len(set(desktops.values())))
        result = self._audit(report)
        self.assertTrue(result.ok, result.format())
        self.assertEqual(AGENTS + VIPS, result.counts["active sessions"])
        self.assertEqual(AGENTS + VIPS, result.counts["cloud servers"])

        # The same users come back from other thin clients at a ramp,
        # look at their session, beat, and go home.
        again = runner.Simulation(
            self.client, self.users, mode="ramp", rate=50, concurrency=4,
            show=True, heartbeats=2, logout=True,
            client_prefix="tc-second").run()
        self.assertEqual({}, dict(again.errors), again.format())
        for op in ("login", "show", "console-file", "logout"):
            self.assertEqual(AGENTS + VIPS, again.summary(op)["ok"], op)
        # The broker has no heartbeat API (yet): the simulator noticed
        # the 404 once and stopped sending them, counting no error.
        if self.client.heartbeat_supported is False:
            self.assertNotIn("heartbeat", again.outcomes)
        for user, answer in again.logins.items():
            # Bound and floating users both got their desktop back.
            self.assertEqual(desktops[user], answer["desktop"]["id"], user)
        result = self._audit(again)
        self.assertTrue(result.ok, result.format())
        self.assertEqual(0, result.counts["active sessions"])
        self.assertEqual(VIPS, result.counts["bindings"])

    def test_audit_catches_a_planted_double_allocation(self):
        report = runner.Simulation(self.client, self.users[:4],
                                   concurrency=4).run()
        self.assertEqual(4, report.summary()["ok"], report.format())
        self.assertTrue(self._audit(report).ok)
        (user_a, first), (user_b, second) = sorted(
            report.logins.items())[:2]
        # Hand A's desktop to B as well, behind the broker's back.
        with self.broker.database.engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE sessions SET desktop_id = :d WHERE id = :s"),
                {"d": first["desktop"]["id"], "s": second["session"]["id"]})
        result = self._audit(report)
        self.assertFalse(result.ok)
        self.assertEqual(
            [(first["desktop"]["id"], sorted([user_a, user_b]))],
            result.double_allocations)
        self.assertEqual([second["session"]["id"]],
                         [s[0] for s in result.foreign_sessions])
        self.assertIn("audit FAILED", result.format())

    def test_audit_catches_lost_binding_and_orphan_server(self):
        report = runner.Simulation(self.client, self.users,
                                   concurrency=8).run()
        self.assertEqual(AGENTS + VIPS, report.summary()["ok"])
        vip = next(u for u, r in sorted(report.logins.items())
                   if r["binding"])
        with self.broker.database.engine.begin() as conn:
            conn.execute(sa.delete(models.Binding).where(
                models.Binding.kind == "user", models.Binding.key == vip))
        # A server the broker made whose desktop row is gone.
        desktop = report.logins[vip]["desktop"]
        self.broker.cloud.servers["orphan-1"] = dict(
            self.broker.cloud.servers[desktop["server_id"]], id="orphan-1",
            metadata={"vdi_desktop": "no-such-desktop"})
        result = self._audit(report)
        self.assertEqual([(vip, desktop["id"], "binding gone")],
                         result.lost_bindings)
        self.assertEqual(["orphan-1"], result.orphan_servers)
        self.assertFalse(result.ok)


class LoadgenCommandTest(base.TestCase):
    """The console script: arguments, figures and exit status."""

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self, users=_users())
        self.broker.create_pool("floating", min_ready=AGENTS,
                                max_size=AGENTS, max_concurrent_builds=AGENTS)
        self.broker.create_allocator("agents", priority=20, pool="floating",
                                     rules={"ou": ["ou=shanghai," +
                                                   BASE_DN]})
        self.broker.fill_pools()
        self.server = self.useFixture(http_server.WSGIServer(
            deploy.build_app(self.conf, self.broker.broker_app)))

    def _run(self, *argv):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = loadgen_cmd.main(list(argv))
        return code, out.getvalue()

    def test_storm_with_audit(self):
        code, out = self._run(
            "--url", self.server.url, "--user-pattern", "agent%02d",
            "--users", str(AGENTS), "--password", broker_fixture.PASSWORD,
            "--concurrency", "4", "--db-url", self.broker.database.url)
        self.assertEqual(0, code, out)
        self.assertIn("login            %d calls     %d ok     0 failed" % (
            AGENTS, AGENTS), out)
        self.assertIn("audit OK", out)

    def test_wrong_password_is_counted_by_kind(self):
        code, out = self._run(
            "--url", self.server.url, "--user-pattern", "agent%02d",
            "--users", "3", "--password", "wrong", "--concurrency", "2")
        self.assertEqual(1, code, out)
        self.assertIn("login http 401 x3", out)

    def test_unreachable_broker_is_a_connection_error(self):
        code, out = self._run(
            "--url", "http://127.0.0.1:9", "--user-pattern", "agent%02d",
            "--users", "2", "--password", "x", "--connect-timeout", "1")
        self.assertEqual(1, code, out)
        self.assertIn("login connection x2", out)
