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

"""Consoles (spice-direct at 2.99, spice-html5, noVNC) and capacity."""

import configparser
import time

from tests.fixtures import nova_emulator as emu
from tests.functional.compute import base as test_base
from tests.functional.compute.test_nova_servers import spec
from vdi_broker.compute import nova
from vdi_broker.consoles import nova_url
from vdi_broker.consoles import spice_direct
from vdi_broker import exception


class ConsoleTest(test_base.NovaTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.driver.create_server(spec())
        self.desktop = {"id": "desk-uuid", "server_id": self.server.id,
                        "name": "desk-1", "address": "10.0.0.12",
                        "pool": {"name": "Finance"}}

    def _token_of(self, url):
        return url.rsplit("token=", 1)[1]

    def test_spice_direct(self):
        console = self.driver.get_console(self.server.id, "spice-direct")
        record = self.emulator.console_tokens[self._token_of(console["url"])]
        self.assertEqual(self.server.id, record["instance_uuid"])
        self.assertEqual(record["host"], console["host"])
        self.assertEqual(record["port"], console["port"])
        self.assertEqual(record["tls_port"], console["tls_port"])
        self.assertNotIn("password", console)
        calls = [(r["kind"], r["microversion"]) for r in
                 self.emulator.requests if r["kind"].startswith("console")]
        self.assertEqual([("console", (2, 99)),
                          ("console_auth_token", (2, 99))], calls)

    def test_spice_direct_without_tls(self):
        self.emulator.spice_tls = False
        console = self.driver.get_console(self.server.id, "spice-direct")
        self.assertIsNone(console["tls_port"])
        self.assertTrue(console["port"])

    def test_url_consoles_use_the_pinned_version(self):
        for ctype, fragment in (("novnc", "vnc_lite.html"),
                                ("spice-html5", "spice_auto.html")):
            console = self.driver.get_console(self.server.id, ctype)
            self.assertIn(fragment, console["url"])
            self.assertEqual({"type", "url"}, set(console))
        versions = {r["microversion"] for r in self.emulator.requests
                    if r["kind"] == "console"}
        self.assertEqual({(2, 96)}, versions)
        self.assertEqual(0, self.emulator.calls("console_auth_token"))

    def test_unknown_console_type(self):
        self.assertRaises(exception.Invalid, self.driver.get_console,
                          self.server.id, "telnet")

    def test_console_of_a_building_server(self):
        self.emulator.boot_time = 30
        server = self.driver.create_server(spec(name="d2"))
        # Nova's 409: the server's state, the desktop's own fault.
        e = self.assertRaises(exception.ConsoleNotReady,
                              self.driver.get_console, server.id, "novnc")
        self.assertIn("409", e.message)

    def test_console_type_not_offered_is_not_the_servers_fault(self):
        self.emulator.inject_fault("console", status=501, count=None)
        e = self.assertRaises(exception.ConsoleUnavailable,
                              self.driver.get_console, self.server.id,
                              "spice-direct")
        self.assertNotIsInstance(e, exception.ConsoleNotReady)

    def test_lookup_bounded_by_console_timeout(self):
        # Each request has the session's timeout (1 s), the lookup as a
        # whole 1.5 s: the retry gets what is left, then no more.
        self.conf.set_override("console_timeout", 1.5, group="nova")
        self.emulator.inject_fault("console", delay=test_base.HOLD,
                                   count=None)
        start = time.monotonic()
        e = self.assertRaises(exception.ConsoleTimeout,
                              self.driver.get_console, self.server.id,
                              "spice-direct")
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 1.5)
        self.assertLess(elapsed, test_base.HOLD)
        self.assertEqual(2, self.emulator.calls("console"))
        self.assertEqual(503, e.code)
        self.assertIn("within 1.5 seconds", e.message)
        self.assertIsNone(e.__cause__)

    def test_held_token_exchange_counts_in_the_same_lookup(self):
        self.conf.set_override("console_timeout", 1.2, group="nova")
        self.emulator.inject_fault("console_auth_token",
                                   delay=test_base.HOLD, count=None)
        start = time.monotonic()
        self.assertRaises(exception.ConsoleTimeout, self.driver.get_console,
                          self.server.id, "spice-direct")
        self.assertLess(time.monotonic() - start, test_base.HOLD)

    def test_retries_end_at_the_deadline(self):
        # Waits of 0.4 s then 0.8 s: the second would end past the
        # lookup's 1 s, so there is none.
        for name, value in (("retry_delay", 0.4), ("retry_max_delay", 5),
                            ("retries", 10), ("console_timeout", 1.0)):
            self.conf.set_override(name, value, group="nova")
        self.emulator.inject_fault("console", status=503, count=None)
        start = time.monotonic()
        self.assertRaises(exception.ComputeUnavailable,
                          self.driver.get_console, self.server.id, "novnc")
        self.assertLess(time.monotonic() - start, 1.0)
        self.assertEqual(2, self.emulator.calls("console"))

    def test_unreadable_answers(self):
        for kind, body in (
                ("console", {"remote_console": {"type": "novnc"}}),
                ("console", ["not", "a", "console"]),
                ("console_auth_token", {"console": {"port": 5900}})):
            self.emulator.clear_faults()
            self.emulator.inject_fault(kind, body=body)
            e = self.assertRaises(exception.ConsoleUnavailable,
                                  self.driver.get_console, self.server.id,
                                  "spice-direct")
            self.assertIn("Nova's answer has no", e.message)

    def test_fault_for_one_server_only(self):
        other = self.driver.create_server(spec(name="d2"))
        self.emulator.inject_fault("console", status=409, count=None,
                                   server=self.server.id)
        self.driver.get_console(other.id, "spice-direct")
        self.assertRaises(exception.ConsoleNotReady, self.driver.get_console,
                          self.server.id, "spice-direct")
        self.emulator.clear_faults()
        self.emulator.inject_fault("console_auth_token", status=404,
                                   server=other.id)
        self.driver.get_console(self.server.id, "spice-direct")
        self.assertRaises(exception.ConsoleUnavailable,
                          self.driver.get_console, other.id, "spice-direct")

    def test_console_type_disabled_in_nova(self):
        self.emulator.consoles.discard("spice-direct")
        self.assertRaises(exception.ConsoleUnavailable,
                          self.driver.get_console, self.server.id,
                          "spice-direct")

    def test_console_of_a_vanished_server(self):
        self.emulator.delete_out_of_band(self.server.id)
        self.assertRaises(exception.ServerNotFound, self.driver.get_console,
                          self.server.id, "spice-direct")

    def test_console_auth_token_api_forbidden(self):
        self.emulator.admin = False
        e = self.assertRaises(exception.ConsoleUnavailable,
                              self.driver.get_console, self.server.id,
                              "spice-direct")
        self.assertIn("403", e.message)

    def test_console_api_version_too_old(self):
        self.conf.set_override("console_api_version", "2.96", group="nova")
        self.assertRaises(exception.ConsoleUnavailable,
                          self.driver.get_console, self.server.id,
                          "spice-direct")
        self.assertEqual(0, self.emulator.calls("console"))

    def test_cloud_without_2_99(self):
        self.emulator.max_version = (2, 96)
        e = self.assertRaises(exception.ConsoleUnavailable,
                              self.driver.get_console, self.server.id,
                              "spice-direct")
        self.assertIn("406", e.message)

    def test_console_errors_carry_no_url(self):
        self.emulator.inject_fault("console_auth_token", status=500,
                                   count=None)
        e = self.assertRaises(exception.ComputeUnavailable,
                              self.driver.get_console, self.server.id,
                              "spice-direct")
        self.assertNotIn("http", e.message)
        self.assertNotIn("token", e.message.replace(
            "console-auth-token", ""))
        self.assertIsNone(e.__cause__)
        self.assertEqual(3, self.emulator.calls("console_auth_token"))

    def test_spice_direct_driver_and_vv_file(self):
        console = spice_direct.SpiceDirectConsole(self.conf, self.driver)
        connection = console.get_connection(self.desktop)
        self.assertEqual("spice", connection["protocol"])
        self.assertNotIn("url", connection)
        media_type, text = console.connection_file(self.desktop, connection)
        self.assertEqual("application/x-virt-viewer", media_type)
        vv = configparser.ConfigParser(interpolation=None)
        vv.read_string(text)
        section = vv["virt-viewer"]
        self.assertEqual("spice", section["type"])
        self.assertEqual(connection["host"], section["host"])
        self.assertEqual(str(connection["port"]), section["port"])
        self.assertEqual(str(connection["tls_port"]), section["tls-port"])
        self.assertEqual("Finance - desk-1", section["title"])
        self.assertEqual("1", section["delete-this-file"])
        self.assertIn("main", section["secure-channels"])

    def test_url_console_drivers(self):
        for cls, ctype in ((nova_url.NoVNCConsole, "novnc"),
                           (nova_url.SpiceHtml5Console, "spice-html5")):
            console = cls(self.conf, self.driver)
            connection = console.get_connection(self.desktop)
            self.assertEqual(ctype, connection["type"])
            self.assertTrue(connection["url"].startswith("http://"))
            self.assertIsNone(console.connection_file(self.desktop,
                                                      connection))


class CapacityTest(test_base.NovaTestCase):

    def test_capacity_formula(self):
        capacity = self.driver.get_capacity()
        by_name = {p["name"]: p for p in capacity["providers"]}
        # The shared storage provider has no VCPU/MEMORY_MB: left out.
        self.assertEqual({"compute-1", "compute-2"}, set(by_name))
        c1, c2 = by_name["compute-1"], by_name["compute-2"]
        # (16 - 0) * 4.0 - 0 and (65536 - 512) * 1.0 - 0
        self.assertEqual(64, c1["vcpus"]["free"])
        self.assertEqual(65024, c1["memory_mb"]["free"])
        # (8 - 2) * 1.0 and (32768 - 512) * 1.5
        self.assertEqual(6, c2["vcpus"]["free"])
        self.assertEqual(48384, c2["memory_mb"]["free"])
        self.assertEqual(70, capacity["total"]["vcpus"]["free"])
        self.assertEqual(65024 + 48384,
                         capacity["total"]["memory_mb"]["free"])
        self.assertEqual(2, capacity["total"]["providers"])
        versions = {r["microversion"] for r in self.emulator.requests
                    if r["kind"] == "placement"}
        self.assertEqual({(1, 14)}, versions)

    def test_capacity_follows_servers(self):
        before = self.driver.get_capacity()["total"]
        server = self.driver.create_server(spec(flavor="vdi.large"))
        after = self.driver.get_capacity()["total"]
        self.assertEqual(before["vcpus"]["free"] - 4,
                         after["vcpus"]["free"])
        self.assertEqual(before["memory_mb"]["free"] - 8192,
                         after["memory_mb"]["free"])
        self.assertEqual(4, after["vcpus"]["used"])
        self.driver.delete_server(server.id)
        self.assertEqual(before, self.driver.get_capacity()["total"])

    def test_overcommitted_provider_reports_zero_free(self):
        self.emulator.add_provider("full", vcpus=4, memory_mb=1024,
                                   used_vcpus=6, used_memory_mb=2048)
        by_name = {p["name"]: p
                   for p in self.driver.get_capacity()["providers"]}
        self.assertEqual(0, by_name["full"]["vcpus"]["free"])
        self.assertEqual(0, by_name["full"]["memory_mb"]["free"])

    def test_placement_down(self):
        self.emulator.inject_fault("placement", status=503, count=None)
        self.assertRaises(exception.ComputeUnavailable,
                          self.driver.get_capacity)

    def test_host_load_from_placement(self):
        # A host with most of its memory booked (the boot queue's load).
        self.emulator.add_provider("busy", vcpus=16, memory_mb=10000,
                                   used_vcpus=4, used_memory_mb=9300)
        loads = self.driver.get_host_load()
        self.assertEqual({"compute-1", "compute-2", "busy"}, set(loads))
        # The larger of memory and vCPU usage against capacity.
        self.assertAlmostEqual(0.93, loads["busy"])
        self.assertEqual(0.0, loads["compute-1"])
        server = self.driver.create_server(spec(flavor="vdi.large"))
        loads = self.driver.get_host_load()
        # One more server booked on compute-1 (the emulator's choice).
        self.assertAlmostEqual(8192 / 65024, loads["compute-1"])
        self.driver.delete_server(server.id)
        # From a capacity already read: no more Placement requests.
        capacity = self.driver.get_capacity()
        before = self.emulator.calls("placement")
        self.assertEqual(loads.keys(),
                         self.driver.get_host_load(capacity).keys())
        self.assertEqual(before, self.emulator.calls("placement"))


class NoSecretsInLogsTest(test_base.NovaTestCase):
    """DEBUG logs of every kind of call carry no password or token."""

    def test_no_password_or_token_logged(self):
        import fixtures
        import logging
        logger = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG, format="%(name)s %(message)s"))
        self.emulator.inject_fault("show", status=500, count=1)
        server = self.driver.create_server(spec())
        self.driver.get_server(server.id)
        self.driver.list_servers(tags=["vdi-broker"])
        self.driver.lock_server(server.id, "maintenance")
        consoles = [self.driver.get_console(server.id, ctype)
                    for ctype in ("spice-direct", "novnc", "spice-html5")]
        self.driver.get_capacity()
        self.emulator.revoke_tokens()      # a second authentication
        self.emulator.inject_fault("console_auth_token", status=500)
        self.driver.get_console(server.id, "spice-direct")
        self.driver.delete_server(server.id)
        output = logger.output
        # keystoneauth1 did log the HTTP traffic at DEBUG...
        self.assertIn("REQ: curl", output)
        self.assertIn("RESP BODY", output)
        self.assertIn("X-Auth-Token: {SHA256}", output)
        # ... but no secret.
        self.assertEqual(2, len(self.emulator.issued_tokens))
        secrets = [self.emulator.password, "emulator-admin-pass"]
        secrets += self.emulator.issued_tokens
        secrets += list(self.emulator.console_tokens)
        for console in consoles:
            secrets.append(console["url"])
        for secret in secrets:
            self.assertNotIn(secret, output)

    def test_vv_file_and_errors_carry_no_nova_token(self):
        server = self.driver.create_server(spec())
        console = spice_direct.SpiceDirectConsole(self.conf, self.driver)
        desktop = {"id": "d", "server_id": server.id, "name": "d",
                   "pool": {"name": "p"}}
        connection = console.get_connection(desktop)
        _, text = console.connection_file(desktop, connection)
        for token in self.emulator.console_tokens:
            self.assertNotIn(token, text)
            self.assertNotIn(token, repr(connection))


class NovaEmulatorTest(test_base.NovaTestCase):
    """The emulator's own behaviour that later tests rely on."""

    def test_fault_count_and_clear(self):
        self.emulator.inject_fault("list", status=500, count=None)
        self.assertRaises(exception.ComputeUnavailable,
                          self.driver.list_servers)
        self.emulator.clear_faults()
        self.assertEqual([], self.driver.list_servers())

    def test_unknown_fault_kind(self):
        self.assertRaises(ValueError, self.emulator.inject_fault, "nope")

    def test_out_of_band_changes(self):
        server = self.driver.create_server(spec())
        self.emulator.set_server_status(server.id, "SHUTOFF")
        self.assertEqual("SHUTOFF", self.driver.get_server(server.id).status)
        self.assertEqual([server.id],
                         [s["id"] for s in self.emulator.live_servers()])
        self.emulator.delete_out_of_band(server.id)
        self.assertEqual([], self.emulator.live_servers())

    def test_driver_is_reusable_across_threads(self):
        import threading
        errors = []

        def work(i):
            try:
                self.driver.create_server(spec(name="t%d" % i))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,))
                   for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([], errors)
        self.assertEqual(6, len(self.driver.list_servers()))
        self.assertEqual(1, len(self.emulator.issued_tokens))


class NovaDriverDirectTest(test_base.NovaTestCase):
    def test_no_network_access_at_construction(self):
        nova.NovaComputeDriver(self.conf)
        self.assertEqual([], self.emulator.requests)
        self.assertIsNotNone(emu.DEFAULT_IMAGE)
