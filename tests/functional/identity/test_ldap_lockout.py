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

"""Login lockout in front of the ldap driver, against a real slapd.

The counters and the failed-login events are in a real (SQLite)
database, as every API worker shares them.
"""

import datetime

import fixtures
from oslo_utils import timeutils
import sqlalchemy as sa

from tests import base
from tests.fixtures import database
from tests.fixtures import slapd
from tests.functional.identity import ldap_base
from vdi_broker import context as vdi_context
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker.identity import throttle as throttle_mod


class LdapLockoutTest(ldap_base.SlapdTestCase, base.TestCase):
    # base.TestCase: the global configuration the database engine
    # starts from (the driver and the throttle get their own).

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(database.Database("sqlite"))
        self.driver = self.make_driver()
        self.conf.set_override("user_failure_threshold", 3,
                               "login_throttle")
        self.conf.set_override("client_failure_threshold", 5,
                               "login_throttle")
        self.conf.set_override("lockout_duration", 60, "login_throttle")
        timeutils.set_time_override(datetime.datetime(2026, 12, 8, 8))
        self.addCleanup(timeutils.clear_time_override)
        self.throttle = throttle_mod.LoginThrottle(self.conf)
        self.calls = []
        original = self.driver.authenticate

        def spy(username, password):
            self.calls.append(username)
            return original(username, password)

        self.useFixture(fixtures.MockPatchObject(self.driver,
                                                 "authenticate", spy))

    def login(self, username, password, client_id="tc-0001", driver=None):
        return self.throttle.authenticate(
            vdi_context.RequestContext(overwrite=False),
            driver or self.driver, username, password, client_id=client_id)

    def reset(self):
        with self.database.engine.begin() as conn:
            conn.execute(sa.delete(models.LoginFailure.__table__))

    def events(self):
        with self.database.engine.connect() as conn:
            return [(e["username"], e["detail"]["reason"], e["occurrences"])
                    for e in conn.execute(
                        sa.select(models.Event.__table__)
                        .order_by(models.Event.id)).mappings()]

    def test_user_locked_after_repeated_failures(self):
        for _i in range(3):
            self.assertRaises(exception.LoginFailed,
                              self.login, "amy", "wrong")
        err = self.assertRaises(exception.LoginThrottled,
                                self.login, "amy", "amy-Pa55")
        self.assertEqual(429, err.code)
        self.assertEqual("Too Many Requests", err.title)
        self.assertEqual({"Retry-After": "60"}, err.headers)
        # Refused before the directory was asked.
        self.assertEqual(3, len(self.calls))
        # Another user on another client is not affected.
        self.login("bob", "bob-Pa55", client_id="tc-0002")
        # After the lockout the right password works and resets it.
        timeutils.advance_time_seconds(61)
        self.assertEqual("amy", self.login("amy", "amy-Pa55").username)
        self.assertRaises(exception.LoginFailed, self.login, "amy", "wrong")
        self.assertEqual("amy", self.login("amy", "amy-Pa55").username)
        self.assertEqual([("amy", "wrong_password", 3),
                          ("amy", "lockout", 1),
                          ("amy", "locked_out", 1),
                          ("amy", "wrong_password", 1)], self.events())

    def test_unknown_and_known_users_locked_alike(self):
        outcomes = {}
        for username in ("amy", "nobody-at-all"):
            self.reset()
            seen = []
            for _i in range(4):
                try:
                    self.login(username, "wrong", client_id=None)
                except exception.VdiBrokerException as e:
                    seen.append((type(e).__name__, str(e), e.code,
                                 e.headers))
            outcomes[username] = seen
        self.assertEqual(outcomes["amy"], outcomes["nobody-at-all"])
        self.assertEqual("LoginThrottled", outcomes["amy"][-1][0])
        # The events, for administrators, say which was which.
        self.assertEqual([("amy", "wrong_password", 3),
                          ("amy", "lockout", 1),
                          ("amy", "locked_out", 1),
                          ("nobody-at-all", "unknown_user", 3),
                          ("nobody-at-all", "lockout", 1),
                          ("nobody-at-all", "locked_out", 1)],
                         self.events())

    def test_client_locked_whatever_names_it_tries(self):
        for uid in ("amy", "bob", "carol", "dave", "erin"):
            self.assertRaises(exception.LoginFailed,
                              self.login, uid, "wrong", "tc-evil")
        self.assertRaises(exception.LoginThrottled, self.login, "carol",
                          slapd.USERS["carol"][3], "tc-evil")
        # The same user from a seat that behaves is fine.
        self.login("carol", slapd.USERS["carol"][3], "tc-good")

    def test_directory_outage_does_not_lock_out(self):
        outage = self.make_driver(urls=[ldap_base.dead_url()])
        for _i in range(5):
            self.assertRaises(exception.IdentityUnavailable,
                              self.login, "amy", "amy-Pa55", "tc-0001",
                              outage)
        self.login("amy", "amy-Pa55")
        self.assertEqual([("amy", "directory_unavailable", 5)],
                         self.events())
