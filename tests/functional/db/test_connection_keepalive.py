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

"""Keepalive and timeouts on the database connections (R12).

Checked on real connections to MariaDB (PyMySQL and mysqlclient) and
PostgreSQL (psycopg2): the kernel's socket options, the server's session
limits, and a statement on a connection that went silent (a
:class:`tests.fixtures.blackhole_proxy.BlackholeProxy` in front of the
server) failing as a lost connection within the read timeout.
"""

import datetime
import os
import socket

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import exc_filters
from oslo_utils import timeutils
from oslo_utils import uuidutils
from psycopg2 import extensions as pg_extensions
import sqlalchemy as sa
import testscenarios

from tests import base
from tests.fixtures import blackhole_proxy
from tests.fixtures import database
from tests.fixtures import logins
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import engine as db_engine
from vdi_broker.db.sqlalchemy import keepalive
from vdi_broker.db.sqlalchemy import models

load_tests = testscenarios.load_tests_apply_scenarios


def tcp_options(dbapi_connection):
    fd = keepalive._socket_fd(dbapi_connection)
    sock = socket.socket(fileno=os.dup(fd))
    try:
        return {
            "keepalive": sock.getsockopt(socket.SOL_SOCKET,
                                         socket.SO_KEEPALIVE),
            "idle": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            "interval": sock.getsockopt(socket.IPPROTO_TCP,
                                        socket.TCP_KEEPINTVL),
            "count": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            "user_timeout": sock.getsockopt(socket.IPPROTO_TCP,
                                            socket.TCP_USER_TIMEOUT),
        }
    finally:
        sock.close()


class ConnectionKeepaliveTest(testscenarios.WithScenarios, base.TestCase):

    scenarios = [
        ("pymysql", {"backend": "mysql", "driver": None}),
        ("mysqlclient", {"backend": "mysql", "driver": "mysqldb"}),
        ("psycopg2", {"backend": "postgresql", "driver": None}),
    ]

    def database(self, **kwargs):
        return self.useFixture(database.Database(
            self.backend, driver=self.driver, **kwargs))

    def test_sockets_have_keepalive_and_a_user_timeout(self):
        self.flags(group="database_network", keepalive_idle=30,
                   keepalive_interval=7, keepalive_count=3, read_timeout=9)
        engine = self.database().engine
        # Two at once: a new one, and one from the pool.
        with engine.connect() as one, engine.connect() as two:
            for conn in (one, two):
                self.assertEqual(
                    {"keepalive": 1, "idle": 30, "interval": 7, "count": 3,
                     "user_timeout": 9000},
                    tcp_options(conn.connection.dbapi_connection))

    def test_the_server_limits_statements_and_idle_transactions(self):
        self.flags(group="database_network", read_timeout=9,
                   idle_transaction_timeout=40)
        engine = self.database().engine
        with engine.connect() as conn:
            if self.backend == "mysql":
                row = conn.execute(sa.text(
                    "SELECT @@session.max_statement_time, "
                    "@@session.idle_transaction_timeout")).one()
                self.assertEqual((10.0, 40), tuple(row))
            else:
                self.assertEqual("10s", conn.execute(sa.text(
                    "SHOW statement_timeout")).scalar())
                self.assertEqual("40s", conn.execute(sa.text(
                    "SHOW idle_in_transaction_session_timeout")).scalar())

    def test_zero_turns_the_limits_off(self):
        self.flags(group="database_network", keepalive_idle=0,
                   read_timeout=0, idle_transaction_timeout=0)
        engine = self.database().engine
        with engine.connect() as conn:
            options = tcp_options(conn.connection.dbapi_connection)
            self.assertEqual(0, options["user_timeout"])
            if self.backend == "mysql":
                row = conn.execute(sa.text(
                    "SELECT @@session.max_statement_time, "
                    "@@session.idle_transaction_timeout")).one()
                self.assertEqual((0.0, 0), tuple(row))
            else:
                self.assertEqual("0", conn.execute(sa.text(
                    "SHOW statement_timeout")).scalar())
                self.assertIsNone(pg_extensions.get_wait_callback())

    def test_a_silent_connection_fails_as_lost_within_the_read_timeout(self):
        proxy = self.useFixture(blackhole_proxy.BlackholeProxy(
            *database.server_address(self.backend)))
        self.flags(group="database_network", read_timeout=1,
                   connect_timeout=2)
        engine = self.database(via=(proxy.host, proxy.port)).engine
        self.addCleanup(proxy.close_connections)
        with engine.connect() as conn:
            self.assertEqual(1, conn.execute(sa.text("SELECT 1")).scalar())
            proxy.blackhole()
            watch = timeutils.StopWatch().start()
            self.assertRaises(db_exc.DBConnectionError, conn.execute,
                              sa.text("SELECT 2"))
            self.assertLess(watch.elapsed(), 2.5)
        proxy.drop()
        # The pool gives up the lost connection and opens a new one.
        with engine.connect() as conn:
            self.assertEqual(3, conn.execute(sa.text("SELECT 3")).scalar())


class UrlParametersTest(base.TestCase):
    """libpq keepalive parameters in the URL win over [database_network].

    (The MariaDB drivers take no keepalive parameters: the broker sets
    those on the socket.)
    """

    def test_parameters_in_the_url_win(self):
        self.flags(group="database_network", keepalive_idle=30)
        db = self.useFixture(database.Database("postgresql"))
        url = sa.engine.make_url(db.url).update_query_dict(
            {"keepalives_idle": "99"})
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        db_engine.prepare_engine(engine)
        with engine.connect() as conn:
            options = tcp_options(conn.connection.dbapi_connection)
        self.assertEqual(99, options["idle"])
        self.assertEqual(15, options["interval"])


class UnreachablePostgreSQLTest(base.TestCase):
    """No PostgreSQL server, or no primary: a connection error (503).

    libpq 14+ says 'connection to server at "127.0.0.1", port N failed',
    which oslo.db alone lets through as a bare OperationalError (a 500).
    """

    def test_refused_and_read_only_are_connection_errors(self):
        db = self.useFixture(database.Database("postgresql"))
        url = sa.engine.make_url(db.url)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        # The first host refuses; the second is a server that accepts no
        # writes for this session (a standby during a failover, as libpq
        # sees it with target_session_attrs=read-write).
        multi = url.set(host=None, port=None).update_query_pairs(
            [("host", "127.0.0.1:%d" % closed_port),
             ("host", "%s:%d" % (url.host, url.port or 5432)),
             ("options", "-c default_transaction_read_only=on"),
             ("target_session_attrs", "read-write")])
        for target in (url.set(port=closed_port), multi):
            # As oslo.db's create_engine makes it, without its test
            # connection and retries at creation.
            engine = sa.create_engine(target)
            exc_filters.register_engine(engine)
            self.addCleanup(engine.dispose)
            db_engine.prepare_engine(engine)
            error = self.assertRaises(db_exc.DBConnectionError,
                                      engine.connect)
            self.assertRegex(str(error), "Connection refused|read-only")


class LostAfterCommitTest(base.TestCase):
    """MariaDB: a connection lost between a login's commit and its unlock.

    The login releases its user lock when its connection goes back to the
    pool, after the commit. The login is done: it must not fail, nor keep
    its connection out of the pool, and the user's next login must get
    in.
    """

    def setUp(self):
        super().setUp()
        self.proxy = self.useFixture(blackhole_proxy.BlackholeProxy(
            *database.server_address("mysql")))
        # The login waits 1 s for its user's lock (read_timeout - 2).
        self.flags(group="database_network", read_timeout=3)
        self.database = self.useFixture(database.Database(
            "mysql", via=(self.proxy.host, self.proxy.port)))
        self.addCleanup(self.proxy.close_connections)
        self.ctxt = vdi_context.get_admin_context()
        self.pool = db.pool_create(self.ctxt, {
            "name": "pool", "flavor": "m1.desktop", "image": "win11",
            "min_ready": 0, "max_size": 2})
        for i in range(2):
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
            {"id": uuidutils.generate_uuid(),
             "token_hash": uuidutils.generate_uuid(dashed=False) * 2,
             "expires_at": timeutils.utcnow() + datetime.timedelta(hours=1)})

    def test_login_lost_after_its_commit(self):
        engine = self.database.engine

        def hole(dbapi_connection, connection_record):
            if connection_record.info.get("vdi_user_locks"):
                self.proxy.blackhole()

        # Before the broker's own listener, which releases the lock.
        sa.event.listen(engine.pool, "checkin", hole, insert=True)
        result = self._login("alice")
        sa.event.remove(engine.pool, "checkin", hole)
        self.assertEqual("alice", result["desktop"]["assigned_user"])
        self.assertEqual(0, engine.pool.checkedout())
        # The firewall forgot the connection: the server keeps its
        # session, and alice's lock, until the next login ends it.
        self.proxy.drop()
        watch = timeutils.StopWatch().start()
        again = self._login("alice")
        self.assertEqual(result["desktop"]["id"], again["desktop"]["id"])
        self.assertLess(watch.elapsed(), 6)
