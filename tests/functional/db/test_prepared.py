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

"""The login's statements on the DB-API cursor, on real servers.

db/sqlalchemy/prepared.py runs the login transaction's statements on the
cursor of MariaDB (mysqlclient, PyMySQL) and PostgreSQL (psycopg2)
connections. Here: what it reads equals what SQLAlchemy reads (JSON,
booleans, datetimes, NULLs), and the database's errors reach the login
as oslo.db's: a deadlock and a lock wait as DBDeadlock (the login runs
again), a killed connection as DBConnectionError with the pooled
connection dropped, a duplicate as DBDuplicateEntry.
"""

import datetime
import threading
from unittest import mock

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
from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import models
from vdi_broker.db.sqlalchemy import prepared

load_tests = testscenarios.load_tests_apply_scenarios

_FAILURES = models.LoginFailure.__table__
_SEATS = models.Seat.__table__
_EVENTS = models.Event.__table__
_FAILURE = sa.select(_FAILURES).where(_FAILURES.c.id == sa.bindparam("p_id"))
_FAILURES_ALL = sa.select(_FAILURES).order_by(_FAILURES.c.id)
_BUMP = (sa.update(_FAILURES).where(_FAILURES.c.id == sa.bindparam("p_id"))
         .values(count=_FAILURES.c.count + 1))
_SEATS_ALL = sa.select(_SEATS).order_by(_SEATS.c.name)
_EVENTS_ALL = sa.select(_EVENTS).order_by(_EVENTS.c.id)
_INSERT_SEAT = sa.insert(_SEATS)


class PreparedTestCase(testscenarios.WithScenarios, base.TestCase):

    scenarios = [
        ("mysql", {"backend": "mysql", "driver": None}),
        ("mysql-mysqlclient", {"backend": "mysql", "driver": "mysqldb"}),
        ("postgresql", {"backend": "postgresql", "driver": None}),
    ]

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(database.Database(
            self.backend, driver=self.driver))
        self.engine = self.database.engine

    def connect(self):
        conn = self.engine.connect()
        self.addCleanup(conn.close)
        self.assertTrue(prepared.fast(conn))
        return conn

    def failures(self, conn, names):
        now = timeutils.utcnow().replace(microsecond=0)
        for name in names:
            prepared.write(conn, sa.insert(_FAILURES), {
                "id": name, "kind": "user", "name": name, "count": 0,
                "locked": False, "expires_at": now})
        conn.commit()

    # -- types ---------------------------------------------------------

    def test_round_trips_equal_sqlalchemys(self):
        conn = self.connect()
        now = datetime.datetime(2026, 12, 3, 16, 0, 1)
        seats = [
            {"id": uuidutils.generate_uuid(), "name": "s-1", "site": "a",
             "location": None, "department": None,
             "tags": ["x", {"k": [1, 2.5, None, True]}],
             "description": "é ünïcode", "revision": 1, "created_at": now,
             "updated_at": None},
            {"id": uuidutils.generate_uuid(), "name": "s-2", "site": None,
             "location": "room", "department": "d", "tags": [],
             "description": None, "revision": 7, "created_at": now,
             "updated_at": now + datetime.timedelta(seconds=1)},
        ]
        for seat in seats:
            self.assertEqual(1, prepared.write(conn, _INSERT_SEAT, seat))
        prepared.write(conn, sa.insert(_FAILURES), {
            "id": "u", "kind": "user", "name": "u", "count": 3,
            "locked": True, "expires_at": now})
        prepared.write(conn, sa.insert(_FAILURES), {
            "id": "v", "kind": "user", "name": "v", "count": 0,
            "locked": False, "expires_at": now})
        common.insert_event(conn, None, "allocation", "login",
                            username="amy", detail={"reused": False,
                                                    "n": None})
        common.insert_event(conn, None, "allocation", "login")
        conn.commit()
        for stmt in (_SEATS_ALL, _FAILURES_ALL, _EVENTS_ALL):
            fast = prepared.rows(conn, stmt)
            slow = [dict(r) for r in conn.execute(stmt).mappings()]
            self.assertEqual(slow, fast)
            self.assertEqual([{k: type(v) for k, v in r.items()}
                              for r in slow],
                             [{k: type(v) for k, v in r.items()}
                              for r in fast])
        self.assertEqual(seats, prepared.rows(conn, _SEATS_ALL))
        failures = prepared.rows(conn, _FAILURES_ALL)
        self.assertIs(True, failures[0]["locked"])
        self.assertIs(False, failures[1]["locked"])
        self.assertEqual(now, failures[0]["expires_at"])
        events = prepared.rows(conn, _EVENTS_ALL)
        self.assertEqual({"reused": False, "n": None}, events[0]["detail"])
        self.assertIsNone(events[1]["detail"])
        self.assertEqual("success", events[1]["result"])

    def test_login_runs_on_the_cursor(self):
        ctxt = vdi_context.get_admin_context()
        pool = db.pool_create(ctxt, {"name": "pool", "flavor": "f",
                                     "image": "i", "max_size": 2})
        db.desktop_create(ctxt, {"pool_id": pool["id"], "name": "d-1",
                                 "server_id": uuidutils.generate_uuid(),
                                 "state": models.READY})
        with mock.patch.object(prepared, "_execute",
                               wraps=prepared._execute) as execute:
            result = logins.login(ctxt, pool, "amy")
        self.assertEqual("amy", result["desktop"]["assigned_user"])
        statements = [c.args[1] for c in execute.call_args_list]
        for stmt in (allocation._CLAIM, allocation._INSERT_SESSION,
                     common.INSERT_EVENT):
            self.assertIn(stmt, statements)

    # -- errors --------------------------------------------------------

    def test_deadlock_is_dbdeadlock(self):
        self.failures(self.connect(), ["a", "b"])
        one, two = self.connect(), self.connect()
        prepared.write(one, _BUMP, {"p_id": "a"})
        prepared.write(two, _BUMP, {"p_id": "b"})
        errors = []

        def cross(conn, row):
            try:
                prepared.write(conn, _BUMP, {"p_id": row})
            except db_exc.DBDeadlock as e:
                errors.append(e)
                conn.rollback()
            else:
                conn.commit()

        # Each waits for the other's first row, whichever asks first: a
        # cycle the server breaks by failing one of them.
        thread = threading.Thread(target=cross, args=(one, "b"))
        thread.start()
        cross(two, "a")
        thread.join(30)
        self.assertFalse(thread.is_alive())
        self.assertEqual(1, len(errors), errors)
        # The winner committed both its rows; the other's are rolled back.
        counts = {r["id"]: r["count"]
                  for r in prepared.rows(self.connect(), _FAILURES_ALL)}
        self.assertEqual({"a": 1, "b": 1}, counts)

    def test_lock_wait_is_what_sqlalchemy_raises(self):
        self.failures(self.connect(), ["a"])
        holder = self.connect()
        prepared.write(holder, _BUMP, {"p_id": "a"})
        raised = []
        for run in (lambda c: c.execute(_BUMP, {"p_id": "a"}),
                    lambda c: prepared.write(c, _BUMP, {"p_id": "a"})):
            waiter = self.connect()
            if self.backend == "postgresql":
                waiter.exec_driver_sql("SET lock_timeout = '300ms'")
            else:
                waiter.exec_driver_sql(
                    "SET SESSION innodb_lock_wait_timeout = 1")
            # (PostgreSQL: oslo.db leaves a lock timeout untranslated.)
            raised.append(self.assertRaises(
                (db_exc.DBError, sa.exc.DBAPIError), run, waiter))
            waiter.rollback()
        self.assertIs(type(raised[0]), type(raised[1]))
        if self.backend == "mysql":
            # oslo.db: InnoDB's lock wait timeout (1205) is a deadlock for
            # the retry.
            self.assertIsInstance(raised[1], db_exc.DBDeadlock)

    def test_killed_connection_is_dbconnectionerror(self):
        self.failures(self.connect(), ["a"])
        victim = self.connect()
        if self.backend == "postgresql":
            backend_id = prepared.scalar(
                victim, sa.select(sa.func.pg_backend_pid()))
            kill = "SELECT pg_terminate_backend(%d)" % backend_id
        else:
            backend_id = prepared.scalar(
                victim, sa.select(sa.func.connection_id()))
            kill = "KILL CONNECTION %d" % backend_id
        with self.engine.connect() as admin:
            admin.exec_driver_sql(kill)
            admin.commit()
        self.assertRaises(db_exc.DBConnectionError, prepared.rows, victim,
                          _FAILURE, {"p_id": "a"})
        self.assertTrue(victim.invalidated)
        victim.close()
        # The pool dropped it: the next connection works.
        self.assertEqual("a", prepared.first(self.connect(), _FAILURE,
                                             {"p_id": "a"})["id"])

    def test_duplicate_is_dbduplicateentry(self):
        conn = self.connect()
        seat = {"id": uuidutils.generate_uuid(), "name": "s", "tags": [],
                "revision": 1, "created_at": timeutils.utcnow()}
        prepared.write(conn, _INSERT_SEAT, seat)
        self.assertRaises(db_exc.DBDuplicateEntry, prepared.write, conn,
                          _INSERT_SEAT,
                          dict(seat, id=uuidutils.generate_uuid()))
        self.assertFalse(conn.invalidated)
