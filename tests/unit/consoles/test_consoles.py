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

"""Unit tests of the Nova console drivers with a stub compute driver."""

import configparser

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from tests import base
from vdi_broker.compute import base as compute_base
from vdi_broker.compute import fake
from vdi_broker.conf import consoles as consoles_conf
from vdi_broker import consoles
from vdi_broker.consoles import nova_url
from vdi_broker.consoles import rdp
from vdi_broker.consoles import spice_direct
from vdi_broker import exception

CA = """-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUQ
-----END CERTIFICATE-----"""


class StubCompute:
    def __init__(self, console):
        self.console = console
        self.calls = []

    def get_console(self, server_id, console_type):
        self.calls.append((server_id, console_type))
        return dict(self.console)


DESKTOP = {"id": "d1", "server_id": "srv-1", "name": "desk-7",
           "address": "10.0.0.7", "pool": {"name": "Finance"}}


def parse_vv(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return dict(parser["virt-viewer"])


class SpiceDirectTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        conf = cfg.ConfigOpts()
        consoles_conf.register_opts(conf)
        self.config = self.useFixture(config_fixture.Config(conf))
        self.conf = conf
        self.compute = StubCompute({
            "type": "spice-direct", "url": "http://p/nova?token=secret-tok",
            "host": "cmp1.example.org", "port": 5900, "tls_port": 5901})
        self.console = spice_direct.SpiceDirectConsole(conf, self.compute)

    def test_connection(self):
        connection = self.console.get_connection(DESKTOP)
        self.assertEqual([("srv-1", "spice-direct")], self.compute.calls)
        self.assertEqual({"protocol": "spice", "type": "spice-direct",
                          "host": "cmp1.example.org", "port": 5900,
                          "tls_port": 5901}, connection)

    def test_vv_file(self):
        connection = self.console.get_connection(DESKTOP)
        media_type, text = self.console.connection_file(DESKTOP, connection)
        self.assertEqual("application/x-virt-viewer", media_type)
        self.assertTrue(text.startswith("[virt-viewer]\n"))
        vv = parse_vv(text)
        self.assertEqual({
            "type": "spice", "host": "cmp1.example.org", "port": "5900",
            "tls-port": "5901", "title": "Finance - desk-7",
            "delete-this-file": "1", "fullscreen": "1",
            "secure-channels": "main;display;inputs;cursor;playback;record;"
                               "smartcard;usbredir"}, vv)
        self.assertNotIn("secret-tok", text)

    def test_vv_file_with_password_ca_and_subject(self):
        ca_file = self.useFixture(fixtures.TempDir()).join("ca.pem")
        with open(ca_file, "w") as f:
            f.write(CA + "\n")
        self.config.config(group="spice_direct", ca_file=ca_file,
                           host_subject="C=DE,O=Example,CN=spice",
                           fullscreen=False)
        self.compute.console["password"] = "pw"
        connection = self.console.get_connection(DESKTOP)
        self.assertEqual("pw", connection["password"])
        _, text = self.console.connection_file(DESKTOP, connection)
        vv = parse_vv(text)
        self.assertEqual("pw", vv["password"])
        self.assertEqual("0", vv["fullscreen"])
        self.assertEqual("C=DE,O=Example,CN=spice", vv["host-subject"])
        # The PEM is on one line, its line breaks written as \n.
        self.assertEqual(CA.replace("\n", "\\n"), vv["ca"])

    def test_unreadable_ca_file(self):
        self.config.config(group="spice_direct", ca_file="/nonexistent/ca")
        connection = self.console.get_connection(DESKTOP)
        self.assertRaises(exception.ConsoleUnavailable,
                          self.console.connection_file, DESKTOP, connection)

    def test_no_tls(self):
        self.compute.console["tls_port"] = None
        connection = self.console.get_connection(DESKTOP)
        _, text = self.console.connection_file(DESKTOP, connection)
        vv = parse_vv(text)
        self.assertNotIn("tls-port", vv)
        self.assertNotIn("secure-channels", vv)
        self.assertEqual("5900", vv["port"])

    def test_require_tls(self):
        self.config.config(group="spice_direct", require_tls=True)
        connection = self.console.get_connection(DESKTOP)
        vv = parse_vv(self.console.connection_file(DESKTOP, connection)[1])
        self.assertNotIn("port", vv)
        self.assertEqual("5901", vv["tls-port"])
        self.compute.console["tls_port"] = None
        self.assertRaises(exception.ConsoleUnavailable,
                          self.console.get_connection, DESKTOP)

    def test_no_key_injection_through_names(self):
        desktop = dict(DESKTOP, name="x\nhost=evil.example\r\n[other]",
                       pool={"name": "  P\\"})
        connection = self.console.get_connection(desktop)
        _, text = self.console.connection_file(desktop, connection)
        vv = parse_vv(text)
        self.assertEqual("cmp1.example.org", vv["host"])
        self.assertEqual(1, text.count("\nhost="))
        self.assertEqual(1, len([line for line in text.splitlines()
                                 if line.startswith("[")]))
        self.assertTrue(vv["title"].startswith("\\s P\\\\ - x\\nhost=evil"))

    def test_title_without_pool(self):
        desktop = dict(DESKTOP, pool=None)
        connection = self.console.get_connection(desktop)
        vv = parse_vv(self.console.connection_file(desktop, connection)[1])
        self.assertEqual("desk-7", vv["title"])


class NovaUrlConsoleTest(testtools.TestCase):

    def test_url_consoles(self):
        for cls, ctype in ((nova_url.NoVNCConsole, "novnc"),
                           (nova_url.SpiceHtml5Console, "spice-html5")):
            compute = StubCompute({"type": ctype, "url": "http://x/?t=1"})
            console = cls(cfg.ConfigOpts(), compute)
            connection = console.get_connection(DESKTOP)
            self.assertEqual({"protocol": ctype, "type": ctype,
                              "url": "http://x/?t=1"}, connection)
            self.assertEqual([("srv-1", ctype)], compute.calls)
            self.assertIsNone(console.connection_file(DESKTOP, connection))

    def test_errors_pass_through(self):
        class Failing:
            def get_console(self, server_id, console_type):
                raise exception.ConsoleUnavailable(
                    console_type=console_type, server=server_id,
                    reason="not ready")
        console = nova_url.NoVNCConsole(cfg.ConfigOpts(), Failing())
        self.assertRaises(exception.ConsoleUnavailable,
                          console.get_connection, DESKTOP)


class FakeCloudConsolesTest(base.TestCase):
    """Every console driver on the fake compute driver."""

    def setUp(self):
        super().setUp()
        self.flags(group="fake_compute", boot_time=0,
                   console_host="10.20.0.5", console_port_base=5950)
        self.compute = fake.FakeComputeDriver(self.conf,
                                              cloud=fake.FakeCloud())
        server = self.compute.create_server(compute_base.ServerSpec(
            name="desk-1", flavor="f", image="i",
            metadata={"vdi_pool": "p"}))
        self.desktop = dict(DESKTOP, server_id=server.id,
                            address=server.address)

    def test_spice_direct_vv_points_at_the_fake_host(self):
        console = spice_direct.SpiceDirectConsole(self.conf, self.compute)
        connection = console.get_connection(self.desktop)
        self.assertEqual(("10.20.0.5", 5950, None),
                         (connection["host"], connection["port"],
                          connection["tls_port"]))
        _, text = console.connection_file(self.desktop, connection)
        vv = parse_vv(text)
        self.assertEqual(("spice", "10.20.0.5", "5950"),
                         (vv["type"], vv["host"], vv["port"]))
        self.assertNotIn("tls-port", vv)
        self.assertNotIn("password", vv)

    def test_url_consoles(self):
        for cls, port in ((nova_url.NoVNCConsole, 6080),
                          (nova_url.SpiceHtml5Console, 6082)):
            connection = cls(self.conf, self.compute).get_connection(
                self.desktop)
            self.assertTrue(connection["url"].startswith(
                "http://10.20.0.5:%d/" % port), connection)

    def test_rdp(self):
        connection = rdp.RdpConsole(self.conf, self.compute).get_connection(
            self.desktop)
        self.assertEqual((self.desktop["address"], 3389),
                         (connection["host"], connection["port"]))


class ConsoleSupportTest(base.TestCase):
    """Which pools' console types the configured compute driver serves."""

    def test_fake_serves_every_console_type(self):
        for name in consoles.driver_names():
            consoles.check_supported(name, self.conf)

    def test_nova_spice_direct_needs_2_99(self):
        self.flags(group="compute", driver="nova")
        consoles.check_supported("spice-direct", self.conf)
        self.flags(group="nova", console_api_version="2.96")
        e = self.assertRaises(exception.ConsoleTypeUnsupported,
                              consoles.check_supported, "spice-direct",
                              self.conf)
        self.assertEqual(409, e.code)
        self.assertIn("nova compute driver", e.message)
        self.assertIn("console_api_version 2.99 or newer (it is 2.96)",
                      e.message)
        for name in ("novnc", "spice-html5", "rdp", "fake"):
            consoles.check_supported(name, self.conf)

    def test_a_driver_without_consoles(self):
        class Bare(compute_base.ComputeDriver):
            pass

        self.assertEqual("it serves no console",
                         Bare.console_refusal(self.conf, "novnc"))
        self.assertRaises(exception.ConsoleUnavailable,
                          compute_base.ComputeDriver.get_console, None,
                          "srv-1", "novnc")

    def test_unknown_console_type(self):
        self.assertRaises(exception.InvalidPlugin, consoles.check_supported,
                          "telnet", self.conf)
