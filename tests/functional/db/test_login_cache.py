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

"""The allocators and pools a login decides on: cached, never stale.

A login reuses its process's decoded allocators and pools while their
generation (cache_generations) has not moved. These tests log in through
one engine (this process) and change the configuration through a second
engine on the same database (another API worker or a conductor), with
the storage functions the API and the conductor call: the very next
login must see the change. When nothing changed, the login reads neither
table (statements counted, not timed).
"""

import contextlib
import copy
import datetime
import re
import threading
from unittest import mock

from oslo_db.sqlalchemy import engines
from oslo_serialization import jsonutils
from oslo_utils import timeutils
import sqlalchemy as sa
import testscenarios

from tests import base
from tests.fixtures import database
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine as db_engine
from vdi_broker.db.sqlalchemy import login_cache
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker.login import chain
from vdi_broker.login import service as login_service

_TABLE_READ = re.compile(r"\bFROM\s+[`\"]?(pools|allocators)[`\"]?\s*($|\s)",
                         re.IGNORECASE)
_GENERATION_READ = re.compile(r"\bFROM\s+[`\"]?cache_generations\b",
                              re.IGNORECASE)

load_tests = testscenarios.load_tests_apply_scenarios


def _login(username="amy", groups=("agents",)):
    return {"principal": {"username": username, "groups": list(groups)},
            "client_id": "tc-" + username, "seat": None}


class LoginCacheTest(testscenarios.WithScenarios, base.TestCase):

    scenarios = database.BACKENDS
    backend = "sqlite"

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(database.Database(self.backend))
        login_cache.clear()
        self.addCleanup(login_cache.clear)
        self.ctxt = vdi_context.get_admin_context()
        # The other process: its own engine on the same database.
        self.other = engines.create_engine(self.database.url)
        self.addCleanup(self.other.dispose)
        db_engine.prepare_engine(self.other)
        self.other_writes = database.ConfigWriteGuard(self.other)
        self.addCleanup(self.other_writes.check)
        self.p1 = self._pool("p1")
        self.p2 = self._pool("p2")
        self.statements = []
        sa.event.listen(self.database.engine, "before_cursor_execute",
                        self._count)
        self.addCleanup(sa.event.remove, self.database.engine,
                        "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def _pool(self, name):
        return db.pool_create(self.ctxt, {
            "name": name, "flavor": "m1.desktop", "image": "win11"})

    def _allocator(self, name, priority, pool):
        return db.allocator_create(self.ctxt, {
            "name": name, "priority": priority, "plugin": "pool",
            "pool_id": pool["id"], "rules": {}})

    @contextlib.contextmanager
    def _elsewhere(self):
        """Storage calls in this block run on the other engine."""
        reset = database.patch_engine(self.other)
        try:
            yield
        finally:
            reset()

    def _decide(self, username="amy"):
        """The login's decision, in the login's transaction and inputs.

        Returns (inputs, outcome, refusal reason or None).
        """
        login = _login(username)
        now = timeutils.utcnow()
        with db.login_transaction(self.ctxt, username):
            inputs = db.login_inputs(self.ctxt, None, login["client_id"],
                                     username)
            outcome = chain.decide(self.conf, inputs,
                                   chain.request_for(login, inputs),
                                   now=now)
        refusal = chain.refusal(outcome, username, now=now)
        return inputs, outcome, refusal[0] if refusal else None

    def _table_reads(self):
        return [s for s in self.statements if _TABLE_READ.search(s)]

    def _generation(self, engine=None):
        table = models.CacheGeneration.__table__
        with (engine or self.database.engine).connect() as conn:
            return conn.execute(sa.select(table.c.generation).where(
                table.c.name == common.ALLOCATION_GENERATION)).scalar()

    # -- the cache is used when nothing changed -----------------------------

    def test_nothing_changed_no_table_read(self):
        self._allocator("agents", 10, self.p1)
        self.statements[:] = []
        self._decide()
        self.assertEqual(2, len(self._table_reads()), self.statements)
        self.statements[:] = []
        for user in ("bob", "cyd", "dan"):
            _inputs, outcome, refusal = self._decide(user)
            self.assertIsNone(refusal)
            self.assertEqual("p1", outcome.pool["name"])
        # Three logins: one generation read each, neither table.
        self.assertEqual([], self._table_reads())
        self.assertEqual(3, len([s for s in self.statements
                                 if _GENERATION_READ.search(s)]))

    def test_a_change_reads_both_tables_again_once(self):
        self._allocator("agents", 10, self.p1)
        self._decide()
        with self._elsewhere():
            db.pool_update(self.ctxt, self.p2["id"], {"description": "x"})
        self.statements[:] = []
        self._decide("bob")
        self._decide("cyd")
        self.assertEqual(2, len(self._table_reads()), self.statements)

    # -- a change elsewhere is seen by the very next login ------------------

    def test_pool_disabled_elsewhere(self):
        self._allocator("agents", 10, self.p1)
        self.assertIsNone(self._decide()[2])
        with self._elsewhere():
            db.pool_update(self.ctxt, "p1", {"enabled": False})
        self.assertEqual(chain.POOL_DISABLED, self._decide()[2])
        with self._elsewhere():
            db.pool_update(self.ctxt, "p1", {"enabled": True})
        self.assertIsNone(self._decide()[2])

    def test_allocator_changed_elsewhere(self):
        allocator = self._allocator("agents", 10, self.p1)
        self.assertEqual("p1", self._decide()[1].pool["name"])
        with self._elsewhere():
            db.allocator_update(self.ctxt, allocator["id"],
                                {"pool_id": self.p2["id"]})
        self.assertEqual("p2", self._decide()[1].pool["name"])

    def test_allocator_disabled_elsewhere(self):
        a = self._allocator("first", 10, self.p1)
        self._allocator("second", 20, self.p2)
        self.assertEqual("first", self._decide()[1].record["name"])
        with self._elsewhere():
            db.allocator_update(self.ctxt, a["id"], {"enabled": False})
        self.assertEqual("second", self._decide()[1].record["name"])

    def test_allocators_reordered_elsewhere(self):
        a = self._allocator("first", 10, self.p1)
        b = self._allocator("second", 20, self.p2)
        self.assertEqual("first", self._decide()[1].record["name"])
        with self._elsewhere():
            db.allocator_reorder(self.ctxt, [b["id"], a["id"]],
                                 [a["id"], b["id"]])
        self.assertEqual("second", self._decide()[1].record["name"])

    def test_allocator_deleted_elsewhere(self):
        a = self._allocator("first", 10, self.p1)
        self._allocator("second", 20, self.p2)
        self.assertEqual("first", self._decide()[1].record["name"])
        with self._elsewhere():
            db.allocator_delete(self.ctxt, a["id"])
        self.assertEqual("second", self._decide()[1].record["name"])

    def test_allocator_created_elsewhere(self):
        self._allocator("second", 20, self.p2)
        self.assertEqual("second", self._decide()[1].record["name"])
        with self._elsewhere():
            self._allocator("first", 10, self.p1)
        self.assertEqual("first", self._decide()[1].record["name"])

    def test_conductor_status_and_drain_elsewhere(self):
        self._allocator("agents", 10, self.p1)
        inputs = self._decide()[0]
        self.assertEqual("active", inputs["pools"][0]["status"])
        with self._elsewhere():
            # The pool manager's health status and a maintenance window's
            # drain, as the conductor writes them.
            db.pool_set_status(self.ctxt, self.p1["id"], "cloud_down",
                               "cloud does not answer")
        inputs = self._decide()[0]
        self.assertEqual("cloud_down", {p["name"]: p for p in
                                        inputs["pools"]}["p1"]["status"])
        with self._elsewhere():
            db.pools_drain(self.ctxt, [self.p1["id"]],
                           timeutils.utcnow() + datetime.timedelta(hours=1))
        self.assertEqual(chain.POOL_DRAINING, self._decide()[2])

    def test_explain_sees_the_change(self):
        a = self._allocator("first", 10, self.p1)
        self._allocator("second", 20, self.p2)
        logins = login_service.LoginService(self.conf, mock.Mock(),
                                            notifier=mock.Mock())
        explain = logins.explain(self.ctxt, _login())["outcome"]
        self.assertEqual("first", explain["allocator"])
        with self._elsewhere():
            db.allocator_update(self.ctxt, a["id"], {"enabled": False})
        explain = logins.explain(self.ctxt, _login())["outcome"]
        self.assertEqual("second", explain["allocator"])

    def test_threads_share_the_cache_and_see_the_last_change(self):
        a = self._allocator("first", 10, self.p1)
        self._allocator("second", 20, self.p2)
        errors = []

        def logins(n):
            try:
                for i in range(10):
                    self._decide("user-%d-%d" % (n, i))
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=logins, args=(n,))
                   for n in range(6)]
        for thread in threads:
            thread.start()
        # (SQLite: through this engine. Its writers take turns behind a
        # lock of their engine; a second engine's writer would starve
        # behind six threads of logins.)
        elsewhere = (contextlib.nullcontext() if self.backend == "sqlite"
                     else self._elsewhere())
        with elsewhere:
            for priority in (30, 5, 30, 5, 30):
                db.allocator_update(self.ctxt, a["id"],
                                    {"priority": priority})
        for thread in threads:
            thread.join()
        self.assertEqual([], errors)
        # The last change (first at 30, after second) for every login now.
        for n in range(3):
            self.assertEqual("second",
                             self._decide("after-%d" % n)[1].record["name"])

    # -- every writer moves the generation ----------------------------------

    def test_every_writer_moves_the_generation(self):
        pool = self._pool("p3")
        a = self._allocator("a", 10, pool)
        self._allocator("b", 20, pool)
        until = timeutils.utcnow() + datetime.timedelta(hours=1)
        writers = [
            ("pool_create", lambda: self._pool("p4")),
            ("pool_update", lambda: db.pool_update(
                self.ctxt, pool["id"], {"min_ready": 1})),
            ("pool_set_status", lambda: db.pool_set_status(
                self.ctxt, pool["id"], "degraded", "why")),
            ("pool_build_result", lambda: db.pool_build_result(
                self.ctxt, pool["id"], error="boom")),
            ("pools_drain", lambda: db.pools_drain(
                self.ctxt, [pool["id"]], until)),
            ("boot_feedback", lambda: db.boot_feedback(
                self.ctxt, pools={pool["id"]: lambda row: {
                    "build_allowance": 2}})),
            ("allocator_create", lambda: self._allocator("c", 30, pool)),
            ("allocator_update", lambda: db.allocator_update(
                self.ctxt, a["id"], {"is_default": True})),
            ("allocator_reorder", self._reverse),
            ("allocator_delete", lambda: db.allocator_delete(
                self.ctxt, "c")),
            ("pool_delete", lambda: db.pool_delete(self.ctxt, "p4")),
        ]
        for name, write in writers:
            before = self._generation()
            write()
            self.assertGreater(self._generation(), before, name)

    def _reverse(self):
        ids = [a["id"] for a in db.allocator_list(self.ctxt)]
        return db.allocator_reorder(self.ctxt, ids[::-1], ids)

    def test_no_change_no_move(self):
        pool = self._pool("p3")
        db.pool_set_status(self.ctxt, pool["id"], "degraded", "why")
        before = self._generation()
        # The pool manager sets the same status at every pass.
        db.pool_set_status(self.ctxt, pool["id"], "degraded", "why")
        db.pool_build_result(self.ctxt, pool["id"])
        self.assertEqual(before, self._generation())

    def test_a_rolled_back_write_moves_nothing(self):
        pool = self._pool("p3")
        before = self._generation()
        self.assertRaises(exception.DuplicateName, db.pool_update,
                          self.ctxt, pool["id"], {"name": "p1"})
        # The failed transaction's mark is not carried to the next one.
        db.pool_get(self.ctxt, pool["id"])
        with db_engine.main_context_manager.writer.using(self.ctxt) as s:
            s.execute(sa.select(1))
        self.assertEqual(before, self._generation())

    def test_guard_catches_a_write_without_bump(self):
        # The guard every functional database test runs with fails a
        # transaction that writes the pools without the bump.
        guard = database.ConfigWriteGuard(self.other)
        with self.other.begin() as conn:
            conn.execute(sa.update(models.Pool.__table__)
                         .values(description="by hand"))
        with self.other.begin() as conn:
            conn.execute(sa.update(models.Pool.__table__)
                         .values(description="by hand, bumped"))
            common.config_changed(conn)
        self.assertEqual(1, len(guard.missed))
        self.assertIn("UPDATE pools SET description", guard.missed[0][0])
        self.assertRaises(AssertionError, guard.check)
        self.other_writes.missed[:] = []

    # -- the cached rows are shared, so read-only ---------------------------

    def test_cached_rows_are_read_only(self):
        self._allocator("agents", 10, self.p1)
        inputs = self._decide()[0]
        pool = inputs["pools"][0]
        allocator = inputs["allocators"][0]
        self.assertRaises(TypeError, pool.__setitem__, "enabled", False)
        self.assertRaises(TypeError, pool.update, enabled=False)
        self.assertRaises(TypeError, allocator["rules"].__setitem__,
                          "groups", ["x"])
        self.assertIsInstance(inputs["pools"], tuple)
        # A copy is a plain dict to change; JSON and deepcopy work.
        mine = dict(pool)
        mine["enabled"] = False
        self.assertTrue(pool["enabled"])
        self.assertEqual(pool, copy.deepcopy(pool))
        self.assertEqual(pool["name"],
                         jsonutils.loads(jsonutils.dumps(pool))["name"])
        # The next login gets the same rows, unchanged.
        again = self._decide("bob")[0]
        self.assertIs(again["pools"][0], inputs["pools"][0])

    def test_two_databases_never_share_rows(self):
        self._allocator("agents", 10, self.p1)
        self.assertEqual("p1", self._decide()[1].pool["name"])
        # Another database at the same generation: its own rows.
        other = self.useFixture(database.Database(self.backend))
        self._pool("spare")
        self._allocator("agents", 10, self._pool("elsewhere"))
        # The same generation, or the test shows nothing.
        self.assertEqual(self._generation(self.database.engine),
                         self._generation(other.engine))
        self.assertEqual("elsewhere", self._decide()[1].pool["name"])
