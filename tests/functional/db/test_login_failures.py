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

"""Failed logins in the database: shared counters, aggregated events.

The login throttle (vdi_broker/identity/throttle.py) on a real database,
SQLite, MariaDB and PostgreSQL: the lockout counts every failure exactly
once however many workers fail the same user at once, and failed logins
are one event per user name, client, reason and interval, bounded per
process.
"""

import concurrent.futures
import datetime
import threading

from oslo_utils import timeutils
import sqlalchemy as sa
import testscenarios

from tests import base
from tests.fixtures import database
from vdi_broker import context as vdi_context
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker.identity import throttle as throttle_mod

load_tests = testscenarios.load_tests_apply_scenarios

BACKENDS = database.BACKENDS

START = datetime.datetime(2026, 12, 8, 8, 0, 0)


class LoginFailuresTestCase(testscenarios.WithScenarios, base.TestCase):

    scenarios = BACKENDS

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(database.Database(self.backend))
        self.flags(group="login_throttle", failure_window=60,
                   user_failure_threshold=3, client_failure_threshold=5,
                   lockout_duration=120)
        timeutils.set_time_override(START)
        self.addCleanup(timeutils.clear_time_override)
        self.throttle = throttle_mod.LoginThrottle(self.conf)

    def ctxt(self):
        return vdi_context.RequestContext(request_id="req-test",
                                          overwrite=False)

    def fail(self, username="amy", client_id="tc-1",
             reason="wrong_password", throttle=None):
        return (throttle or self.throttle).failure(
            self.ctxt(), username, client_id, reason, {"seat": None})

    def check(self, username="amy", client_id="tc-1"):
        return self.throttle.check(self.ctxt(), username, client_id)

    def counters(self):
        with self.database.engine.connect() as conn:
            return [dict(r) for r in conn.execute(
                sa.select(models.LoginFailure.__table__)).mappings()]

    def failure_events(self):
        with self.database.engine.connect() as conn:
            return [dict(r) for r in conn.execute(
                sa.select(models.Event.__table__)
                .where(models.Event.action == "login")
                .order_by(models.Event.id)).mappings()]

    def advance(self, seconds):
        timeutils.advance_time_seconds(seconds)


class TestCounters(LoginFailuresTestCase):

    def test_lockout_after_the_threshold(self):
        self.assertEqual([], self.fail())
        self.assertEqual([], self.fail())
        self.check()
        self.assertEqual(["user"], self.fail())
        err = self.assertRaises(exception.LoginThrottled, self.check)
        self.assertEqual(429, err.code)
        self.assertEqual("120", err.headers["Retry-After"])
        self.assertEqual(["user"], err.kwargs["locked"])
        # Names are compared without case and surrounding spaces.
        self.assertRaises(exception.LoginThrottled, self.check, " AMY ")
        self.advance(100)
        err = self.assertRaises(exception.LoginThrottled, self.check)
        self.assertEqual("20", err.headers["Retry-After"])
        self.advance(21)
        self.check()
        # After the lockout the counter starts again from zero.
        self.assertEqual([], self.fail())
        self.check()

    def test_window_forgets_old_failures(self):
        self.fail()
        self.fail()
        self.advance(61)
        self.assertEqual([], self.fail())
        self.assertEqual([], self.fail())
        self.check()

    def test_attempts_while_locked_do_not_extend_the_lockout(self):
        self.flags(group="login_throttle", client_failure_threshold=0)
        for _i in range(3):
            self.fail()
        self.advance(60)
        for _i in range(10):
            self.assertEqual([], self.fail())
        self.advance(61)
        self.check()

    def test_client_lockout_whatever_the_name(self):
        for i in range(5):
            self.fail("user%d" % i, "tc-evil")
        err = self.assertRaises(exception.LoginThrottled, self.check,
                                "someone-else", "tc-evil")
        self.assertEqual(["client"], err.kwargs["locked"])
        self.check("someone-else", "tc-good")

    def test_success_clears_the_user_not_the_client(self):
        for i in range(2):
            self.fail("amy", "tc-1")
        for i in range(2):
            self.fail("bob%d" % i, "tc-1")
        standing = self.check("amy", "tc-1")
        self.assertTrue(standing.user_failed)
        self.throttle.success(self.ctxt(), standing)
        self.assertEqual({"bob0", "bob1", "tc-1"},
                         {c["name"] for c in self.counters()})
        # amy starts from zero again (from another client here)...
        self.fail("amy", "tc-2")
        self.fail("amy", "tc-2")
        self.check("amy", "tc-2")
        # ... while tc-1's counter ran on: its fifth failure locks it.
        self.assertEqual(["client"], self.fail("carol", "tc-1"))

    def test_success_without_failures_writes_nothing(self):
        statements = []

        def record(conn, cursor, statement, *args):
            verb = statement.split()[0].upper()
            # (Not SQLite's BEGIN IMMEDIATE of every transaction.)
            if verb in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                statements.append(verb)

        engine = self.database.engine
        sa.event.listen(engine, "before_cursor_execute", record)
        self.addCleanup(sa.event.remove, engine, "before_cursor_execute",
                        record)
        self.throttle.success(self.ctxt(), self.check())
        self.assertEqual(["SELECT"], statements)
        # After failures: one more statement, the DELETE of the counter.
        self.fail()
        del statements[:]
        self.throttle.success(self.ctxt(), self.check())
        self.assertEqual(["SELECT", "DELETE"], statements)

    def test_expired_counters_are_purged(self):
        self.fail("amy", "tc-1")
        self.assertEqual(2, len(self.counters()))
        # Expired (60 s) and a purge interval past that.
        self.advance(throttle_mod.PURGE_INTERVAL + 61)
        self.fail("bob", "tc-2")
        self.assertEqual({"bob", "tc-2"},
                         {c["name"] for c in self.counters()})

    def test_long_names_fit(self):
        name = "x" * 256
        for _i in range(3):
            self.fail(name, "c" * 255)
        self.assertRaises(exception.LoginThrottled, self.check, name,
                          "c" * 255)
        self.assertEqual(255, len(self.failure_events()[0]["username"]))

    def test_disabled_throttle_still_records_events(self):
        self.flags(group="login_throttle", enabled=False)
        for _i in range(5):
            self.fail()
        self.check()
        self.assertEqual([], self.counters())
        self.assertEqual([5], [e["occurrences"]
                               for e in self.failure_events()])


class TestConcurrency(LoginFailuresTestCase):
    """Workers failing the same user at once: no error, no double row."""

    WORKERS = 6

    def run_workers(self, per_worker, **fail_kwargs):
        gate = threading.Barrier(self.WORKERS)
        # One throttle per worker, as in separate API processes.
        throttles = [throttle_mod.LoginThrottle(self.conf)
                     for _i in range(self.WORKERS)]

        def worker(throttle):
            gate.wait(timeout=30)
            return [self.fail(throttle=throttle, **fail_kwargs)
                    for _i in range(per_worker)]

        with concurrent.futures.ThreadPoolExecutor(self.WORKERS) as pool:
            results = list(pool.map(worker, throttles, timeout=120))
        return [locked for batch in results for locked in batch]

    def test_every_failure_counts_once(self):
        self.flags(group="login_throttle", user_failure_threshold=1000,
                   client_failure_threshold=1000)
        self.run_workers(20)
        counts = {c["kind"]: c["count"] for c in self.counters()}
        self.assertEqual({"user": 120, "client": 120}, counts)
        events = self.failure_events()
        self.assertEqual(1, len(events), events)
        self.assertEqual(120, events[0]["occurrences"])

    def test_the_threshold_locks_exactly_once(self):
        self.flags(group="login_throttle", user_failure_threshold=10,
                   client_failure_threshold=0)
        outcomes = self.run_workers(5)
        self.assertEqual(1, outcomes.count(["user"]), outcomes)
        (counter,) = self.counters()
        # Failures that arrived after the lockout did not count.
        self.assertEqual(10, counter["count"])
        self.assertTrue(counter["locked"])
        self.assertRaises(exception.LoginThrottled, self.check)
        lockouts = [e for e in self.failure_events()
                    if e["detail"]["reason"] == "lockout"]
        self.assertEqual(1, len(lockouts))
        self.assertEqual(1, lockouts[0]["occurrences"])


class TestEvents(LoginFailuresTestCase):

    def test_one_event_per_user_client_reason_and_minute(self):
        self.flags(group="login_throttle", user_failure_threshold=0,
                   client_failure_threshold=0)
        self.advance(5)
        for _i in range(3):
            self.fail()
            self.advance(10)
        self.fail(reason="unknown_user")
        self.fail(client_id="tc-2")
        (first, unknown, other_client) = self.failure_events()
        self.assertEqual(3, first["occurrences"])
        self.assertEqual(START + datetime.timedelta(seconds=5),
                         first["created_at"])
        self.assertEqual(START + datetime.timedelta(seconds=25),
                         first["last_at"])
        self.assertEqual(("allocation", "login", "failure", "amy", "amy"),
                         (first["kind"], first["action"], first["result"],
                          first["username"], first["actor"]))
        self.assertEqual({"reason": "wrong_password", "client_id": "tc-1",
                          "seat": None}, first["detail"])
        self.assertEqual("login failed: wrong password", first["message"])
        self.assertEqual("req-test", first["request_id"])
        self.assertEqual("unknown_user", unknown["detail"]["reason"])
        self.assertEqual("tc-2", other_client["detail"]["client_id"])
        # The next minute starts another event; case does not.
        self.advance(30)
        self.fail(username="AMY")
        events = self.failure_events()
        self.assertEqual(4, len(events))
        self.assertEqual(1, events[-1]["occurrences"])

    def test_events_are_bounded_per_process(self):
        self.flags(group="login_throttle", max_failure_events=5,
                   user_failure_threshold=0, client_failure_threshold=0)
        for i in range(40):
            self.fail("sprayed-%d" % i, "tc-%d" % i, reason="unknown_user")
        events = self.failure_events()
        self.assertEqual(6, len(events))
        named, overflow = events[:5], events[5]
        self.assertEqual(["sprayed-%d" % i for i in range(5)],
                         [e["username"] for e in named])
        self.assertIsNone(overflow["username"])
        self.assertEqual({"reason": "unknown_user", "overflow": True,
                          "max_failure_events": 5}, overflow["detail"])
        self.assertEqual(40, sum(e["occurrences"] for e in events))
        # Names already recorded in this interval keep their event.
        self.fail("sprayed-1", "tc-1", reason="unknown_user")
        self.assertEqual(2, self.failure_events()[1]["occurrences"])
        # A new interval, a new budget.
        self.advance(60)
        self.fail("sprayed-99", "tc-99", reason="unknown_user")
        self.assertEqual("sprayed-99", self.failure_events()[-1]["username"])

    def test_refusals_do_not_count(self):
        for _i in range(10):
            self.throttle.refusal(self.ctxt(), "amy", "tc-1",
                                  "directory_unavailable")
        self.check()
        self.assertEqual([], self.counters())
        (event,) = self.failure_events()
        self.assertEqual(10, event["occurrences"])
        self.assertEqual("directory_unavailable", event["detail"]["reason"])
