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

"""vdi-broker-loadgen --mode day --viewer: the thin clients' viewers.

The day of test_loadgen_day (an hour at 600 times real speed, a break, a
site outage) with API 1.2 heartbeats that say whether the viewer is
connected, and display drops on a schedule. After every tick the test
reads the broker: each session its thin client reached in that tick
has the viewer the day says (connected while logged in, disconnected in
a drop), and the combining rule (the admin API's ``connection``) decides
by the thin client, the pools having no guest agent.
"""

import collections
import contextlib
import io

import fixtures
from oslo_utils import timeutils
import sqlalchemy as sa

from tests.fixtures import broker as broker_fixture
from tests.functional import test_loadgen_day as day_test
from vdi_broker.cmd import loadgen as loadgen_cmd
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker.loadgen import day as day_mode
from vdi_broker.monitoring import shift_plan
from vdi_broker import states


class DayViewerTest(day_test.DayTestCase):

    def test_the_broker_sees_the_viewers(self):
        schedule = day_mode.generate(
            shift_plan.parse(day_test.PLAN), day_test.DATE,
            day_test._agents(), late_share=0.5, late_minutes=5,
            break_minutes=10, break_after_minutes=60,
            outages=[day_mode.parse_outage("nantong@08:20-08:35",
                                           day_test.DATE)], seed=4)
        drops = day_mode.plan_viewer_drops(schedule, 0.5, 10, seed=1)
        self.assertTrue(drops)
        engine = self.broker.database.engine
        sessions = models.ClientSession.__table__
        mismatches, seen = [], collections.Counter()
        replay = self.replay(schedule, viewer=True, viewer_drops=drops)

        def check(at, requests_started):
            with engine.connect() as conn:
                rows = conn.execute(sa.select(
                    sessions.c.id, sessions.c.username,
                    sessions.c.viewer_state, sessions.c.viewer_at).where(
                    sessions.c.state == states.SESSION_ACTIVE)).all()
            reached = {row.id: row for row in rows
                       if row.viewer_at is not None and
                       row.viewer_at >= requests_started.replace(
                           microsecond=0)}
            combined = db.session_connections(
                self.broker.ctxt,
                [db.session_get(self.broker.ctxt, i) for i in reached],
                timeutils.utcnow(), 90, 300)
            for session_id, row in reached.items():
                want = (states.CONNECTED
                        if replay.viewer_connected(row.username, at)
                        else states.DISCONNECTED)
                got = combined[session_id]
                if (row.viewer_state, got.state, got.source) != (
                        want, want, "thin_client"):
                    mismatches.append((at.time(), row.username,
                                       row.viewer_state, got, want))
                seen[want] += 1
            seen["ticks"] += 1

        replay.on_tick = check
        report = replay.run()
        self.assertEqual({}, dict(report.errors), report.format(schedule))
        self.assertEqual([], mismatches)
        self.assertGreaterEqual(seen["ticks"], 8, seen)
        self.assertGreaterEqual(seen[states.DISCONNECTED], 1, seen)
        self.assertGreater(seen[states.CONNECTED], seen[states.DISCONNECTED])


class DayViewerTimeoutTest(day_test.DayTestCase):
    """A drop longer than the pools' disconnect timeout logs off."""

    def test_a_drop_logs_the_session_off_and_the_agent_back_in(self):
        for pool in self.app_get("/v1/pools")["pools"]:
            self.broker.app.patch_json("/v1/pools/%s" % pool["id"],
                                       {"disconnect_timeout": 1})
        schedule = day_mode.generate(
            shift_plan.parse(day_test.PLAN), day_test.DATE,
            day_test._agents(), late_share=0, break_minutes=0, seed=4)
        # 30 plan minutes: 3 s at 600 times real speed, 6 ticks.
        drops = day_mode.plan_viewer_drops(schedule, 0.5, 30, seed=1)
        self.assertTrue(drops)
        report = self.replay(
            schedule, viewer=True, viewer_drops=drops,
            on_tick=lambda _at, _utc: self.broker.manager.watch_agents(
                self.broker.ctxt)).run()
        self.assertEqual({}, dict(report.errors), report.format(schedule))
        with self.broker.database.engine.connect() as conn:
            timed_out = collections.Counter(dict(conn.execute(sa.text(
                "SELECT username, COUNT(*) FROM sessions WHERE "
                "close_reason = 'disconnect timeout' GROUP BY username"
            )).all()))
            sessions = collections.Counter(dict(conn.execute(sa.text(
                "SELECT username, COUNT(*) FROM sessions GROUP BY "
                "username")).all()))
        self.assertTrue(timed_out)
        # Only agents whose display dropped; they logged in again (more
        # sessions than shifts).
        self.assertLessEqual(set(timed_out), set(drops))
        self.assertTrue(any(sessions[name] > len(schedule.shifts[name])
                            for name in timed_out), (sessions, timed_out))
        self.assertEqual(sum(timed_out.values()),
                         report.calls["closed by the broker"])

    def app_get(self, url):
        return self.broker.app.get(url).json


class DayViewerCommandTest(day_test.DayTestCase):

    def test_day_mode_with_viewer(self):
        plan, agents = day_test.day_files(
            self.useFixture(fixtures.TempDir()).path)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = loadgen_cmd.main([
                "--mode", "day", "--url", self.server.url, "--plan", plan,
                "--agents-file", agents, "--password",
                broker_fixture.PASSWORD, "--speed", "3600",
                "--heartbeat-interval", "0.25", "--concurrency", "4",
                "--viewer", "--viewer-drop-share", "1",
                "--viewer-drop-minutes", "5"])
        text = out.getvalue()
        self.assertEqual(0, code, text)
        self.assertIn("display drops of 5 minutes", text)
        self.assertIn("errors: none", text)
        with self.broker.database.engine.connect() as conn:
            told = conn.execute(sa.text(
                "SELECT COUNT(*) FROM sessions WHERE viewer_state IS NOT "
                "NULL")).scalar()
        self.assertGreater(told, 0)
