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

"""The guest agent: metadata sources, Linux probes, the loop's answers."""

import json
import os

import fixtures
import testtools

from vdi_broker.compute import base as compute_base
from vdi_broker.guest_agent import host
from vdi_broker.guest_agent import main
from vdi_broker.guest_agent import metadata
from vdi_broker.guest_agent import protocol

META = {protocol.META_BROKER_URL: "http://broker:8780/",
        protocol.META_SECRET: "s3cret",
        protocol.META_DESKTOP: "d-1"}


class TestProtocol(testtools.TestCase):

    def test_desktop_key_is_the_compute_drivers(self):
        self.assertEqual(compute_base.META_DESKTOP, protocol.META_DESKTOP)

    def test_secret_hash(self):
        self.assertEqual(64, len(protocol.secret_hash("x")))
        self.assertNotEqual(protocol.secret_hash("x"),
                            protocol.secret_hash("y"))


class TestMetadata(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _write(self, path, document):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(document, f)

    def test_override_file_first(self):
        path = os.path.join(self.tmp, "agent.json")
        self._write(path, META)
        settings = metadata.load(override_file=path, config_drives=(),
                                 metadata_url=None)
        self.assertEqual({"broker_url": "http://broker:8780",
                          "secret": "s3cret", "desktop_id": "d-1"},
                         settings)

    def test_config_drive_document(self):
        drive = os.path.join(self.tmp, "config-2")
        self._write(os.path.join(drive, metadata.CONFIG_DRIVE_FILE),
                    {"uuid": "server", "meta": META})
        settings = metadata.load(config_drives=(drive,), metadata_url=None)
        self.assertEqual("d-1", settings["desktop_id"])

    def test_nothing_found(self):
        path = os.path.join(self.tmp, "agent.json")
        self._write(path, {"meta": {protocol.META_DESKTOP: "d-1"}})
        e = self.assertRaises(metadata.MetadataError, metadata.load,
                              override_file=path, config_drives=(),
                              metadata_url="http://127.0.0.1:1/x",
                              timeout=0.5)
        self.assertIn(path, str(e))
        self.assertIn("127.0.0.1:1", str(e))


TCP = """  sl  local_address rem_address   st tx_queue rx_queue
   0: 00000000:0D3D 00000000:0000 0A 00000000:00000000 00:00000000
   1: 0100000A:0D3D 0200000A:C350 01 00000000:00000000 00:00000000
"""
LISTEN_ONLY = """  sl  local_address rem_address   st
   0: 00000000:0D3D 00000000:0000 0A 00000000:00000000 00:00000000
"""


class TestLinuxProbes(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.proc = self.useFixture(fixtures.TempDir()).path
        os.makedirs(os.path.join(self.proc, "net"))

    def _file(self, name, text):
        with open(os.path.join(self.proc, name), "w") as f:
            f.write(text)

    def test_display_connected(self):
        self._file("net/tcp", TCP)
        self.assertEqual(("running", "connected"),
                         host.linux_display(3389, self.proc))

    def test_display_listening_not_connected(self):
        self._file("net/tcp6", LISTEN_ONLY)
        self.assertEqual(("running", "disconnected"),
                         host.linux_display(3389, self.proc))

    def test_display_stopped(self):
        self._file("net/tcp", LISTEN_ONLY)
        self.assertEqual(("stopped", "disconnected"),
                         host.linux_display(5900, self.proc))

    def test_memory_and_cpu(self):
        self._file("meminfo", "MemTotal: 1000 kB\nMemFree: 100 kB\n"
                              "MemAvailable: 250 kB\n")
        self.assertEqual(75.0, host.linux_memory_percent(self.proc))
        sampler = host.CpuSampler(self.proc)
        self._file("stat", "cpu  100 0 100 800 0 0 0 0 0 0\n")
        self.assertIsNone(sampler.percent())
        self._file("stat", "cpu  150 0 150 900 0 0 0 0 0 0\n")
        self.assertEqual(50.0, sampler.percent())

    def test_user_from_loginctl(self):
        outputs = {
            ("loginctl", "list-sessions", "--no-legend"):
                "3 1000 amy seat0\n7 0 root\n",
            "3": "Name=amy\nType=x11\nRemote=no\nState=active\n"
                 "Class=user\nIdleHint=yes\nIdleSinceHint=1000000000\n",
            "7": "Name=root\nType=tty\nRemote=no\nState=online\n"
                 "Class=user\nIdleHint=no\nIdleSinceHint=0\n",
        }

        def run(argv):
            if argv[:2] == ["loginctl", "show-session"]:
                return outputs[argv[2]]
            return outputs.get(tuple(argv))

        self.useFixture(fixtures.MockPatchObject(host, "_run", run))
        self.assertEqual(("amy", 60), host.linux_user(now=1060))

    def test_windows_stub(self):
        probe = host.Host(platform="win32").probe()
        self.assertIsNone(probe["connection_state"])
        self.assertIn("disk_free_mb", probe)


class FakeHost:
    def probe(self):
        return {"display": "running", "connection_state": "connected"}


class TestAgentLoop(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.sent = []
        self.answers = []

        def post(url, secret, body, timeout):
            self.sent.append((url, secret, body))
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        self.useFixture(fixtures.MockPatchObject(main, "post", post))
        self.agent = main.Agent(
            {"broker_url": "http://b", "secret": "s", "desktop_id": "d"},
            FakeHost(), load_settings=lambda: {
                "broker_url": "http://b", "secret": "s2",
                "desktop_id": "d"})

    def test_register_then_report(self):
        self.answers = [{"report_interval": 20}, {"report_interval": 20}]
        self.assertEqual(20, self.agent.step())
        self.assertEqual(20, self.agent.step())
        self.assertEqual("http://b/v1/agent/register", self.sent[0][0])
        self.assertEqual("http://b/v1/agent/report", self.sent[1][0])
        self.assertEqual({"desktop_id": "d", "display": "running",
                          "connection_state": "connected"},
                         self.sent[1][2])

    def test_429_waits_retry_after(self):
        self.agent.registered = True
        self.answers = [main.BrokerError(429, "too soon", 4.0)]
        self.assertEqual(4.0, self.agent.step())

    def test_409_registers_again(self):
        self.agent.registered = True
        self.answers = [main.BrokerError(409, "register first"),
                        {"report_interval": 30}]
        self.assertEqual(1.0, self.agent.step())
        self.assertFalse(self.agent.registered)
        self.agent.step()
        self.assertTrue(self.agent.registered)

    def test_401_reads_the_metadata_again(self):
        self.agent.registered = True
        self.answers = [main.BrokerError(401, "bad secret")]
        self.assertRaises(main.BrokerError, self.agent.step)
        self.assertEqual("s2", self.agent.settings["secret"])

    def test_run_backs_off_when_the_broker_is_down(self):
        waits = []
        self.agent.sleep = waits.append
        self.answers = [main.BrokerError(0, "refused")] * 3 + [
            {"report_interval": 30}]
        stops = iter([False] * 4 + [True])
        self.agent.run(stop=lambda: next(stops))
        self.assertEqual([1.0, 2.0, 4.0, 30], waits)
