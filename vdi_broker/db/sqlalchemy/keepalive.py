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

"""TCP keepalive and timeouts on the broker's database connections (R12).

A firewall that silently drops an idle connection, or a network that
stops delivering, leaves a pooled connection that looks open. Without a
bound, the next statement on it waits for an answer for as long as the
kernel retransmits (15 minutes on Linux), holding an API thread and, on
the server, the locks of a transaction that never ends. Every engine of
the broker therefore gets, from ``[database_network]``:

* TCP keepalive (``SO_KEEPALIVE``, ``TCP_KEEPIDLE``, ``TCP_KEEPINTVL``,
  ``TCP_KEEPCNT``), so idle connections stay known to firewalls and dead
  peers are found, and ``TCP_USER_TIMEOUT`` (unacknowledged data);
* a connect timeout and a read timeout: a lost connection fails the
  statement as a disconnect (oslo.db ``DBConnectionError``, a 503 for
  the client) and the pool replaces it. PyMySQL and mysqlclient have
  ``read_timeout``/``write_timeout``; libpq has none, so psycopg2 waits
  for the server through a wait callback that gives up at the deadline
  (``psycopg2.extensions.set_wait_callback``: the connection is closed,
  which SQLAlchemy reports as a disconnect);
* on the server, a statement time limit just above the read timeout and
  an idle-in-transaction limit, so that the server rolls back what the
  broker gave up and releases its locks.

Connection parameters from the URL or ``[database] connection_parameters``
win over these. SQLite needs none of it.

A PostgreSQL server that cannot be reached, or that is not a primary any
more, is also a connection error (503): oslo.db knows libpq's message of
before version 14 ("could not connect to server") only; since 14, libpq
says ``connection to server at "host", port N failed: ...`` (and, with
``target_session_attrs=read-write``, "session is read-only" for a standby
during a failover), an asynchronous connect to one refusing host just
"Connection refused", which oslo.db let through as a bare
``OperationalError``, a 500. :func:`_pg_connect_failed` is registered as
an oslo.db exception filter for those.
"""

import os
import select
import socket

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import exc_filters
from oslo_log import log as logging
from oslo_utils import timeutils
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from vdi_broker import conf as vdi_conf

LOG = logging.getLogger(__name__)

# Connect arguments of the DB-API drivers that take them directly.
_MYSQL_DRIVERS = ("pymysql", "mysqldb")
_PG_DRIVERS = ("psycopg2",)
# The server's statement limit is the read timeout plus this (seconds): the
# broker gives up first (a disconnect: 503 for the client) and the server
# then stops the statement nobody waits for any more.
SERVER_MARGIN = 1
# ER_UNKNOWN_SYSTEM_VARIABLE
_UNKNOWN_SYSTEM_VARIABLE = 1193

# The psycopg2 wait callback's bounds, in seconds (None: no bound). One
# per process: psycopg2's wait callback is global.
_pg_timeouts = {"connect": None, "read": None}


def _opts():
    return vdi_conf.CONF.database_network


# -- sockets -----------------------------------------------------------------

def _socket_fd(dbapi_connection):
    """The descriptor of a DB-API connection's socket, or None."""
    fileno = getattr(dbapi_connection, "fileno", None)  # mysqldb, psycopg2
    if fileno is None:
        sock = getattr(dbapi_connection, "_sock", None)  # PyMySQL
        fileno = getattr(sock, "fileno", None)
    try:
        return fileno() if fileno is not None else None
    except Exception:  # a closed connection
        return None


def socket_options(opts):
    """(level, option, value) for a TCP socket, from the options."""
    wanted = []
    if opts.keepalive_idle:
        wanted.append((socket.SOL_SOCKET, "SO_KEEPALIVE", 1))
        wanted += [(socket.IPPROTO_TCP, "TCP_KEEPIDLE", opts.keepalive_idle),
                   (socket.IPPROTO_TCP, "TCP_KEEPINTVL",
                    opts.keepalive_interval),
                   (socket.IPPROTO_TCP, "TCP_KEEPCNT", opts.keepalive_count)]
    if opts.read_timeout:
        wanted.append((socket.IPPROTO_TCP, "TCP_USER_TIMEOUT",
                       opts.read_timeout * 1000))
    return [(level, getattr(socket, name), value)
            for level, name, value in wanted if hasattr(socket, name)]


def set_socket_options(dbapi_connection, opts):
    """Set keepalive and the user timeout on the connection's TCP socket.

    The socket belongs to the driver (PyMySQL's Python socket, or the C
    library's descriptor for mysqlclient): a duplicate of the descriptor
    is enough to set its options. Unix sockets are left alone.
    """
    fd = _socket_fd(dbapi_connection)
    if fd is None or fd < 0:
        return
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError as e:
        LOG.debug("Cannot reach the database connection's socket: %s", e)
        return
    try:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        for level, option, value in socket_options(opts):
            sock.setsockopt(level, option, value)
    except OSError as e:
        LOG.debug("Cannot set TCP keepalive on a database connection: %s",
                  e)
    finally:
        sock.close()


# -- MariaDB / MySQL ---------------------------------------------------------

def _mysql_connect_args(cparams, opts):
    cparams.setdefault("connect_timeout", opts.connect_timeout)
    if opts.read_timeout:
        cparams.setdefault("read_timeout", opts.read_timeout)
        cparams.setdefault("write_timeout", opts.read_timeout)


def _mysql_connect(dbapi_connection, opts):
    """Socket options, and per-session server limits on MariaDB.

    MySQL has neither limit: there only the broker's read timeout holds.
    """
    set_socket_options(dbapi_connection, opts)
    if "mariadb" not in dbapi_connection.get_server_info().lower():
        return
    limits = []
    if opts.read_timeout:
        limits.append("max_statement_time = %d" % (
            opts.read_timeout + SERVER_MARGIN))
    if opts.idle_transaction_timeout:
        limits.append("idle_transaction_timeout = %d" %
                      opts.idle_transaction_timeout)
    if not limits:
        return
    cursor = dbapi_connection.cursor()
    try:
        # One round trip per new connection.
        cursor.execute("SET SESSION " + ", ".join(limits))
    except dbapi_connection.OperationalError as e:
        if not e.args or e.args[0] != _UNKNOWN_SYSTEM_VARIABLE:
            raise
        # MariaDB older than 10.3.
        LOG.debug("MariaDB session limits not set: %s", e)
    finally:
        cursor.close()


# -- PostgreSQL --------------------------------------------------------------

def _pg_connect_args(cparams, opts):
    cparams.setdefault("connect_timeout", max(2, opts.connect_timeout))
    if opts.keepalive_idle:
        cparams.setdefault("keepalives", 1)
        cparams.setdefault("keepalives_idle", opts.keepalive_idle)
        cparams.setdefault("keepalives_interval", opts.keepalive_interval)
        cparams.setdefault("keepalives_count", opts.keepalive_count)
    if opts.read_timeout:
        cparams.setdefault("tcp_user_timeout", opts.read_timeout * 1000)
    settings = []
    if opts.read_timeout:
        settings.append("-c statement_timeout=%d" % (
            (opts.read_timeout + SERVER_MARGIN) * 1000))
    if opts.idle_transaction_timeout:
        settings.append("-c idle_in_transaction_session_timeout=%d" % (
            opts.idle_transaction_timeout * 1000))
    if settings:
        # Settings the operator passed in the URL come last and win.
        cparams["options"] = " ".join(
            settings + ([cparams["options"]] if cparams.get("options")
                        else []))


def _pg_wait(conn):
    """psycopg2 wait callback: psycopg2.extras.wait_select with a deadline.

    Connecting is bounded by the connect timeout, each statement by the
    read timeout. At the deadline the exception makes psycopg2 close the
    connection, and SQLAlchemy sees a disconnect.
    """
    import psycopg2
    from psycopg2 import extensions

    setup = conn.status == extensions.STATUS_SETUP
    bound = _pg_timeouts["connect" if setup else "read"]
    watch = timeutils.StopWatch(bound).start() if bound else None
    while True:
        try:
            state = conn.poll()
            if state == extensions.POLL_OK:
                return
            if state == extensions.POLL_READ:
                events = select.POLLIN
            elif state == extensions.POLL_WRITE:
                events = select.POLLOUT
            else:
                raise psycopg2.OperationalError("bad poll state: %r" % state)
            poller = select.poll()
            poller.register(conn.fileno(), events)
            if watch is None:
                poller.poll()
                continue
            left = watch.leftover()
            if left <= 0:
                raise psycopg2.OperationalError(
                    "%s: no answer from the server within %d s "
                    "(timed out)" % (
                        "could not connect to server" if setup else
                        "could not receive data from server", bound))
            poller.poll(left * 1000)
        except KeyboardInterrupt:
            conn.cancel()
            continue


def _pg_wait_callback(opts):
    from psycopg2 import extensions

    _pg_timeouts["connect"] = max(2, opts.connect_timeout)
    _pg_timeouts["read"] = opts.read_timeout or None
    current = extensions.get_wait_callback()
    if opts.read_timeout and current is None:
        extensions.set_wait_callback(_pg_wait)
    elif not opts.read_timeout and current is _pg_wait:
        extensions.set_wait_callback(None)
    elif current not in (None, _pg_wait):
        LOG.warning("psycopg2 has another wait callback (%s): database "
                    "reads have no timeout", current)


def lock_wait(longest):
    """Seconds a statement may wait for a lock, at most ``longest``.

    Short enough that the read timeout does not cut the wait off.
    """
    read_timeout = _opts().read_timeout
    if not read_timeout:
        return longest
    return max(1, min(longest, read_timeout - 2))


# -- connection errors -------------------------------------------------------

# libpq 14 and later: one line per host tried, each "connection to server
# at "127.0.0.1", port 5432 failed: <why>" (or "on socket ..."); with the
# wait callback above (an asynchronous connect) a refused single host is
# only "Connection refused"; a server that is starting, stopping or
# recovering says so.
_PG_CONNECT_FAILED = (
    r"^.*connection to server (?:at|on socket) .* failed",
    r"^.*Connection refused",
    r"^.*the database system is (?:starting up|shutting down|in recovery "
    r"mode|not yet accepting connections)",
)


@exc_filters.filters("postgresql", sa_exc.OperationalError,
                     _PG_CONNECT_FAILED)
def _pg_connect_failed(error, match, engine_name, is_disconnect):
    """No PostgreSQL server (or no primary) could be connected to."""
    raise db_exc.DBConnectionError(error)


# -- engines -----------------------------------------------------------------

def prepare_engine(engine):
    """Give every new connection of ``engine`` keepalive and timeouts.

    Connections opened before (oslo.db tests one when it makes the
    engine) are dropped from the pool.
    """
    dialect = engine.dialect
    if dialect.driver in _MYSQL_DRIVERS:
        connect_args = _mysql_connect_args
    elif dialect.driver in _PG_DRIVERS:
        # libpq sets the socket options itself, from the parameters (the
        # operator's, given in the URL, win).
        connect_args = _pg_connect_args
        _pg_wait_callback(_opts())
    else:
        return

    @sa.event.listens_for(engine, "do_connect")
    def _do_connect(dialect, connection_record, cargs, cparams):
        connect_args(cparams, _opts())

    if dialect.driver in _MYSQL_DRIVERS:
        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_connection, connection_record):
            _mysql_connect(dbapi_connection, _opts())

    engine.dispose()
