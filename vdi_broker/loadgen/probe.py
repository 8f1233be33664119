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

"""A probe user logs in round the clock (R16): the whole path, measured.

Every ``interval`` seconds the probe, as one thin client would:

1. ``login``: ``POST /v1/client/sessions`` (the directory, the allocator
   chain, the claim, the console);
2. ``console_file``: ``GET .../console-file`` (a 404 is fine: the pool's
   protocol has no client file);
3. ``connect``: a TCP connection to the console address the login gave
   (host and port, else the TLS port, else the URL's host and port): the
   desktop, or the console proxy, answers;
4. ``logout``: ``DELETE /v1/client/sessions/{id}``, also after a failed
   step 2 or 3, so that the probe never holds a desktop.

Its results are Prometheus metrics in a registry of its own, served on
``--metrics-port`` (``/metrics``; Prometheus scrapes the probe) and/or
written to ``--textfile`` for node_exporter's textfile collector; the
alerting rules (etc/prometheus/vdi-broker-rules.yml: VdiProbeFailing,
VdiProbeStale) watch them:

``vdi_probe_success{probe}``
    1 when the last run passed every step.
``vdi_probe_step_success{probe,step}`` / ``vdi_probe_step_duration_seconds``
    Each step of the last run.
``vdi_probe_duration_seconds{probe}``
    The last run, login to logout.
``vdi_probe_consecutive_failures{probe}``
    Failed runs in a row (0 after a success).
``vdi_probe_last_run_timestamp_seconds``, ``..._last_success_...``
    When the last run, and the last successful one, ended.
``vdi_probe_interval_seconds{probe}``
    The probe's interval (for the staleness alert).
``vdi_probe_runs_total{probe,result}``
    Runs by result (success, failure).
"""

import collections
import socket
import threading
import time
from urllib import parse

import prometheus_client as prom

STEPS = ("login", "console_file", "connect", "logout")

StepResult = collections.namedtuple("StepResult", "ok seconds error")


def console_address(connection):
    """(host, port) a thin client would connect to, or None."""
    connection = connection or {}
    host = connection.get("host")
    port = connection.get("port") or connection.get("tls_port")
    if host and port:
        return host, int(port)
    url = connection.get("url")
    if url:
        parts = parse.urlsplit(url)
        if parts.hostname:
            default = 443 if parts.scheme in ("https", "wss") else 80
            return parts.hostname, parts.port or default
    return None


class ProbeResult:
    def __init__(self):
        self.steps = collections.OrderedDict()
        self.started = None
        self.finished = None

    @property
    def ok(self):
        return bool(self.steps) and all(s.ok for s in self.steps.values())

    @property
    def seconds(self):
        return self.finished - self.started

    def failed_step(self):
        for name, step in self.steps.items():
            if not step.ok:
                return name
        return None

    def format(self):
        return "probe %s in %.3f s: %s" % (
            "OK" if self.ok else "FAILED at %s" % self.failed_step(),
            self.seconds, ", ".join(
                "%s %s %.1f ms%s" % (name, "ok" if s.ok else "failed",
                                     s.seconds * 1000.0,
                                     " (%s)" % s.error if s.error else "")
                for name, s in self.steps.items()))


class ProbeMetrics:
    """The probe's gauges and counters, in a registry of their own."""

    def __init__(self, name, interval, registry=None):
        self.name = name
        self.registry = registry or prom.CollectorRegistry()
        labels = ["probe"]

        def gauge(metric, doc, extra=()):
            return prom.Gauge(metric, doc, labels + list(extra),
                              registry=self.registry)

        self.success = gauge("vdi_probe_success",
                             "1 when the probe's last run passed every "
                             "step.")
        self.step_success = gauge("vdi_probe_step_success",
                                  "1 when the step passed in the last run.",
                                  ["step"])
        self.step_seconds = gauge("vdi_probe_step_duration_seconds",
                                  "Seconds the step took in the last run.",
                                  ["step"])
        self.seconds = gauge("vdi_probe_duration_seconds",
                             "Seconds of the last run, login to logout.")
        self.failures = gauge("vdi_probe_consecutive_failures",
                              "Failed runs in a row.")
        self.last_run = gauge("vdi_probe_last_run_timestamp_seconds",
                              "When the last run ended (Unix time).")
        self.last_success = gauge(
            "vdi_probe_last_success_timestamp_seconds",
            "When the last successful run ended (Unix time).")
        self.interval = gauge("vdi_probe_interval_seconds",
                              "Seconds between the probe's runs.")
        self.runs = prom.Counter("vdi_probe_runs",
                                 "The probe's runs by result.",
                                 labels + ["result"],
                                 registry=self.registry)
        self.interval.labels(name).set(interval)
        self.failures.labels(name).set(0)
        self._failures = 0

    def record(self, result, now=None):
        name = self.name
        now = time.time() if now is None else now
        for step in STEPS:
            found = result.steps.get(step)
            if found is None:
                # Not reached (an earlier step failed).
                self.step_success.labels(name, step).set(0)
                continue
            self.step_success.labels(name, step).set(1 if found.ok else 0)
            self.step_seconds.labels(name, step).set(found.seconds)
        self.success.labels(name).set(1 if result.ok else 0)
        self.seconds.labels(name).set(result.seconds)
        self._failures = 0 if result.ok else self._failures + 1
        self.failures.labels(name).set(self._failures)
        self.last_run.labels(name).set(now)
        if result.ok:
            self.last_success.labels(name).set(now)
        self.runs.labels(name, "success" if result.ok else "failure").inc()

    def write_textfile(self, path):
        """For node_exporter's textfile collector (written atomically)."""
        prom.write_to_textfile(path, self.registry)


class Probe:
    """One probe user on one simulated thin client."""

    def __init__(self, client, username, password, client_id, seat=None,
                 connect_timeout=5.0):
        self.client = client
        self.username = username
        self.password = password
        self.client_id = client_id
        self.seat = seat
        self.connect_timeout = connect_timeout

    @staticmethod
    def _outcome_error(outcome):
        error = outcome.kind
        if isinstance(outcome.body, dict):
            message = (outcome.body.get("error") or {}).get("message")
            if message:
                error = "%s: %s" % (outcome.kind, message)
        return error

    def _step(self, result, name, outcome):
        result.steps[name] = StepResult(
            outcome.ok, outcome.elapsed,
            None if outcome.ok else self._outcome_error(outcome))
        return outcome.ok

    def _connect(self, result, connection):
        started = time.monotonic()
        address = console_address(connection)
        error = None
        if address is None:
            error = "the login gave no console address"
        else:
            try:
                with socket.create_connection(address,
                                              timeout=self.connect_timeout):
                    pass
            except OSError as e:
                error = "%s:%d: %s" % (address[0], address[1],
                                       e.strerror or type(e).__name__)
        result.steps["connect"] = StepResult(
            error is None, time.monotonic() - started, error)

    def run_once(self):
        result = ProbeResult()
        result.started = time.monotonic()
        try:
            login = self.client.login(self.username, self.password,
                                      self.client_id, self.seat)
            if not self._step(result, "login", login) or \
                    not isinstance(login.body, dict):
                return result
            session = login.body["session"]
            try:
                self._step(result, "console_file",
                           self.client.console_file(session))
                self._connect(result, login.body.get("connection"))
            finally:
                self._step(result, "logout", self.client.logout(session))
            return result
        finally:
            result.finished = time.monotonic()


def run(probe, metrics, interval, runs=0, textfile=None, stop=None,
        report=print):
    """Probe every ``interval`` seconds (``runs`` times; 0: until stopped).

    Returns the last ProbeResult.
    """
    stop = stop or threading.Event()
    done = 0
    result = None
    next_run = time.monotonic()
    while not stop.is_set():
        result = probe.run_once()
        metrics.record(result)
        if textfile:
            metrics.write_textfile(textfile)
        report(result.format())
        done += 1
        if runs and done >= runs:
            break
        next_run += interval
        if stop.wait(max(0.0, next_run - time.monotonic())):
            break
    return result
