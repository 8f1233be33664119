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

"""The database engine: configuration and what every connection needs.

``main_context_manager`` is the one enginefacade transaction context every
storage module decorates its functions with. The listeners here adapt each
backend to the broker: SQLite writers take turns in the all-in-one mode,
MariaDB runs in READ COMMITTED like PostgreSQL (and each connection knows
whether its server is a Galera node), and a login's MariaDB user lock is
dropped when its connection goes back to the pool.
"""

import threading

from oslo_db.sqlalchemy import enginefacade
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import keepalive

main_context_manager = enginefacade.transaction_context()


def configure(conf):
    """Configure the engine facade; a facade already in use is kept."""
    try:
        # thread_checkin: oslo.db's sleep(0) at every connection checkin
        # lets eventlet's green threads take turns; the broker runs no
        # eventlet (real threads are switched by the interpreter), so it
        # only cost a system call per transaction.
        main_context_manager.configure(thread_checkin=False,
                                       **dict(conf.database.items()))
    except enginefacade.AlreadyStartedError:
        pass


def _serialize_sqlite_writers(engine):
    """Make SQLite safe and quick for a threaded all-in-one broker.

    pysqlite begins transactions lazily, so two threads that both read
    and then write deadlock on the lock upgrade and fail at once with
    "database is locked"; SQLite's own busy handler then sleeps and polls.
    In the embedded mode every transaction therefore takes a process-wide
    lock at BEGIN (handed over without polling) and the database write
    lock with BEGIN IMMEDIATE (for other processes such as
    vdi-broker-manage). MariaDB and PostgreSQL need none of this.
    """
    if engine.dialect.name != "sqlite" or \
            engine.url.database in (None, "", ":memory:"):
        return
    lock = threading.RLock()

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL survives a crash of the broker; only a power
        # cut may lose the last transactions. FULL costs an fsync per
        # commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    # oslo.db gives file databases a NullPool: a new connection per
    # transaction, and closing each costs more than the transaction.
    # Keep them in a pool, with the same event listeners (as
    # Pool.recreate() does).
    old = engine.pool
    if isinstance(old, sa.pool.NullPool):
        engine.pool = sa.pool.QueuePool(
            old._creator, pool_size=5, max_overflow=20, timeout=60,
            recycle=old._recycle, echo=old.echo,
            reset_on_return=old._reset_on_return,
            _dispatch=old.dispatch, dialect=old._dialect)
        old.dispose()

    # oslo.db's own "begin" listener has just emitted a deferred BEGIN,
    # which holds no lock yet: swap it for an immediate one.
    @sa.event.listens_for(engine, "begin")
    def _begin(connection):
        lock.acquire()
        connection.info["vdi_sqlite_lock"] = True
        connection.exec_driver_sql("ROLLBACK")
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @sa.event.listens_for(engine, "commit")
    @sa.event.listens_for(engine, "rollback")
    def _end(connection):
        if connection.info.pop("vdi_sqlite_lock", False):
            lock.release()


def _release_user_locks_at_checkin(engine):
    """MariaDB/MySQL: drop a login's user lock when its connection returns.

    Registered when the engine is made, before any thread uses it:
    SQLAlchemy iterates a pool's listeners without a lock, so a listener
    added while other threads check connections in fails them with
    "deque mutated during iteration".
    """
    if engine.dialect.name != "mysql":
        return
    # The lock itself belongs to the allocation transaction; imported here
    # because that module needs this one for its transaction context.
    from vdi_broker.db.sqlalchemy import allocation
    release = allocation._release_user_locks
    if not sa.event.contains(engine.pool, "checkin", release):
        sa.event.listen(engine.pool, "checkin", release)


def _read_committed_on_mysql(engine):
    """MariaDB/MySQL: every broker transaction runs in READ COMMITTED.

    As on PostgreSQL: every statement sees the latest commits, and InnoDB
    takes no gap locks, which under REPEATABLE READ turned concurrent
    logins into piles of deadlocks. Set once per connection rather than
    per transaction: switching the level for one transaction costs four
    round trips (SET and COMMIT, then again to reset it at checkin).
    """
    if engine.dialect.name != "mysql":
        return

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(
                "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            # A node of a Galera cluster (wsrep_on): the login's per-user
            # lock needs a row too (allocation._lock_user). Asked once per
            # connection; a plain MariaDB or MySQL has no such variable.
            cursor.execute("SHOW VARIABLES LIKE 'wsrep_on'")
            row = cursor.fetchone()
            connection_record.info["vdi_galera"] = bool(
                row and str(row[1]).upper() == "ON")
        finally:
            cursor.close()

    # oslo.db has already opened a connection to test the URL, before this
    # listener existed: drop it, so that every connection gets the level.
    engine.dispose()


def prepare_engine(engine):
    """What every engine of the broker needs (also for test engines)."""
    keepalive.prepare_engine(engine)
    _serialize_sqlite_writers(engine)
    _read_committed_on_mysql(engine)
    _release_user_locks_at_checkin(engine)


main_context_manager.append_on_engine_create(prepare_engine)


def get_engine():
    return main_context_manager.writer.get_engine()
