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

"""Simulated guest agents: thousands of desktops reporting to a broker.

``vdi-broker-loadgen --mode agents`` plays the ``vdi-broker-agent`` of
many desktops at once: each registers (``POST /v1/agent/register``) and
reports every ``interval`` seconds (``POST /v1/agent/report``), spread
evenly over the interval, from a few sender threads (no thread per
agent). Faults happen on a schedule (a seeded random choice of agents,
at a random moment of the fault window):

* ``hang``: the desktop hangs, its agent falls silent for good (the
  broker's ``agent_silent`` incident);
* ``display``: the display service stops for ``fault_duration`` seconds,
  then runs again (``display_stopped``, recovered if short);
* ``crash``: the agent crashes and its service restarts it
  ``fault_duration`` seconds later: silent, then it registers again.

The desktops and their secrets come from an agents file (CSV:
desktop_id, secret; see :func:`read_agents`) or, for the fake cloud, from
its servers' metadata (:func:`agents_from_servers`).
"""

import collections
import concurrent.futures
import csv
import heapq
import json
import random
import threading
import time

import urllib3

from vdi_broker.guest_agent import protocol
from vdi_broker.loadgen import client as loadgen_client

FAULT_KINDS = ("hang", "display", "crash")


class SimAgent:
    __slots__ = ("desktop_id", "secret", "registered", "fault",
                 "fault_at", "fault_end", "connected", "reports",
                 "last_ok")

    def __init__(self, desktop_id, secret):
        self.desktop_id = desktop_id
        self.secret = secret
        self.registered = False
        self.fault = None
        self.fault_at = None
        self.fault_end = None
        self.connected = False
        self.reports = 0
        self.last_ok = None


def read_agents(path):
    """SimAgents of a CSV file: desktop_id, secret (a header is skipped)."""
    agents = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if not row or row[0].startswith("#") or row[0] == "desktop_id":
                continue
            if len(row) < 2:
                raise ValueError("%s: a line needs desktop_id,secret" % path)
            agents.append(SimAgent(row[0].strip(), row[1].strip()))
    return agents


def agents_from_servers(servers):
    """SimAgents of servers' metadata (dicts with a ``metadata`` dict)."""
    agents = []
    for server in servers:
        meta = server.get("metadata") or {}
        if meta.get(protocol.META_SECRET) and \
                meta.get(protocol.META_DESKTOP):
            agents.append(SimAgent(meta[protocol.META_DESKTOP],
                                   meta[protocol.META_SECRET]))
    return agents


def schedule_faults(agents, shares, start, window, duration, seed=0):
    """Give agents their fault: ``shares`` {kind: share of the agents}.

    Returns [(kind, desktop_id, at)] in time order (``at``: seconds
    after the start).
    """
    rng = random.Random(seed)
    pool = list(agents)
    rng.shuffle(pool)
    planned = []
    for kind in FAULT_KINDS:
        count = int(round(len(agents) * shares.get(kind, 0.0)))
        for agent in pool[:count]:
            agent.fault = kind
            agent.fault_at = start + rng.uniform(0, window)
            agent.fault_end = (None if kind == "hang"
                               else agent.fault_at + duration)
            planned.append((kind, agent.desktop_id, agent.fault_at))
        pool = pool[count:]
    return sorted(planned, key=lambda p: p[2])


class Report:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.latencies = collections.defaultdict(list)
        self.faults = []
        self.started = None
        self.ended = None

    def add(self, op, kind, elapsed):
        with self.lock:
            self.counts[(op, kind)] += 1
            if kind == "ok":
                self.latencies[op].append(elapsed)

    def summary(self):
        seconds = max(1e-9, (self.ended or time.monotonic()) -
                      (self.started or 0))
        requests = sum(self.counts.values())
        errors = sum(n for (op, kind), n in self.counts.items()
                     if kind != "ok")
        result = {"seconds": round(seconds, 1), "requests": requests,
                  "per_second": round(requests / seconds, 1),
                  "errors": errors,
                  "by_kind": {"%s %s" % k: n
                              for k, n in sorted(self.counts.items())},
                  "faults": collections.Counter(f[0] for f in self.faults)}
        for op, values in sorted(self.latencies.items()):
            values = sorted(values)
            result["%s_p50_ms" % op] = round(
                1000 * values[len(values) // 2], 1)
            result["%s_p99_ms" % op] = round(
                1000 * values[min(len(values) - 1,
                                  int(len(values) * 0.99))], 1)
        return result

    def format(self):
        s = self.summary()
        lines = ["%d agent requests in %.1f s (%.1f/s), %d errors" % (
            s["requests"], s["seconds"], s["per_second"], s["errors"])]
        for name, n in s["by_kind"].items():
            lines.append("  %-28s %d" % (name, n))
        for key in sorted(k for k in s if k.endswith("_ms")):
            lines.append("  %-28s %.1f" % (key, s[key]))
        for kind, n in sorted(s["faults"].items()):
            lines.append("  faults %-21s %d" % (kind, n))
        return "\n".join(lines)


class AgentSimulation:
    """Run the agents against ``url`` for ``duration`` seconds."""

    def __init__(self, url, agents, interval=30.0, duration=60.0,
                 concurrency=8, timeout=(3.0, 10.0), clock=time.monotonic,
                 sleep=time.sleep):
        self.url = url.rstrip("/")
        self.agents = agents
        self.interval = interval
        self.duration = duration
        self.concurrency = concurrency
        self.clock = clock
        self.sleep = sleep
        self.http = urllib3.PoolManager(
            maxsize=concurrency, block=True,
            timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
            retries=False)
        self.report = Report()
        self.stopped = threading.Event()

    def stop(self):
        """End the run early (from another thread)."""
        self.stopped.set()

    def _post(self, op, path, agent, body):
        started = self.clock()
        try:
            response = self.http.request(
                "POST", self.url + path, body=json.dumps(body).encode(),
                headers={"Content-Type": "application/json",
                         protocol.SECRET_HEADER: agent.secret})
            status = response.status
            kind = "ok" if status < 300 else "http %d" % status
        except Exception as e:
            status, kind = 0, loadgen_client.classify(e)
        self.report.add(op, kind, self.clock() - started)
        return status

    def _body(self, agent, now):
        display = "running"
        if agent.fault == "display" and agent.fault_at <= now < \
                agent.fault_end:
            display = "stopped"
        return {"desktop_id": agent.desktop_id, "display": display,
                "connection_state": ("connected" if agent.connected
                                     else "disconnected"),
                "username": None, "idle_seconds": 0,
                "cpu_percent": 10.0, "memory_percent": 40.0,
                "disk_free_mb": 20000}

    def _silent(self, agent, now):
        if agent.fault == "hang" and now >= agent.fault_at:
            return True
        if agent.fault == "crash" and agent.fault_at <= now < \
                agent.fault_end:
            # Crashed: it registers again once restarted.
            agent.registered = False
            return True
        return False

    def _act(self, agent, now):
        if self._silent(agent, now):
            return
        if not agent.registered:
            status = self._post("register", protocol.REGISTER_PATH, agent,
                                {"desktop_id": agent.desktop_id,
                                 "version": "loadgen", "os": "Linux"})
            agent.registered = status == 200
            return
        status = self._post("report", protocol.REPORT_PATH, agent,
                            self._body(agent, now))
        if status == 409:
            agent.registered = False
        elif status == 200:
            agent.reports += 1
            agent.last_ok = now

    def run(self):
        """Each agent acts, then waits ``interval`` after its answer.

        Like the real agent: no agent has two requests in flight, and
        the next one waits a whole interval after the previous answer
        (a slow broker spaces them out instead of piling them up).
        """
        start = self.clock()
        self.report.started = start
        count = max(1, len(self.agents))
        lock = threading.Lock()
        # (next time, index): the agents spread over one interval.
        queue = [(start + self.interval * i / count, i)
                 for i in range(len(self.agents))]
        heapq.heapify(queue)
        end = start + self.duration

        def act(index, at):
            try:
                self._act(self.agents[index], at - start)
            finally:
                with lock:
                    heapq.heappush(queue,
                                   (self.clock() + self.interval, index))

        with concurrent.futures.ThreadPoolExecutor(
                self.concurrency) as executor:
            pending = set()
            while True:
                now = self.clock()
                if now >= end or self.stopped.is_set():
                    break
                with lock:
                    due = queue and queue[0][0] <= now
                    if due:
                        at, index = heapq.heappop(queue)
                if not due:
                    self.sleep(0.01)
                    continue
                # Bounded: never more requests queued than senders.
                while len(pending) >= self.concurrency * 2:
                    _done, pending = concurrent.futures.wait(
                        pending,
                        return_when=concurrent.futures.FIRST_COMPLETED)
                pending = {f for f in pending if not f.done()}
                pending.add(executor.submit(act, index, at))
            concurrent.futures.wait(pending)
        self.report.ended = self.clock()
        self.report.faults = [(a.fault, a.desktop_id, a.fault_at)
                              for a in self.agents if a.fault]
        self.http.clear()
        return self.report
