# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""vdi-broker-loadgen --mode day: a short day against the all-in-one broker.

A shift plan of one hour (four 15-minute slots, two teams in two sites),
with late arrivals, a break and a site outage, replayed at 600 times real
speed against the broker over HTTP (conductor in-process, thin clients
registered at their first heartbeat). After every tick the test reads the
broker's database: the thin clients that reported input in that tick,
counted by team, are the agents the day says are active; those on a break
reported none; those of the site that is down reported nothing. That is
the input of the active-versus-plan comparison (the business monitoring
counts from these rows).
"""

import collections
import contextlib
import datetime
import io
import os

import fixtures
import sqlalchemy as sa

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import http_server
from vdi_broker.api import deploy
from vdi_broker.cmd import loadgen as loadgen_cmd
from vdi_broker.db.sqlalchemy import models
from vdi_broker.loadgen import client as loadgen_client
from vdi_broker.loadgen import day as day_mode
from vdi_broker.monitoring import shift_plan

BASE_DN = broker_fixture.BASE_DN
DATE = datetime.date(2026, 12, 1)
PLAN = """date,interval_start,department,site,required_agents
2026-12-01,08:00,hotel,shanghai,2
2026-12-01,08:15,hotel,shanghai,4
2026-12-01,08:30,hotel,shanghai,3
2026-12-01,08:45,hotel,shanghai,1
2026-12-01,08:00,flight,nantong,2
2026-12-01,08:15,flight,nantong,2
2026-12-01,08:30,flight,nantong,2
2026-12-01,08:45,flight,nantong,2
"""
TEAMS = {"h": ("hotel", "shanghai", 4), "f": ("flight", "nantong", 2)}


def _users():
    users = []
    for prefix, (department, site, count) in TEAMS.items():
        for i in range(count):
            name = "%s%02d" % (prefix, i)
            users.append(broker_fixture._user(
                name, "uid=%s,ou=%s,ou=%s,%s" % (name, department, site,
                                                 BASE_DN),
                ["agents"], {"department": [department], "site": [site]}))
    return users


def _agents():
    return [day_mode.Agent(u["username"], broker_fixture.PASSWORD,
                           u["attributes"]["department"][0],
                           u["attributes"]["site"][0],
                           "tc-" + u["username"]) for u in _users()]


def day_files(tmp):
    """The plan and the agents file of the day mode's command, in ``tmp``."""
    plan = os.path.join(tmp, "plan.csv")
    agents = os.path.join(tmp, "agents.csv")
    with open(plan, "w", encoding="utf-8") as f:
        f.write(PLAN)
    with open(agents, "w", encoding="utf-8") as f:
        f.write("username,department,site\n")
        for agent in _agents():
            f.write("%s,%s,%s\n" % (agent.username, agent.department,
                                    agent.site))
    return plan, agents


class DayTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self, users=_users(), flags={
            ("client_session", "register_unknown_clients"): True})
        for site, size in (("shanghai", 4), ("nantong", 2)):
            self.broker.create_pool(site, site=site, min_ready=size,
                                    max_size=size, release_action="keep")
            self.broker.create_allocator(site, pool=site,
                                         rules={"ou": [site]})
        self.broker.fill_pools()
        self.server = self.useFixture(http_server.WSGIServer(
            deploy.build_app(self.conf, self.broker.broker_app)))

    def replay(self, schedule, **options):
        """A DayReplay of ``schedule`` against the test's broker."""
        client = loadgen_client.BrokerClient(self.server.url,
                                             concurrency=8,
                                             timeout=(3, 30))
        self.addCleanup(client.close)
        return day_mode.DayReplay(client, schedule, speed=600.0,
                                  heartbeat_interval=0.5, concurrency=8,
                                  **options)


class DayReplayTest(DayTestCase):

    def test_the_broker_sees_the_day(self):
        plan = shift_plan.parse(PLAN)
        schedule = day_mode.generate(
            plan, DATE, _agents(), late_share=0.5, late_minutes=5,
            break_minutes=10, break_after_minutes=60,
            outages=[day_mode.parse_outage("nantong@08:20-08:35", DATE)],
            seed=4)
        # The day has what the test looks for.
        self.assertTrue(schedule.breaks)
        self.assertTrue(any(begin.minute % 15 for shifts in
                            schedule.shifts.values()
                            for begin, _end in shifts), "no one late")
        team_of = {agent.client_id: (agent.department, agent.site)
                   for agent in _agents()}
        engine = self.broker.database.engine
        mismatches, seen = [], collections.Counter()

        def check(at, requests_started):
            clients = models.ThinClient.__table__
            with engine.connect() as conn:
                rows = conn.execute(sa.select(
                    clients.c.client_id, clients.c.last_seen_at,
                    clients.c.input_events)).all()
            found = collections.defaultdict(collections.Counter)
            for client_id, last_seen, events in rows:
                if last_seen is None or last_seen < requests_started:
                    continue
                kind = "active" if events else "idle"
                found[team_of[client_id]][kind] += 1
            for team, expected in schedule.expected(at).items():
                got = (found[team]["active"], found[team]["idle"])
                want = (expected["active"], expected["idle"])
                if got != want:
                    mismatches.append((at.time(), team, got, want))
                if expected["unreachable"]:
                    seen["outage ticks"] += 1
                if expected["idle"]:
                    seen["break ticks"] += 1
            seen["ticks"] += 1

        report = self.replay(schedule, on_tick=check).run()
        self.assertEqual({}, dict(report.errors), report.format(schedule))
        self.assertEqual([], mismatches)
        self.assertGreaterEqual(seen["ticks"], 8, seen)
        self.assertGreaterEqual(seen["outage ticks"], 1, seen)
        self.assertGreaterEqual(seen["break ticks"], 1, seen)
        # One session per shift, every one closed at the end of the day.
        with engine.connect() as conn:
            sessions = collections.Counter(dict(conn.execute(sa.text(
                "SELECT username, COUNT(*) FROM sessions GROUP BY "
                "username")).all()))
            active = conn.execute(sa.text(
                "SELECT COUNT(*) FROM sessions WHERE state = 'active'"
            )).scalar()
        self.assertEqual({name: len(shifts) for name, shifts
                          in schedule.shifts.items()}, dict(sessions))
        self.assertEqual(0, active)


class DayCommandTest(DayTestCase):

    def test_day_mode(self):
        plan, agents = day_files(self.useFixture(fixtures.TempDir()).path)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = loadgen_cmd.main([
                "--mode", "day", "--url", self.server.url, "--plan", plan,
                "--agents-file", agents, "--password",
                broker_fixture.PASSWORD, "--speed", "3600",
                "--heartbeat-interval", "0.25", "--outage",
                "nantong@08:20-08:35", "--concurrency", "4"])
        text = out.getvalue()
        self.assertEqual(0, code, text)
        self.assertIn("day 2026-12-01, 08:00 to 09:00, 6 agents in 2 teams",
                      text)
        self.assertIn("hotel at shanghai (plan '#', active agents '*')",
                      text)
        self.assertIn("errors: none", text)
