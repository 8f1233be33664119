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

"""The thin client's configuration file."""

import os
import socket

from tests import base
from vdi_broker.thinclient import config

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "etc",
                      "thinclient", "vdi-broker-tc.conf")


class ConfigTest(base.TestCase):

    def test_minimal_file_takes_the_defaults(self):
        cfg = config.parse_text("[broker]\nurl = https://vdi.example:8780\n")
        self.assertEqual("https://vdi.example:8780", cfg.broker_url)
        self.assertEqual(socket.gethostname(), cfg.client_id)
        self.assertEqual(("", "en", True), (cfg.seat, cfg.language,
                                            cfg.kiosk))
        self.assertEqual((60.0, 15.0), (cfg.heartbeat_interval,
                                        cfg.poll_interval))
        self.assertEqual((5.0, 600.0), (cfg.heartbeat_min_interval,
                                        cfg.heartbeat_max_interval))
        self.assertEqual((3, 300.0, 30.0), (cfg.max_failures,
                                            cfg.failure_window,
                                            cfg.quick_exit))

    def test_every_option(self):
        cfg = config.parse_text("""
[broker]
url = https://vdi.example
ca_file = /etc/vdi-broker-tc/ca.pem
connect_timeout = 2.5
read_timeout = 20
[client]
client_id = tc-sh-0014
seat = SH-2F-014
language = zh
locale_dir = /usr/share/locale
[viewer]
remote_viewer = /usr/bin/remote-viewer
rdp_client = /usr/bin/xfreerdp
kiosk = false
connect_timeout = 12
extra_args = --spice-disable-audio  --zoom=100
rdp_extra_args = /cert:tofu
[heartbeat]
interval = 30
min_interval = 10
max_interval = 120
[session]
poll_interval = 5
[faults]
max_failures = 4
window = 600
quick_exit = 10
retry_delay = 1
[window]
fullscreen = no
""")
        self.assertEqual(config.Config(
            broker_url="https://vdi.example",
            ca_file="/etc/vdi-broker-tc/ca.pem", connect_timeout=2.5,
            read_timeout=20.0, client_id="tc-sh-0014", seat="SH-2F-014",
            language="zh", locale_dir="/usr/share/locale",
            remote_viewer="/usr/bin/remote-viewer",
            rdp_client="/usr/bin/xfreerdp", kiosk=False,
            viewer_connect_timeout=12.0,
            viewer_args=("--spice-disable-audio", "--zoom=100"),
            rdp_args=("/cert:tofu",), heartbeat_interval=30.0,
            heartbeat_min_interval=10.0, heartbeat_max_interval=120.0,
            poll_interval=5.0, max_failures=4, failure_window=600.0,
            quick_exit=10.0, retry_delay=1.0, fullscreen=False), cfg)

    def _refused(self, text, *fragments):
        e = self.assertRaises(config.ConfigError, config.parse_text, text)
        for fragment in fragments:
            self.assertIn(fragment, str(e))

    def test_url_is_required_and_http(self):
        self._refused("[client]\nseat = A\n", "[broker] url")
        self._refused("[broker]\nurl = ftp://vdi\n", "http:// or https://")
        self._refused("[broker]\nurl = https://\n", "[broker] url")

    def test_language_is_zh_or_en(self):
        self._refused("[broker]\nurl = http://vdi\n[client]\nlanguage = fr\n",
                      "language must be one of en, zh", "'fr'")

    def test_typos_are_errors(self):
        self._refused("[broker]\nurl = http://vdi\n[clients]\nseat = A\n",
                      "unknown section [clients]")
        self._refused("[broker]\nurl = http://vdi\nca = /x\n",
                      "unknown option ca in [broker]")

    def test_numbers_and_booleans(self):
        self._refused("[broker]\nurl = http://vdi\n[heartbeat]\n"
                      "interval = often\n", "[heartbeat] interval")
        self._refused("[broker]\nurl = http://vdi\n[heartbeat]\n"
                      "interval = 0\n", "[heartbeat] interval must be above")
        self._refused("[broker]\nurl = http://vdi\n[heartbeat]\n"
                      "min_interval = 0\n",
                      "[heartbeat] min_interval must be above")
        self._refused("[broker]\nurl = http://vdi\n[heartbeat]\n"
                      "min_interval = 30\nmax_interval = 20\n",
                      "min_interval must not be above max_interval")
        self._refused("[broker]\nurl = http://vdi\n[heartbeat]\n"
                      "min_interval = 700\n",
                      "min_interval must not be above max_interval")
        self._refused("[broker]\nurl = http://vdi\n[faults]\n"
                      "max_failures = 0\n", "[faults] max_failures")
        self._refused("[broker]\nurl = http://vdi\n[faults]\n"
                      "quick_exit = -1\n", "[faults] quick_exit must not")
        self._refused("[broker]\nurl = http://vdi\n[viewer]\nkiosk = maybe\n",
                      "[viewer] kiosk")

    def test_not_ini(self):
        self._refused("url = http://vdi\n", "no section headers")

    def test_unreadable_file(self):
        e = self.assertRaises(config.ConfigError, config.load,
                              "/nonexistent/vdi-broker-tc.conf")
        self.assertIn("cannot read /nonexistent/vdi-broker-tc.conf", str(e))

    def test_the_sample_file_loads(self):
        cfg = config.load(SAMPLE)
        self.assertTrue(cfg.broker_url.startswith("https://"))
        self.assertEqual("zh", cfg.language)
