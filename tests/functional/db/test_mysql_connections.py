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

"""What the broker's MariaDB connections look like (both drivers).

Every connection runs in READ COMMITTED from the start, so a login costs
no isolation switch (four round trips: SET and COMMIT, then the reset at
checkin), and the login's user lock is gone once its connection is back
in the pool.
"""

import datetime
import threading

import fixtures
from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa
import testscenarios

from tests import base
from tests.fixtures import database
from tests.fixtures import logins
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import allocation
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

load_tests = testscenarios.load_tests_apply_scenarios


class MySQLConnectionTest(testscenarios.WithScenarios, base.TestCase):

    scenarios = [
        ("pymysql", {"driver": None}),
        ("mysqlclient", {"driver": "mysqldb"}),
    ]

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(database.Database(
            "mysql", driver=self.driver))
        self.ctxt = vdi_context.get_admin_context()
        self.pool = db.pool_create(self.ctxt, {
            "name": "pool", "flavor": "m1.desktop", "image": "win11",
            "min_ready": 0, "max_size": 3})
        for i in range(3):
            db.desktop_create(self.ctxt, {
                "pool_id": self.pool["id"], "name": "d-%d" % i,
                "server_id": uuidutils.generate_uuid(),
                "state": models.READY})

    def _login(self, username):
        return logins.claim(
            vdi_context.get_admin_context(),
            {"username": username, "client_id": "tc-1", "seat": None},
            {"pool_id": self.pool["id"], "binding_kind": None,
             "binding_key": None, "allocator_id": None,
             "allocator_name": "test"},
            {"id": uuidutils.generate_uuid(), "token_hash": "h" * 64,
             "expires_at": timeutils.utcnow() + datetime.timedelta(hours=1)})

    def test_every_connection_reads_committed(self):
        engine = self.database.engine
        # Fresh connections and the one oslo.db opened to test the URL.
        with engine.connect() as one, engine.connect() as two:
            for conn in (one, two):
                level = conn.execute(sa.text(
                    "SELECT @@session.tx_isolation")).scalar()
                self.assertEqual("READ-COMMITTED", level)

    def test_login_switches_no_isolation_and_releases_its_lock(self):
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        engine = self.database.engine
        sa.event.listen(engine, "before_cursor_execute", record)
        self.addCleanup(sa.event.remove, engine, "before_cursor_execute",
                        record)
        result = self._login("alice")
        self.assertEqual("alice", result["desktop"]["assigned_user"])
        self.assertFalse([s for s in statements if "ISOLATION" in s.upper()],
                         statements)
        self.assertTrue([s for s in statements if "get_lock" in s.lower()],
                        statements)
        # Another connection takes the user's lock at once: the login's
        # connection let it go when it went back to the pool.
        lock = allocation._user_lock_name(
            "alice", engine.url.database)
        with engine.connect() as conn:
            self.assertEqual(1, conn.execute(
                sa.select(sa.func.get_lock(lock, 0))).scalar())
            conn.execute(sa.select(sa.func.release_lock(lock)))

    def test_plain_server_writes_no_login_serial(self):
        # The per-user row is for Galera clusters only: on a single
        # server a login is what it was (GET_LOCK alone).
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        engine = self.database.engine
        with engine.connect() as conn:
            self.assertIs(False, conn.info["vdi_galera"])
        sa.event.listen(engine, "before_cursor_execute", record)
        self.addCleanup(sa.event.remove, engine, "before_cursor_execute",
                        record)
        self._login("alice")
        self.assertFalse([s for s in statements if "login_serials" in s],
                         statements)
        with engine.connect() as conn:
            self.assertEqual(0, conn.execute(sa.text(
                "SELECT COUNT(*) FROM login_serials")).scalar())

    def _hold_lock(self, username, database=None):
        """A connection of another login that holds the user's lock.

        ``database``: the lock of a broker on another database of the
        same server (default: this test's).
        """
        holder = self.database.engine.connect()
        self.addCleanup(holder.close)
        lock = allocation._user_lock_name(
            username, database or self.database.engine.url.database)
        self.assertEqual(1, holder.execute(
            sa.select(sa.func.get_lock(lock, 0))).scalar())
        return holder

    def test_login_behind_a_busy_lock_holder_answers_503_at_once(self):
        # Another login of the user holds the lock and is busy (a slow
        # statement): the login waits for it once and answers 503, rather
        # than wait again at each retry of its transaction.
        self.useFixture(fixtures.MockPatch(
            "vdi_broker.db.sqlalchemy.allocation._USER_LOCK_TIMEOUT", 1))
        holder = self._hold_lock("alice")
        busy = threading.Thread(target=holder.execute,
                                args=(sa.text("SELECT SLEEP(4)"),))
        busy.start()
        self.addCleanup(busy.join)
        watch = timeutils.StopWatch().start()
        self.assertRaises(exception.LoginInProgress, self._login, "alice")
        self.assertLess(watch.elapsed(), 3)

    def test_brokers_on_one_server_do_not_share_user_locks(self):
        # Named locks belong to the server: a login of alice on another
        # database of this server (another broker, another test run) is
        # busy, and this broker's alice logs in without waiting for it.
        holder = self._hold_lock(
            "alice", database="another_%s" % uuidutils.generate_uuid())
        busy = threading.Thread(target=holder.execute,
                                args=(sa.text("SELECT SLEEP(3)"),))
        busy.start()
        self.addCleanup(busy.join)
        watch = timeutils.StopWatch().start()
        result = self._login("alice")
        self.assertLess(watch.elapsed(), 2)
        self.assertEqual("alice", result["desktop"]["assigned_user"])

    def test_login_takes_the_lock_over_from_a_silent_session(self):
        # The connection of another login was lost (a firewall dropped
        # it) right after it took the lock: the server keeps the session,
        # silent, for hours. The next login ends that session.
        self.useFixture(fixtures.MockPatch(
            "vdi_broker.db.sqlalchemy.allocation._USER_LOCK_TIMEOUT", 1))
        holder = self._hold_lock("alice")
        watch = timeutils.StopWatch().start()
        result = self._login("alice")
        self.assertLess(watch.elapsed(), 4)
        self.assertEqual("alice", result["desktop"]["assigned_user"])
        self.assertRaises(db_exc.DBConnectionError, holder.execute,
                          sa.text("SELECT 1"))
