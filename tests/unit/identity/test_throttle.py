"""Unit tests of the in-process login throttle."""

import threading
from unittest import mock

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from vdi_broker.conf import login_throttle as throttle_conf
from vdi_broker import exception
from vdi_broker.identity import base
from vdi_broker.identity import throttle


class LoginThrottleTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        conf = cfg.ConfigOpts()
        throttle_conf.register_opts(conf)
        self.cfg = self.useFixture(config_fixture.Config(conf))
        conf([], default_config_files=[], default_config_dirs=[])
        self.cfg.config(group="login_throttle", failure_window=60,
                        user_failure_threshold=3,
                        client_failure_threshold=5, lockout_duration=120)
        self.conf = conf
        self.now = [1000.0]
        self.throttle = throttle.LoginThrottle(conf,
                                               clock=lambda: self.now[0])
        self.driver = mock.Mock()

    def fail(self, username="amy", client_id=None):
        return self.throttle.failure(username, client_id)

    def test_locks_after_threshold(self):
        self.assertFalse(self.fail())
        self.assertFalse(self.fail())
        self.throttle.check("amy")
        self.assertTrue(self.fail())
        err = self.assertRaises(exception.LoginThrottled,
                                self.throttle.check, "amy")
        self.assertEqual(429, err.code)
        self.assertEqual("120", err.headers["Retry-After"])
        self.now[0] += 100
        err = self.assertRaises(exception.LoginThrottled,
                                self.throttle.check, "amy")
        self.assertEqual("20", err.headers["Retry-After"])
        self.now[0] += 21
        self.throttle.check("amy")
        # The counter starts again from zero after a lockout.
        self.assertFalse(self.fail())
        self.throttle.check("amy")

    def test_window_forgets_old_failures(self):
        self.fail()
        self.fail()
        self.now[0] += 61
        self.assertFalse(self.fail())
        self.assertFalse(self.fail())
        self.throttle.check("amy")

    def test_names_are_case_and_space_insensitive(self):
        self.fail("Amy")
        self.fail(" amy ")
        self.fail("AMY")
        self.assertRaises(exception.LoginThrottled, self.throttle.check,
                          "amy")

    def test_success_resets_the_user(self):
        self.fail()
        self.fail()
        self.throttle.success("amy")
        self.fail()
        self.fail()
        self.throttle.check("amy")

    def test_client_lockout_whatever_the_name(self):
        for i in range(5):
            self.fail("user%d" % i, client_id="tc-1")
        self.assertRaises(exception.LoginThrottled, self.throttle.check,
                          "someone-else", "tc-1")
        self.throttle.check("someone-else", "tc-2")
        self.throttle.check("someone-else")

    def test_success_does_not_reset_the_client(self):
        for i in range(4):
            self.fail("user%d" % i, client_id="tc-1")
        self.throttle.success("amy", "tc-1")
        self.fail("user9", client_id="tc-1")
        self.assertRaises(exception.LoginThrottled, self.throttle.check,
                          "amy", "tc-1")

    def test_unknown_and_known_names_alike(self):
        # The throttle never asks the directory: same answers for any name.
        results = []
        for name in ("amy", "no-such-user"):
            self.throttle.reset()
            results.append([self.fail(name) for _i in range(3)])
        self.assertEqual(results[0], results[1])

    def test_thresholds_zero_disable(self):
        self.cfg.config(group="login_throttle", user_failure_threshold=0,
                        client_failure_threshold=0)
        for _i in range(50):
            self.fail("amy", "tc-1")
        self.throttle.check("amy", "tc-1")

    def test_disabled(self):
        self.cfg.config(group="login_throttle", enabled=False)
        for _i in range(10):
            self.fail()
        self.throttle.check("amy")
        self.assertEqual(0, len(self.throttle))

    def test_memory_is_bounded(self):
        self.cfg.config(group="login_throttle", max_tracked=100)
        for i in range(1000):
            self.fail("name-%d" % i, client_id="tc-%d" % i)
        self.assertLessEqual(len(self.throttle), 100)

    def test_lockout_is_not_extended_by_attempts(self):
        for _i in range(3):
            self.fail()
        self.now[0] += 60
        for _i in range(10):
            self.fail()
        self.now[0] += 61
        self.throttle.check("amy")

    def test_authenticate_wraps_a_driver(self):
        self.driver.authenticate.side_effect = exception.LoginFailed()
        for _i in range(3):
            self.assertRaises(exception.LoginFailed,
                              self.throttle.authenticate, self.driver,
                              "amy", "bad", "tc-1")
        self.assertRaises(exception.LoginThrottled,
                          self.throttle.authenticate, self.driver,
                          "amy", "good", "tc-1")
        # Refused before the directory is asked.
        self.assertEqual(3, self.driver.authenticate.call_count)

    def test_authenticate_success_resets(self):
        principal = base.Principal(username="amy")
        self.driver.authenticate.side_effect = [
            exception.LoginFailed(), exception.LoginFailed(), principal,
            exception.LoginFailed(), exception.LoginFailed()]
        for _i in range(2):
            self.assertRaises(exception.LoginFailed,
                              self.throttle.authenticate, self.driver,
                              "amy", "x")
        self.assertIs(principal, self.throttle.authenticate(
            self.driver, "amy", "x"))
        for _i in range(2):
            self.assertRaises(exception.LoginFailed,
                              self.throttle.authenticate, self.driver,
                              "amy", "x")
        self.throttle.check("amy")

    def test_outage_is_not_counted(self):
        self.driver.authenticate.side_effect = exception.IdentityUnavailable(
            reason="down")
        for _i in range(10):
            self.assertRaises(exception.IdentityUnavailable,
                              self.throttle.authenticate, self.driver,
                              "amy", "x", "tc-1")
        self.throttle.check("amy", "tc-1")

    def test_thread_safe_counting(self):
        self.cfg.config(group="login_throttle",
                        user_failure_threshold=1000)
        locked = []

        def worker():
            for _i in range(100):
                if self.throttle.failure("amy"):
                    locked.append(1)

        threads = [threading.Thread(target=worker) for _i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Exactly the 1000th failure locked the name out.
        self.assertEqual([1], locked)
        self.assertRaises(exception.LoginThrottled, self.throttle.check,
                          "amy")


class ThrottleOptsTest(testtools.TestCase):

    def test_list_opts(self):
        (group, options), = throttle_conf.list_opts().items()
        self.assertEqual("login_throttle", group.name)
        self.assertEqual({"enabled", "failure_window",
                          "user_failure_threshold",
                          "client_failure_threshold", "lockout_duration",
                          "max_tracked"}, {o.name for o in options})

    def test_exception(self):
        err = exception.LoginThrottled(retry_after=42)
        self.assertEqual(429, err.code)
        self.assertEqual("Too Many Requests", err.title)
        self.assertEqual({"Retry-After": "42"}, err.headers)
        self.assertEqual({"Retry-After": "60"},
                         exception.LoginThrottled().headers)
