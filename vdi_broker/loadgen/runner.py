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

"""Many simulated thin clients: a login storm or a ramp.

Each simulated thin client logs one user in, optionally looks at its
session and console file, sends heartbeats, and logs out. In a *storm*
every client starts at once and ``concurrency`` threads serve them as
fast as the broker answers; in a *ramp* the clients start at ``rate``
per second (an open workload: a slow broker does not slow the arrivals,
it gets a queue, as at a real shift change).
"""

import collections
import concurrent.futures
import threading
import time


def percentile(ordered, fraction):
    """Nearest-rank percentile of an ascending list (None if empty)."""
    if not ordered:
        return None
    rank = max(1, int(round(fraction * len(ordered) + 0.5 - 1e-9)))
    return ordered[min(rank, len(ordered)) - 1]


class Users:
    """Who logs in: (username, password) pairs."""

    @staticmethod
    def from_pattern(pattern, count, password, start=0):
        return [(pattern % i, password) for i in range(start, start + count)]

    @staticmethod
    def from_file(path, password=None):
        """One user a line, ``username`` or ``username<TAB>password``.

        A static identity driver's JSON users file is read too (its
        hashes are useless here, so ``password`` is then required).
        """
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if text.lstrip().startswith("{"):
            import json
            if password is None:
                raise ValueError("a JSON users file holds no passwords: "
                                 "give --password")
            return [(u["username"], password)
                    for u in json.loads(text)["users"]]
        users = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _sep, secret = line.partition("\t")
            if not secret and password is None:
                raise ValueError("no password for %s: give --password or "
                                 "a tab-separated password" % name)
            users.append((name, secret or password))
        return users


class Report:
    """Figures of one run, filled by the worker threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self.outcomes = collections.defaultdict(list)
        self.errors = collections.Counter()
        self.error_examples = {}
        # username -> the login's answer (session, desktop, binding)
        self.logins = {}
        self.started = None
        self.finished = None
        self.late_starts = 0

    def add(self, outcome, username=None):
        with self._lock:
            self.outcomes[outcome.op].append(outcome)
            if not outcome.ok:
                self.errors[(outcome.op, outcome.kind)] += 1
                if outcome.kind not in self.error_examples and \
                        isinstance(outcome.body, dict):
                    error = outcome.body.get("error") or {}
                    self.error_examples[outcome.kind] = "%s: %s" % (
                        error.get("title"), error.get("message"))
            elif outcome.op == "login" and username:
                self.logins[username] = outcome.body

    @property
    def wall(self):
        return (self.finished or time.monotonic()) - self.started

    def latencies(self, op="login", ok_only=True):
        return sorted(o.elapsed for o in self.outcomes.get(op, ())
                      if o.ok or not ok_only)

    def summary(self, op="login"):
        """{count, ok, errors, rate, p50, p95, p99, max} (seconds)."""
        outcomes = self.outcomes.get(op, [])
        ok = [o for o in outcomes if o.ok]
        # Latency over every answered call, failed ones included: a
        # broker that answers 503 in 1 ms must not look fast.
        lat = sorted(o.elapsed for o in outcomes)
        return {
            "count": len(outcomes), "ok": len(ok),
            "errors": len(outcomes) - len(ok),
            "rate": len(ok) / self.wall if self.wall > 0 else 0.0,
            "p50": percentile(lat, 0.50), "p95": percentile(lat, 0.95),
            "p99": percentile(lat, 0.99), "max": lat[-1] if lat else None,
        }

    def timeline(self, op="login"):
        """(finish time since start, ok) of every call, in finish order."""
        return sorted((o.started + o.elapsed - self.started, o.ok)
                      for o in self.outcomes.get(op, ()))

    def format(self):
        lines = []
        for op in ("login", "show", "console-file", "heartbeat", "logout"):
            if op not in self.outcomes:
                continue
            s = self.summary(op)
            lines.append(
                "%-12s %6d calls %6d ok %5d failed  %7.1f/s  p50 %s  "
                "p95 %s  p99 %s  max %s" % (
                    op, s["count"], s["ok"], s["errors"], s["rate"],
                    _ms(s["p50"]), _ms(s["p95"]), _ms(s["p99"]),
                    _ms(s["max"])))
        lines.append("wall %.2f s; errors: %s" % (
            self.wall, ", ".join("%s %s x%d" % (op, kind, n) for (op, kind), n
                                 in sorted(self.errors.items())) or "none"))
        for kind, example in sorted(self.error_examples.items()):
            lines.append("  e.g. %s -> %s" % (kind, example))
        if self.late_starts:
            lines.append("ramp: %d clients started late (every worker "
                         "was waiting for the broker)" % self.late_starts)
        return "\n".join(lines)


def _ms(seconds):
    return "-" if seconds is None else "%.1f ms" % (seconds * 1000.0)


class Simulation:
    """Run simulated thin clients against a BrokerClient.

    ``users``: (username, password) pairs, one thin client each.
    ``mode``: "storm" (all at once over ``concurrency`` threads) or
    "ramp" (``rate`` clients started per second).
    """

    def __init__(self, client, users, mode="storm", concurrency=16,
                 rate=None, show=False, heartbeats=0, heartbeat_interval=0.0,
                 logout=False, client_prefix="tc-loadgen", seat=None,
                 stop=None):
        if mode not in ("storm", "ramp"):
            raise ValueError("mode is storm or ramp")
        if mode == "ramp" and not rate:
            raise ValueError("a ramp needs a rate (logins per second)")
        self.client = client
        self.users = list(users)
        self.mode = mode
        self.concurrency = concurrency
        self.rate = rate
        self.show = show
        self.heartbeats = heartbeats
        self.heartbeat_interval = heartbeat_interval
        self.logout = logout
        self.client_prefix = client_prefix
        self.seat = seat
        # A threading.Event that ends a run early (the fault drills).
        self.stop = stop or threading.Event()
        self.report = Report()

    def _thin_client(self, index, username, password):
        if self.stop.is_set():
            return
        client_id = "%s-%05d" % (self.client_prefix, index)
        report = self.report
        outcome = self.client.login(username, password, client_id,
                                    self.seat(index) if self.seat else None)
        report.add(outcome, username)
        if not outcome.ok or not isinstance(outcome.body, dict):
            return
        session = outcome.body["session"]
        if self.show:
            report.add(self.client.show(session))
            report.add(self.client.console_file(session))
        for beat in range(self.heartbeats):
            if beat and self.heartbeat_interval:
                time.sleep(self.heartbeat_interval)
            result = self.client.heartbeat(client_id, session,
                                           input_events=10 * (beat + 1))
            if result is None:
                break
            report.add(result)
        if self.logout:
            report.add(self.client.logout(session))

    def run(self):
        report = self.report
        with concurrent.futures.ThreadPoolExecutor(
                self.concurrency,
                thread_name_prefix="loadgen") as pool:
            report.started = time.monotonic()
            futures = []
            if self.mode == "storm":
                for i, (user, password) in enumerate(self.users):
                    futures.append(pool.submit(self._thin_client, i, user,
                                               password))
            else:
                busy = threading.Semaphore(self.concurrency)

                def one(i, user, password):
                    try:
                        self._thin_client(i, user, password)
                    finally:
                        busy.release()

                for i, (user, password) in enumerate(self.users):
                    due = report.started + i / float(self.rate)
                    delay = due - time.monotonic()
                    if delay > 0 and self.stop.wait(delay):
                        break
                    if not busy.acquire(blocking=False):
                        report.late_starts += 1
                        busy.acquire()
                    futures.append(pool.submit(one, i, user, password))
            for future in futures:
                # Re-raise a bug of the simulator itself.
                future.result()
            report.finished = time.monotonic()
        return report
