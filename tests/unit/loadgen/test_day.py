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

"""The day mode: a day generated from a shift plan, and its replay."""

import collections
import datetime

import testtools

from vdi_broker.loadgen import day
from vdi_broker.monitoring import shift_plan

D = datetime.date(2026, 12, 1)
MINUTE = datetime.timedelta(minutes=1)


def at(hhmm):
    hours, minutes = hhmm.split(":")
    return datetime.datetime(2026, 12, 1, int(hours), int(minutes))


def plan_of(rows, slot_minutes=None):
    lines = ["date,interval_start,department,site,required_agents"]
    lines += ["2026-12-01,%s,%s,%s,%d" % row for row in rows]
    return shift_plan.parse("\n".join(lines) + "\n", slot_minutes)


def agents(department, site, count, prefix):
    return [day.Agent("%s%02d" % (prefix, i), "pw", department, site,
                      "tc-%s%02d" % (prefix, i)) for i in range(count)]


# A morning of the hotel desk in Shanghai: 2, then 4, then 3, then 1.
HOTEL = [("08:00", "hotel", "shanghai", 2), ("08:15", "hotel", "shanghai", 4),
         ("08:30", "hotel", "shanghai", 4), ("08:45", "hotel", "shanghai", 3),
         ("09:00", "hotel", "shanghai", 1)]


class GenerateTest(testtools.TestCase):

    def test_the_plan_is_on_shift_slot_by_slot(self):
        schedule = day.generate(plan_of(HOTEL), D,
                                agents("hotel", "shanghai", 5, "h"),
                                late_share=0, break_minutes=0)
        self.assertEqual((at("08:00"), at("09:15")),
                         (schedule.start, schedule.end))
        for slot, required in (("08:00", 2), ("08:15", 4), ("08:30", 4),
                               ("08:45", 3), ("09:00", 1)):
            for offset in (0, 7, 14):
                moment = at(slot) + offset * MINUTE
                counts = schedule.expected(moment)[("hotel", "shanghai")]
                self.assertEqual(
                    {"required": required, "logged_in": required,
                     "active": required, "idle": 0, "unreachable": 0},
                    counts, moment)
        # The agents come in as the plan rises and go as it falls: the
        # first agent works the whole morning, the fourth 08:15-08:45.
        self.assertEqual([(at("08:00"), at("09:15"))],
                         schedule.shifts["h00"])
        self.assertEqual([(at("08:15"), at("08:45"))],
                         schedule.shifts["h03"])
        # The fifth agent is not needed.
        self.assertNotIn("h04", schedule.agents)
        self.assertEqual({("hotel", "shanghai"): 0}, schedule.unstaffed)

    def test_a_plan_with_a_gap_gives_two_shifts(self):
        rows = [("08:00", "hotel", "shanghai", 1),
                ("08:30", "hotel", "shanghai", 0),
                ("09:00", "hotel", "shanghai", 1)]
        schedule = day.generate(plan_of(rows, 30), D,
                                agents("hotel", "shanghai", 1, "h"),
                                late_share=0, break_minutes=0)
        self.assertEqual([(at("08:00"), at("08:30")),
                          (at("09:00"), at("09:30"))],
                         schedule.shifts["h00"])

    def test_teams_without_agents_and_agents_without_teams(self):
        rows = HOTEL + [("08:00", "flight", "nantong", 3)]
        schedule = day.generate(
            plan_of(rows), D, agents("hotel", "shanghai", 2, "h") +
            agents("vip", "shanghai", 2, "v"), late_share=0)
        self.assertEqual({("hotel", "shanghai"): 2,
                          ("flight", "nantong"): 3}, schedule.unstaffed)
        self.assertEqual({"h00", "h01"}, set(schedule.agents))
        counts = schedule.expected(at("08:05"))
        self.assertEqual((2, 2), (counts[("hotel", "shanghai")]["required"],
                                  counts[("hotel", "shanghai")]["active"]))
        counts = schedule.expected(at("08:20"))
        self.assertEqual((4, 2), (counts[("hotel", "shanghai")]["required"],
                                  counts[("hotel", "shanghai")]["active"]))
        counts = schedule.expected(at("08:05"))
        self.assertEqual((3, 0), (counts[("flight", "nantong")]["required"],
                                  counts[("flight", "nantong")]["active"]))

    def test_late_arrivals(self):
        schedule = day.generate(plan_of(HOTEL), D,
                                agents("hotel", "shanghai", 4, "h"),
                                late_share=1.0, late_minutes=10,
                                break_minutes=0, seed=3)
        for username, shifts in schedule.shifts.items():
            (begin, end), = shifts
            slot = {"h00": "08:00", "h01": "08:00", "h02": "08:15",
                    "h03": "08:15"}[username]
            late = (begin - at(slot)) / MINUTE
            self.assertTrue(1 <= late <= 10, (username, late))
        # At the start of the day nobody is there yet.
        self.assertEqual(0, schedule.expected(at("08:00"))[
            ("hotel", "shanghai")]["logged_in"])
        # Nobody at all is late without late arrivals.
        on_time = day.generate(plan_of(HOTEL), D,
                               agents("hotel", "shanghai", 4, "h"),
                               late_share=0, seed=3)
        self.assertEqual(2, on_time.expected(at("08:00"))[
            ("hotel", "shanghai")]["logged_in"])

    def test_breaks_in_long_shifts(self):
        rows = [("%02d:%02d" % divmod(minutes, 60), "hotel", "shanghai", 2)
                for minutes in range(8 * 60, 12 * 60, 30)]
        schedule = day.generate(plan_of(rows, 30), D,
                                agents("hotel", "shanghai", 2, "h"),
                                late_share=0, break_minutes=15,
                                break_after_minutes=120, seed=1)
        for username in ("h00", "h01"):
            (begin, end), = schedule.breaks[username]
            self.assertEqual(15 * MINUTE, end - begin)
            # In the middle third of the 4-hour shift.
            self.assertGreaterEqual(begin, at("09:20"))
            self.assertLessEqual(end, at("10:40"))
            counts = schedule.expected(begin)[("hotel", "shanghai")]
            self.assertGreaterEqual(counts["idle"], 1)
            self.assertEqual(2, counts["logged_in"])
            self.assertEqual(2, counts["idle"] + counts["active"])
        # A short shift has none.
        short = day.generate(plan_of(HOTEL), D,
                             agents("hotel", "shanghai", 4, "h"),
                             late_share=0, break_after_minutes=120)
        self.assertEqual({}, short.breaks)

    def test_site_outage(self):
        rows = HOTEL + [("08:00", "flight", "nantong", 2),
                        ("08:15", "flight", "nantong", 2)]
        outage = day.parse_outage("nantong@08:10-08:20", D)
        self.assertEqual(day.Outage("nantong", at("08:10"), at("08:20")),
                         outage)
        schedule = day.generate(
            plan_of(rows), D, agents("hotel", "shanghai", 4, "h") +
            agents("flight", "nantong", 2, "f"), late_share=0,
            outages=[outage])
        during = schedule.expected(at("08:12"))
        self.assertEqual({"required": 2, "logged_in": 2, "active": 0,
                          "idle": 0, "unreachable": 2},
                         during[("flight", "nantong")])
        self.assertEqual(2, during[("hotel", "shanghai")]["active"])
        self.assertEqual(2, schedule.expected(at("08:20"))[
            ("flight", "nantong")]["active"])
        for bad in ("nantong", "nantong@08:10", "@08:10-08:20",
                    "nantong@08:20-08:10", "nantong@8h-9h"):
            self.assertRaises(ValueError, day.parse_outage, bad, D)

    def test_the_same_seed_gives_the_same_day(self):
        def make(seed):
            return day.generate(plan_of(HOTEL), D,
                                agents("hotel", "shanghai", 4, "h"),
                                late_share=0.5, seed=seed)
        self.assertEqual(make(7).shifts, make(7).shifts)
        self.assertNotEqual(make(7).shifts, make(8).shifts)

    def test_no_slot_on_the_date(self):
        self.assertRaises(ValueError, day.generate, plan_of(HOTEL),
                          datetime.date(2026, 12, 2), [])


class Outcome:
    def __init__(self, op, body=None):
        self.op = op
        self.ok = True
        self.kind = "ok"
        self.status = 200
        self.body = body


class RecordingClient:
    """A BrokerClient that records what the thin clients would send."""

    def __init__(self, clock):
        self.clock = clock
        self.calls = []

    def login(self, username, password, client_id, seat=None):
        self.calls.append((self.clock.plan(), "login", username))
        return Outcome("login", {"session": {"id": "s-" + username,
                                             "token": "t"}})

    def heartbeat(self, client_id, session=None, input_events=0,
                  detect_support=True, **viewer):
        self.calls.append((self.clock.plan(), "heartbeat",
                           session["id"][2:], input_events) +
                          tuple(viewer.values()))
        return Outcome("heartbeat")

    def logout(self, session):
        self.calls.append((self.clock.plan(), "logout", session["id"][2:]))
        return Outcome("logout")

    def show(self, session):
        self.calls.append((self.clock.plan(), "show", session["id"][2:]))
        return Outcome("show")


class FakeTime:
    """A clock and a stop event: waiting moves the clock, nothing sleeps."""

    def __init__(self, start, speed):
        self.now = 0.0
        self.start = start
        self.speed = speed

    def __call__(self):
        return self.now

    def plan(self):
        return self.start + datetime.timedelta(seconds=self.now * self.speed)

    def is_set(self):
        return False

    def wait(self, seconds):
        self.now += seconds
        return False


class ReplayTest(testtools.TestCase):

    def test_thin_clients_follow_the_day(self):
        rows = HOTEL + [("08:00", "flight", "nantong", 1),
                        ("08:15", "flight", "nantong", 1)]
        schedule = day.generate(
            plan_of(rows), D, agents("hotel", "shanghai", 4, "h") +
            agents("flight", "nantong", 1, "f"), late_share=0,
            break_minutes=0,
            outages=[day.parse_outage("nantong@08:05-08:10", D)])
        # A tick is a plan minute: speed 60, a heartbeat a second.
        fake = FakeTime(schedule.start, 60.0)
        client = RecordingClient(fake)
        ticks = []
        replay = day.DayReplay(client, schedule, speed=60.0,
                               heartbeat_interval=1.0, concurrency=1,
                               clock=fake, stop=fake,
                               on_tick=lambda t, _utc: ticks.append(t))
        report = replay.run()
        self.assertEqual(75, len(ticks))
        self.assertEqual(75, report.ticks)
        by_user = collections.defaultdict(list)
        for call in client.calls:
            by_user[call[2]].append(call)
        # h03 works 08:15-08:45: one login, a heartbeat a minute, one
        # logout when the plan lets it go.
        calls = by_user["h03"]
        self.assertEqual((at("08:15"), "login"), calls[0][:2])
        self.assertEqual((at("08:45"), "logout"), calls[-1][:2])
        beats = [c for c in calls if c[1] == "heartbeat"]
        self.assertEqual(30, len(beats))
        self.assertTrue(all(5 <= c[3] <= 60 for c in beats))
        # Nantong's thin client says nothing during its outage.
        beats = [c[0] for c in by_user["f00"] if c[1] == "heartbeat"]
        self.assertFalse([t for t in beats
                          if at("08:05") <= t < at("08:10")])
        self.assertEqual(30 - 5, len(beats))
        # Everybody went home at the end of the day.
        self.assertEqual(sum(1 for c in client.calls if c[1] == "login"),
                         sum(1 for c in client.calls if c[1] == "logout"))
        self.assertEqual({}, replay.sessions)
        self.assertEqual(
            {"login": 5, "logout": 5}, {k: v for k, v in
                                        report.calls.items()
                                        if k != "heartbeat"})
        text = report.format(schedule)
        self.assertIn("hotel at shanghai", text)
        self.assertIn("errors: none", text)

    def test_a_break_sends_no_input(self):
        rows = [("%02d:%02d" % divmod(minutes, 60), "hotel", "shanghai", 1)
                for minutes in range(8 * 60, 11 * 60, 30)]
        schedule = day.generate(plan_of(rows, 30), D,
                                agents("hotel", "shanghai", 1, "h"),
                                late_share=0, break_minutes=15,
                                break_after_minutes=120, seed=2)
        (begin, end), = schedule.breaks["h00"]
        fake = FakeTime(schedule.start, 60.0)
        client = RecordingClient(fake)
        day.DayReplay(client, schedule, speed=60.0, heartbeat_interval=1.0,
                      concurrency=1, clock=fake, stop=fake).run()
        idle = [c[0] for c in client.calls
                if c[1] == "heartbeat" and c[3] == 0]
        self.assertEqual(15, len(idle))
        self.assertEqual((begin, end - MINUTE), (idle[0], idle[-1]))


class ViewerTest(testtools.TestCase):

    def schedule(self):
        rows = [("%02d:%02d" % divmod(minutes, 60), "hotel", "shanghai", 2)
                for minutes in range(8 * 60, 10 * 60, 30)]
        return day.generate(plan_of(rows, 30), D,
                            agents("hotel", "shanghai", 2, "h"),
                            late_share=0, break_minutes=0)

    def test_drops_fall_within_shifts(self):
        schedule = self.schedule()
        drops = day.plan_viewer_drops(schedule, 1.0, 10, seed=3)
        self.assertEqual({"h00", "h01"}, set(drops))
        for name, spans in drops.items():
            (begin, end), = spans
            self.assertEqual(10 * MINUTE, end - begin)
            (s_begin, s_end), = schedule.shifts[name]
            self.assertTrue(s_begin + MINUTE <= begin and
                            end <= s_end - MINUTE, (name, begin, end))
        self.assertEqual({}, day.plan_viewer_drops(schedule, 0.0, 10))
        # No shift is long enough for the drop.
        self.assertEqual({}, day.plan_viewer_drops(schedule, 1.0, 119))

    def test_heartbeats_say_the_viewer_only_when_asked(self):
        schedule = self.schedule()
        drops = {"h00": [(at("08:30"), at("08:40"))]}
        fake = FakeTime(schedule.start, 60.0)
        client = RecordingClient(fake)
        day.DayReplay(client, schedule, speed=60.0, heartbeat_interval=1.0,
                      concurrency=1, clock=fake, stop=fake, viewer=True,
                      viewer_drops=drops).run()
        beats = [c for c in client.calls
                 if c[1] == "heartbeat" and c[2] == "h00"]
        dropped = [c[0] for c in beats if not c[4]["connected"]]
        self.assertEqual([at("08:30") + i * MINUTE for i in range(10)],
                         dropped)
        self.assertEqual(len(beats) - 10,
                         sum(1 for c in beats if c[4]["connected"]))
        # Without display it asks for its session, as the reference
        # thin client polls it.
        self.assertEqual(dropped, [c[0] for c in client.calls
                                   if c[1] == "show"])
        # Without viewer: 1.1 heartbeats, as before.
        fake = FakeTime(schedule.start, 60.0)
        client = RecordingClient(fake)
        day.DayReplay(client, schedule, speed=60.0, heartbeat_interval=1.0,
                      concurrency=1, clock=fake, stop=fake,
                      viewer_drops=drops).run()
        self.assertEqual({4}, {len(c) for c in client.calls
                               if c[1] == "heartbeat"})
