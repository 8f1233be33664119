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

"""Unit tests: statements on the DB-API cursor (db/sqlalchemy/prepared.py).

The broker runs only MariaDB and PostgreSQL through the cursor
(tests/functional/db/test_prepared.py proves them); here an in-memory
SQLite engine made by oslo.db is let through the same path, so that the
bind and result processors (SQLite stores datetimes, JSON and booleans as
text and integers) and oslo.db's error translation are exercised without
a server.
"""

import datetime
import inspect
import sqlite3
from unittest import mock

import fixtures
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import engines
import sqlalchemy as sa
from sqlalchemy.dialects.mysql import mysqldb
from sqlalchemy.dialects.postgresql import psycopg2
import testtools

from vdi_broker.db.sqlalchemy import allocation
from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import prepared

_META = sa.MetaData()
_T = sa.Table(
    "t", _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(32), nullable=False, unique=True),
    sa.Column("flag", sa.Boolean, nullable=True),
    sa.Column("doc", sa.JSON, nullable=True),
    sa.Column("at", sa.DateTime, nullable=True),
    sa.Column("state", sa.String(16), nullable=False, default="new"),
    sa.Column("made", sa.DateTime, nullable=True,
              default=lambda: datetime.datetime(2026, 1, 2, 3, 4, 5)))
_INSERT = sa.insert(_T)
_BY_NAME = sa.select(_T).where(_T.c.name == sa.bindparam("p_name"))
_ALL = sa.select(_T).order_by(_T.c.id)
_COUNT = sa.select(sa.func.count()).select_from(_T)
_RENAME = (sa.update(_T).where(_T.c.id == sa.bindparam("p_id"))
           .values(name=sa.bindparam("p_name"), state="renamed"))

_ROWS = [
    {"id": 1, "name": "a", "flag": True, "doc": {"k": [1, "x", None]},
     "at": datetime.datetime(2026, 12, 3, 16, 0, 0, 123456),
     "state": "set"},
    {"id": 2, "name": "b", "flag": False, "doc": [], "at": None,
     "state": "set"},
    {"id": 3, "name": "c", "flag": None, "doc": None, "at": None,
     "state": "set"},
]


class CursorOnSQLiteTest(testtools.TestCase):
    """The cursor path, on SQLite let through it for the test."""

    def setUp(self):
        super().setUp()
        self.engine = engines.create_engine("sqlite://")
        self.addCleanup(self.engine.dispose)
        self.conn = self.engine.connect()
        self.addCleanup(self.conn.close)
        _META.create_all(self.conn)
        self.conn.commit()
        self.useFixture(_Fast())

    def test_type_round_trips_match_sqlalchemy(self):
        for row in _ROWS:
            self.assertEqual(1, prepared.write(self.conn, _INSERT, row))
        fast = prepared.rows(self.conn, _ALL)
        slow = [dict(r) for r in self.conn.execute(_ALL).mappings()]
        self.assertEqual(slow, fast)
        for row, got in zip(_ROWS, fast):
            self.assertEqual(dict(row, made=got["made"]), got)
        # Types, not only values: a boolean stays a bool, a datetime a
        # datetime (SQLite gives integers and strings).
        self.assertIs(True, fast[0]["flag"])
        self.assertIs(False, fast[1]["flag"])
        self.assertIsInstance(fast[0]["at"], datetime.datetime)

    def test_column_defaults_of_an_insert(self):
        prepared.write(self.conn, _INSERT, {"id": 9, "name": "d"})
        row = prepared.first(self.conn, _BY_NAME, {"p_name": "d"})
        self.assertEqual("new", row["state"])
        self.assertEqual(datetime.datetime(2026, 1, 2, 3, 4, 5),
                         row["made"])
        self.assertIsNone(row["doc"])

    def test_update_literals_and_rowcount(self):
        prepared.write(self.conn, _INSERT, _ROWS[0])
        self.assertEqual(1, prepared.write(self.conn, _RENAME, {
            "p_id": 1, "p_name": "z"}))
        self.assertEqual(0, prepared.write(self.conn, _RENAME, {
            "p_id": 99, "p_name": "y"}))
        row = prepared.first(self.conn, _BY_NAME, {"p_name": "z"})
        self.assertEqual("renamed", row["state"])
        self.assertIsNone(prepared.first(self.conn, _BY_NAME,
                                         {"p_name": "a"}))

    def test_scalar_and_scalars(self):
        self.assertEqual(0, prepared.scalar(self.conn, _COUNT))
        for row in _ROWS:
            prepared.write(self.conn, _INSERT, row)
        self.assertEqual(3, prepared.scalar(self.conn, _COUNT))
        self.assertEqual([1, 2, 3], prepared.scalars(
            self.conn, sa.select(_T.c.id).order_by(_T.c.id)))

    def test_missing_parameter_is_refused(self):
        self.assertRaises(sa.exc.ArgumentError, prepared.rows, self.conn,
                          _BY_NAME, {})

    def test_duplicate_is_translated_by_oslo_db(self):
        prepared.write(self.conn, _INSERT, _ROWS[0])
        e = self.assertRaises(db_exc.DBDuplicateEntry, prepared.write,
                              self.conn, _INSERT, dict(_ROWS[1], name="a"))
        self.assertEqual(["name"], e.columns)
        # The connection is still usable: the error was no disconnect.
        self.assertFalse(self.conn.invalidated)
        self.assertEqual(1, prepared.scalar(self.conn, _COUNT))

    def test_other_errors_as_sqlalchemy_raises_them(self):
        bad = sa.select(sa.text("nosuchcolumn")).select_from(_T)
        slow = self.assertRaises(sa.exc.DBAPIError, self.conn.execute, bad)
        self.conn.rollback()
        fast = self.assertRaises(sa.exc.DBAPIError, prepared.rows,
                                 self.conn, bad)
        self.assertIs(type(slow), type(fast))
        self.assertIsInstance(fast.orig, sqlite3.OperationalError)

    def test_cursor_listeners_see_the_statements(self):
        seen = []

        def before(conn, cursor, statement, parameters, context, many):
            seen.append(("before", statement.split()[0], context))

        def after(conn, cursor, statement, parameters, context, many):
            seen.append(("after", statement.split()[0], context))

        sa.event.listen(self.engine, "before_cursor_execute", before)
        sa.event.listen(self.engine, "after_cursor_execute", after)
        conn = self.engine.connect()
        self.addCleanup(conn.close)
        prepared.rows(conn, _BY_NAME, {"p_name": "a"})
        # (oslo.db's SQLite BEGIN comes first, through SQLAlchemy.)
        self.assertEqual([("before", "SELECT", None),
                          ("after", "SELECT", None)], seen[-2:])

    def test_rewriting_listener_is_obeyed(self):
        # oslo.db's connection_trace rewrites the statement (retval=True).
        def before(conn, cursor, statement, parameters, context, many):
            return statement + " -- traced", parameters

        sa.event.listen(self.engine, "before_cursor_execute", before,
                        retval=True)
        statements = []
        sa.event.listen(self.engine, "after_cursor_execute",
                        lambda conn, cursor, statement, *a:
                        statements.append(statement))
        conn = self.engine.connect()
        self.addCleanup(conn.close)
        self.assertEqual(0, prepared.scalar(conn, _COUNT))
        self.assertTrue(statements[0].endswith(" -- traced"))

    def test_begins_a_transaction_like_sqlalchemy(self):
        conn = self.engine.connect()
        self.addCleanup(conn.close)
        self.assertFalse(conn.in_transaction())
        prepared.rows(conn, _ALL)
        self.assertTrue(conn.in_transaction())

    def test_compiled_once_per_statement(self):
        with mock.patch.object(prepared, "_Compiled",
                               wraps=prepared._Compiled) as compiled:
            for i in range(3):
                prepared.rows(self.conn, _BY_NAME, {"p_name": str(i)})
        self.assertEqual(1, compiled.call_count)


class _Fast(fixtures.Fixture):
    """SQLite's driver let through the cursor path."""

    def _setUp(self):
        self.useFixture(fixtures.MockPatchObject(
            prepared, "_DRIVERS",
            prepared._DRIVERS | {("sqlite", "pysqlite")}))


class SelectionTest(testtools.TestCase):

    def test_sqlite_stays_on_sqlalchemy(self):
        engine = sa.create_engine("sqlite://")
        self.addCleanup(engine.dispose)
        with engine.connect() as conn:
            self.assertFalse(prepared.fast(conn))
            with mock.patch.object(prepared, "_execute") as execute:
                self.assertEqual([{"one": 1}], prepared.rows(
                    conn, sa.select(sa.literal(1).label("one"))))
            execute.assert_not_called()

    def test_mariadb_and_postgresql_drivers_take_the_cursor(self):
        for dialect in (mysqldb.dialect(), psycopg2.dialect()):
            conn = mock.Mock(dialect=dialect, _echo=False)
            self.assertTrue(prepared.fast(conn), dialect)

    def test_statement_logging_stays_on_sqlalchemy(self):
        self.useFixture(_Fast())
        engine = sa.create_engine("sqlite://", echo=True)
        self.addCleanup(engine.dispose)
        with engine.connect() as conn:
            self.assertFalse(prepared.fast(conn))
        engine.echo = False
        with engine.connect() as conn:
            self.assertTrue(prepared.fast(conn))


class CompileTest(testtools.TestCase):
    """What the cursor gets for the login's statements (no server)."""

    def test_claim_on_mysqlclient(self):
        compiled = prepared._Compiled(allocation._CLAIM, mysqldb.dialect(),
                                      ("p_id", "p_username", "p_now"))
        now = datetime.datetime(2026, 12, 3)
        self.assertIn("%s", compiled.sql)
        self.assertEqual(
            ("assigned", "amy", now, 1, now, "d-1", "ready"),
            compiled.parameters({"p_id": "d-1", "p_username": "amy",
                                 "p_now": now}))

    def test_claim_on_psycopg2(self):
        compiled = prepared._Compiled(allocation._CLAIM, psycopg2.dialect(),
                                      ("p_id", "p_username", "p_now"))
        params = compiled.parameters({"p_id": "d-1", "p_username": "amy",
                                      "p_now": None})
        self.assertEqual("d-1", params["p_id"])
        self.assertEqual("ready", params["state_1"])
        self.assertIn("%(p_id)s", compiled.sql)

    def test_json_is_serialized_for_the_driver(self):
        compiled = prepared._Compiled(_INSERT, mysqldb.dialect(),
                                      tuple(_ROWS[0]))
        params = compiled.parameters(_ROWS[0])
        self.assertIn('{"k": [1, "x", null]}', params)

    def test_insert_returns_nothing(self):
        # PostgreSQL would add RETURNING for the new key of a single-row
        # INSERT; the login never reads it.
        compiled = prepared._Compiled(common.INSERT_EVENT,
                                      psycopg2.dialect(),
                                      ("kind", "action"))
        self.assertNotIn("RETURNING", compiled.sql)

    def test_expanding_in_is_refused(self):
        self.assertRaises(ValueError, prepared._Compiled,
                          allocation._CURRENT_DESKTOP_OF_POOLS,
                          psycopg2.dialect(), ())


class HandleErrorContractTest(testtools.TestCase):
    """The one private SQLAlchemy method prepared.py relies on.

    Fails when SQLAlchemy renames it or changes its arguments: then
    prepared._handle_error needs another way to reach the handle_error
    listeners (oslo.db's exception filters) and the disconnect handling.
    """

    def test_signature(self):
        method = sa.engine.Connection._handle_dbapi_exception
        self.assertEqual(
            ["self", "e", "statement", "parameters", "cursor", "context",
             "is_sub_exec"],
            list(inspect.signature(method).parameters))

    def test_fires_handle_error_and_raises_its_translation(self):
        engine = engines.create_engine("sqlite://")
        self.addCleanup(engine.dispose)
        seen = []
        sa.event.listen(engine, "handle_error",
                        lambda ctx: seen.append(ctx.original_exception))
        error = sqlite3.OperationalError("no such table: nowhere")
        with engine.connect() as conn:
            conn.begin()
            e = self.assertRaises(db_exc.DBError, prepared._handle_error,
                                  conn, error, "SELECT 1", (), None)
        self.assertIs(error, seen[0])
        self.assertIs(error, e.inner_exception.orig)
