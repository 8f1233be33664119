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

"""Session state from the thin client's end (API 1.2), on the three databases.

A pool without guest agent: the thin client's heartbeats say whether
its viewer is connected, and the pool's disconnect timeout logs the
session off from them alone (the lean path and its batch statements
write them after the first). And the SQL that selects the disconnected
sessions agrees with the combining rule (vdi_broker/session_state.py)
over every combination of both ends.
"""

import datetime
import itertools

import fixtures
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa
import testscenarios

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import clock as clock_fixture
from tests.fixtures import database
from tests.functional import test_guest_agent
from vdi_broker.api import client_auth
from vdi_broker.conf import client_session as client_session_conf
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import models
from vdi_broker import session_state
from vdi_broker import states

load_tests = testscenarios.load_tests_apply_scenarios

HEARTBEAT = "/v1/client/heartbeat"
V1_2 = {"OpenStack-API-Version": "vdi 1.2"}
OFFLINE_AFTER = 300
AGENT_SILENT = 90


class ViewerTestCase(testscenarios.WithScenarios, base.TestCase):

    scenarios = database.BACKENDS

    def setUp(self):
        super().setUp()
        # Whole seconds: MariaDB's DATETIME keeps no fraction.
        self.clock = self.useFixture(clock_fixture.Clock(
            timeutils.utcnow().replace(microsecond=0)))
        self.broker = broker_fixture.use_broker(
            self, backend=self.backend,
            flags={("client_session", "client_offline_after"):
                   OFFLINE_AFTER,
                   ("client_session", "heartbeat_interval"): 30,
                   ("agent", "silent_after"): AGENT_SILENT})
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt
        # Which path wrote: the stack's single write or the batches'.
        self.full = self.useFixture(fixtures.MockPatchObject(
            db, "thin_client_heartbeat", wraps=db.thin_client_heartbeat)).mock


class TestThinClientOnlyPool(ViewerTestCase):
    """No guest agent: the heartbeats alone time the session out."""

    def setUp(self):
        super().setUp()
        self.app.post_json("/v1/thin-clients", {"client_id": "tc-0001"})
        self.broker.create_pool("tc-only", min_ready=1, max_size=2,
                                disconnect_timeout=120)
        self.broker.create_allocator("everyone", plugin="pool",
                                     pool="tc-only", is_default=True)
        self.broker.manager.pool_upkeep(self.ctxt)
        self.broker.manager.pool_upkeep(self.ctxt)
        self.login = self.broker.login("amy").json
        self.session_id = self.login["session"]["id"]

    def beat(self, connected, seconds=None, status=200, headers=V1_2):
        viewer = {"connected": connected}
        if seconds is not None:
            viewer["seconds"] = seconds
        return self.app.post_json(
            HEARTBEAT, {"client_id": "tc-0001",
                        "session_id": self.session_id, "viewer": viewer},
            headers=dict(headers, **{
                client_auth.HEADER: self.login["session"]["token"]}),
            status=status)

    def session(self):
        return db.session_get(self.ctxt, self.session_id)

    def watch(self):
        return self.broker.manager.watch_agents(self.ctxt)["timed_out"]

    def test_viewer_dropped_logged_off_by_the_disconnect_timeout(self):
        self.beat(True, 40)
        start = timeutils.utcnow()
        session = self.session()
        self.assertEqual((states.CONNECTED, start -
                          datetime.timedelta(seconds=40), start), (
            session["viewer_state"], session["viewer_since"],
            session["viewer_at"]))
        self.clock.advance(30)
        self.beat(True, 70)
        self.assertEqual(0, self.watch())
        # The viewer dropped 10 s before this heartbeat.
        self.clock.advance(30)
        self.beat(False, 10)
        dropped = timeutils.utcnow() - datetime.timedelta(seconds=10)
        self.assertEqual((states.DISCONNECTED, dropped), (
            self.session()["viewer_state"], self.session()["viewer_since"]))
        for _ in range(3):
            self.clock.advance(30)
            # The start of an unchanged state stays.
            self.beat(False, 41)
            self.assertEqual(dropped, self.session()["viewer_since"])
            self.assertEqual(0, self.watch())
        self.assertEqual("active", self.session()["state"])
        # 119 s since the drop (counted from the "seconds" the thin client
        # said, not from its heartbeat), then 120.
        self.clock.advance(19)
        self.assertEqual(0, self.watch())
        self.clock.advance(1)
        self.assertEqual(1, self.watch())
        session = self.session()
        self.assertEqual(("closed", "disconnect timeout"),
                         (session["state"], session["close_reason"]))
        self.assertEqual(models.RELEASING, db.desktop_get(
            self.ctxt, self.login["desktop"]["id"])["state"])
        # The first heartbeat went through the stack, the others through
        # the lean path and its batch statements.
        self.assertEqual(1, self.full.call_count)

    def test_reconnect_before_the_timeout_keeps_the_session(self):
        self.beat(False)
        self.clock.advance(100)
        self.beat(True)
        self.clock.advance(100)
        self.beat(True)
        self.assertEqual(0, self.watch())
        self.assertEqual("active", self.session()["state"])

    def test_crashed_thin_client_logged_off_once_offline(self):
        self.beat(True)
        # Silent: within the offline time its viewer still counts.
        self.clock.advance(OFFLINE_AFTER)
        self.assertEqual(0, self.watch())
        # Offline: disconnected since it was last heard, 301 s ago, more
        # than the pool's 120.
        self.clock.advance(1)
        self.assertEqual(1, self.watch())
        self.assertEqual("disconnect timeout",
                         self.session()["close_reason"])

    def test_older_thin_clients_change_nothing(self):
        # 1.1 refuses a viewer (the stack's schema); without one the
        # session has no viewer and no timeout runs.
        self.beat(False, status=400,
                  headers={"OpenStack-API-Version": "vdi 1.1"})
        self.app.post_json(HEARTBEAT, {"client_id": "tc-0001"},
                           headers={"OpenStack-API-Version": "vdi 1.1"},
                           status=200)
        self.assertIsNone(self.session()["viewer_state"])
        self.clock.advance(3600)
        self.assertEqual(0, self.watch())
        # A 1.2 viewer without a session names nothing.
        self.app.post_json(HEARTBEAT, {"client_id": "tc-0001",
                                       "viewer": {"connected": False}},
                           headers=V1_2, status=200)
        self.assertIsNone(self.session()["viewer_state"])

    def test_admin_view_shows_the_viewer_from_1_2(self):
        self.beat(False, 5)
        url = "/v1/sessions/%s" % self.session_id
        old = self.app.get(url).json["session"]
        self.assertNotIn("viewer_state", old)
        new = self.app.get(url, headers=V1_2).json["session"]
        self.assertEqual("disconnected", new["viewer_state"])
        self.assertIsNotNone(new["viewer_since"])
        listed = self.app.get("/v1/sessions", headers=V1_2).json["sessions"]
        self.assertEqual(["disconnected"],
                         [s["viewer_state"] for s in listed])


class TestSelectionAgreesWithTheRule(ViewerTestCase):
    """The SQL selection and session_state.combine, every combination."""

    ENDS = {
        "none": (None, None, None),
        "connected": (states.CONNECTED, 1000, 10),
        "disconnected": (states.DISCONNECTED, 1000, 10),
        "connected-silent": (states.CONNECTED, 1000, 600),
        "disconnected-silent": (states.DISCONNECTED, 1000, 600),
        # Disconnected, but not for the timeout yet.
        "disconnected-new": (states.DISCONNECTED, 50, 10),
    }

    def _ago(self, seconds):
        if seconds is None:
            return None
        return timeutils.utcnow() - datetime.timedelta(seconds=seconds)

    def test_every_combination(self):
        engine = self.broker.database.engine
        expected = set()
        with engine.begin() as conn:
            common.config_changed(conn)
            for console in ("rdp", "spice-direct"):
                pool_id = uuidutils.generate_uuid()
                conn.execute(sa.insert(models.Pool.__table__).values(
                    id=pool_id, name="p-" + console, flavor="f",
                    image="i", networks=[], console_type=console,
                    disconnect_timeout=100, revision=1))
                for agent, viewer in itertools.product(self.ENDS,
                                                       repeat=2):
                    expected |= self._insert(conn, pool_id, console, agent,
                                             viewer)
        # Sanity: both kinds are there, or the test proves nothing.
        self.assertGreater(len(expected), 10)
        self.assertLess(len(expected), 2 * len(self.ENDS) ** 2 - 10)
        found = db.sessions_timed_out(
            self.ctxt, timeutils.utcnow(), agent_silent_after=AGENT_SILENT,
            client_silent_after=OFFLINE_AFTER)
        self.assertEqual(sorted(expected), sorted(
            s["username"] for s in found if s["reason"] == "disconnected"))

    def _insert(self, conn, pool_id, console, agent, viewer):
        desktop_id = uuidutils.generate_uuid()
        name = "%s/%s/%s" % (console, agent, viewer)
        a_state, a_since, a_at = self.ENDS[agent]
        v_state, v_since, v_at = self.ENDS[viewer]
        now = timeutils.utcnow()
        conn.execute(sa.insert(models.Desktop.__table__).values(
            id=desktop_id, pool_id=pool_id, name=desktop_id[:8],
            state=models.ASSIGNED, generation=1))
        if a_state is not None:
            conn.execute(sa.insert(models.DesktopAgent.__table__).values(
                desktop_id=desktop_id, secret_hash="x" * 64,
                registered_at=self._ago(5000),
                last_report_at=self._ago(a_at),
                connection_state=a_state,
                connection_since=self._ago(a_since), reports=1,
                created_at=now))
        conn.execute(sa.insert(models.ClientSession.__table__).values(
            id=uuidutils.generate_uuid(), token_hash=uuidutils.
            generate_uuid(), username=name, client_id="tc-" + name,
            desktop_id=desktop_id, pool_id=pool_id, state="active",
            expires_at=self._ago(-3600), created_at=self._ago(5000),
            connection_state=a_state, connection_since=self._ago(a_since),
            viewer_state=v_state, viewer_since=self._ago(v_since),
            viewer_at=self._ago(v_at)))
        combined = session_state.combine(
            session_state.End(a_state, self._ago(a_since), self._ago(a_at)),
            session_state.End(v_state, self._ago(v_since), self._ago(v_at)),
            console, now, AGENT_SILENT, OFFLINE_AFTER)
        if combined.state == states.DISCONNECTED and \
                (now - combined.since).total_seconds() >= 100:
            return {name}
        return set()


class _BothEnds(test_guest_agent.GuestAgentTestCase):
    """A guest agent says connected, the thin client's viewer does not."""

    console_type = None

    def setUp(self):
        self.pool_values = {"disconnect_timeout": 120,
                            "console_type": self.console_type}
        super().setUp()
        self.app.post_json("/v1/thin-clients", {"client_id": "tc-0001"})

    def beat(self, login, connected):
        self.app.post_json(
            HEARTBEAT, {"client_id": "tc-0001",
                        "session_id": login.json["session"]["id"],
                        "viewer": {"connected": connected}},
            headers=dict(V1_2, **{client_auth.HEADER:
                                  login.json["session"]["token"]}),
            status=200)

    def disagree(self):
        """Both ends fresh for 150 s, disagreeing: timed out or not."""
        self.fill()
        login, desktop = self.login()
        timed_out = 0
        for _ in range(5):
            self.report(desktop, connection_state="connected",
                        username="amy")
            self.beat(login, False)
            timed_out += self.watch()["timed_out"]
            self.clock.advance(30)
        return timed_out, self.session(login)

    def expire(self, agent, viewer):
        """Both ends fresh when the token expires: what expiry does.

        Returns (sessions expiry closed, the session, login, desktop).
        """
        self.fill()
        login, desktop = self.login()
        ttl = self.broker.conf.client_session.token_ttl
        self.clock.advance(ttl - 10)
        self.report(desktop, connection_state=agent, username="amy")
        self.beat(login, viewer)
        self.clock.advance(20)
        # Its token expired: the thin client names the session no more.
        self.report(desktop, connection_state=agent, username="amy")
        closed = self.broker.manager.expire_sessions(self.ctxt)
        return closed, self.session(login), login, desktop

    def connection(self, login, headers=V1_2):
        return self.app.get("/v1/sessions/%s" % login.json["session"]["id"],
                            headers=headers).json["session"]

    def check_admin_view(self):
        self.fill()
        login, desktop = self.login()
        self.report(desktop, connection_state="connected", username="amy")
        self.beat(login, False)
        self.assertNotIn("connection", self.connection(
            login, {"OpenStack-API-Version": "vdi 1.1"}))
        session = self.connection(login)
        decided = "agent" if self.console_type == "rdp" else "thin_client"
        self.assertEqual(
            {"state": "connected" if decided == "agent" else
             "disconnected", "decided_by": decided},
            {k: session["connection"][k] for k in ("state", "decided_by")})
        self.assertEqual(session["connection_since" if decided == "agent"
                                 else "viewer_since"],
                         session["connection"]["since"])
        listed = self.app.get("/v1/sessions", headers=V1_2).json[
            "sessions"]
        self.assertEqual([session["connection"]],
                         [s["connection"] for s in listed])
        # The agent falls silent: the thin client alone decides.
        self.clock.advance(91)
        self.assertEqual(("disconnected", "thin_client"), (
            self.connection(login)["connection"]["state"],
            self.connection(login)["connection"]["decided_by"]))
        self.app.delete("/v1/sessions/%s" % login.json["session"]["id"])
        self.assertIsNone(self.connection(login)["connection"])


class TestBothEndsRdp(_BothEnds):

    console_type = "rdp"

    def test_admin_view_combines_both_ends_at_1_2(self):
        self.check_admin_view()

    def test_the_agent_decides(self):
        timed_out, session = self.disagree()
        self.assertEqual(0, timed_out)
        self.assertEqual(("active", states.CONNECTED, states.DISCONNECTED),
                         (session["state"], session["connection_state"],
                          session["viewer_state"]))

    def test_expiry_the_viewer_does_not_keep_against_the_agent(self):
        # The RDP server in the guest has no client: expired.
        closed, session, _, _ = self.expire("disconnected", True)
        self.assertEqual((1, "expired"), (closed, session["close_reason"]))


class TestBothEndsSpice(_BothEnds):

    console_type = "spice-direct"

    def test_admin_view_combines_both_ends_at_1_2(self):
        self.check_admin_view()

    def test_the_thin_client_decides(self):
        timed_out, session = self.disagree()
        self.assertEqual(1, timed_out)
        self.assertEqual(("closed", "disconnect timeout"),
                         (session["state"], session["close_reason"]))

    def test_expiry_keeps_a_session_whose_viewer_is_connected(self):
        # The Linux agent watches a port no SPICE viewer uses.
        closed, session, login, desktop = self.expire("disconnected", True)
        self.assertEqual((0, "active"), (closed, session["state"]))
        self.assertEqual(models.ASSIGNED,
                         db.desktop_get(self.ctxt, desktop["id"])["state"])
        # The thin client cannot say more after the expiry: once its word
        # is older than the offline time, it counts disconnected (its
        # last heartbeat is 20 s old).
        offline = client_session_conf.offline_after(self.broker.conf)
        self.clock.advance(offline - 20)
        self.report(desktop, connection_state="disconnected")
        self.assertEqual(0, self.broker.manager.expire_sessions(self.ctxt))
        self.clock.advance(1)
        self.report(desktop, connection_state="disconnected")
        self.assertEqual(1, self.broker.manager.expire_sessions(self.ctxt))
        self.assertEqual("expired", self.session(login)["close_reason"])

    def test_expiry_the_agent_s_connected_still_keeps(self):
        # The thin client decides the timeouts, but expiry never reboots
        # a desktop whose agent says connected (the pool's policy does).
        closed, session, _, _ = self.expire("connected", False)
        self.assertEqual((0, "active"), (closed, session["state"]))
        self.app.patch_json("/v1/pools/%s" % self.pool["id"],
                            {"expiry_when_connected": True})
        self.assertEqual(1, self.broker.manager.expire_sessions(self.ctxt))

    def test_expiry_without_either_end_connected(self):
        closed, session, _, _ = self.expire("disconnected", False)
        self.assertEqual((1, "expired"), (closed, session["close_reason"]))
