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

"""The multi-row UPDATE's pieces that need no database.

What the statements do to rows is tested on MariaDB and PostgreSQL in
tests/functional/db/test_batch_writes.py.
"""

import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from tests import base
from vdi_broker.db.sqlalchemy import multirow

_TABLE = sa.Table("things", sa.MetaData(), sa.Column("k", sa.String(9)),
                  sa.Column("at", sa.DateTime), sa.Column("doc", sa.JSON))
_UPDATE = multirow.Update(
    _TABLE, "p_k", [("p_k", sa.String()), ("p_at", sa.DateTime()),
                    ("p_doc", sa.JSON())],
    "t.k = v.p_k", [("at", "v.p_at"), ("doc", "v.p_doc")])


class _Connection:
    def __init__(self, dialect):
        self.dialect = dialect


class TestRounds(base.TestCase):

    def test_each_key_once_per_round_in_order(self):
        rows = ["a1", "b1", "a2", "c1", "a3", "b2"]
        self.assertEqual([["a1", "b1", "c1"], ["a2", "b2"], ["a3"]],
                         multirow.rounds(rows, key=lambda r: r[0]))

    def test_no_duplicates_one_round(self):
        self.assertEqual([["a", "b"]], multirow.rounds(["a", "b"], str))
        self.assertEqual([], multirow.rounds([], str))


class TestStatements(base.TestCase):

    def test_supported(self):
        for dialect, expected in ((mysql.pymysql.dialect(), True),
                                  (mysql.mysqldb.dialect(), True),
                                  (postgresql.psycopg2.dialect(), True),
                                  (sqlite.pysqlite.dialect(), False)):
            self.assertEqual(expected,
                             multirow.supported(_Connection(dialect)),
                             dialect.driver)

    def test_one_placeholder_per_value(self):
        for dialect in (mysql.pymysql.dialect(),
                        postgresql.psycopg2.dialect()):
            sql = _UPDATE.sql(dialect, 4)
            self.assertEqual(12, sql.count("%s"), sql)
            self.assertNotIn("%%", sql)

    def test_mysql_rows_drive_and_datetimes_keep_fractions(self):
        sql = _UPDATE.sql(mysql.pymysql.dialect(), 2)
        self.assertEqual(
            "UPDATE (SELECT %s AS p_k, CAST(%s AS DATETIME(6)) AS p_at, "
            "%s AS p_doc UNION ALL SELECT %s, CAST(%s AS DATETIME(6)), %s) "
            "AS v STRAIGHT_JOIN things AS t ON t.k = v.p_k  SET "
            "t.at = v.p_at, t.doc = v.p_doc WHERE 1 = 1", sql)

    def test_postgresql_first_row_typed(self):
        sql = _UPDATE.sql(postgresql.psycopg2.dialect(), 2)
        self.assertIn("FROM (VALUES (%s::text, %s::timestamp, %s::json), "
                      "(%s, %s, %s)) AS v (p_k, p_at, p_doc)", sql)
        self.assertTrue(sql.startswith(
            "UPDATE things AS t SET at = v.p_at, doc = v.p_doc FROM"), sql)

    def test_parameters_in_row_order_json_serialised(self):
        when = datetime.datetime(2026, 1, 2, 3, 4, 5, 6)
        params = _UPDATE.parameters(postgresql.psycopg2.dialect(), [
            {"p_k": "a", "p_at": when, "p_doc": {"x": [1]}},
            {"p_k": "b", "p_at": None, "p_doc": None}])
        self.assertEqual(("a", when, '{"x": [1]}', "b", None, None), params)
