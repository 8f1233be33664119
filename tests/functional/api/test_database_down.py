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

"""A database that is down (restarting, unreachable) answers 503, not 500.

Found by the MariaDB restart drill (benchmarks/fault_drills.py): logins
during the restart got a bare 500. The thin client must be told to retry.
"""

import fixtures
from oslo_db import exception as db_exc

from tests import base
from tests.fixtures import broker as broker_fixture


class DatabaseDownTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.broker.setup_call_centre()
        self.broker.fill_pools()

    def _down(self, name):
        self.useFixture(fixtures.MockPatch(
            "vdi_broker.db.api.%s" % name,
            side_effect=db_exc.DBConnectionError("gone away")))

    def _assert_503(self, resp):
        error = broker_fixture.assert_error(self, resp, 503,
                                            "Service Unavailable")
        self.assertIn("database", error["message"])
        self.assertEqual("5", resp.headers["Retry-After"])

    def test_login_while_the_database_is_down(self):
        self._down("login_claim")
        self._assert_503(self.broker.login("amy", status=503))

    def test_login_while_the_database_is_down_at_its_start(self):
        self._down("login_transaction")
        self._assert_503(self.broker.login("amy", status=503))

    def test_session_calls_while_the_database_is_down(self):
        login = self.broker.login("amy")
        url = self.broker.session_url(login)
        token = {"X-Session-Token": login.json["session"]["token"]}
        self._down("session_get")
        self._assert_503(self.broker.app.get(url, headers=token,
                                             status=503))
        self._assert_503(self.broker.app.delete(url, headers=token,
                                                status=503))

    def test_logout_while_the_database_is_down(self):
        login = self.broker.login("amy")
        self._down("session_close")
        self._assert_503(self.broker.logout(login, status=503))
