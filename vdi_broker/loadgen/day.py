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

"""A call centre's day, replayed in compressed time (R15, R16).

:func:`generate` turns a shift plan
(:mod:`~vdi_broker.monitoring.shift_plan`) and the agents of each
department and site into a day: who is logged in
when, who is on a break, which site's network is down. It is pure (a
seeded random generator, no clock), so tests check the day itself:

* the plan's ``required`` agents of a slot are on shift (agent *i* of a
  team works the slots whose plan asks for more than *i* agents: a
  shift is a run of such slots, so the agents come in as the plan rises
  and go home as it falls);
* a share of the shifts starts late (``late_share``, up to
  ``late_minutes``);
* a shift of ``break_after_minutes`` or more has one break of
  ``break_minutes`` in its middle third: logged in, no input (idle);
* during an outage of a site its thin clients reach nothing: no
  heartbeat, no login, no logout (the broker sees them go offline);
* with ``viewer`` (API 1.2), each heartbeat of a session says whether the
  thin client's viewer is connected: it is while the agent is logged in
  (breaks too: the screen stays up), except during a display drop
  (:func:`plan_viewer_drops`: a share of the shifts loses its display
  for a while), so the broker's combining rule
  (:mod:`vdi_broker.session_state`) can be watched end to end.

:meth:`DaySchedule.expected` says, for any moment, how many agents of
each team the plan requires, are logged in, are active (logged in, input,
reachable), idle (on a break) and unreachable: what the broker's
active-agent count should show, and what its shift-plan alert compares.

:class:`DayReplay` plays the day against a broker through the thin-client
API: ``speed`` plan seconds per real second (60: an hour a minute); at
each tick (``heartbeat_interval`` real seconds) every thin client is
brought to its state of the moment (log in, log out) and every reachable
logged-in one sends a heartbeat with input events (none on a break).
Configure the broker's active interval and offline delay for the
compressed time (e.g. a few heartbeat intervals).
"""

import collections
import concurrent.futures
import datetime
import random
import threading
import time

from oslo_utils import timeutils

Agent = collections.namedtuple(
    "Agent", "username password department site client_id")
Outage = collections.namedtuple("Outage", "site start end")

_MINUTE = datetime.timedelta(minutes=1)


def parse_outage(value, date):
    """``SITE@HH:MM-HH:MM`` -> Outage on ``date``."""
    site, sep, window = value.rpartition("@")
    start, dash, end = window.partition("-")
    if not sep or not site or not dash:
        raise ValueError("an outage is SITE@HH:MM-HH:MM, not %r" % value)
    try:
        begin = datetime.datetime.combine(
            date, datetime.datetime.strptime(start, "%H:%M").time())
        finish = datetime.datetime.combine(
            date, datetime.datetime.strptime(end, "%H:%M").time())
    except ValueError:
        raise ValueError("an outage is SITE@HH:MM-HH:MM, not %r" % value)
    if finish <= begin:
        raise ValueError("outage %r ends before it starts" % value)
    return Outage(site, begin, finish)


def read_agents(path, password=None):
    """Agents from a CSV: username, department, site[, password].

    A header row naming the columns is optional.
    """
    import csv
    agents = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for row in csv.reader(f):
            row = [cell.strip() for cell in row]
            if not row or not row[0] or row[0].startswith("#") or \
                    row[0].lower() == "username":
                continue
            if len(row) < 3:
                raise ValueError("%s: %r: username, department, site[, "
                                 "password]" % (path, ",".join(row)))
            secret = row[3] if len(row) > 3 and row[3] else password
            if not secret:
                raise ValueError("%s: no password for %s: give --password "
                                 "or a fourth column" % (path, row[0]))
            agents.append(Agent(row[0], secret, row[1], row[2],
                                "tc-%s" % row[0]))
    return agents


class DaySchedule:
    """One generated day: shifts, breaks and outages of every agent."""

    def __init__(self, date, start, end, slot_minutes, required, agents,
                 shifts, breaks, outages, unstaffed):
        self.date = date
        self.start = start
        self.end = end
        self.slot_minutes = slot_minutes
        # {(department, site): {slot start datetime: required}}
        self.required = required
        self.agents = agents
        self.shifts = shifts
        self.breaks = breaks
        self.outages = list(outages)
        # {(department, site): the largest number of planned agents the
        # team has nobody for}
        self.unstaffed = unstaffed

    @staticmethod
    def _within(intervals, at):
        return any(begin <= at < end for begin, end in intervals)

    def logged_in(self, username, at):
        return self._within(self.shifts.get(username, ()), at)

    def on_break(self, username, at):
        return self._within(self.breaks.get(username, ()), at)

    def site_down(self, site, at):
        return any(o.site == site and o.start <= at < o.end
                   for o in self.outages)

    def required_at(self, team, at):
        step = datetime.timedelta(minutes=self.slot_minutes)
        for start, required in self.required.get(team, {}).items():
            if start <= at < start + step:
                return required
        return 0

    def expected(self, at):
        """The agents of every team at ``at``.

        Returns {(department, site): {"required", "logged_in", "active",
        "idle", "unreachable"}}.
        """
        result = {team: {"required": self.required_at(team, at),
                         "logged_in": 0, "active": 0, "idle": 0,
                         "unreachable": 0}
                  for team in self.required}
        for agent in self.agents.values():
            team = (agent.department, agent.site)
            if team not in result or not self.logged_in(agent.username,
                                                        at):
                continue
            counts = result[team]
            counts["logged_in"] += 1
            if self.site_down(agent.site, at):
                counts["unreachable"] += 1
            elif self.on_break(agent.username, at):
                counts["idle"] += 1
            else:
                counts["active"] += 1
        return result

    def slots(self):
        """The slot starts of the day, in order."""
        step = datetime.timedelta(minutes=self.slot_minutes)
        at, found = self.start, []
        while at < self.end:
            found.append(at)
            at += step
        return found


def generate(plan, date, agents, late_share=0.1, late_minutes=20,
             break_minutes=15, break_after_minutes=120, outages=(),
             seed=0):
    """The day of ``date`` in ``plan`` for ``agents`` (a DaySchedule).

    Agents whose department and site the plan does not name are left
    out. Raises ValueError when the plan has no slot on ``date``.
    """
    # A reproducible simulation (the seed), not security.
    rng = random.Random(seed)  # nosec B311
    step = datetime.timedelta(minutes=plan.slot_minutes)
    by_team = collections.defaultdict(list)
    for agent in sorted(agents, key=lambda a: a.username):
        by_team[(agent.department, agent.site)].append(agent)
    required = {}
    for team, slots in plan.required(date).items():
        required[team] = {datetime.datetime.combine(date, start): count
                          for start, count in slots.items()}
    if not required:
        raise ValueError("the shift plan has no slot on %s" % date)
    start = min(min(slots) for slots in required.values())
    end = max(max(slots) for slots in required.values()) + step
    timeline = []
    at = start
    while at < end:
        timeline.append(at)
        at += step
    shifts, breaks, day_agents, unstaffed = {}, {}, {}, {}
    for team in sorted(required):
        planned = [required[team].get(slot, 0) for slot in timeline]
        team_agents = by_team.get(team, [])
        unstaffed[team] = max(0, max(planned) - len(team_agents))
        for index, agent in enumerate(team_agents):
            runs = _runs([count > index for count in planned])
            if not runs:
                continue
            day_agents[agent.username] = agent
            for first, last in runs:
                begin = timeline[first]
                finish = timeline[last] + step
                length = int((finish - begin) / _MINUTE)
                if late_share and rng.random() < late_share and length > 1:
                    begin += _MINUTE * rng.randint(
                        1, max(1, min(late_minutes, length - 1)))
                shifts.setdefault(agent.username, []).append((begin,
                                                              finish))
                worked = int((finish - begin) / _MINUTE)
                if break_minutes and worked >= break_after_minutes:
                    third = worked // 3
                    latest = max(third, 2 * third - break_minutes)
                    at = begin + _MINUTE * rng.randint(third, latest)
                    breaks.setdefault(agent.username, []).append(
                        (at, min(finish, at + _MINUTE * break_minutes)))
    return DaySchedule(date, start, end, plan.slot_minutes, required,
                       day_agents, shifts, breaks, outages, unstaffed)


def _runs(flags):
    """[(first, last)] index ranges of the runs of True in ``flags``."""
    runs, first = [], None
    for index, flag in enumerate(flags):
        if flag and first is None:
            first = index
        elif not flag and first is not None:
            runs.append((first, index - 1))
            first = None
    if first is not None:
        runs.append((first, len(flags) - 1))
    return runs


# -- the replay --------------------------------------------------------------

Sample = collections.namedtuple(
    "Sample", "at team required expected_active expected_idle "
              "unreachable logged_in")


class DayReport:
    """What the replay did and saw, per tick and per call."""

    def __init__(self):
        self._lock = threading.Lock()
        self.samples = []
        self.calls = collections.Counter()
        self.errors = collections.Counter()
        self.ticks = 0
        self.late_ticks = 0

    def add(self, outcome):
        with self._lock:
            self.calls[outcome.op] += 1
            if not outcome.ok:
                self.errors[(outcome.op, outcome.kind)] += 1

    def session_closed(self):
        """A heartbeat found its session closed by the broker (401)."""
        with self._lock:
            self.calls["closed by the broker"] += 1

    def format(self, schedule, width=40):
        """A text chart per team: plan against expected active agents."""
        lines = []
        by_team = collections.defaultdict(dict)
        for sample in self.samples:
            by_team[sample.team].setdefault(sample.at, sample)
        for team in sorted(by_team):
            lines.append("%s at %s (plan '#', active agents '*')" % team)
            top = max([max(s.required, s.expected_active)
                       for s in by_team[team].values()] + [1])
            for slot in schedule.slots():
                inside = [s for at, s in sorted(by_team[team].items())
                          if slot <= at < slot + datetime.timedelta(
                              minutes=schedule.slot_minutes)]
                if not inside:
                    continue
                sample = inside[len(inside) // 2]
                plan_bar = "#" * round(width * sample.required / top)
                active_bar = "*" * round(width * sample.expected_active /
                                         top)
                lines.append("  %s  plan %4d %-*s" % (
                    slot.strftime("%H:%M"), sample.required, width,
                    plan_bar))
                lines.append("         active %4d %-*s%s" % (
                    sample.expected_active, width, active_bar,
                    "  (%d unreachable)" % sample.unreachable
                    if sample.unreachable else ""))
        lines.append("calls: %s" % ", ".join(
            "%s %d" % item for item in sorted(self.calls.items())))
        lines.append("errors: %s" % (", ".join(
            "%s %s x%d" % (op, kind, n)
            for (op, kind), n in sorted(self.errors.items())) or "none"))
        if self.late_ticks:
            lines.append("%d of %d ticks started late (the broker or this "
                         "machine was too slow for the speed)"
                         % (self.late_ticks, self.ticks))
        return "\n".join(lines)


def plan_viewer_drops(schedule, share, minutes, seed=0):
    """Display drops: {username: [(start, end)]} in plan time.

    A seeded ``share`` of the shifts (at least ``minutes`` + 2 long)
    loses its viewer for ``minutes``, starting at a random whole minute
    of the shift, one minute or more from either end.
    """
    rng = random.Random(seed)  # nosec B311: a simulation
    length = datetime.timedelta(minutes=minutes)
    shifts = [(name, begin, end)
              for name, spans in sorted(schedule.shifts.items())
              for begin, end in spans
              if end - begin >= length + 2 * _MINUTE]
    rng.shuffle(shifts)
    drops = collections.defaultdict(list)
    for name, begin, end in shifts[:int(round(len(shifts) * share))]:
        room = int((end - begin - length) / _MINUTE) - 1
        start = begin + _MINUTE * rng.randint(1, max(1, room))
        drops[name].append((start, start + length))
    return dict(drops)


class DayReplay:
    """Play a DaySchedule against a broker (a loadgen BrokerClient)."""

    def __init__(self, client, schedule, speed=60.0, heartbeat_interval=1.0,
                 concurrency=16, seed=0, clock=time.monotonic, stop=None,
                 on_tick=None, viewer=False, viewer_drops=None):
        if speed <= 0 or heartbeat_interval <= 0:
            raise ValueError("speed and heartbeat interval must be "
                             "positive")
        self.client = client
        self.schedule = schedule
        self.speed = speed
        self.heartbeat_interval = heartbeat_interval
        self.concurrency = concurrency
        self.clock = clock
        self.stop = stop or threading.Event()
        # Simulated input events, not security.
        self.rng = random.Random(seed)  # nosec B311
        self.sessions = {}
        self.report = DayReport()
        # Called after each tick with its plan time and the UTC time its
        # requests started (tests and demos read the broker then).
        self.on_tick = on_tick
        # API 1.2: heartbeats say whether the viewer is connected, not
        # during the drops ({username: [(start, end)]}, plan time).
        self.viewer = viewer
        self.viewer_drops = viewer_drops or {}

    def viewer_connected(self, username, at):
        """The viewer's state of a logged-in agent at ``at``."""
        return not DaySchedule._within(self.viewer_drops.get(username, ()),
                                       at)

    def plan_time(self, started):
        return self.schedule.start + datetime.timedelta(
            seconds=(self.clock() - started) * self.speed)

    def _agent(self, agent, at, input_events):
        """Bring one thin client to its state at ``at``."""
        schedule = self.schedule
        if schedule.site_down(agent.site, at):
            return
        session = self.sessions.get(agent.username)
        if schedule.logged_in(agent.username, at):
            if session is None:
                outcome = self.client.login(agent.username, agent.password,
                                            agent.client_id)
                self.report.add(outcome)
                if not outcome.ok or not isinstance(outcome.body, dict):
                    return
                session = self.sessions[agent.username] = \
                    outcome.body["session"]
            events = 0 if schedule.on_break(agent.username, at) else \
                input_events
            extra = {}
            if self.viewer:
                connected = self.viewer_connected(agent.username, at)
                extra["viewer"] = {"connected": connected}
                if not connected and self._closed(session):
                    del self.sessions[agent.username]
                    return
            self.report.add(self.client.heartbeat(
                agent.client_id, session, input_events=events,
                detect_support=False, **extra))
        elif session is not None:
            self._logout(session)
            del self.sessions[agent.username]

    def _sample(self, at):
        expected = self.schedule.expected(at)
        logged_in = collections.Counter(
            (a.department, a.site) for name, a in
            self.schedule.agents.items() if name in self.sessions)
        for team, counts in expected.items():
            self.report.samples.append(Sample(
                at, team, counts["required"], counts["active"],
                counts["idle"], counts["unreachable"], logged_in[team]))

    def run(self):
        agents = list(self.schedule.agents.values())
        started = self.clock()
        tick = 0
        with concurrent.futures.ThreadPoolExecutor(
                self.concurrency, thread_name_prefix="loadgen-day") as pool:
            while not self.stop.is_set():
                at = self.plan_time(started)
                if at >= self.schedule.end:
                    break
                events = {a.username: self.rng.randint(5, 60)
                          for a in agents}
                requests_started = timeutils.utcnow()
                list(pool.map(lambda a: self._agent(a, at,
                                                    events[a.username]),
                              agents))
                self._sample(at)
                if self.on_tick is not None:
                    self.on_tick(at, requests_started)
                self.report.ticks += 1
                tick += 1
                due = started + tick * self.heartbeat_interval
                delay = due - self.clock()
                if delay < 0:
                    self.report.late_ticks += 1
                elif self.stop.wait(delay):
                    break
            # The day is over: everyone reachable goes home.
            list(pool.map(self._go_home, agents))
        return self.report

    def _go_home(self, agent):
        session = self.sessions.pop(agent.username, None)
        if session is not None:
            self._logout(session)

    def _closed(self, session):
        """Whether the broker closed the session (a disconnect timeout).

        A thin client without display asks for its session, as the
        reference one polls it; the agent logs in again at the next tick.
        """
        outcome = self.client.show(session)
        if outcome.status == 401:
            self.report.session_closed()
            return True
        self.report.add(outcome)
        return False

    def _logout(self, session):
        outcome = self.client.logout(session)
        if outcome.status == 401:
            # Closed by the broker since the last heartbeat.
            self.report.session_closed()
        else:
            self.report.add(outcome)
