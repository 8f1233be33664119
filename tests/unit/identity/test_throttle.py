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

"""Unit tests of the login throttle and its failed-login events.

The database is mocked here; tests/functional/db/test_login_failures.py
runs the same code on SQLite, MariaDB and PostgreSQL.
"""

import datetime
import logging
from unittest import mock

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslo_db import exception as db_exc
from oslo_utils import timeutils
import testtools

from vdi_broker.conf import login_throttle as throttle_conf
from vdi_broker.db.sqlalchemy import login_failures as db_failures
from vdi_broker import exception
from vdi_broker.identity import base
from vdi_broker.identity import failure_events
from vdi_broker.identity import throttle

NOW = datetime.datetime(2026, 12, 8, 8, 0, 30, 250000)
SECRET = "Pa55-never-logged-9f3a"


def make_conf(test, **overrides):
    conf = cfg.ConfigOpts()
    throttle_conf.register_opts(conf)
    fixture = test.useFixture(config_fixture.Config(conf))
    conf([], default_config_files=[], default_config_dirs=[])
    fixture.config(group="login_throttle", **overrides)
    return conf


class FailureEventsTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = make_conf(self, max_failure_events=3)
        self.events = failure_events.FailureEvents(self.conf)
        self.ctxt = mock.Mock(request_id="req-1")

    def build(self, username="amy", client_id="tc-1",
              reason="wrong_password", now=NOW, **kw):
        return self.events.build(self.ctxt, username, client_id, reason,
                                 now=now, **kw)

    def test_row(self):
        row = self.build(detail={"seat": "SH-1", "remote_addr": "10.0.0.9"})
        self.assertEqual({
            "kind": "allocation", "action": "login", "result": "failure",
            "actor": "amy", "username": "amy", "request_id": "req-1",
            "target_type": None, "target_id": None, "pool_id": None,
            "desktop_id": None, "message": "login failed: wrong password",
            "detail": {"reason": "wrong_password", "client_id": "tc-1",
                       "seat": "SH-1", "remote_addr": "10.0.0.9"},
            "created_at": NOW}, {k: v for k, v in row.items()
                                 if k != "aggregate_key"})
        self.assertEqual(64, len(row["aggregate_key"]))

    def test_key_per_user_client_reason_and_interval(self):
        key = self.build()["aggregate_key"]
        # Same minute, name spelled otherwise: the same event.
        self.assertEqual(key, self.build(
            username=" AMY ", now=NOW.replace(second=59))["aggregate_key"])
        others = {self.build(username="bob")["aggregate_key"],
                  self.build(client_id="tc-2")["aggregate_key"],
                  self.build(reason="unknown_user")["aggregate_key"],
                  self.build(now=NOW.replace(minute=1))["aggregate_key"]}
        self.assertEqual(4, len(others))
        self.assertNotIn(key, others)

    def test_interval_is_configurable(self):
        self.useFixture(config_fixture.Config(self.conf)).config(
            group="login_throttle", failure_event_interval=600)
        self.assertEqual(
            self.build(now=NOW.replace(minute=0))["aggregate_key"],
            self.build(now=NOW.replace(minute=9))["aggregate_key"])
        self.assertNotEqual(
            self.build(now=NOW.replace(minute=9))["aggregate_key"],
            self.build(now=NOW.replace(minute=10))["aggregate_key"])

    def test_budget_then_overflow(self):
        rows = [self.build(username="u%d" % i) for i in range(5)]
        self.assertEqual(["u0", "u1", "u2", None, None],
                         [r["username"] for r in rows])
        self.assertEqual(rows[3]["aggregate_key"], rows[4]["aggregate_key"])
        self.assertEqual({"reason": "wrong_password", "overflow": True,
                          "max_failure_events": 3}, rows[3]["detail"])
        self.assertIn("max_failure_events", rows[3]["message"])
        # Keys already started stay named; a new interval starts over.
        self.assertEqual("u1", self.build(username="u1")["username"])
        self.assertEqual("u9", self.build(
            username="u9", now=NOW + datetime.timedelta(minutes=1))[
                "username"])

    def test_unknown_reason_is_described(self):
        self.assertEqual("login failed: unknown client",
                         self.build(reason="unknown_client")["message"])


class AdvanceTest(testtools.TestCase):
    """The counter arithmetic of db/sqlalchemy/login_failures.py."""

    COUNTER = {"threshold": 3, "window": datetime.timedelta(seconds=60),
               "lockout": datetime.timedelta(seconds=120)}

    def advance(self, count, locked, expires_in):
        row = {"count": count, "locked": locked,
               "expires_at": NOW + datetime.timedelta(seconds=expires_in)}
        return db_failures._advance(row, self.COUNTER, NOW)

    def test_new_or_expired_counter_starts_at_one(self):
        for count, locked in ((0, False), (2, False), (3, True)):
            self.assertEqual(
                {"count": 1, "locked": False,
                 "expires_at": NOW + datetime.timedelta(seconds=60)},
                self.advance(count, locked, 0))

    def test_counts_within_the_window(self):
        self.assertEqual(
            {"count": 2, "locked": False,
             "expires_at": NOW + datetime.timedelta(seconds=30)},
            self.advance(1, False, 30))

    def test_threshold_locks(self):
        self.assertEqual(
            {"count": 3, "locked": True,
             "expires_at": NOW + datetime.timedelta(seconds=120)},
            self.advance(2, False, 30))

    def test_locked_counter_is_left_alone(self):
        self.assertIsNone(self.advance(3, True, 50))


class LoginThrottleTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        self.conf = make_conf(self, user_failure_threshold=3,
                              client_failure_threshold=5)
        timeutils.set_time_override(NOW)
        self.addCleanup(timeutils.clear_time_override)
        self.db = {name: self.useFixture(fixtures.MockPatch(
            "vdi_broker.db.api.%s" % name)).mock
            for name in ("login_failures_get", "login_failure_record",
                         "login_failures_clear", "login_failures_purge")}
        self.db["login_failures_get"].return_value = {}
        self.db["login_failure_record"].side_effect = self.record
        self.recorded = []
        self.throttle = throttle.LoginThrottle(self.conf)
        self.driver = mock.Mock()
        self.ctxt = mock.Mock(request_id="req-1")

    def record(self, ctxt, now, counters, event):
        self.recorded.append((now, counters, event))
        return {c["id"]: {"count": 1, "newly_locked": False}
                for c in counters}

    def authenticate(self, username="amy", password=SECRET):
        return self.throttle.authenticate(self.ctxt, self.driver, username,
                                          password, "tc-1",
                                          detail={"seat": "SH-1"})

    def test_counter_ids(self):
        self.assertEqual(throttle.counter_id("user", "amy"),
                         throttle.counter_id("user", "amy"))
        self.assertNotEqual(throttle.counter_id("user", "amy"),
                            throttle.counter_id("client", "amy"))
        self.assertEqual(64, len(throttle.counter_id("user", "x" * 1000)))

    def test_failure_counts_both_and_records_its_reason(self):
        self.driver.authenticate.side_effect = exception.LoginFailed(
            reason="unknown_user")
        self.assertRaises(exception.LoginFailed, self.authenticate, "ghost")
        ((now, counters, event),) = self.recorded
        # Stored in whole seconds: MariaDB keeps no fractions.
        self.assertEqual(NOW.replace(microsecond=0), now)
        self.assertEqual([("user", "ghost", 3), ("client", "tc-1", 5)],
                         [(c["kind"], c["name"], c["threshold"])
                          for c in counters])
        self.assertEqual("unknown_user", event["detail"]["reason"])
        self.assertEqual("SH-1", event["detail"]["seat"])
        self.assertNotIn(SECRET, repr(self.recorded))

    def test_driver_without_a_reason(self):
        self.driver.authenticate.side_effect = exception.LoginFailed()
        self.assertRaises(exception.LoginFailed, self.authenticate)
        self.assertEqual("invalid_credentials",
                         self.recorded[0][2]["detail"]["reason"])

    def test_locked_is_refused_before_the_directory(self):
        self.db["login_failures_get"].return_value = {
            throttle.counter_id("user", "amy"): {
                "locked": True,
                "expires_at": NOW + datetime.timedelta(seconds=42)}}
        err = self.assertRaises(exception.LoginThrottled, self.authenticate)
        self.assertEqual({"Retry-After": "42"}, err.headers)
        self.assertFalse(self.driver.authenticate.called)
        ((_now, counters, event),) = self.recorded
        self.assertEqual([], list(counters))
        self.assertEqual({"reason": "locked_out", "locked": ["user"],
                          "client_id": "tc-1", "seat": "SH-1"},
                         event["detail"])

    def test_lockout_writes_its_event(self):
        self.driver.authenticate.side_effect = exception.LoginFailed(
            reason="wrong_password")
        user_id = throttle.counter_id("user", "amy")

        def record(ctxt, now, counters, event):
            self.recorded.append((now, counters, event))
            return {c["id"]: {"count": 3, "newly_locked": c["id"] == user_id,
                              "expires_at": now + c["lockout"]}
                    for c in counters}

        self.db["login_failure_record"].side_effect = record
        self.assertRaises(exception.LoginFailed, self.authenticate)
        reasons = [e["detail"]["reason"] for _n, _c, e in self.recorded]
        self.assertEqual(["wrong_password", "lockout"], reasons)
        self.assertEqual("user", self.recorded[1][2]["detail"]["locked"])
        self.assertIn("Login throttle: user amy locked out",
                      self.logger.output)

    def test_outage_is_recorded_not_counted(self):
        self.driver.authenticate.side_effect = exception.IdentityUnavailable(
            reason="down")
        self.assertRaises(exception.IdentityUnavailable, self.authenticate)
        ((_now, counters, event),) = self.recorded
        self.assertEqual([], list(counters))
        self.assertEqual("directory_unavailable", event["detail"]["reason"])

    def test_success_writes_nothing_without_earlier_failures(self):
        principal = base.Principal(username="amy")
        self.driver.authenticate.return_value = principal
        self.assertIs(principal, self.authenticate())
        self.assertFalse(self.db["login_failures_clear"].called)
        self.assertEqual([], self.recorded)
        # With a counter of the name: one delete.
        user_id = throttle.counter_id("user", "amy")
        self.db["login_failures_get"].return_value = {user_id: {
            "locked": False, "expires_at": NOW}}
        self.authenticate()
        self.db["login_failures_clear"].assert_called_once_with(
            self.ctxt, [user_id])

    def test_database_error_keeps_the_401(self):
        self.driver.authenticate.side_effect = exception.LoginFailed(
            reason="wrong_password")
        self.db["login_failure_record"].side_effect = db_exc.DBError("gone")
        self.assertRaises(exception.LoginFailed, self.authenticate)
        self.assertIn("Could not record a failed login of amy",
                      self.logger.output)

    def test_purge_at_most_once_per_interval(self):
        self.driver.authenticate.side_effect = exception.LoginFailed()
        for _i in range(3):
            self.assertRaises(exception.LoginFailed, self.authenticate)
        self.assertEqual(1, self.db["login_failures_purge"].call_count)
        timeutils.advance_time_seconds(throttle.PURGE_INTERVAL)
        self.assertRaises(exception.LoginFailed, self.authenticate)
        self.assertEqual(2, self.db["login_failures_purge"].call_count)

    def test_thresholds_zero_and_disabled(self):
        self.useFixture(config_fixture.Config(self.conf)).config(
            group="login_throttle", user_failure_threshold=0,
            client_failure_threshold=0)
        self.driver.authenticate.side_effect = exception.LoginFailed()
        self.assertRaises(exception.LoginFailed, self.authenticate)
        self.assertFalse(self.db["login_failures_get"].called)
        self.assertEqual([], list(self.recorded[0][1]))
        self.assertIsNotNone(self.recorded[0][2])


class ThrottleOptsTest(testtools.TestCase):

    def test_list_opts(self):
        (group, options), = throttle_conf.list_opts().items()
        self.assertEqual("login_throttle", group.name)
        self.assertEqual({"enabled", "failure_window",
                          "user_failure_threshold",
                          "client_failure_threshold", "lockout_duration",
                          "max_tracked", "failure_event_interval",
                          "max_failure_events"},
                         {o.name for o in options})
        self.assertTrue(next(o for o in options
                             if o.name == "max_tracked")
                        .deprecated_for_removal)

    def test_exception(self):
        err = exception.LoginThrottled(retry_after=42)
        self.assertEqual(429, err.code)
        self.assertEqual("Too Many Requests", err.title)
        self.assertEqual({"Retry-After": "42"}, err.headers)
        self.assertEqual({"Retry-After": "60"},
                         exception.LoginThrottled().headers)

    def test_reasons_do_not_reach_the_client(self):
        unknown = exception.LoginFailed(reason="unknown_user")
        wrong = exception.LoginFailed(reason="wrong_password")
        self.assertEqual(str(unknown), str(wrong))
        self.assertEqual(unknown.details(), wrong.details())
        self.assertEqual(unknown.headers, wrong.headers)
