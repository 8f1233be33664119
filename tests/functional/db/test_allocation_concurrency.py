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

"""The product's promise: concurrent logins never share a desktop.

Every scenario fires real login transactions (the storage calls the login
service makes, see tests/fixtures/logins.py and LoginService._claim, with
the decision given instead of the allocator chain's) from many threads
at once against a real database, then checks the outcome in the database
itself: each desktop has at most one owner, sessions and desktops agree,
bindings are unique and nothing leaks. Each scenario runs on SQLite (the
all-in-one mode), MariaDB and PostgreSQL.

Database errors that made a login run its transaction again
(deadlocks, duplicate keys) are counted through the engine's
``handle_error`` event; set VDI_TEST_CONCURRENCY_LOG to a file name to get
one line of numbers per scenario.
"""

import collections
import concurrent.futures
import datetime
import hashlib
import os
import threading
import time

from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa
import testscenarios
from testtools import content

from tests import base
from tests.fixtures import database
from tests.fixtures import logins
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

load_tests = testscenarios.load_tests_apply_scenarios

BACKENDS = [
    ("sqlite", {"backend": "sqlite"}),
    ("mysql", {"backend": "mysql"}),
    # The C driver the performance guide recommends for MariaDB.
    ("mysql-mysqlclient", {"backend": "mysql", "driver": "mysqldb"}),
    ("postgresql", {"backend": "postgresql"}),
]

THREADS = 40


class _Stats:
    """Counts the database errors raised under the allocations."""

    def __init__(self):
        self.lock = threading.Lock()
        self.errors = collections.Counter()

    def handle_error(self, context):
        name = type(context.original_exception).__name__
        text = str(context.original_exception).lower()
        if "deadlock" in text or "1213" in text:
            kind = "deadlock"
        elif "duplicate" in text or "unique" in text:
            kind = "duplicate"
        elif "lock" in text:
            kind = "lock"
        else:
            kind = name
        with self.lock:
            self.errors[kind] += 1


class AllocationConcurrencyTest(testscenarios.WithScenarios, base.TestCase):

    scenarios = BACKENDS
    backend = "sqlite"
    driver = None

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(database.Database(
            self.backend, driver=self.driver))
        self.ctxt = vdi_context.get_admin_context()
        self.stats = _Stats()
        sa.event.listen(self.database.engine, "handle_error",
                        self.stats.handle_error)
        self.addCleanup(sa.event.remove, self.database.engine,
                        "handle_error", self.stats.handle_error)
        self._counter = 0
        self._counter_lock = threading.Lock()

    # -- helpers ---------------------------------------------------------

    def _pool(self, ready, release_action="reboot", name="pool"):
        pool = db.pool_create(self.ctxt, {
            "name": name, "flavor": "m1.desktop", "image": "win11",
            "min_ready": 0, "max_size": ready,
            "release_action": release_action})
        for i in range(ready):
            db.desktop_create(self.ctxt, {
                "pool_id": pool["id"], "name": "%s-%03d" % (name, i),
                "server_id": uuidutils.generate_uuid(),
                "state": models.READY, "address": "10.0.%d.%d" % (
                    i // 250, i % 250 + 1)})
        return pool

    def _login(self, pool, username, kind=None, client_id=None,
               seat=None, register_seat=False):
        """One login exactly as the conductor runs it."""
        with self._counter_lock:
            self._counter += 1
            n = self._counter
        token = "token-%d-%s" % (n, uuidutils.generate_uuid())
        request = {"username": username,
                   "client_id": client_id or "tc-%04d" % n, "seat": seat}
        key = {None: None, "user": username, "seat": seat,
               "client": request["client_id"]}[kind]
        decision = {"pool_id": pool["id"], "binding_kind": kind,
                    "binding_key": key, "allocator_id": None,
                    "allocator_name": "test-%s" % (kind or "pool")}
        session_values = {
            "id": uuidutils.generate_uuid(),
            "token_hash": hashlib.sha256(token.encode()).hexdigest(),
            "expires_at": timeutils.utcnow() + datetime.timedelta(hours=8)}
        return logins.claim(vdi_context.get_admin_context(), request,
                            decision, session_values, attempts=8,
                            candidates=16, register_seat=register_seat)

    def _run(self, calls, threads=THREADS):
        """Run (fn, args) calls from many threads started together.

        Returns a list of (args, result or exception), in call order.
        """
        start = threading.Event()

        def call(fn, args):
            start.wait(timeout=30)
            try:
                return fn(*args)
            except Exception as e:
                return e

        with concurrent.futures.ThreadPoolExecutor(threads) as executor:
            futures = [executor.submit(call, fn, args)
                       for fn, args in calls]
            # Let the first wave of threads reach the gate, then open it.
            time.sleep(0.2)
            start.set()
            return [(args, f.result(timeout=120))
                    for (fn, args), f in zip(calls, futures)]

    def _rows(self, model, **filters):
        with self.database.engine.connect() as conn:
            stmt = sa.select(model.__table__)
            for key, value in filters.items():
                stmt = stmt.where(getattr(model.__table__.c, key) == value)
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def _report(self, scenario, **numbers):
        numbers["db_errors"] = dict(self.stats.errors)
        line = "%s %s %s" % (self.backend, scenario, numbers)
        self.addDetail("numbers", content.text_content(line))
        path = os.environ.get("VDI_TEST_CONCURRENCY_LOG")
        if path:
            with open(path, "a") as f:
                f.write(line + "\n")

    def _assert_no_unexpected(self, outcomes, allowed=()):
        unexpected = [(args, r) for args, r in outcomes
                      if isinstance(r, Exception) and
                      not isinstance(r, tuple(allowed))]
        self.assertEqual([], [repr(r) for _args, r in unexpected[:5]],
                         "%d calls failed unexpectedly" % len(unexpected))

    def _assert_consistent(self, pool):
        """Invariants that hold after any mix of logins and logouts."""
        desktops = {d["id"]: d for d in
                    self._rows(models.Desktop, pool_id=pool["id"])}
        active = self._rows(models.ClientSession, state="active")
        bindings = self._rows(models.Binding)
        # A desktop serves one user: its active sessions are all that
        # user's, and the desktop is assigned to them.
        by_desktop = collections.defaultdict(set)
        for s in active:
            by_desktop[s["desktop_id"]].add(s["username"])
        for desktop_id, users in by_desktop.items():
            desktop = desktops[desktop_id]
            self.assertEqual(1, len(users),
                             "desktop %s used by %s" % (desktop_id, users))
            self.assertEqual(models.ASSIGNED, desktop["state"],
                             "desktop %s has an active session of %s but "
                             "is %s" % (desktop_id, users,
                                        desktop["state"]))
            self.assertEqual(users.pop(), desktop["assigned_user"])
        # Nothing leaks: an assigned floating desktop has a session.
        bound = {b["desktop_id"] for b in bindings}
        for desktop in desktops.values():
            if desktop["state"] == models.ASSIGNED and \
                    desktop["id"] not in bound:
                self.assertIn(desktop["id"], by_desktop,
                              "desktop %s is assigned to %s without any "
                              "session" % (desktop["id"],
                                           desktop["assigned_user"]))
            if desktop["state"] != models.ASSIGNED:
                self.assertIsNone(desktop["assigned_user"])
        # At most one active session per desktop (a new login supersedes).
        for desktop_id in by_desktop:
            count = sum(1 for s in active if s["desktop_id"] == desktop_id)
            self.assertEqual(1, count, "desktop %s has %d active sessions"
                             % (desktop_id, count))
        return desktops, active, bindings

    # -- scenario 1: many users, too few desktops --------------------------

    def test_floating_no_desktop_assigned_twice(self):
        pool = self._pool(150)
        users = ["user%03d" % i for i in range(200)]
        start = time.monotonic()
        outcomes = self._run([(self._login, (pool, u)) for u in users])
        elapsed = time.monotonic() - start
        self._assert_no_unexpected(outcomes, [exception.PoolExhausted])
        won = {args[1]: r for args, r in outcomes
               if not isinstance(r, Exception)}
        exhausted = [args[1] for args, r in outcomes
                     if isinstance(r, exception.PoolExhausted)]
        self._report("floating", ok=len(won), exhausted=len(exhausted),
                     seconds=round(elapsed, 2))
        self.assertEqual(150, len(won))
        self.assertEqual(50, len(exhausted))

        desktops, active, _ = self._assert_consistent(pool)
        assigned = [d for d in desktops.values()
                    if d["state"] == models.ASSIGNED]
        self.assertEqual(150, len(assigned))
        owners = [d["assigned_user"] for d in assigned]
        self.assertEqual(len(owners), len(set(owners)))
        self.assertEqual(set(won), set(owners))
        # Sessions <-> desktops: one to one, and as each login was told.
        self.assertEqual(150, len(active))
        self.assertEqual(150, len({s["desktop_id"] for s in active}))
        for s in active:
            self.assertEqual(s["username"],
                             desktops[s["desktop_id"]]["assigned_user"])
            self.assertEqual(won[s["username"]]["desktop"]["id"],
                             s["desktop_id"])
            self.assertEqual(won[s["username"]]["session"]["id"], s["id"])
        for user, result in won.items():
            self.assertFalse(result["reused"])
            self.assertEqual(user, result["desktop"]["assigned_user"])
            self.assertEqual(models.ASSIGNED, result["desktop"]["state"])

    # -- scenario 2: the same user from many thin clients at once ------------

    def test_user_binding_same_user_concurrently(self):
        pool = self._pool(30)
        users = ["agent%02d" % i for i in range(20)]
        start = time.monotonic()
        results = collections.defaultdict(list)
        # Waves of 4 users, each logging in from 10 thin clients at once.
        for wave in range(0, len(users), 4):
            calls = [(self._login, (pool, user, "user"))
                     for _ in range(10) for user in users[wave:wave + 4]]
            outcomes = self._run(calls)
            self._assert_no_unexpected(outcomes)
            for args, r in outcomes:
                results[args[1]].append(r)
        elapsed = time.monotonic() - start
        self._report("user-binding", logins=200, users=len(users),
                     seconds=round(elapsed, 2))

        desktops, active, bindings = self._assert_consistent(pool)
        self.assertEqual(20, len(bindings))
        by_key = {b["key"]: b for b in bindings}
        self.assertEqual(set(users), set(by_key))
        self.assertEqual(20, len({b["desktop_id"] for b in bindings}))
        for user in users:
            binding = by_key[user]
            self.assertEqual("user", binding["kind"])
            desktop = desktops[binding["desktop_id"]]
            self.assertEqual(models.ASSIGNED, desktop["state"])
            self.assertEqual(user, desktop["assigned_user"])
            sessions = self._rows(models.ClientSession, username=user)
            self.assertEqual(10, len(sessions))
            self.assertEqual({binding["desktop_id"]},
                             {s["desktop_id"] for s in sessions})
            self.assertEqual({binding["id"]},
                             {s["binding_id"] for s in sessions})
            self.assertEqual(
                {binding["desktop_id"]},
                {r["desktop"]["id"] for r in results[user]})
            # Exactly one of the ten logins claimed, the others reused.
            self.assertEqual(1, sum(1 for r in results[user]
                                    if not r["reused"]))
        ready = [d for d in desktops.values() if d["state"] == models.READY]
        self.assertEqual(10, len(ready))

        # A returning user (sequential login) gets the same desktop back.
        again = self._login(pool, users[3], "user")
        self.assertTrue(again["reused"])
        self.assertEqual(by_key[users[3]]["desktop_id"],
                         again["desktop"]["id"])
        self.assertEqual(by_key[users[3]]["id"], again["binding"]["id"])
        self._assert_consistent(pool)

    def test_seat_binding_different_users_concurrently(self):
        # Seat bindings: different users at the same seats at once. The
        # seat keeps one desktop; the last login takes it over.
        pool = self._pool(12)
        seats = ["SH-3F-%02d" % i for i in range(4)]
        for seat in seats:
            db.seat_create(self.ctxt, {"name": seat})
        calls = [(self._login, (pool, "agent%d-%s" % (i, seat), "seat",
                                None, seat))
                 for i in range(10) for seat in seats]
        outcomes = self._run(calls)
        self._assert_no_unexpected(outcomes)
        self._report("seat-binding", logins=len(calls))
        desktops, active, bindings = self._assert_consistent(pool)
        self.assertEqual(sorted(seats), sorted(b["key"] for b in bindings))
        by_seat = {b["key"]: b["desktop_id"] for b in bindings}
        for args, r in outcomes:
            self.assertEqual(by_seat[args[4]], r["desktop"]["id"])
        for seat in seats:
            sessions = [s for s in active if s["seat"] == seat]
            self.assertEqual(1, len(sessions), seat)
            self.assertEqual(by_seat[seat], sessions[0]["desktop_id"])
        self.assertEqual(8, sum(1 for d in desktops.values()
                                if d["state"] == models.READY))

    def test_unknown_seats_registered_once_concurrently(self):
        # First logins from seats nobody registered, all at once, with
        # [client_session] register_unknown_clients: each seat is
        # registered once (the losers' duplicate key runs their login
        # again, which finds the seat).
        pool = self._pool(40)
        seats = ["SH-4F-%02d" % i for i in range(4)]
        calls = [(self._login, (pool, "agent%d-%s" % (i, seat), None,
                                None, seat, True))
                 for i in range(8) for seat in seats]
        outcomes = self._run(calls)
        self._assert_no_unexpected(outcomes)
        self.assertEqual(len(calls), len(outcomes))
        self.assertEqual(sorted(seats), sorted(
            s["name"] for s in db.seat_list(self.ctxt)))
        self.assertEqual(sorted(seats), sorted(
            e["message"] for e in db.event_list(
                self.ctxt, {"action": "seat.register"})))
        self._assert_consistent(pool)

    # -- scenario 3: the same user, floating, from many thin clients -------

    def test_floating_same_user_holds_one_desktop(self):
        pool = self._pool(40)
        users = ["floater%02d" % i for i in range(10)]
        start = time.monotonic()
        for wave in range(0, len(users), 4):
            outcomes = self._run([(self._login, (pool, user))
                                  for _ in range(10)
                                  for user in users[wave:wave + 4]])
            self._assert_no_unexpected(outcomes)
        elapsed = time.monotonic() - start
        self._report("floating-same-user", logins=100, users=len(users),
                     seconds=round(elapsed, 2))

        desktops, active, _ = self._assert_consistent(pool)
        for user in users:
            held = [d for d in desktops.values()
                    if d["assigned_user"] == user]
            self.assertEqual(1, len(held), "%s holds %d desktops" % (
                user, len(held)))
            sessions = self._rows(models.ClientSession, username=user)
            self.assertEqual({held[0]["id"]},
                             {s["desktop_id"] for s in sessions})
            self.assertEqual(1, sum(1 for s in sessions
                                    if s["state"] == "active"))
        self.assertEqual(30, sum(1 for d in desktops.values()
                                 if d["state"] == models.READY))

    # -- scenario 4: logouts racing with logins ------------------------------

    def _close(self, session_id):
        return db.session_close(vdi_context.get_admin_context(), session_id,
                                "logout")

    def _logout_login_race(self, release_action):
        pool = self._pool(30, release_action=release_action)
        first = ["worker%02d" % i for i in range(20)]
        sessions = {}
        for user in first:
            sessions[user] = self._login(pool, user)["session"]["id"]
        start = time.monotonic()
        for _round in range(3):
            calls = []
            for user in first:
                # The user logs out on one thin client while logging in
                # again on another one.
                calls.append((self._close, (sessions[user],)))
                calls.append((self._login, (pool, user)))
            newcomers = ["late%02d-%d" % (i, _round) for i in range(10)]
            calls += [(self._login, (pool, u)) for u in newcomers]
            outcomes = self._run(calls)
            self._assert_no_unexpected(outcomes, [exception.PoolExhausted])
            for args, r in outcomes:
                if isinstance(r, dict) and args[1] in sessions:
                    sessions[args[1]] = r["session"]["id"]
            self._assert_consistent(pool)
            # Newcomers leave again, so the next round has room.
            for args, r in outcomes:
                if isinstance(r, dict) and args[1] not in sessions:
                    self._close(r["session"]["id"])
            if release_action != "keep":
                self._finish_releases(pool)
            self._assert_consistent(pool)
        elapsed = time.monotonic() - start
        self._report("logout-login-%s" % release_action, rounds=3,
                     seconds=round(elapsed, 2))
        return pool

    def _finish_releases(self, pool):
        """What the pool manager does once a reboot is done."""
        for d in self._rows(models.Desktop, pool_id=pool["id"]):
            if d["state"] == models.RELEASING:
                db.desktop_transition(self.ctxt, d["id"],
                                      [models.RELEASING],
                                      {"state": models.READY,
                                       "state_reason": None})

    def test_logouts_racing_logins_keep(self):
        pool = self._logout_login_race("keep")
        desktops, active, _ = self._assert_consistent(pool)
        # Every worker still works on exactly one desktop.
        for i in range(20):
            user = "worker%02d" % i
            self.assertEqual(1, sum(1 for d in desktops.values()
                                    if d["assigned_user"] == user),
                             user)
            self.assertEqual(1, sum(1 for s in active
                                    if s["username"] == user), user)

    def test_logouts_racing_logins_reboot(self):
        pool = self._logout_login_race("reboot")
        desktops, active, _ = self._assert_consistent(pool)
        for i in range(20):
            user = "worker%02d" % i
            self.assertLessEqual(sum(1 for d in desktops.values()
                                     if d["assigned_user"] == user), 1,
                                 user)


class DuplicateCheck(base.TestCase):
    """The retry decorator treats a duplicate binding as a lost race."""

    def test_duplicate_is_retried(self):
        calls = []

        @common.retry_on_conflict
        def flaky():
            calls.append(1)
            if len(calls) < 3:
                raise db_exc.DBDuplicateEntry(columns=["key"])
            return "done"

        self.assertEqual("done", flaky())
        self.assertEqual(3, len(calls))
