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

"""Retries, timeouts and error translation against the emulator."""

import socket
import time

from tests.fixtures import nova_emulator as emu
from tests.functional.compute import base as test_base
from tests.functional.compute.test_nova_servers import spec
from vdi_broker.compute import nova
from vdi_broker import exception


class RetryTest(test_base.NovaTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.driver.create_server(spec())

    def test_transient_500_is_retried(self):
        self.emulator.inject_fault("show", status=500, count=2)
        self.assertEqual(self.server.id,
                         self.driver.get_server(self.server.id).id)
        self.assertEqual(3, self.emulator.calls("show"))

    def test_persistent_503_gives_up(self):
        self.emulator.inject_fault("list", status=503, count=None)
        e = self.assertRaises(exception.ComputeUnavailable,
                              self.driver.list_servers)
        self.assertIn("503", e.message)
        # retries = 2: three attempts in all.
        self.assertEqual(3, self.emulator.calls("list"))
        self.assertEqual(503, e.code)

    def test_create_is_not_retried_after_a_500(self):
        self.emulator.inject_fault("create", status=500, count=1)
        self.assertRaises(exception.ComputeUnavailable,
                          self.driver.create_server, spec(name="d2"))
        self.assertEqual(2, self.emulator.calls("create"))  # incl. setUp

    def test_client_errors_are_not_retried(self):
        self.emulator.inject_fault("show", status=403, count=None,
                                   message="Policy forbids it")
        e = self.assertRaises(exception.ComputeError,
                              self.driver.get_server, self.server.id)
        self.assertNotIsInstance(e, exception.ComputeUnavailable)
        self.assertIn("Policy forbids it", e.message)
        self.assertEqual(1, self.emulator.calls("show"))

    def test_delete_retried_then_done(self):
        self.emulator.inject_fault("delete", status=502, count=1)
        self.driver.delete_server(self.server.id)
        self.assertTrue(self.emulator.servers[self.server.id]["deleted"])

    def test_placement_retried(self):
        self.emulator.inject_fault("placement", status=500, count=1)
        self.assertEqual(2, self.driver.get_capacity()["total"]["providers"])


class TimeoutTest(test_base.NovaTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.driver.create_server(spec())

    def test_held_read_is_retried_after_the_timeout(self):
        self.emulator.inject_fault("show", delay=test_base.HOLD, count=1)
        start = time.monotonic()
        self.assertEqual(self.server.id,
                         self.driver.get_server(self.server.id).id)
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, test_base.CLIENT_TIMEOUT)
        self.assertLess(elapsed, test_base.HOLD)
        self.assertEqual(2, self.emulator.calls("show"))

    def test_every_attempt_held(self):
        self.conf.set_override("retries", 1, group="nova")
        self.emulator.inject_fault("list", delay=test_base.HOLD,
                                   count=None)
        start = time.monotonic()
        e = self.assertRaises(exception.ComputeUnavailable,
                              self.driver.list_servers)
        self.assertIn("ConnectTimeout", e.message)
        self.assertLess(time.monotonic() - start,
                        2 * test_base.CLIENT_TIMEOUT + 1)
        self.assertEqual(2, self.emulator.calls("list"))

    def test_held_create_is_not_retried(self):
        # The emulator carries the create out after the client gave up:
        # the server exists (and carries the pool tag for the reconciler)
        # but the broker must not boot a second one.
        self.emulator.inject_fault("create", delay=test_base.HOLD)
        self.assertRaises(exception.ComputeUnavailable,
                          self.driver.create_server, spec(name="d2"))
        self.assertEqual(2, self.emulator.calls("create"))

    def test_held_token_request_times_out(self):
        driver = nova.NovaComputeDriver(self.conf)
        self.conf.set_override("retries", 0, group="nova")
        self.emulator.inject_fault("token", delay=test_base.HOLD)
        start = time.monotonic()
        self.assertRaises(exception.ComputeUnavailable, driver.get_server,
                          self.server.id)
        self.assertLess(time.monotonic() - start, test_base.HOLD)


class ConnectionTest(test_base.NovaTestCase):

    def _free_port(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def test_nothing_listening(self):
        conf = test_base.make_conf(
            self.emulator,
            auth_url="http://127.0.0.1:%d/identity/v3" % self._free_port())
        driver = nova.NovaComputeDriver(conf)
        e = self.assertRaises(exception.ComputeUnavailable,
                              driver.list_servers)
        self.assertIn("Connection refused", e.message)

    def test_wrong_password(self):
        conf = test_base.make_conf(self.emulator, password="wrong")
        driver = nova.NovaComputeDriver(conf)
        e = self.assertRaises(exception.ComputeUnavailable,
                              driver.list_servers)
        self.assertIn("authentication", e.message)
        self.assertNotIn("wrong", e.message)

    def test_expired_token_is_renewed(self):
        self.driver.list_servers()
        self.emulator.revoke_tokens()
        self.driver.list_servers()
        self.assertEqual(2, len(self.emulator.issued_tokens))

    def test_missing_credentials(self):
        conf = test_base.make_conf(self.emulator, auth_type=None)
        driver = nova.NovaComputeDriver(conf)
        e = self.assertRaises(exception.ComputeError, driver.list_servers)
        self.assertIn("auth_type", e.message)
        self.assertEqual([], self.emulator.requests)

    def test_microversion_beyond_novaclient(self):
        conf = test_base.make_conf(self.emulator, api_version="2.99")
        e = self.assertRaises(exception.ComputeError,
                              nova.NovaComputeDriver(conf).list_servers)
        self.assertIn("configuration", e.message)

    def test_microversion_too_old(self):
        conf = test_base.make_conf(self.emulator, api_version="2.40")
        self.assertRaises(exception.ComputeError,
                          nova.NovaComputeDriver(conf).list_servers)

    def test_older_pinned_version_without_lock_reason(self):
        conf = test_base.make_conf(self.emulator, api_version="2.60")
        driver = nova.NovaComputeDriver(conf)
        server = driver.create_server(spec())
        # A fresh driver whose first call is the lock.
        driver = nova.NovaComputeDriver(conf)
        driver.lock_server(server.id, "maintenance")
        record = self.emulator.servers[server.id]
        self.assertTrue(record["locked"])
        self.assertIsNone(record["locked_reason"])

    def test_cloud_older_than_pinned_version(self):
        emulator = self.useFixture(emu.NovaEmulator(max_version="2.90"))
        driver = nova.NovaComputeDriver(test_base.make_conf(emulator))
        e = self.assertRaises(exception.ComputeError, driver.list_servers)
        self.assertIn("406", e.message)
