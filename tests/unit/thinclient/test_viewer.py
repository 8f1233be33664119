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

"""The viewer process: command lines, the console file pipe, connected."""

import json
import os
import socket
import stat
import sys
import textwrap
import time

import fixtures

from tests import base
from vdi_broker.thinclient import config as config_mod
from vdi_broker.thinclient import viewer

VV = ("[virt-viewer]\ntype=spice\nhost=127.0.0.1\nport=%d\n"
      "password=one-time-Secret\ntitle=desks - vdi-desks-1\n"
      "delete-this-file=1\nfullscreen=1\n")

# A stand-in for remote-viewer: copies the file it is given next to
# itself, connects to the port the file names and stays.
FAKE_VIEWER = textwrap.dedent("""\
    #!%(python)s
    import configparser, json, os, socket, sys, time
    path = sys.argv[-1]
    with open(path) as f:
        text = f.read()
    with open(os.path.join(os.path.dirname(sys.argv[0]), "got"), "w") as f:
        json.dump([sys.argv[1:], text, os.path.exists(path)], f)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    s = socket.create_connection(("127.0.0.1",
                                  int(parser["virt-viewer"]["port"])))
    time.sleep(60)
    """)


def wait(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class CommandTest(base.TestCase):

    def config(self, **values):
        return config_mod.Config(broker_url="http://vdi", **values)

    def test_remote_viewer_full_screen_kiosk(self):
        self.assertEqual(
            ["remote-viewer", "--full-screen", "--kiosk",
             "--kiosk-quit=on-disconnect", "/run/x/console.vv"],
            viewer.spice_command(self.config(), "/run/x/console.vv"))

    def test_remote_viewer_without_kiosk_with_extra_args(self):
        self.assertEqual(
            ["/opt/rv", "--full-screen", "--spice-disable-audio", "/p"],
            viewer.spice_command(self.config(
                remote_viewer="/opt/rv", kiosk=False,
                viewer_args=("--spice-disable-audio",)), "/p"))

    def test_xfreerdp_from_the_connection(self):
        self.assertEqual(
            ["xfreerdp", "/v:198.18.0.3:3389", "/f", "+auto-reconnect",
             "/cert:tofu"],
            viewer.rdp_command(self.config(rdp_args=("/cert:tofu",)),
                               {"protocol": "rdp", "host": "198.18.0.3",
                                "port": 3389}))
        self.assertEqual(
            "/v:[2001:db8::3]:3389",
            viewer.rdp_command(self.config(),
                               {"host": "2001:db8::3", "port": 3389})[1])

    def test_console_ports(self):
        self.assertEqual(("spice.example", {5901, 5902}),
                         viewer.console_ports(
                             "[virt-viewer]\ntype=spice\nhost=spice.example"
                             "\nport=5901\ntls-port=5902\n"))
        self.assertEqual(("h", {5903}), viewer.console_ports(
            "[virt-viewer]\nhost=h\ntls-port=5903\n"))


class ViewerProcessTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.runtime = os.path.join(self.dir, "runtime")
        os.mkdir(self.runtime, 0o700)
        self.useFixture(fixtures.EnvironmentVariable("XDG_RUNTIME_DIR",
                                                     self.runtime))
        self.program = os.path.join(self.dir, "fake-remote-viewer")
        with open(self.program, "w") as f:
            f.write(FAKE_VIEWER % {"python": sys.executable})
        os.chmod(self.program, stat.S_IRWXU)
        self.listener = socket.socket()
        self.addCleanup(self.listener.close)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]

    def start(self):
        cfg = config_mod.Config(broker_url="http://vdi",
                                remote_viewer=self.program)
        v = viewer.Viewer.for_spice(cfg, VV % self.port)
        self.addCleanup(v.stop)
        v.start()
        return v

    def test_the_file_goes_through_a_pipe_and_is_gone(self):
        v = self.start()
        got = os.path.join(self.dir, "got")
        self.assertTrue(wait(lambda: os.path.exists(got)))
        self.assertTrue(wait(lambda: os.path.getsize(got) > 0))
        with open(got) as f:
            argv, text, still_there = json.load(f)
        path = argv[-1]
        self.assertEqual(["--full-screen", "--kiosk",
                          "--kiosk-quit=on-disconnect"], argv[:-1])
        # A pipe in a private directory under $XDG_RUNTIME_DIR...
        self.assertTrue(path.startswith(self.runtime + os.sep))
        self.assertIn("password=one-time-Secret", text)
        # ... with the viewer told not to delete it: it is gone already.
        self.assertIn("delete-this-file=0", text)
        self.assertNotIn("delete-this-file=1", text)
        self.assertFalse(still_there)
        self.assertEqual([], os.listdir(self.runtime))
        self.assertEqual("127.0.0.1:%d" % self.port, v.address)

    def test_connected_while_it_holds_the_connection(self):
        v = self.start()
        self.assertTrue(wait(v.connected), "the viewer never connected")
        self.assertIsNone(v.poll())
        v.stop()
        self.assertIsNotNone(v.poll())
        self.assertFalse(v.connected())

    def test_a_viewer_that_is_not_installed(self):
        cfg = config_mod.Config(broker_url="http://vdi",
                                remote_viewer="no-such-viewer-here")
        v = viewer.Viewer.for_spice(cfg, VV % self.port)
        e = self.assertRaises(viewer.ViewerMissing, v.start)
        self.assertEqual("no-such-viewer-here", e.program)
        self.assertEqual([], os.listdir(self.runtime))

    def test_a_viewer_that_never_opens_the_pipe(self):
        cfg = config_mod.Config(broker_url="http://vdi",
                                remote_viewer="true")
        v = viewer.Viewer.for_spice(cfg, VV % self.port)
        v.start()
        self.assertTrue(wait(lambda: v.poll() is not None))
        # The writer gives up when the viewer is gone, and cleans up.
        self.assertTrue(wait(lambda: os.listdir(self.runtime) == []))
        self.assertFalse(v.connected())
