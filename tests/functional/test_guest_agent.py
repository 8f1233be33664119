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

"""Guest agents end to end: registration, readiness, session state, R1.

The broker boots desktops on the fake cloud with the agent's URL and
secret in each server's metadata; the test plays the agents (POST
/v1/agent/register and /report with the secret it reads from the fake
server) and moves the broker's clock instead of waiting. On SQLite,
MariaDB and PostgreSQL.
"""

import datetime

from oslo_utils import timeutils
import sqlalchemy as sa
import testscenarios

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import clock as clock_fixture
from tests.fixtures import database
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker.guest_agent import protocol
from vdi_broker import metrics
from vdi_broker import states

load_tests = testscenarios.load_tests_apply_scenarios

BROKER_URL = "http://broker.example:8780"
SECRET = protocol.SECRET_HEADER
TOKEN = "X-Session-Token"


class GuestAgentTestCase(testscenarios.WithScenarios, base.TestCase):

    scenarios = database.BACKENDS
    pool_values = {}

    def setUp(self):
        super().setUp()
        # Whole seconds: MariaDB's DATETIME keeps no fraction.
        self.clock = self.useFixture(clock_fixture.Clock(
            timeutils.utcnow().replace(microsecond=0)))
        self.broker = broker_fixture.use_broker(
            self, backend=self.backend,
            flags={("agent", "broker_url"): BROKER_URL,
                   ("agent", "min_report_interval"): 0,
                   ("agent", "silent_after"): 90,
                   ("agent", "fix_time"): 300})
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt
        values = dict({"min_ready": 2, "max_size": 6,
                       "release_action": "reboot"}, **self.pool_values)
        self.pool = self.broker.create_pool("agents", **values).json["pool"]
        self.broker.create_allocator("everyone", plugin="pool",
                                     pool="agents", is_default=True)

    # -- the agents' side ----------------------------------------------------

    def server(self, desktop):
        return self.broker.cloud.servers[desktop["server_id"]]

    def secret(self, desktop):
        return self.server(desktop)["metadata"][protocol.META_SECRET]

    def register(self, desktop, status=200, secret=None, **body):
        return self.app.post_json(
            "/v1/agent/register",
            dict({"desktop_id": desktop["id"], "version": "1",
                  "os": "Linux", "hostname": desktop["name"]}, **body),
            headers={SECRET: secret or self.secret(desktop)},
            status=status)

    def report(self, desktop, status=200, secret=None, **body):
        values = {"desktop_id": desktop["id"], "display": "running",
                  "connection_state": "disconnected", "username": None,
                  "idle_seconds": 0, "cpu_percent": 12.5,
                  "memory_percent": 40.0, "disk_free_mb": 20480}
        values.update(body)
        return self.app.post_json(
            "/v1/agent/report", values,
            headers={SECRET: secret or self.secret(desktop)},
            status=status)

    def desktops(self, state=None):
        filters = {"pool_id": self.pool["id"]}
        if state:
            filters["state"] = state
        return db.desktop_list(self.ctxt, filters)

    def fill(self):
        """Boot the pool, the agents register at once."""
        for _ in range(5):
            self.broker.manager.pool_upkeep(self.ctxt)
            for desktop in self.desktops(models.BUILDING):
                if desktop["server_id"] and db.agent_get(
                        self.ctxt, desktop["id"])["registered_at"] is None:
                    self.register(desktop)
        return self.desktops(models.READY)

    def login(self, username="amy"):
        login = self.broker.login(username)
        return login, db.desktop_get(self.ctxt, login.json["desktop"]["id"])

    def session(self, login):
        return db.session_get(self.ctxt, login.json["session"]["id"])

    def watch(self):
        return self.broker.manager.watch_agents(self.ctxt)


class TestRegistration(GuestAgentTestCase):

    def test_secret_in_metadata_only_its_hash_stored(self):
        ready = self.fill()
        self.assertEqual(2, len(ready))
        desktop = ready[0]
        meta = self.server(desktop)["metadata"]
        self.assertEqual(BROKER_URL, meta[protocol.META_BROKER_URL])
        self.assertEqual(desktop["id"], meta[protocol.META_DESKTOP])
        secret = meta[protocol.META_SECRET]
        self.assertGreaterEqual(len(secret), 40)
        # Another desktop, another secret.
        self.assertNotEqual(secret, self.secret(ready[1]))
        with self.broker.database.engine.connect() as conn:
            stored = conn.execute(sa.text(
                "SELECT secret_hash FROM desktop_agents WHERE desktop_id "
                "= :d"), {"d": desktop["id"]}).scalar()
        self.assertEqual(protocol.secret_hash(secret), stored)
        self.assertNotIn(secret, str(db.agent_get(self.ctxt,
                                                  desktop["id"])))

    def test_register_and_report(self):
        desktop = self.fill()[0]
        self.clock.advance(10)
        resp = self.register(desktop)
        self.assertEqual(desktop["id"], resp.json["desktop_id"])
        self.assertEqual(30, resp.json["report_interval"])
        agent = db.agent_get(self.ctxt, desktop["id"])
        self.assertEqual("Linux", agent["os"])
        self.assertEqual(timeutils.utcnow(), agent["registered_at"])
        self.clock.advance(30)
        resp = self.report(desktop, connection_state="connected",
                           username="amy", idle_seconds=3)
        self.assertEqual({"report_interval": 30}, resp.json)
        agent = db.agent_get(self.ctxt, desktop["id"])
        self.assertEqual("connected", agent["connection_state"])
        self.assertEqual("amy", agent["username"])
        self.assertEqual(20480, agent["disk_free_mb"])
        self.assertEqual(timeutils.utcnow(), agent["connection_since"])
        since = agent["connection_since"]
        self.clock.advance(30)
        self.report(desktop, connection_state="connected")
        # Still connected: since when does not move.
        self.assertEqual(since, db.agent_get(
            self.ctxt, desktop["id"])["connection_since"])
        # Two registrations (the boot's, this one) and two reports.
        self.assertEqual(4, db.agent_get(self.ctxt,
                                         desktop["id"])["reports"])

    def test_wrong_secret_unknown_desktop_bad_body(self):
        ready = self.fill()
        desktop, other = ready[0], ready[1]
        for secret in ("wrong", self.secret(other), "x" * 300):
            resp = self.register(desktop, status=401, secret=secret)
            broker_fixture.assert_error(self, resp, 401, "Unauthorized")
            self.report(desktop, status=401, secret=secret)
        # No secret at all.
        resp = self.app.post_json("/v1/agent/report",
                                  {"desktop_id": desktop["id"]}, status=401)
        broker_fixture.assert_error(self, resp, 401)
        # An unknown desktop looks like a wrong secret.
        resp = self.register({"id": "0" * 36, "name": "x"}, status=401,
                             secret=self.secret(desktop))
        broker_fixture.assert_error(self, resp, 401)
        # Bad bodies: 400 with the reason.
        resp = self.report(desktop, status=400, connection_state="maybe")
        broker_fixture.assert_error(self, resp, 400)
        resp = self.report(desktop, status=400, extra="field")
        broker_fixture.assert_error(self, resp, 400)
        resp = self.app.post("/v1/agent/report", b"{not json",
                             headers={SECRET: self.secret(desktop),
                                      "Content-Type": "application/json"},
                             status=400)
        broker_fixture.assert_error(self, resp, 400)
        # Too large: 413.
        resp = self.report(desktop, status=413, username="u" * 9000)
        broker_fixture.assert_error(self, resp, 413)

    def test_report_before_registration_is_409(self):
        desktop = self.fill()[0]
        # A new boot: a new secret, not registered yet.
        db.agent_secret_set(self.ctxt, desktop["id"],
                            protocol.secret_hash("new-secret"))
        resp = self.report(desktop, status=409, secret="new-secret")
        broker_fixture.assert_error(self, resp, 409, "Conflict")
        self.register(desktop, secret="new-secret")
        self.report(desktop, secret="new-secret")

    def test_too_frequent_reports_get_429(self):
        self.broker.flags(group="agent", min_report_interval=5)
        desktop = self.fill()[0]
        self.clock.advance(10)
        self.report(desktop)
        self.clock.advance(2)
        resp = self.report(desktop, status=429)
        broker_fixture.assert_error(self, resp, 429, "Too Many Requests")
        self.assertEqual("3", resp.headers["Retry-After"])
        self.clock.advance(3)
        self.report(desktop)


class TestReadinessByAgent(GuestAgentTestCase):

    pool_values = {"readiness_probe": "agent"}

    def test_ready_only_once_the_agent_registered(self):
        for _ in range(3):
            self.broker.manager.pool_upkeep(self.ctxt)
        building = self.desktops(models.BUILDING)
        self.assertEqual(2, len(building))
        self.assertEqual([], self.desktops(models.READY))
        # Nova says ACTIVE: the probe waits for the agent.
        self.assertTrue(all(d["active_at"] for d in building))
        self.register(building[0])
        self.broker.manager.pool_upkeep(self.ctxt)
        self.assertEqual([building[0]["id"]],
                         [d["id"] for d in self.desktops(models.READY)])
        self.register(building[1])
        self.broker.manager.pool_upkeep(self.ctxt)
        self.assertEqual(2, len(self.desktops(models.READY)))

    def test_after_a_release_reboot_the_agent_registers_again(self):
        self.fill()
        self.clock.advance(1)
        login, desktop = self.login()
        self.broker.logout(login)
        settle = self.broker.conf.pool_manager.release_settle_time
        for _ in range(4):
            self.clock.advance(settle + 1)
            self.broker.manager.pool_upkeep(self.ctxt)
        # The registration of the previous boot does not count.
        self.assertEqual(models.RELEASING,
                         db.desktop_get(self.ctxt, desktop["id"])["state"])
        self.clock.advance(1)
        self.register(desktop)
        self.broker.manager.pool_upkeep(self.ctxt)
        self.assertEqual(models.READY,
                         db.desktop_get(self.ctxt, desktop["id"])["state"])


class TestSessionTimeouts(GuestAgentTestCase):

    pool_values = {"disconnect_timeout": 120, "idle_timeout": 900}

    def test_the_watch_is_a_periodic_task_unless_turned_off(self):
        tasks = {task.__name__: task for task, _a, _k in
                 self.broker.manager.periodic_tasks()}
        self.assertEqual(15, tasks["watch_agents"]._periodic_spacing)
        self.broker.flags(group="agent", interval=0)
        self.assertNotIn("watch_agents", [
            task.__name__ for task, _a, _k in
            self.broker.manager.periodic_tasks()])

    def test_session_state_from_the_reports(self):
        self.fill()
        login, desktop = self.login()
        self.clock.advance(5)
        self.report(desktop, connection_state="connected", username="amy",
                    idle_seconds=7)
        session = self.session(login)
        self.assertEqual("connected", session["connection_state"])
        self.assertEqual(timeutils.utcnow(), session["connection_since"])
        self.assertEqual(7, session["idle_seconds"])
        resp = self.app.get("/v1/sessions/%s" % session["id"])
        self.assertEqual("connected", resp.json["session"]["connection_state"])
        self.assertEqual(7, resp.json["session"]["idle_seconds"])

    def test_crashed_thin_client_frees_its_desktop_after_the_timeout(self):
        self.fill()
        login, desktop = self.login()
        self.report(desktop, connection_state="connected", username="amy")
        self.clock.advance(30)
        # The thin client crashed: the display is disconnected.
        self.report(desktop, connection_state="disconnected",
                    username="amy")
        self.clock.advance(60)
        self.report(desktop, connection_state="disconnected",
                    username="amy")
        self.assertEqual(0, self.watch()["timed_out"])
        self.assertEqual("active", self.session(login)["state"])
        self.clock.advance(61)
        self.assertEqual(1, self.watch()["timed_out"])
        session = self.session(login)
        self.assertEqual("closed", session["state"])
        self.assertEqual("disconnect timeout", session["close_reason"])
        self.assertEqual(models.RELEASING,
                         db.desktop_get(self.ctxt, desktop["id"])["state"])

    def test_reconnect_before_the_timeout_keeps_the_session(self):
        self.fill()
        login, desktop = self.login()
        self.report(desktop, connection_state="disconnected")
        self.clock.advance(100)
        self.report(desktop, connection_state="connected")
        self.clock.advance(100)
        self.assertEqual(0, self.watch()["timed_out"])
        self.assertEqual("active", self.session(login)["state"])

    def test_idle_session_logged_off(self):
        self.fill()
        login, desktop = self.login()
        self.report(desktop, connection_state="connected", idle_seconds=899)
        self.assertEqual(0, self.watch()["timed_out"])
        self.clock.advance(30)
        self.report(desktop, connection_state="connected", idle_seconds=929)
        self.assertEqual(1, self.watch()["timed_out"])
        self.assertEqual("idle timeout", self.session(login)["close_reason"])

    def test_expiry_keeps_a_connected_session_unless_the_pool_says(self):
        self.fill()
        login, desktop = self.login()
        self.report(desktop, connection_state="connected", username="amy")
        self.clock.advance(self.broker.conf.client_session.token_ttl + 1)
        # The agent still says connected, recently.
        self.report(desktop, connection_state="connected", username="amy")
        self.assertEqual(0, self.broker.manager.expire_sessions(self.ctxt))
        self.assertEqual("active", self.session(login)["state"])
        self.assertEqual(models.ASSIGNED,
                         db.desktop_get(self.ctxt, desktop["id"])["state"])
        self.app.patch_json("/v1/pools/%s" % self.pool["id"],
                            {"expiry_when_connected": True})
        self.assertEqual(1, self.broker.manager.expire_sessions(self.ctxt))
        self.assertEqual("expired", self.session(login)["close_reason"])

    def test_expiry_when_disconnected_or_agent_silent(self):
        self.fill()
        login, desktop = self.login()
        self.report(desktop, connection_state="connected", username="amy")
        # The agent falls silent: its last word does not hold the session.
        self.clock.advance(self.broker.conf.client_session.token_ttl + 1)
        self.assertEqual(1, self.broker.manager.expire_sessions(self.ctxt))
        self.assertEqual("expired", self.session(login)["close_reason"])


class TestFiveMinuteRule(GuestAgentTestCase):

    pool_values = {"min_ready": 3}

    def _agents_report(self, desktops, **body):
        for desktop in desktops:
            self.report(desktop, **body)

    def test_hung_desktop_swapped_within_the_fix_time_same_token(self):
        ready = self.fill()
        login, desktop = self.login()
        token = {TOKEN: login.json["session"]["token"]}
        url = self.broker.session_url(login)
        self._agents_report(ready, connection_state="connected")
        before = metrics.INCIDENT_FIX.labels(
            states.INCIDENT_AGENT_SILENT, states.INCIDENT_MOVED)._sum.get()
        # The desktop hangs: its agent falls silent (the others report).
        others = [d for d in ready if d["id"] != desktop["id"]]
        for _ in range(2):
            self.clock.advance(31)
            self._agents_report(others)
            self.assertEqual(0, self.watch()["opened"])
        self.clock.advance(29)
        self._agents_report(others)
        result = self.watch()
        self.assertEqual(1, result["opened"])
        incident = db.incident_list(self.ctxt, {"desktop_id":
                                                desktop["id"]})[0]
        self.assertEqual(states.INCIDENT_AGENT_SILENT, incident["kind"])
        self.assertEqual(states.INCIDENT_OPEN, incident["state"])
        self.assertEqual(login.json["session"]["id"],
                         incident["session_id"])
        self.assertEqual(incident["opened_at"] +
                         datetime.timedelta(seconds=300),
                         incident["deadline"])
        # Probed while it waits; the session stays where it is.
        for _ in range(9):
            self.clock.advance(30)
            self._agents_report(others)
            self.assertEqual(1, self.watch()["waiting"])
        self.assertEqual(desktop["id"],
                         self.app.get(url, headers=token).json[
                             "desktop"]["id"])
        self.clock.advance(31)
        self.assertEqual(1, self.watch()["moved"])
        # The thin client's next poll, same token: the new desktop.
        resp = self.app.get(url, headers=token, status=200)
        new_id = resp.json["desktop"]["id"]
        self.assertNotEqual(desktop["id"], new_id)
        self.assertEqual("active", resp.json["session"]["state"])
        new = db.desktop_get(self.ctxt, new_id)
        self.assertEqual(models.ASSIGNED, new["state"])
        self.assertEqual("amy", new["assigned_user"])
        self.assertEqual(new["address"], resp.json["connection"]["host"])
        self.assertEqual(models.ERROR,
                         db.desktop_get(self.ctxt, desktop["id"])["state"])
        incident = db.incident_get(self.ctxt, incident["id"])
        self.assertEqual(states.INCIDENT_MOVED, incident["state"])
        self.assertEqual(new_id, incident["new_desktop_id"])
        # From the incident to the move: the fix time and one pass.
        self.assertEqual(301.0, incident["seconds"])
        after = metrics.INCIDENT_FIX.labels(
            states.INCIDENT_AGENT_SILENT, states.INCIDENT_MOVED)._sum.get()
        self.assertAlmostEqual(incident["seconds"], after - before)
        # Listed over the admin API.
        resp = self.app.get("/v1/incidents?desktop_id=%s" % desktop["id"])
        self.assertEqual(["moved"],
                         [i["state"] for i in resp.json["incidents"]])
        self.assertEqual(new_id, resp.json["incidents"][0]["new_desktop_id"])
        self.app.get("/v1/incidents/%s" % incident["id"], status=200)
        # The pool manager replaces the broken desktop.
        self.broker.manager.pool_upkeep(self.ctxt)
        self.assertRaises(exception.DesktopNotFound, db.desktop_get,
                          self.ctxt, desktop["id"])

    def test_desktop_back_within_the_fix_time_recovers(self):
        ready = self.fill()
        login, desktop = self.login()
        others = [d for d in ready if d["id"] != desktop["id"]]
        self.report(desktop, connection_state="connected")
        self.clock.advance(91)
        self._agents_report(others)
        self.assertEqual(1, self.watch()["opened"])
        self.clock.advance(60)
        # The agent reports again: recovered, no move.
        self.report(desktop, connection_state="connected")
        self.assertEqual(1, self.watch()["recovered"])
        incident = db.incident_list(self.ctxt, {"desktop_id":
                                                desktop["id"]})[0]
        self.assertEqual(states.INCIDENT_RECOVERED, incident["state"])
        self.assertEqual(60.0, incident["seconds"])
        self.assertEqual(desktop["id"], self.session(login)["desktop_id"])

    def test_display_stopped_then_thin_client_fault(self):
        self.fill()
        login, desktop = self.login()
        token = {TOKEN: login.json["session"]["token"]}
        self.report(desktop, display="stopped")
        self.assertEqual(1, self.watch()["opened"])
        self.clock.advance(20)
        self.report(desktop, display="running", connection_state="connected")
        self.assertEqual(1, self.watch()["recovered"])
        # A thin client's fault report: an incident, the session stays.
        self.clock.advance(20)
        resp = self.app.post_json(self.broker.session_url(login) + "/fault",
                                  {"reason": "black screen"}, headers=token,
                                  status=202)
        self.assertEqual(models.ASSIGNED, resp.json["desktop"]["state"])
        self.assertEqual("active", self.session(login)["state"])
        incidents = db.incident_list(self.ctxt, {
            "kind": states.INCIDENT_CLIENT_FAULT})
        self.assertEqual(1, len(incidents))
        self.assertIn("black screen", incidents[0]["reason"])
        # The agent alone does not say it works: connected since before.
        self.clock.advance(10)
        self.report(desktop, connection_state="connected")
        self.assertEqual(1, self.watch()["waiting"])
        # The viewer connects again.
        self.clock.advance(10)
        self.report(desktop, connection_state="disconnected")
        self.clock.advance(10)
        self.report(desktop, connection_state="connected")
        self.assertEqual(1, self.watch()["recovered"])

    def test_no_ready_desktop_waits_then_moves(self):
        self.app.patch_json("/v1/pools/%s" % self.pool["id"],
                            {"min_ready": 1, "max_size": 2,
                             "fix_time": 60})
        self.fill()
        login, desktop = self.login()
        # Nothing ready: the pool manager has not booted the next one.
        for other in self.desktops(models.READY):
            db.desktop_transition(self.ctxt, other["id"], [models.READY],
                                  {"state": models.QUARANTINED})
        self.report(desktop, display="stopped")
        self.watch()
        self.clock.advance(61)
        self.assertEqual(1, self.watch()["waiting"])
        self.assertEqual(desktop["id"], self.session(login)["desktop_id"])
        self.fill()
        self.assertEqual(1, self.watch()["moved"])
        self.assertNotEqual(desktop["id"],
                            self.session(login)["desktop_id"])

    def test_session_ended_closes_the_incident(self):
        self.fill()
        login, desktop = self.login()
        self.report(desktop, display="stopped")
        self.watch()
        self.broker.logout(login)
        self.watch()
        incident = db.incident_list(self.ctxt, {"desktop_id":
                                                desktop["id"]})[0]
        self.assertEqual(states.INCIDENT_CLOSED, incident["state"])
        self.assertIsNone(incident["seconds"])
