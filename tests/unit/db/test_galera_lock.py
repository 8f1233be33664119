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

"""Pure unit tests: the login's per-user serialisation on Galera.

tests/functional/db/test_galera.py proves it on a real three-node cluster;
here, what the login sends on a Galera node and on a plain server.
"""

from unittest import mock

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
import testtools

from vdi_broker.db.sqlalchemy import allocation as api
from vdi_broker.db.sqlalchemy import engine
from vdi_broker import exception


def _connection(galera, dialect="mysql"):
    conn = mock.Mock()
    conn.dialect.name = dialect
    conn.engine.url.database = "vdi"
    conn.info = {"vdi_galera": galera} if galera is not None else {}
    conn.execute.return_value.scalar.return_value = 1
    return conn


class LockUserTest(testtools.TestCase):

    def statements(self, conn):
        return [c.args[0] for c in conn.execute.call_args_list]

    def test_galera_node_writes_the_users_row(self):
        conn = _connection(True)
        api._lock_user(conn, "amy")
        statements = self.statements(conn)
        # GET_LOCK first (no row lock held while it waits), then the row.
        self.assertEqual([api._GET_LOCK, api._LOGIN_SERIAL], statements)
        params = conn.execute.call_args_list[1].args[1]
        self.assertEqual(api._user_lock_digest("amy").hex(), params["p_id"])
        self.assertEqual(64, len(params["p_id"]))

    def test_plain_server_takes_the_lock_only(self):
        for galera in (False, None):
            conn = _connection(galera)
            api._lock_user(conn, "amy")
            self.assertEqual([api._GET_LOCK], self.statements(conn))

    def test_busy_lock_on_galera_writes_nothing(self):
        conn = _connection(True)
        conn.execute.return_value.scalar.return_value = 0
        conn.execute.return_value.first.return_value = mock.Mock(
            command="Query", time=0)
        self.assertRaises(exception.LoginInProgress, api._lock_user, conn,
                          "amy")
        self.assertNotIn(api._LOGIN_SERIAL, self.statements(conn))

    def test_upsert_increments_the_counter(self):
        sql = str(api._LOGIN_SERIAL.compile(dialect=mysql.dialect()))
        self.assertIn("INSERT INTO login_serials", sql)
        self.assertIn("ON DUPLICATE KEY UPDATE", sql)
        self.assertIn("logins = (login_serials.logins + ", sql)


class GaleraDetectionTest(testtools.TestCase):
    """The MySQL connect listener asks the server once per connection."""

    def connect(self, row):
        eng = sa.create_engine("mysql+pymysql://u:p@127.0.0.1/vdi")
        self.addCleanup(eng.dispose)
        with mock.patch.object(sa.event, "listens_for") as listens_for:
            listeners = []
            listens_for.return_value = listeners.append
            engine._read_committed_on_mysql(eng)
        connect = listeners[0]
        dbapi = mock.Mock()
        cursor = dbapi.cursor.return_value
        cursor.fetchone.return_value = row
        record = mock.Mock(info={})
        connect(dbapi, record)
        executed = [c.args[0] for c in cursor.execute.call_args_list]
        self.assertIn("SHOW VARIABLES LIKE 'wsrep_on'", executed)
        cursor.close.assert_called_once_with()
        return record.info["vdi_galera"]

    def test_galera_node(self):
        self.assertIs(True, self.connect(("wsrep_on", "ON")))

    def test_galera_provider_off(self):
        self.assertIs(False, self.connect(("wsrep_on", "OFF")))

    def test_plain_server(self):
        self.assertIs(False, self.connect(None))
