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

"""Pure unit tests: what the broker asks of its database connections."""

import socket
import types

import fixtures
from oslo_config import fixture as config_fixture
import testtools

from vdi_broker.cmd import manage
from vdi_broker import conf as vdi_conf
from vdi_broker.conf import database_network
from vdi_broker.conf import opts
from vdi_broker.db.sqlalchemy import keepalive


def _opts(**overrides):
    values = {o.dest: o.default
              for o in database_network.database_network_opts}
    values.update(overrides)
    return types.SimpleNamespace(**values)


class ConnectArgumentsTest(testtools.TestCase):

    def test_mysql(self):
        cparams = {"host": "db"}
        keepalive._mysql_connect_args(cparams, _opts())
        self.assertEqual({"host": "db", "connect_timeout": 5,
                          "read_timeout": 10, "write_timeout": 10}, cparams)

    def test_mysql_no_read_timeout(self):
        cparams = {}
        keepalive._mysql_connect_args(cparams, _opts(read_timeout=0))
        self.assertEqual({"connect_timeout": 5}, cparams)

    def test_mysql_url_parameters_win(self):
        cparams = {"read_timeout": 60}
        keepalive._mysql_connect_args(cparams, _opts())
        self.assertEqual(60, cparams["read_timeout"])
        self.assertEqual(10, cparams["write_timeout"])

    def test_postgresql(self):
        cparams = {"host": "db"}
        keepalive._pg_connect_args(cparams, _opts())
        self.assertEqual({
            "host": "db", "connect_timeout": 5, "keepalives": 1,
            "keepalives_idle": 60, "keepalives_interval": 15,
            "keepalives_count": 4, "tcp_user_timeout": 10000,
            "options": "-c statement_timeout=11000 "
                       "-c idle_in_transaction_session_timeout=20000"},
            cparams)

    def test_postgresql_operator_options_come_last(self):
        cparams = {"options": "-c statement_timeout=0", "keepalives": 0}
        keepalive._pg_connect_args(cparams, _opts(idle_transaction_timeout=0,
                                                  connect_timeout=1))
        self.assertEqual("-c statement_timeout=11000 -c statement_timeout=0",
                         cparams["options"])
        self.assertEqual(0, cparams["keepalives"])
        # libpq counts at least 2 s.
        self.assertEqual(2, cparams["connect_timeout"])

    def test_postgresql_nothing_to_add(self):
        cparams = {}
        keepalive._pg_connect_args(cparams, _opts(
            keepalive_idle=0, read_timeout=0, idle_transaction_timeout=0))
        self.assertEqual({"connect_timeout": 5}, cparams)


class SocketOptionsTest(testtools.TestCase):

    def test_keepalive_and_user_timeout(self):
        wanted = {(level, option): value for level, option, value in
                  keepalive.socket_options(_opts())}
        self.assertEqual(1, wanted[(socket.SOL_SOCKET, socket.SO_KEEPALIVE)])
        self.assertEqual(60, wanted[(socket.IPPROTO_TCP,
                                     socket.TCP_KEEPIDLE)])
        self.assertEqual(15, wanted[(socket.IPPROTO_TCP,
                                     socket.TCP_KEEPINTVL)])
        self.assertEqual(4, wanted[(socket.IPPROTO_TCP, socket.TCP_KEEPCNT)])
        self.assertEqual(10000, wanted[(socket.IPPROTO_TCP,
                                        socket.TCP_USER_TIMEOUT)])

    def test_zero_leaves_the_socket_alone(self):
        self.assertEqual([], keepalive.socket_options(
            _opts(keepalive_idle=0, read_timeout=0)))

    def test_unix_sockets_are_left_alone(self):
        left, right = socket.socketpair()
        self.addCleanup(left.close)
        self.addCleanup(right.close)
        connection = types.SimpleNamespace(fileno=left.fileno)
        keepalive.set_socket_options(connection, _opts())
        self.assertEqual(0, left.getsockopt(socket.SOL_SOCKET,
                                            socket.SO_KEEPALIVE))


class LibraryDefaultsTest(testtools.TestCase):

    def test_rabbit_heartbeat_and_reconnect_defaults(self):
        conf = self.useFixture(config_fixture.Config(vdi_conf.CONF)).conf
        opts.set_lib_defaults()
        conf([], project="vdi-broker", default_config_files=[])
        rabbit = conf.oslo_messaging_rabbit
        self.assertEqual(10, rabbit.heartbeat_timeout_threshold)
        self.assertEqual(10, rabbit.rabbit_interval_max)

    def test_a_config_file_still_wins(self):
        fixture = self.useFixture(config_fixture.Config(vdi_conf.CONF))
        opts.set_lib_defaults()
        fixture.conf([], project="vdi-broker", default_config_files=[])
        fixture.config(group="oslo_messaging_rabbit",
                       heartbeat_timeout_threshold=20)
        self.assertEqual(
            20, fixture.conf.oslo_messaging_rabbit.heartbeat_timeout_threshold)


class DbSyncTest(testtools.TestCase):

    def test_migrations_have_no_read_timeout(self):
        fixture = self.useFixture(config_fixture.Config(vdi_conf.CONF))
        fixture.conf([], project="vdi-broker", default_config_files=[])
        seen = {}

        def db_sync():
            seen.update(dict(fixture.conf.database_network.items()))

        self.useFixture(fixtures.MockPatch(
            "vdi_broker.db.migration.db_sync", side_effect=db_sync))
        self.useFixture(fixtures.MockPatch(
            "vdi_broker.db.migration.db_version", return_value="head"))
        manage._db_sync()
        self.assertEqual(0, seen["read_timeout"])
        self.assertEqual(0, seen["idle_transaction_timeout"])
        self.assertEqual(60, seen["keepalive_idle"])
