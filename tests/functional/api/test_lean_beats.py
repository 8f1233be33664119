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

"""The heartbeats' and agent reports' lean path, on the three databases.

A thin client's or agent's first request goes through the whole stack
(the database checks its credential, which is then remembered); the
next ones are answered by the lean path (vdi_broker/api/lean.py) and
written through the batch statements. What must hold: the same answers
as the stack, the same rows, nothing written for a session closed or a
secret replaced elsewhere, the guests' rate limit, and batches that keep
the latest heartbeat of each client and write what they hold when the
process stops.
"""

import datetime

import fixtures
from oslo_utils import timeutils
import sqlalchemy as sa
import testscenarios

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import clock as clock_fixture
from tests.fixtures import database
from vdi_broker.api import client_auth
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker.guest_agent import protocol

load_tests = testscenarios.load_tests_apply_scenarios

HEARTBEAT = "/v1/client/heartbeat"
REPORT = "/v1/agent/report"
TOKEN = client_auth.HEADER
SECRET = protocol.SECRET_HEADER


class LeanTestCase(testscenarios.WithScenarios, base.TestCase):

    scenarios = database.BACKENDS
    broker_flags = {}

    def setUp(self):
        super().setUp()
        # Whole seconds: MariaDB's DATETIME keeps no fraction.
        self.clock = self.useFixture(clock_fixture.Clock(
            timeutils.utcnow().replace(microsecond=0)))
        flags = {("agent", "min_report_interval"): 0,
                 ("agent", "broker_url"): "http://broker:8783"}
        flags.update(self.broker_flags)
        self.broker = broker_fixture.use_broker(self, backend=self.backend,
                                                flags=flags)
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt
        self.beats = self.broker.broker_app.beats
        # Which path wrote: the stack's single write or the batches'.
        self.full = self.useFixture(fixtures.MockPatchObject(
            db, "thin_client_heartbeat", wraps=db.thin_client_heartbeat)).mock
        self.full_reports = self.useFixture(fixtures.MockPatchObject(
            db, "agent_report", wraps=db.agent_report)).mock

    def client(self, client_id="tc-0001"):
        self.app.post_json("/v1/thin-clients", {"client_id": client_id})
        return db.thin_client_get(self.ctxt, client_id)

    def login(self):
        self.broker.create_pool("lean", min_ready=1, max_size=2)
        self.broker.create_allocator("everyone", plugin="pool", pool="lean",
                                     is_default=True)
        self.broker.manager.pool_upkeep(self.ctxt)
        self.broker.manager.pool_upkeep(self.ctxt)
        return self.broker.login("amy").json

    def beat(self, login=None, client_id="tc-0001", status=204, token=None,
             **body):
        headers = {}
        body = dict({"client_id": client_id}, **body)
        if login is not None:
            body["session_id"] = login["session"]["id"]
            headers[TOKEN] = token or login["session"]["token"]
        return self.app.post_json(HEARTBEAT, body, headers=headers,
                                  status=status)

    def row(self, client_id="tc-0001"):
        return db.thin_client_get(self.ctxt, client_id)


class TestHeartbeats(LeanTestCase):

    def test_second_heartbeat_lean_same_answer_same_row(self):
        self.client()
        login = self.login()
        first = self.beat(login, input_events=3)
        self.assertEqual(1, self.full.call_count)
        self.clock.advance(30)
        second = self.beat(login, input_events=5)
        # Answered by the lean path: the stack's write was not called.
        self.assertEqual(1, self.full.call_count)
        self.assertEqual(sorted(k.lower() for k in first.headers),
                         sorted(k.lower() for k in second.headers))
        for name in ("OpenStack-API-Version", "Vary"):
            self.assertEqual(first.headers[name], second.headers[name])
        self.assertTrue(second.headers["X-OpenStack-Request-ID"].startswith(
            "req-"))
        self.assertNotEqual(first.headers["X-OpenStack-Request-ID"],
                            second.headers["X-OpenStack-Request-ID"])
        self.assertEqual(b"", second.body)
        row = self.row()
        now = timeutils.utcnow()
        self.assertEqual(("online", now, now, "amy", 5), (
            row["status"], row["last_seen_at"], row["last_input_at"],
            row["last_user"], row["input_events"]))
        # Not an edit.
        self.assertEqual(1, row["revision"])
        # Without input: seen, not active.
        self.clock.advance(30)
        self.beat(login, input_events=0)
        row = self.row()
        self.assertEqual(timeutils.utcnow(), row["last_seen_at"])
        self.assertEqual(now, row["last_input_at"])
        self.assertEqual(1, self.full.call_count)

    def test_version_1_1_answers_the_interval(self):
        self.client()
        headers = {"OpenStack-API-Version": "vdi 1.1"}
        first = self.app.post_json(HEARTBEAT, {"client_id": "tc-0001"},
                                   headers=headers, status=200)
        second = self.app.post_json(HEARTBEAT, {"client_id": "tc-0001"},
                                    headers=headers, status=200)
        self.assertEqual(1, self.full.call_count)
        self.assertEqual(first.json, second.json)
        self.assertIn("heartbeat_interval", second.json)
        self.assertEqual("vdi 1.1", second.headers["OpenStack-API-Version"])
        self.assertEqual(first.headers["Content-Type"],
                         second.headers["Content-Type"])
        # And 1.0 still gets its 204 from the lean path.
        self.beat()
        self.assertEqual(1, self.full.call_count)

    def test_version_1_1_seat_written_by_the_batch(self):
        self.client()
        db.seat_create(self.ctxt, {"name": "SH-2F-001", "site": "sh"})
        db.seat_create(self.ctxt, {"name": "SH-TR-01", "site": "sh"})
        headers = {"OpenStack-API-Version": "vdi 1.1"}
        self.app.post_json(HEARTBEAT, {"client_id": "tc-0001",
                                       "seat": "SH-2F-001"},
                           headers=headers, status=200)
        self.assertEqual("SH-2F-001", self.row()["seat"])
        self.clock.advance(30)
        self.app.post_json(HEARTBEAT, {"client_id": "tc-0001",
                                       "seat": "SH-TR-01"},
                           headers=headers, status=200)
        # The lean path took the second (the stack's write ran once) and
        # its batch moved the client to the other seat, not an edit.
        self.assertEqual(1, self.full.call_count)
        row = self.row()
        self.assertEqual(("SH-TR-01", 1), (row["seat"], row["revision"]))
        # A seat the broker does not know leaves the client with none.
        self.clock.advance(30)
        self.app.post_json(HEARTBEAT, {"client_id": "tc-0001",
                                       "seat": "nowhere"},
                           headers=headers, status=200)
        self.assertIsNone(self.row()["seat"])
        # At 1.0 a seat is refused (400) by the stack's schema.
        self.beat(seat="SH-TR-01", status=400)

    def test_anonymous_and_health(self):
        self.client()
        self.beat()
        self.beat(health={"display": "ok", "connection_failures": 5,
                          "last_connection_error": "refused"})
        self.assertEqual(1, self.full.call_count)
        row = self.row()
        self.assertEqual("faulty", row["status"])
        self.assertIn("5 connections failed in a row: refused",
                      row["fault_reason"])
        self.assertIsNone(row["last_user"])
        self.beat(health={"display": "ok", "connection_failures": 0})
        self.assertEqual(("online", None), (self.row()["status"],
                                            self.row()["fault_reason"]))

    def test_session_closed_elsewhere_names_no_user(self):
        self.client()
        login = self.login()
        self.beat(login, input_events=3)
        before = self.row()["last_input_at"]
        # Another API process logged the session out: this one still
        # remembers the token, but the write reads the session.
        with self.broker.database.engine.begin() as conn:
            conn.execute(sa.update(models.ClientSession.__table__).values(
                state="closed"))
        self.clock.advance(30)
        self.beat(login, input_events=9)
        self.assertEqual(1, self.full.call_count)
        row = self.row()
        self.assertEqual(timeutils.utcnow(), row["last_seen_at"])
        self.assertIsNone(row["last_user"])
        self.assertEqual(before, row["last_input_at"])

    def test_logout_here_forgets_the_token(self):
        self.client()
        login = self.login()
        self.beat(login, input_events=3)
        self.broker.logout(_Resp(login))
        resp = self.beat(login, input_events=3, status=401)
        self.assertEqual(401, resp.json["error"]["code"])
        self.assertEqual(2, self.full.call_count)

    def test_wrong_token_and_unknown_client_take_the_full_path(self):
        self.client()
        login = self.login()
        self.beat(login)
        resp = self.beat(login, token="not-the-token", status=401)
        self.assertEqual("Unauthorized", resp.json["error"]["title"])
        resp = self.beat(client_id="tc-unknown", status=404)
        self.assertIn("tc-unknown", resp.json["error"]["message"])
        # A body the schema refuses: the stack's 400.
        resp = self.beat(input_events=-1, status=400)
        self.assertIn("input_events", resp.json["error"]["message"])
        # (The schema refused the last one before any write.)
        self.assertEqual(3, self.full.call_count)
        # Half a surrogate pair: no character, the stack's 400, before
        # any write.
        resp = self.beat(login, client_id="tc-0001\udc80", status=400)
        self.assertIn("surrogate", resp.json["error"]["message"])
        self.assertEqual(3, self.full.call_count)

    def test_client_deleted_elsewhere_is_not_created_again(self):
        self.client()
        self.beat()
        with self.broker.database.engine.begin() as conn:
            conn.execute(sa.delete(models.ThinClient.__table__))
        self.beat()
        self.assertEqual(0, self.broker.count("thin_clients"))


class _Resp:
    """What Broker.logout reads of a login's answer."""

    def __init__(self, login):
        self.json = login


class TestBatches(LeanTestCase):

    # Written by the test's flush, not by the thread's.
    broker_flags = {("beats", "flush_interval"): 60}

    def test_latest_per_client_in_one_write_input_kept(self):
        self.client("tc-0001")
        self.client("tc-0002")
        login = self.login()
        self.beat(login, input_events=3)
        self.beat(client_id="tc-0002")
        start = timeutils.utcnow()
        self.clock.advance(10)
        self.beat(login, input_events=4)
        self.clock.advance(10)
        self.beat(login, input_events=0)
        self.beat(client_id="tc-0002", health={"network": "wifi"})
        # Held in this process: the rows still say what the stack wrote.
        self.assertEqual(start, self.row()["last_seen_at"])
        self.assertEqual(2, len(self.beats.heartbeats))
        self.assertEqual(2, self.beats.heartbeats.flush())
        row = self.row()
        self.assertEqual(timeutils.utcnow(), row["last_seen_at"])
        self.assertEqual(0, row["input_events"])
        # The input 10 s earlier is not lost under the later heartbeat.
        self.assertEqual(start + datetime.timedelta(seconds=10),
                         row["last_input_at"])
        self.assertEqual({"network": "wifi"}, self.row("tc-0002")["health"])

    def test_an_older_heartbeat_does_not_overwrite_a_newer(self):
        self.client()
        self.beat()
        self.clock.advance(10)
        self.beat()        # held, at t + 10
        self.clock.advance(10)
        # Written at once elsewhere (another worker, the full path).
        db.thin_client_heartbeat(self.ctxt, "tc-0001",
                                 {"last_address": "10.9.9.9"})
        self.beats.flush()
        row = self.row()
        self.assertEqual(timeutils.utcnow(), row["last_seen_at"])
        self.assertEqual("10.9.9.9", row["last_address"])

    def test_batch_reads_back_the_credentials(self):
        self.client()
        login = self.login()
        self.beat(login, input_events=1)
        self.beat(login, input_events=2)
        # Closed by another process: still answered until the batch...
        with self.broker.database.engine.begin() as conn:
            conn.execute(sa.update(models.ClientSession.__table__).values(
                state="closed"))
        self.beat(login, input_events=3)
        self.assertEqual(1, self.full.call_count)
        self.beats.heartbeats.flush()
        # ... which read it back: the full path now, and its 401.
        self.beat(login, input_events=4, status=401)
        self.assertEqual(2, self.full.call_count)
        # The client itself is still remembered (and confirmed).
        self.beat()
        self.assertEqual(2, self.full.call_count)

    def test_stop_writes_what_is_held(self):
        self.client()
        self.beat()
        self.clock.advance(10)
        self.beat()
        self.beats.stop()
        self.assertEqual(timeutils.utcnow(), self.row()["last_seen_at"])


class AgentTestCase(LeanTestCase):

    def setUp(self):
        super().setUp()
        self.broker.create_pool("lean", min_ready=1, max_size=2)
        self.broker.create_allocator("everyone", plugin="pool",
                                     pool="lean", is_default=True)
        self.broker.manager.pool_upkeep(self.ctxt)
        self.desktop = db.desktop_list(self.ctxt, {})[0]
        server = self.broker.cloud.servers[self.desktop["server_id"]]
        self.secret = server["metadata"][protocol.META_SECRET]
        self.app.post_json("/v1/agent/register",
                           {"desktop_id": self.desktop["id"]},
                           headers={SECRET: self.secret})

    def report(self, status=200, secret=None, **values):
        body = dict({"desktop_id": self.desktop["id"],
                     "connection_state": "connected", "display": "running",
                     "username": "amy", "idle_seconds": 5}, **values)
        return self.app.post_json(REPORT, body,
                                  headers={SECRET: secret or self.secret},
                                  status=status)

    def agent(self):
        return db.agent_get(self.ctxt, self.desktop["id"])


class TestReports(AgentTestCase):

    def test_second_report_lean_same_answer_same_row(self):
        first = self.report()
        self.assertEqual(1, self.full_reports.call_count)
        self.clock.advance(30)
        second = self.report(connection_state="disconnected",
                             idle_seconds=40)
        self.assertEqual(1, self.full_reports.call_count)
        self.assertEqual(first.json, second.json)
        self.assertEqual(first.headers["Content-Type"],
                         second.headers["Content-Type"])
        self.assertEqual(first.headers["OpenStack-API-Version"],
                         second.headers["OpenStack-API-Version"])
        agent = self.agent()
        now = timeutils.utcnow()
        self.assertEqual(("disconnected", now, now, 40, 3), (
            agent["connection_state"], agent["connection_since"],
            agent["last_report_at"], agent["idle_seconds"],
            agent["reports"]))

    def test_session_state_from_the_agent(self):
        self.broker.manager.pool_upkeep(self.ctxt)
        login = self.broker.login("amy").json
        self.report()
        self.clock.advance(30)
        self.report(connection_state="disconnected", idle_seconds=30)
        session = db.session_get(self.ctxt, login["session"]["id"])
        self.assertEqual(("disconnected", timeutils.utcnow(), 30), (
            session["connection_state"], session["connection_since"],
            session["idle_seconds"]))
        since = timeutils.utcnow()
        self.clock.advance(30)
        self.report(connection_state="disconnected", idle_seconds=60)
        session = db.session_get(self.ctxt, login["session"]["id"])
        self.assertEqual((since, 60), (session["connection_since"],
                                       session["idle_seconds"]))

    def test_new_secret_elsewhere_writes_nothing(self):
        self.report()
        db.agent_secret_set(self.ctxt, self.desktop["id"],
                            protocol.secret_hash("another"))
        self.clock.advance(30)
        # Remembered here, so answered; the write checks the secret.
        self.report(idle_seconds=99)
        agent = self.agent()
        self.assertEqual((0, None), (agent["reports"], agent["idle_seconds"]))

    def test_wrong_secret_full_path(self):
        self.report()
        resp = self.report(secret="wrong", status=401)
        self.assertEqual(401, resp.json["error"]["code"])
        self.assertEqual(2, self.full_reports.call_count)

    def test_register_forgets(self):
        self.report()
        self.app.post_json("/v1/agent/register",
                           {"desktop_id": self.desktop["id"]},
                           headers={SECRET: self.secret})
        self.report()
        self.assertEqual(2, self.full_reports.call_count)


class TestReportBatches(AgentTestCase):

    broker_flags = {("beats", "flush_interval"): 60}

    def test_new_secret_elsewhere_refused_after_the_batch(self):
        self.report()
        self.report(idle_seconds=9)
        db.agent_secret_set(self.ctxt, self.desktop["id"],
                            protocol.secret_hash("another"))
        self.beats.reports.flush()
        self.assertEqual((0, None), (self.agent()["reports"],
                                     self.agent()["idle_seconds"]))
        self.report(status=401)
        self.assertEqual(2, self.full_reports.call_count)


class TestReportRateLimit(AgentTestCase):

    broker_flags = {("beats", "flush_interval"): 60,
                    ("agent", "min_report_interval"): 10}

    def test_too_soon_429_lean(self):
        self.clock.advance(10)
        self.report()
        self.clock.advance(4)
        resp = self.report(status=429)
        self.assertEqual("6", resp.headers["Retry-After"])
        self.assertEqual(429, resp.json["error"]["code"])
        self.assertTrue(resp.json["error"]["request_id"].startswith("req-"))
        self.assertEqual(1, self.full_reports.call_count)
        self.clock.advance(6)
        self.report(idle_seconds=77)
        self.assertEqual(1, self.full_reports.call_count)
        self.beats.flush()
        self.assertEqual(77, self.agent()["idle_seconds"])
