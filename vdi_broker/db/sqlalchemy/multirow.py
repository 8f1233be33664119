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

"""One UPDATE for many rows: a batch joined to the table it updates.

PyMySQL, mysqlclient and psycopg2 run an ``executemany`` of an UPDATE as
one statement per row, and the server parses, plans and runs each. The
write-behind batches (the heartbeats', the agent reports') instead send
their rows as a derived table ``v`` joined to the target ``t``, at most
:data:`CHUNK` rows a statement:

* MariaDB/MySQL: ``UPDATE (SELECT ... UNION ALL SELECT ...) AS v
  STRAIGHT_JOIN t ON ... SET ... WHERE ...`` (the batch drives: one
  unique-key lookup per row, never a scan of the table);
* PostgreSQL: ``UPDATE t SET ... FROM (VALUES ...) AS v(...) WHERE ...``.

An UPDATE writes only rows that exist: a row of the batch without its
target changes nothing (unlike ``INSERT ... ON DUPLICATE KEY UPDATE``,
which would create it). A target row must join one row of ``v`` at most
(which one would win is undefined): :func:`rounds` splits a batch that
names a key twice. Other databases (SQLite) keep the ``executemany``.

The SQL is text built here, run with the driver's own parameters
(``exec_driver_sql``): a SQLAlchemy construct of a few thousand bound
parameters costs more CPU to build and look up than the rows' UPDATEs.
"""

import sqlalchemy as sa

# Rows per statement: a few hundred kilobytes of SQL, far below
# max_allowed_packet, and few enough that a statement's locks are short.
CHUNK = 500

_DIALECTS = ("mysql", "mariadb", "postgresql")


def supported(connection):
    """Whether ``connection`` takes the multi-row form (else executemany)."""
    dialect = connection.dialect
    return dialect.name in _DIALECTS and \
        dialect.paramstyle in ("format", "pyformat")


def rounds(rows, key):
    """``rows`` as lists naming each key once, in their order.

    The n-th row of a key goes to the n-th round: running the rounds one
    after the other writes a key's rows in order, as ``executemany``
    would (a batch from a write-behind buffer is one round).
    """
    seen = {}
    out = []
    for row in rows:
        n = seen.get(key(row), 0)
        seen[key(row)] = n + 1
        if n == len(out):
            out.append([])
        out[n].append(row)
    return out


def _pg_type(type_):
    if isinstance(type_, sa.DateTime):
        return "timestamp"
    if isinstance(type_, sa.JSON):
        return "json"
    if isinstance(type_, sa.Float):
        return "double precision"
    if isinstance(type_, sa.Integer):
        return "bigint"
    return "text"


class Update:
    """``UPDATE table AS t`` from the rows of a batch, seen as ``v``.

    ``key``: the name of the value that identifies a row's target (the
    rows are written in its order, so that two batches lock their
    targets in the same order); ``columns``: (name, SQLAlchemy type) of
    the rows' values, read as ``v.<name>`` (the rows are dicts with
    these keys); ``on``: how a row finds its target (SQL over ``t`` and
    ``v``); ``assignments``: (column of ``t``, SQL expression);
    ``where``: a further condition; ``joins``: ``JOIN`` or ``LEFT
    JOIN`` clauses to other tables whose conditions do not name ``t``
    (PostgreSQL joins them to ``v`` before ``t``). An assignment reads
    the row as it was before the statement, except on MariaDB/MySQL,
    where an earlier assignment of the same statement may have changed
    it: put those that read a column before the one that sets it.
    """

    def __init__(self, table, key, columns, on, assignments, where="1 = 1",
                 joins=()):
        self.table = table
        self.key = key
        self.columns = tuple(columns)
        self.on = on
        self.assignments = tuple(assignments)
        self.where = where
        self.joins = " ".join(joins)
        self._parts = {}

    def _compiled(self, dialect):
        """The statement's parts and bind processors for ``dialect``."""
        # Per driver: the bind processors (JSON's) are the driver's.
        cached = (dialect.name, dialect.driver)
        parts = self._parts.get(cached)
        if parts is not None:
            return parts
        table = dialect.identifier_preparer.format_table(self.table)
        names = [name for name, _type in self.columns]
        processors = tuple(
            type_.dialect_impl(dialect).bind_processor(dialect)
            for _name, type_ in self.columns)
        if dialect.name == "postgresql":
            # Typed in the first row: VALUES takes its column types from
            # it (a column of NULLs would otherwise be text).
            first = "(%s)" % ", ".join(
                "%%s::%s" % _pg_type(type_) for _name, type_ in self.columns)
            other = "(%s)" % ", ".join(["%s"] * len(names))
            head = "UPDATE %s AS t SET %s FROM (VALUES " % (
                table, ", ".join("%s = %s" % a for a in self.assignments))
            tail = ") AS v (%s) %s WHERE %s AND (%s)" % (
                ", ".join(names), self.joins, self.on, self.where)
        else:
            # Each row's datetimes cast: the UNION's column is a string
            # otherwise, and its fraction of a second must survive.
            values = ["CAST(%s AS DATETIME(6))"
                      if isinstance(type_, sa.DateTime) else "%s"
                      for _name, type_ in self.columns]
            first = "SELECT %s" % ", ".join(
                "%s AS %s" % pair for pair in zip(values, names))
            other = "SELECT %s" % ", ".join(values)
            head = "UPDATE ("
            tail = ") AS v STRAIGHT_JOIN %s AS t ON %s %s SET %s WHERE %s" % (
                table, self.on, self.joins,
                ", ".join("t.%s = %s" % a for a in self.assignments),
                self.where)
        parts = (first, other, head, tail, processors,
                 ", " if dialect.name == "postgresql" else " UNION ALL ")
        self._parts[cached] = parts
        return parts

    def sql(self, dialect, count):
        first, other, head, tail, _processors, glue = self._compiled(dialect)
        return head + glue.join([first] + [other] * (count - 1)) + tail

    def parameters(self, dialect, rows):
        processors = self._compiled(dialect)[4]
        names = [name for name, _type in self.columns]
        params = []
        for row in rows:
            for name, process in zip(names, processors):
                value = row[name]
                params.append(value if process is None or value is None
                              else process(value))
        return tuple(params)

    def execute(self, connection, rows):
        """Run the UPDATE for ``rows`` (one round): rows updated."""
        dialect = connection.dialect
        size = CHUNK
        rows = sorted(rows, key=lambda row: row[self.key])
        updated = 0
        for start in range(0, len(rows), size):
            part = rows[start:start + size]
            result = connection.exec_driver_sql(
                self.sql(dialect, len(part)),
                self.parameters(dialect, part))
            updated += max(result.rowcount, 0)
        return updated
