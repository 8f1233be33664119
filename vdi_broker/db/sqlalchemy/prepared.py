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

"""The login's prebuilt Core statements, run on the DB-API cursor.

SQLAlchemy's execution of one statement (the execution context, the
parameters built again, the result object and its processors) cost the
login more CPU than the driver's ``cursor.execute``. For a statement built
once at import, this module compiles it once per dialect (SQL text,
parameter order, bind and result processors) and runs it on the cursor of
the SQLAlchemy Connection the enginefacade gave the caller: the same
database connection and transaction.

What stays SQLAlchemy's:

* errors: a DB-API exception goes through the Connection's own handling
  (:func:`_handle_error`), which fires the ``handle_error`` event that
  oslo.db's exception filters listen on (a deadlock is a ``DBDeadlock``,
  a lost connection a ``DBConnectionError`` and the pooled connection is
  invalidated);
* ``before_cursor_execute`` / ``after_cursor_execute`` listeners (tests
  and benchmarks count statements with them, oslo.db's
  ``connection_trace`` rewrites them) are called as SQLAlchemy calls
  them, with no execution context (which SQLAlchemy documents as
  possible);
* SQLite (datetimes stored as strings, its driver's own quirks) and any
  driver not in :data:`_DRIVERS` run through ``Connection.execute``.

Only statements built once belong here: the compiled form is cached per
statement object. Statements with expanding IN parameters are not
supported (their SQL depends on the list's length).
"""

import weakref

import sqlalchemy as sa

# The drivers whose DB-API connection the statements run on directly:
# the one place that decides between this path and SQLAlchemy's.
_DRIVERS = frozenset({("mysql", "mysqldb"), ("mysql", "pymysql"),
                      ("postgresql", "psycopg2")})

# {dialect: {(statement, column keys): _Compiled}}; a dialect belongs to
# one engine and goes with it.
_CACHE = weakref.WeakKeyDictionary()


def fast(connection):
    """Whether ``connection``'s statements may run on the DB-API cursor.

    Not when SQLAlchemy logs statements (``[database] connection_debug``):
    that log is written by its execution machinery.
    """
    dialect = connection.dialect
    return (dialect.name, dialect.driver) in _DRIVERS and \
        not getattr(connection, "_echo", False)


class _Compiled:
    """A statement compiled for one dialect, ready for the cursor."""

    __slots__ = ("sql", "binds", "positional", "types", "names",
                 "processors")

    def __init__(self, stmt, dialect, keys):
        dml = isinstance(stmt, sa.sql.dml.UpdateBase)
        # for_executemany: no RETURNING of an INSERT's new primary key
        # (nothing here reads it back).
        compiled = stmt.compile(dialect=dialect,
                                column_keys=list(keys) if dml else None,
                                for_executemany=dml)
        if compiled.has_out_parameters or getattr(
                compiled, "_post_compile_expanded_state", None) or \
                compiled.literal_execute_params or \
                compiled.post_compile_params:
            raise ValueError("not a statement for the cursor: %s" % stmt)
        self.sql = compiled.string
        self.positional = compiled.positional
        prefetch = {c.key: c for c in (compiled.insert_prefetch +
                                       compiled.update_prefetch)}
        binds = {}
        for bind, name in compiled.bind_names.items():
            if bind.callable is not None:
                raise ValueError("callable bind parameter %s" % name)
            processor = bind.type.dialect_impl(dialect).bind_processor(
                dialect)
            if name in prefetch:
                # A column left out of an INSERT (or UPDATE) with a
                # Python-side default, computed at each execution as
                # SQLAlchemy does (the models' defaults take no context).
                default = prefetch[name].default
                value = (_Default(default.arg) if default.is_callable
                         else default.arg)
                binds[name] = (name, value, processor)
            elif bind.required:
                binds[name] = (bind.key, _REQUIRED, processor)
            else:
                binds[name] = (bind.key, bind.value, processor)
        if self.positional:
            self.binds = [(name,) + binds[name]
                          for name in compiled.positiontup]
        else:
            self.binds = [(name,) + spec for name, spec in binds.items()]
        # The result's types by position; their processors are known once
        # the driver has described the columns (first execution).
        self.types = [c.type for c in getattr(stmt, "selected_columns", ())]
        self.names = None
        self.processors = None

    def parameters(self, params):
        if self.positional:
            values = []
            add = values.append
        else:
            values = {}
        for name, key, default, processor in self.binds:
            value = params.get(key, default) if params else default
            if value is _REQUIRED:
                raise sa.exc.ArgumentError(
                    "A value is required for bind parameter %r" % key)
            if value.__class__ is _Default:
                value = value.make()
            if processor is not None and value is not None:
                value = processor(value)
            if self.positional:
                add(value)
            else:
                values[name] = value
        return tuple(values) if self.positional else values

    def describe(self, dialect, description):
        """Column names and result processors from the driver's columns."""
        processors = []
        for i, column in enumerate(description):
            processor = None
            if i < len(self.types):
                processor = self.types[i].dialect_impl(
                    dialect).result_processor(dialect, column[1])
            processors.append(processor)
        # (None: no column needs one, the rows are taken as they are.)
        self.processors = processors if any(processors) else None
        self.names = [column[0] for column in description]


class _Default:
    __slots__ = ("make",)

    def __init__(self, arg):
        self.make = lambda: arg(None)


_REQUIRED = object()


def _compiled(connection, stmt, params):
    dialect = connection.dialect
    try:
        by_stmt = _CACHE[dialect]
    except KeyError:
        by_stmt = _CACHE.setdefault(dialect, {})
    keys = (stmt, tuple(params) if params and
            isinstance(stmt, sa.sql.dml.UpdateBase) else ())
    compiled = by_stmt.get(keys)
    if compiled is None:
        compiled = by_stmt[keys] = _Compiled(stmt, dialect, keys[1])
    return compiled


def _handle_error(connection, error, statement, parameters, cursor):
    """Raise ``error`` as SQLAlchemy would, through oslo.db's filters.

    ``Connection._handle_dbapi_exception`` is private, but it is the only
    way to run a DB-API error through the ``handle_error`` listeners
    (oslo.db's exc_filters: DBDeadlock, DBDuplicateEntry,
    DBConnectionError) and to invalidate the pooled connection on a
    disconnect. Called here only; tests/unit/db/test_prepared.py fails if
    SQLAlchemy changes it.
    """
    connection._handle_dbapi_exception(error, statement, parameters,
                                       cursor, None)


def _execute(connection, stmt, params, fetch):
    compiled = _compiled(connection, stmt, params)
    parameters = compiled.parameters(params)
    statement = compiled.sql
    if not connection.in_transaction():
        # As SQLAlchemy's autobegin: the connection's close (or the
        # enginefacade) ends it.
        connection.begin()
    dispatch = connection.dispatch
    # (A connection invalidated or closed meanwhile raises here, as
    # Connection.execute would.)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        if dispatch.before_cursor_execute:
            for fn in dispatch.before_cursor_execute:
                statement, parameters = fn(connection, cursor, statement,
                                           parameters, None, False)
        cursor.execute(statement, parameters)
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(connection, cursor, statement,
                                          parameters, None, False)
        if fetch:
            rows = cursor.fetchall()
            if compiled.names is None:
                compiled.describe(connection.dialect, cursor.description)
            result = _rows(compiled.names, compiled.processors, rows)
        else:
            result = cursor.rowcount
        cursor.close()
        return result
    except BaseException as e:
        if isinstance(e, connection.dialect.loaded_dbapi.Error) or \
                sa.util.is_exit_exception(e):
            _handle_error(connection, e, statement, parameters, cursor)
        # Not the database's error (a listener's, a processor's): as it
        # is, as SQLAlchemy raises it with an execution context.
        cursor.close()
        raise


def _rows(names, processors, rows):
    if processors is None:
        return [dict(zip(names, row)) for row in rows]
    return [{name: (value if processor is None else processor(value))
             for name, processor, value in zip(names, processors, row)}
            for row in rows]


def executed_rows(connection, stmt, params=None):
    """A SELECT's rows as plain dicts, through ``Connection.execute``.

    For statements built per call (which must not be cached here) and
    connections not :func:`fast`.
    """
    result = connection.execute(stmt, params)
    keys = result.keys()
    return [dict(zip(keys, row)) for row in result]


def rows(connection, stmt, params=None):
    """A SELECT's rows as plain dicts (column name: value)."""
    if not fast(connection):
        return executed_rows(connection, stmt, params)
    return _execute(connection, stmt, params, True)


def first(connection, stmt, params=None):
    """A SELECT's first row as a dict, or None."""
    found = rows(connection, stmt, params)
    return found[0] if found else None


def scalar(connection, stmt, params=None):
    """The first column of a SELECT's first row, or None."""
    if not fast(connection):
        return connection.execute(stmt, params).scalar()
    found = _execute(connection, stmt, params, True)
    return next(iter(found[0].values())) if found else None


def scalars(connection, stmt, params=None):
    """The first column of every row of a SELECT."""
    if not fast(connection):
        return connection.execute(stmt, params).scalars().all()
    return [next(iter(row.values()))
            for row in _execute(connection, stmt, params, True)]


def write(connection, stmt, params=None):
    """Run an INSERT, UPDATE or DELETE; the rows it matched."""
    if not fast(connection):
        return connection.execute(stmt, params).rowcount
    return _execute(connection, stmt, params, False)
