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

"""The write-behind batches' writes, on the three databases.

``thin_client_heartbeats_write`` and ``agent_reports_write`` run one
UPDATE per chunk of rows on MariaDB (PyMySQL and mysqlclient) and
PostgreSQL (vdi_broker/db/sqlalchemy/multirow.py) and an executemany on
SQLite; the rows they leave must be the same: unknown rows created
never, two rows of one key written in their order, a batch longer than
a chunk written whole, the session and the secret checked per row.
"""

import datetime

import fixtures
from oslo_utils import timeutils
import sqlalchemy as sa
import testscenarios

from tests import base
from tests.fixtures import database
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker.db.sqlalchemy import multirow
from vdi_broker.guest_agent import protocol

load_tests = testscenarios.load_tests_apply_scenarios

SCENARIOS = database.BACKENDS + [
    ("mysqlclient", {"backend": "mysql", "driver": "mysqldb"})]
CLIENTS = models.ThinClient.__table__
SESSIONS = models.ClientSession.__table__
AGENTS = models.DesktopAgent.__table__


class BatchTestCase(testscenarios.WithScenarios, base.TestCase):

    scenarios = SCENARIOS
    driver = None

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(database.Database(
            self.backend, driver=self.driver))
        self.ctxt = vdi_context.get_admin_context()
        # Whole seconds (MariaDB's DATETIME keeps none), in the past:
        # the heartbeats below are each a few seconds apart.
        self.t0 = timeutils.utcnow().replace(microsecond=0) - \
            datetime.timedelta(minutes=5)
        self.statements = []
        sa.event.listen(self.database.engine, "before_cursor_execute",
                        self._count)
        self.addCleanup(sa.event.remove, self.database.engine,
                        "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context,
               executemany):
        if statement.lstrip().upper().startswith("UPDATE"):
            self.statements.append(statement)

    def at(self, seconds):
        return self.t0 + datetime.timedelta(seconds=seconds)

    def insert(self, table, rows):
        with self.database.engine.begin() as conn:
            conn.execute(sa.insert(table), rows)

    def select(self, table, column, value):
        with self.database.engine.connect() as conn:
            return conn.execute(sa.select(table).where(
                table.c[column] == value)).mappings().first()

    def many_rows(self):
        """True where the multi-row UPDATE runs (not SQLite)."""
        return self.backend != "sqlite"


class TestHeartbeatBatches(BatchTestCase):

    def setUp(self):
        super().setUp()
        self.insert(CLIENTS, [
            {"id": "c%d" % i, "client_id": "tc-%d" % i, "tags": [],
             "status": "offline", "last_seen_at": self.t0, "revision": 1,
             "created_at": self.t0} for i in range(8)])
        expires = self.t0 + datetime.timedelta(hours=12)
        self.insert(SESSIONS, [
            {"id": "s-open", "token_hash": "h1", "username": "amy",
             "client_id": "tc-0", "pool_id": "p", "state": "active",
             "created_at": self.t0, "expires_at": expires},
            {"id": "s-closed", "token_hash": "h2", "username": "bob",
             "client_id": "tc-1", "pool_id": "p", "state": "closed",
             "created_at": self.t0, "expires_at": expires},
            {"id": "s-expired", "token_hash": "h3", "username": "cy",
             "client_id": "tc-2", "pool_id": "p", "state": "active",
             "created_at": self.t0, "expires_at": self.at(1)},
            {"id": "s-other", "token_hash": "h4", "username": "dee",
             "client_id": "tc-7", "pool_id": "p", "state": "active",
             "created_at": self.t0, "expires_at": expires}])

    def beat(self, client_id, seconds, **values):
        beat = {"client_id": client_id, "now": self.at(seconds),
                "address": "10.0.0.%d" % seconds, "session_id": None,
                "input_events": None, "input_at": None}
        beat.update(values)
        return beat

    def client(self, client_id):
        return self.select(CLIENTS, "client_id", client_id)

    def write(self, beats):
        return db.thin_client_heartbeats_write(self.ctxt, beats)

    def test_known_and_unknown_clients(self):
        updated = self.write([self.beat("tc-0", 5),
                              self.beat("tc-nobody", 5),
                              self.beat("tc-1", 5, input_events=3),
                              self.beat("tc-ghost", 6)])
        self.assertEqual(2, updated)
        for client_id in ("tc-0", "tc-1"):
            row = self.client(client_id)
            self.assertEqual(("online", self.at(5), "10.0.0.5"), (
                row["status"], row["last_seen_at"], row["last_address"]))
        # No phantom rows, the others untouched, not an edit.
        with self.database.engine.connect() as conn:
            self.assertEqual(8, conn.execute(
                sa.select(sa.func.count()).select_from(CLIENTS)).scalar())
        self.assertEqual(("offline", self.t0, 1),
                         tuple(self.client("tc-3")[k] for k in (
                             "status", "last_seen_at", "revision")))
        self.assertEqual(1, self.client("tc-0")["revision"])
        self.assertIsNone(self.client("tc-0")["updated_at"])

    def test_sessions_checked_per_row(self):
        input_at = self.at(9)
        self.write([
            self.beat("tc-0", 10, session_id="s-open", input_events=4,
                      input_at=input_at),
            self.beat("tc-1", 10, session_id="s-closed", input_events=4,
                      input_at=input_at),
            self.beat("tc-2", 10, session_id="s-expired", input_events=4,
                      input_at=input_at),
            # Another client's session names no user either.
            self.beat("tc-3", 10, session_id="s-other", input_events=4,
                      input_at=input_at),
            self.beat("tc-4", 10, session_id="s-unknown", input_events=4,
                      input_at=input_at)])
        row = self.client("tc-0")
        self.assertEqual(("amy", input_at, 4), (
            row["last_user"], row["last_input_at"], row["input_events"]))
        for client_id in ("tc-1", "tc-2", "tc-3", "tc-4"):
            row = self.client(client_id)
            self.assertEqual((None, None, self.at(10)), (
                row["last_user"], row["last_input_at"],
                row["last_seen_at"]), client_id)
        # Without input, the last input stays; without a session, no user.
        self.write([self.beat("tc-0", 20, session_id="s-open",
                              input_events=0)])
        row = self.client("tc-0")
        self.assertEqual(("amy", input_at, 0), (
            row["last_user"], row["last_input_at"], row["input_events"]))
        self.write([self.beat("tc-0", 30)])
        self.assertIsNone(self.client("tc-0")["last_user"])

    def test_health_and_seat(self):
        seat = db.seat_create(self.ctxt, {"name": "SH-2F-001", "site": "sh"})
        with self.database.engine.begin() as conn:
            conn.execute(sa.update(CLIENTS).values(seat_id=seat["id"])
                         .where(CLIENTS.c.client_id == "tc-1"))
        self.write([
            self.beat("tc-0", 5, health={"display": "ok", "n": [1, 2]},
                      fault_reason="5 connections failed", status="faulty",
                      seat="SH-2F-001"),
            self.beat("tc-1", 5, seat="nowhere"),
            self.beat("tc-2", 5, health={"network": "wifi"},
                      fault_reason=None, status="online")])
        row = self.client("tc-0")
        self.assertEqual(("faulty", "5 connections failed",
                          {"display": "ok", "n": [1, 2]}), (
            row["status"], row["fault_reason"], row["health"]))
        self.assertEqual("SH-2F-001",
                         db.thin_client_get(self.ctxt, "tc-0")["seat"])
        # A seat the broker does not know leaves the client with none.
        self.assertIsNone(self.client("tc-1")["seat_id"])
        row = self.client("tc-2")
        self.assertEqual(("online", None, {"network": "wifi"}), (
            row["status"], row["fault_reason"], row["health"]))

    def test_two_heartbeats_of_one_client_last_wins(self):
        updated = self.write([
            self.beat("tc-0", 5, address="10.0.0.1"),
            self.beat("tc-1", 5),
            self.beat("tc-0", 6, address="10.0.0.2"),
            self.beat("tc-0", 6, address="10.0.0.3", session_id="s-open",
                      input_events=2, input_at=self.at(6))])
        # Each heartbeat written once, in its order: the last one wins.
        self.assertEqual(4, updated)
        row = self.client("tc-0")
        self.assertEqual((self.at(6), "10.0.0.3", "amy", self.at(6)), (
            row["last_seen_at"], row["last_address"], row["last_user"],
            row["last_input_at"]))
        # An older one later in the batch does not overwrite a newer one.
        self.assertEqual(1, self.write([
            self.beat("tc-0", 9, address="10.0.0.9"),
            self.beat("tc-0", 8, address="10.0.0.8")]))
        row = self.client("tc-0")
        self.assertEqual((self.at(9), "10.0.0.9"), (
            row["last_seen_at"], row["last_address"]))

    def test_batch_longer_than_a_chunk(self):
        self.useFixture(fixtures.MockPatchObject(multirow, "CHUNK", 3))
        beats = [self.beat("tc-%d" % i, 5 + i) for i in range(7, -1, -1)]
        beats.insert(4, self.beat("tc-nobody", 5))
        self.assertEqual(8, self.write(beats))
        for i in range(8):
            self.assertEqual(self.at(5 + i),
                             self.client("tc-%d" % i)["last_seen_at"])
        # 9 rows of one kind, 3 a statement; one executemany on SQLite.
        self.assertEqual(3 if self.many_rows() else 1,
                         len(self.statements))

    def session(self, session_id):
        return self.select(SESSIONS, "id", session_id)

    def test_viewers_of_sessions(self):
        # API 1.2: the viewer of a heartbeat that names its session, in
        # one more statement per batch on MariaDB and PostgreSQL.
        viewer = dict(session_id="s-open", viewer_state="connected")
        self.write([
            self.beat("tc-0", 5, viewer_since=self.at(2), **viewer),
            self.beat("tc-1", 5, session_id="s-closed",
                      viewer_state="connected"),
            self.beat("tc-7", 5, session_id="s-open",
                      viewer_state="disconnected"),
            self.beat("tc-0", 7, **viewer)])
        row = self.session("s-open")
        # The same state twice: its start is kept; only the session's own
        # client writes it; a closed session takes none.
        self.assertEqual(("connected", self.at(2), self.at(7)), (
            row["viewer_state"], row["viewer_since"], row["viewer_at"]))
        self.assertIsNone(self.session("s-closed")["viewer_state"])
        if self.many_rows():
            viewer_updates = [s for s in self.statements
                              if "viewer_at" in s]
            # s-open is named three times: three rounds, s-closed
            # goes with the first.
            self.assertEqual(3, len(viewer_updates))
        # A new state starts now; an older heartbeat later in the batch
        # changes nothing.
        self.write([self.beat("tc-0", 9, session_id="s-open",
                              viewer_state="disconnected"),
                    self.beat("tc-0", 8, **viewer)])
        row = self.session("s-open")
        self.assertEqual(("disconnected", self.at(9), self.at(9)), (
            row["viewer_state"], row["viewer_since"], row["viewer_at"]))


class TestReportBatches(BatchTestCase):

    def setUp(self):
        super().setUp()
        pool = db.pool_create(self.ctxt, {
            "name": "agents", "flavor": "f", "image": "i",
            "console_type": "rdp", "max_size": 10})
        self.desktops = ["d%d" % i for i in range(6)]
        self.insert(models.Desktop.__table__, [
            {"id": d, "pool_id": pool["id"], "name": d,
             "state": models.ASSIGNED, "assigned_user": "u" + d,
             "generation": 1, "created_at": self.t0}
            for d in self.desktops])
        self.insert(AGENTS, [
            {"desktop_id": d, "secret_hash": protocol.secret_hash(d),
             "registered_at": None if d == "d5" else self.t0,
             "last_report_at": self.t0, "reports": 1,
             "connection_state": "connected",
             "connection_since": self.t0, "created_at": self.t0}
            for d in self.desktops])
        expires = self.t0 + datetime.timedelta(hours=12)
        self.insert(SESSIONS, [
            {"id": "s-" + d, "token_hash": "h-" + d, "username": "u" + d,
             "client_id": "tc-" + d, "pool_id": pool["id"],
             "desktop_id": d, "state": "closed" if d == "d4" else "active",
             "connection_state": "connected", "connection_since": self.t0,
             "created_at": self.t0, "expires_at": expires}
            for d in self.desktops])
        # (Counted from here: pool_create's own UPDATE, of the allocation
        # cache's generation, is the set-up's.)
        del self.statements[:]

    def report(self, desktop_id, seconds, secret=None, count=1, **values):
        report = {"desktop_id": desktop_id,
                  "secret_hash": protocol.secret_hash(secret or desktop_id),
                  "now": self.at(seconds), "since": self.at(seconds),
                  "count": count, "connection_state": "disconnected",
                  "display": "running", "username": "amy",
                  "idle_seconds": seconds, "cpu_percent": 12.5,
                  "memory_percent": 40, "disk_free_mb": 20480}
        report.update(values)
        return report

    def agent(self, desktop_id):
        return self.select(AGENTS, "desktop_id", desktop_id)

    def session(self, desktop_id):
        return self.select(SESSIONS, "desktop_id", desktop_id)

    def write(self, reports):
        return db.agent_reports_write(self.ctxt, reports)

    def test_known_unknown_and_refused_agents(self):
        updated = self.write([
            self.report("d0", 5),
            self.report("d-unknown", 5),
            self.report("d1", 5, secret="stale"),
            self.report("d2", 5, connection_state="connected",
                        idle_seconds=None, cpu_percent=None),
            self.report("d5", 5)])   # never registered
        self.assertEqual(2, updated)
        agent = self.agent("d0")
        self.assertEqual(("disconnected", self.at(5), self.at(5), 2, 5,
                          12.5, 40.0, 20480, "running", "amy"), tuple(
            agent[k] for k in (
                "connection_state", "connection_since", "last_report_at",
                "reports", "idle_seconds", "cpu_percent", "memory_percent",
                "disk_free_mb", "display", "username")))
        # Connected before and now: the state keeps its start.
        agent = self.agent("d2")
        self.assertEqual(("connected", self.t0, None, None), (
            agent["connection_state"], agent["connection_since"],
            agent["idle_seconds"], agent["cpu_percent"]))
        for desktop_id in ("d1", "d5"):
            agent = self.agent(desktop_id)
            self.assertEqual((1, self.t0, None), (
                agent["reports"], agent["last_report_at"],
                agent["idle_seconds"]))
        with self.database.engine.connect() as conn:
            self.assertEqual(6, conn.execute(
                sa.select(sa.func.count()).select_from(AGENTS)).scalar())
        # The sessions: with the agent's state, for current agents only.
        session = self.session("d0")
        self.assertEqual(("disconnected", self.at(5), 5), (
            session["connection_state"], session["connection_since"],
            session["idle_seconds"]))
        for desktop_id in ("d1", "d5"):
            self.assertEqual(("connected", None), (
                self.session(desktop_id)["connection_state"],
                self.session(desktop_id)["idle_seconds"]))
        session = self.session("d2")
        self.assertEqual(("connected", self.t0), (
            session["connection_state"], session["connection_since"]))

    def test_closed_session_and_no_state(self):
        self.write([self.report("d4", 5),
                    self.report("d3", 5, connection_state=None)])
        # The closed session keeps what it had; the agent is written.
        self.assertEqual(("connected", None), (
            self.session("d4")["connection_state"],
            self.session("d4")["idle_seconds"]))
        self.assertEqual(2, self.agent("d4")["reports"])
        # A report without a state: the agent's is none, since then;
        # the session is left as it was.
        self.assertEqual((None, self.at(5)), (
            self.agent("d3")["connection_state"],
            self.agent("d3")["connection_since"]))
        self.assertEqual(("connected", self.t0), (
            self.session("d3")["connection_state"],
            self.session("d3")["connection_since"]))

    def test_two_reports_of_one_desktop_last_wins(self):
        updated = self.write([
            self.report("d0", 5, idle_seconds=50, count=2),
            self.report("d1", 5),
            self.report("d0", 6, idle_seconds=60, count=3,
                        connection_state="disconnected")])
        self.assertEqual(3, updated)
        agent = self.agent("d0")
        # Both counted; the state began with the first.
        self.assertEqual((6, 60, self.at(6), self.at(5)), (
            agent["reports"], agent["idle_seconds"],
            agent["last_report_at"], agent["connection_since"]))
        self.assertEqual((60, self.at(5)), (
            self.session("d0")["idle_seconds"],
            self.session("d0")["connection_since"]))
        # Older than the row's last report: nothing.
        self.assertEqual(0, self.write([self.report("d0", 4)]))
        self.assertEqual(6, self.agent("d0")["reports"])

    def test_fractions_of_a_second_kept(self):
        # The agents' last report is precise to the microsecond on
        # MariaDB too: a report 0.25 s older than the row's is older.
        late = self.report("d0", 5)
        late["now"] += datetime.timedelta(microseconds=500000)
        early = self.report("d0", 5, idle_seconds=99)
        early["now"] += datetime.timedelta(microseconds=250000)
        self.assertEqual(1, self.write([late]))
        self.assertEqual(late["now"], self.agent("d0")["last_report_at"])
        self.assertEqual(0, self.write([early]))
        self.assertEqual(5, self.agent("d0")["idle_seconds"])

    def test_batch_longer_than_a_chunk(self):
        self.useFixture(fixtures.MockPatchObject(multirow, "CHUNK", 2))
        reports = [self.report(d, 5) for d in reversed(self.desktops[:4])]
        reports.append(self.report("d-unknown", 5))
        self.assertEqual(4, self.write(reports))
        for desktop_id in self.desktops[:4]:
            self.assertEqual((2, 5), (
                self.agent(desktop_id)["reports"],
                self.session(desktop_id)["idle_seconds"]))
        # 5 agents and 5 sessions, 2 a statement: 3 UPDATEs of each; an
        # executemany of each on SQLite.
        self.assertEqual(6 if self.many_rows() else 2, len(self.statements))
