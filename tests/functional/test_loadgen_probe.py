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

"""vdi-broker-loadgen --mode probe against a broker over HTTP.

The broker (tests/fixtures/broker.py, conductor in-process) serves one
RDP pool whose desktops' address is 127.0.0.1 and whose RDP port is a
listener of the test: the probe's connection step reaches it, or fails
when it is closed.
"""

import contextlib
import io
import os
import socket
import threading

import fixtures

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import http_server
from tests.fixtures import prometheus
from vdi_broker.api import deploy
from vdi_broker.cmd import loadgen as loadgen_cmd
from vdi_broker.loadgen import client as loadgen_client
from vdi_broker.loadgen import probe as probe_mode


class Listener:
    """A TCP port that accepts connections (a desktop's RDP service)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self):
        # shutdown() ends the accept() under way: the port stops
        # listening at once (close() alone would wait for it).
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


class ProbeTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.rdp = Listener()
        self.addCleanup(self.rdp.close)
        self.broker = broker_fixture.use_broker(self, flags={
            ("fake_compute", "address_range"): "127.0.0.1/32",
            ("rdp", "port"): self.rdp.port,
        })
        self.broker.create_pool("probe-pool", min_ready=1, max_size=1,
                                release_action="keep", console_type="rdp")
        self.broker.create_allocator("agents", pool="probe-pool",
                                     rules={"groups": ["agents"]})
        self.broker.fill_pools()
        self.server = self.useFixture(http_server.WSGIServer(
            deploy.build_app(self.conf, self.broker.broker_app)))
        self.client = loadgen_client.BrokerClient(self.server.url,
                                                  concurrency=1,
                                                  timeout=(3, 30))
        self.addCleanup(self.client.close)
        self.metrics = probe_mode.ProbeMetrics("sh-probe", 60)

    def probe(self, password=broker_fixture.PASSWORD):
        return probe_mode.Probe(self.client, "amy", password, "tc-probe",
                                connect_timeout=2)

    def value(self, name, **labels):
        return self.metrics.registry.get_sample_value(
            name, dict(labels, probe="sh-probe"))

    def active_sessions(self):
        with self.broker.database.engine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT COUNT(*) FROM sessions WHERE state = 'active'"
            ).scalar()


class ProbeTest(ProbeTestCase):

    def test_the_whole_path(self):
        result = self.probe().run_once()
        self.assertTrue(result.ok, result.format())
        self.assertEqual(list(probe_mode.STEPS), list(result.steps))
        self.assertEqual(1, self.rdp.accepted)
        self.assertEqual(0, self.active_sessions())
        self.metrics.record(result, now=1000.0)
        self.assertEqual(1, self.value("vdi_probe_success"))
        for step in probe_mode.STEPS:
            self.assertEqual(1, self.value("vdi_probe_step_success",
                                           step=step))
            self.assertGreater(self.value("vdi_probe_step_duration_seconds",
                                          step=step), 0)
        self.assertEqual(0, self.value("vdi_probe_consecutive_failures"))
        self.assertEqual(1000, self.value(
            "vdi_probe_last_success_timestamp_seconds"))
        self.assertEqual(60, self.value("vdi_probe_interval_seconds"))
        # For node_exporter's textfile collector, and promtool's lint.
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            "vdi-probe.prom")
        self.metrics.write_textfile(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(1, prometheus.sample(
            prometheus.samples(text), "vdi_probe_runs_total",
            probe="sh-probe", result="success"))
        code, out = prometheus.run_promtool(self, "check", "metrics",
                                            stdin=text)
        self.assertEqual((0, ""), (code, out.strip()))

    def test_no_desktop_answering(self):
        self.rdp.close()
        for run in (1, 2):
            result = self.probe().run_once()
            self.assertFalse(result.ok)
            self.assertEqual("connect", result.failed_step())
            self.assertIn("127.0.0.1:%d" % self.rdp.port,
                          result.steps["connect"].error)
            # The probe logged out all the same: it holds no desktop.
            self.assertTrue(result.steps["logout"].ok)
            self.assertEqual(0, self.active_sessions())
            self.metrics.record(result)
            self.assertEqual(run, self.value(
                "vdi_probe_consecutive_failures"))
        self.assertEqual(0, self.value("vdi_probe_success"))
        self.assertEqual(0, self.value("vdi_probe_step_success",
                                       step="connect"))
        self.assertEqual(1, self.value("vdi_probe_step_success",
                                       step="logout"))
        self.assertEqual(2, self.value("vdi_probe_runs_total",
                                       result="failure"))
        self.assertIsNone(self.value(
            "vdi_probe_last_success_timestamp_seconds"))
        # It works again: the failures in a row are over.
        self.rdp = Listener()
        self.addCleanup(self.rdp.close)
        self.broker.flags(group="rdp", port=self.rdp.port)
        result = self.probe().run_once()
        self.assertTrue(result.ok, result.format())
        self.metrics.record(result)
        self.assertEqual(0, self.value("vdi_probe_consecutive_failures"))

    def test_login_refused(self):
        result = self.probe(password="wrong-Passw0rd").run_once()
        self.assertEqual(["login"], list(result.steps))
        self.assertIn("http 401", result.steps["login"].error)
        self.metrics.record(result)
        self.assertEqual(0, self.value("vdi_probe_step_success",
                                       step="login"))
        self.assertEqual(0, self.value("vdi_probe_step_success",
                                       step="logout"))
        self.assertEqual(0, self.rdp.accepted)


class ProbeCommandTest(ProbeTestCase):

    def test_probe_mode(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            "vdi-probe.prom")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = loadgen_cmd.main([
                "--mode", "probe", "--url", self.server.url,
                "--username", "amy", "--password", broker_fixture.PASSWORD,
                "--runs", "2", "--interval", "0.2", "--textfile", path,
                "--probe-name", "lab-1"])
        self.assertEqual(0, code, out.getvalue())
        self.assertEqual(2, out.getvalue().count("probe OK"))
        with open(path, encoding="utf-8") as f:
            found = prometheus.samples(f.read())
        self.assertEqual(2, prometheus.sample(
            found, "vdi_probe_runs_total", probe="lab-1", result="success"))
        self.assertEqual(2, self.rdp.accepted)
        # A failing last run is the exit status.
        self.rdp.close()
        with contextlib.redirect_stdout(io.StringIO()):
            code = loadgen_cmd.main([
                "--mode", "probe", "--url", self.server.url,
                "--username", "amy", "--password", broker_fixture.PASSWORD,
                "--runs", "1"])
        self.assertEqual(1, code)
