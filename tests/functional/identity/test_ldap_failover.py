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

"""Failover, timeouts, restarts and connection keeping against slapd."""

import socket
import threading
import time

import fixtures

from tests.fixtures import slapd
from tests.functional.identity import ldap_base
from vdi_broker import exception


class LdapFailoverTest(ldap_base.SlapdTestCase):

    def hung_server(self):
        server = ldap_base.HungServer()
        self.addCleanup(server.close)
        return server

    def test_dead_server_fails_over_to_the_next(self):
        dead = ldap_base.dead_url()
        driver = self.make_driver(urls=[dead, self.slapd.url],
                                  server_dead_retry=30)
        start = time.monotonic()
        self.assertEqual("amy",
                         driver.authenticate("amy", "amy-Pa55").username)
        self.assertLess(time.monotonic() - start, 1.0)
        self.assertTrue(driver._servers[0].failed)
        self.assertFalse(driver._servers[1].failed)
        # Later logins skip the dead server.
        for _i in range(5):
            driver.authenticate("bob", "bob-Pa55")

    def test_hung_server_is_cut_off_by_receive_timeout(self):
        hung = self.hung_server()
        driver = self.make_driver(urls=[hung.url, self.slapd.url],
                                  receive_timeout=0.5, server_dead_retry=30)
        start = time.monotonic()
        p = driver.authenticate("carol", "carol-Pa55")
        elapsed = time.monotonic() - start
        self.assertEqual("carol", p.username)
        self.assertGreaterEqual(elapsed, 0.4)
        self.assertLess(elapsed, 3.0)
        self.assertTrue(hung.accepted)
        self.assertIn("timed out", driver._servers[0].last_error)
        # The hung server is skipped from now on: fast logins.
        start = time.monotonic()
        driver.authenticate("carol", "carol-Pa55")
        self.assertLess(time.monotonic() - start, 0.3)

    def test_hung_tls_handshake_fails_over(self):
        # An ldaps:// server that accepts and never completes the TLS
        # handshake is cut off by connect_timeout.
        hung = self.hung_server()
        driver = self.make_driver(
            urls=[hung.url.replace("ldap://", "ldaps://"),
                  self.slapd.ldaps_url],
            ca_file=self.slapd.tls["ca_file"], connect_timeout=0.5,
            server_dead_retry=30)
        start = time.monotonic()
        self.assertEqual("amy",
                         driver.authenticate("amy", "amy-Pa55").username)
        self.assertLess(time.monotonic() - start, 3.0)
        self.assertTrue(driver._servers[0].failed)

    def test_no_server_answers_fails_fast_with_a_reason(self):
        dead1, dead2 = ldap_base.dead_url(), ldap_base.dead_url()
        driver = self.make_driver(urls=[dead1, dead2], server_dead_retry=30)
        start = time.monotonic()
        err = self.assertRaises(exception.IdentityUnavailable,
                                driver.authenticate, "amy", "amy-Pa55")
        self.assertLess(time.monotonic() - start, 1.0)
        self.assertEqual(503, err.code)
        self.assertIn(dead1, err.kwargs["reason"])
        self.assertIn(dead2, err.kwargs["reason"])
        self.assertIn("refused", err.kwargs["reason"].lower())
        self.assertIn("Retry-After", err.headers)
        # While every server is known dead, logins fail immediately.
        start = time.monotonic()
        self.assertRaises(exception.IdentityUnavailable,
                          driver.authenticate, "amy", "amy-Pa55")
        self.assertRaises(exception.IdentityUnavailable,
                          driver.check_health)
        self.assertLess(time.monotonic() - start, 0.5)

    def test_only_hung_servers_never_hang_a_login(self):
        hung1, hung2 = self.hung_server(), self.hung_server()
        driver = self.make_driver(urls=[hung1.url, hung2.url],
                                  receive_timeout=0.3, server_dead_retry=30)
        start = time.monotonic()
        err = self.assertRaises(exception.IdentityUnavailable,
                                driver.authenticate, "amy", "amy-Pa55")
        self.assertLess(time.monotonic() - start, 2.0)
        self.assertIn("timed out", err.kwargs["reason"])
        # Concurrent logins after that fail at once.
        errors = []

        def login():
            t = time.monotonic()
            try:
                driver.authenticate("amy", "amy-Pa55")
            except exception.IdentityUnavailable:
                errors.append(time.monotonic() - t)

        threads = [threading.Thread(target=login) for _i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        self.assertEqual(8, len(errors))
        self.assertLess(max(errors), 0.25)

    def test_hung_server_after_open_connection(self):
        # A pooled connection whose server stops answering (a silent
        # firewall drop looks the same) is timed out and replaced.
        hung = self.hung_server()
        driver = self.make_driver(urls=[self.slapd.url, hung.url],
                                  receive_timeout=0.5, server_dead_retry=0.5)
        driver.authenticate("amy", "amy-Pa55")
        pc = driver._service_pool._take_idle()
        # Simulate the drop: point the socket at the hung server.
        pc.conn.socket.close()
        sock = socket.create_connection(("127.0.0.1", hung.port))
        sock.settimeout(0.5)
        pc.conn.socket = sock
        driver._service_pool._idle.append(pc)
        start = time.monotonic()
        self.assertEqual("amy",
                         driver.authenticate("amy", "amy-Pa55").username)
        self.assertLess(time.monotonic() - start, 3.0)

    def test_pool_exhaustion_answers_503_not_a_hang(self):
        driver = self.make_driver(pool_size=1, pool_wait_timeout=0.2)
        with driver._service_pool.connection():
            start = time.monotonic()
            err = self.assertRaises(exception.IdentityUnavailable,
                                    driver.authenticate, "amy", "amy-Pa55")
            self.assertLess(time.monotonic() - start, 1.0)
            self.assertIn("busy", err.kwargs["reason"])

    def test_keepalive_on_pooled_connections(self):
        driver = self.make_driver(keepalive_idle=30, keepalive_interval=7,
                                  keepalive_count=3)
        driver.authenticate("amy", "amy-Pa55")
        for pool in (driver._service_pool, driver._auth_pool):
            sock = pool._take_idle().conn.socket
            self.assertEqual(1, sock.getsockopt(socket.SOL_SOCKET,
                                                socket.SO_KEEPALIVE))
            self.assertEqual(30, sock.getsockopt(socket.IPPROTO_TCP,
                                                 socket.TCP_KEEPIDLE))
            self.assertEqual(7, sock.getsockopt(socket.IPPROTO_TCP,
                                                socket.TCP_KEEPINTVL))
            self.assertEqual(3, sock.getsockopt(socket.IPPROTO_TCP,
                                                socket.TCP_KEEPCNT))
            self.assertEqual(1.0, sock.gettimeout())

    def test_idle_connections_are_recycled(self):
        driver = self.make_driver(pool_idle_timeout=1)
        driver.authenticate("amy", "amy-Pa55")
        pc = driver._service_pool._take_idle()
        pc.last_used -= 5
        driver._service_pool._idle.append(pc)
        driver.authenticate("amy", "amy-Pa55")
        self.assertTrue(pc.conn.closed)
        self.assertIsNot(pc, driver._service_pool._take_idle())

    def test_connections_are_reused(self):
        driver = self.make_driver()
        opened = []
        original = driver._open

        def spy(server, kind):
            opened.append(kind)
            return original(server, kind)

        self.useFixture(fixtures.MockPatchObject(driver, "_open", spy))
        for _i in range(20):
            driver.authenticate("amy", "amy-Pa55")
        self.assertEqual(["service", "authentication"], opened)


class LdapRestartTest(ldap_base.SlapdTestCase):
    """slapd restarts in the middle of a run (its own server)."""

    def test_recovers_after_directory_restart(self):
        driver = self.make_driver(receive_timeout=1.0, server_dead_retry=0.2)
        results = []
        stop = threading.Event()

        def run():
            while not stop.is_set():
                start = time.monotonic()
                try:
                    driver.authenticate("amy", "amy-Pa55")
                    outcome = "ok"
                except exception.IdentityUnavailable:
                    outcome = "unavailable"
                results.append((outcome, time.monotonic() - start))
                time.sleep(0.005)

        threads = [threading.Thread(target=run) for _i in range(3)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.3)
            self.slapd.stop()
            time.sleep(0.5)
            down = len(results)
            self.slapd.start()
            # Recovery without a new driver, within a few seconds.
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if results[-1][0] == "ok" and len(results) > down + 5:
                    break
                time.sleep(0.05)
            time.sleep(0.3)
        finally:
            stop.set()
            for t in threads:
                t.join(5)
        outcomes = [o for o, _t in results]
        self.assertIn("unavailable", outcomes)
        self.assertEqual("ok", outcomes[-1])
        self.assertEqual("ok", outcomes[0])
        # Nothing hung while the directory was down.
        self.assertLess(max(t for _o, t in results), 2.5)
        driver.authenticate("erin", "erin-Pa55")

    def test_pooled_connections_survive_a_quick_restart(self):
        # Restarted between two logins: the stale pooled connections are
        # replaced transparently, the next login just works.
        driver = self.make_driver(server_dead_retry=0.2)
        driver.authenticate("amy", "amy-Pa55")
        self.slapd.restart()
        p = driver.authenticate("amy", "amy-Pa55")
        self.assertEqual(slapd.EXPECTED_GROUPS["amy"], set(p.groups))
