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

"""The thin-client path end to end: log in, look, log out (R7)."""

import datetime

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import clock
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

TOKEN = "X-Session-Token"


class ClientSessionTestCase(base.TestCase):

    backend = "sqlite"

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self, backend=self.backend)
        self.pools, self.allocators = self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.app = self.broker.app

    def _desktop(self, desktop_id):
        return db.desktop_get(self.broker.ctxt, desktop_id)

    def _token(self, resp):
        return {TOKEN: resp.json["session"]["token"]}


class TestLogin(ClientSessionTestCase):

    def test_login_gives_session_token_desktop_and_connection(self):
        resp = self.broker.login("amy", client_id="tc-sh-0001")
        body = resp.json
        session = body["session"]
        self.assertEqual("amy", session["username"])
        self.assertEqual("tc-sh-0001", session["client_id"])
        self.assertEqual("active", session["state"])
        self.assertGreaterEqual(len(session["token"]), 40)
        self.assertTrue(resp.headers["Location"].endswith(
            "/v1/client/sessions/%s" % session["id"]))
        self.assertEqual("sh-agents", body["pool"]["name"])
        self.assertEqual(self.pools["sh-agents"]["id"], body["pool"]["id"])
        self.assertEqual({"id": self.allocators["shanghai-agents"]["id"],
                          "name": "shanghai-agents", "plugin": "pool"},
                         body["allocator"])
        self.assertIsNone(body["binding"])
        self.assertFalse(body["reused"])
        desktop = self._desktop(body["desktop"]["id"])
        self.assertEqual(models.ASSIGNED, desktop["state"])
        self.assertEqual("amy", desktop["assigned_user"])
        self.assertEqual(desktop["address"], body["desktop"]["address"])
        connection = body["connection"]
        self.assertEqual("rdp", connection["protocol"])
        self.assertEqual(desktop["address"], connection["host"])
        self.assertEqual(3389, connection["port"])
        # Only the token's hash is stored.
        row = db.session_get(self.broker.ctxt, session["id"])
        self.assertNotEqual(session["token"], row["token_hash"])
        self.assertNotIn(session["token"], str(row))

    def test_show_with_token(self):
        login = self.broker.login("bob")
        resp = self.app.get(self.broker.session_url(login),
                            headers=self._token(login), status=200)
        self.assertEqual(login.json["session"]["id"],
                         resp.json["session"]["id"])
        self.assertEqual("active", resp.json["session"]["state"])
        self.assertEqual(login.json["desktop"]["id"],
                         resp.json["desktop"]["id"])
        self.assertEqual(login.json["connection"], resp.json["connection"])
        self.assertEqual(3389, resp.json["connection"]["port"])

    def test_show_without_or_with_a_wrong_token_is_401(self):
        login = self.broker.login("bob")
        other = self.broker.login("nina", client_id="tc-0002")
        url = self.broker.session_url(login)
        for headers in ({}, {TOKEN: ""}, {TOKEN: "not-the-token"},
                        {TOKEN: login.json["session"]["token"][:-1] + "x"},
                        self._token(other), {TOKEN: "x" * 5000}):
            resp = self.app.get(url, headers=headers, status=401)
            broker_fixture.assert_error(self, resp, 401, "Unauthorized")
        # An unknown session looks the same as a wrong token.
        resp = self.app.get("/v1/client/sessions/%s" % ("0" * 36),
                            headers=self._token(login), status=401)
        broker_fixture.assert_error(self, resp, 401)
        # A wrong token does not log anybody out.
        self.app.get(url, headers=self._token(login), status=200)

    def test_logout_releases_floating_desktop(self):
        login = self.broker.login("amy")
        desktop_id = login.json["desktop"]["id"]
        server_id = login.json["desktop"]["server_id"]
        resp = self.broker.logout(login)
        self.assertEqual(b"", resp.body)
        session = db.session_get(self.broker.ctxt,
                                 login.json["session"]["id"])
        self.assertEqual("closed", session["state"])
        self.assertEqual("logout", session["close_reason"])
        # sh-agents reboots its desktops at logout.
        desktop = self._desktop(desktop_id)
        self.assertEqual(models.RELEASING, desktop["state"])
        self.assertIsNone(desktop["assigned_user"])
        self.assertIn(("reboot", server_id), self.broker.cloud.calls)
        self.broker.fill_pools()
        desktop = self._desktop(desktop_id)
        self.assertEqual(models.READY, desktop["state"])
        self.assertIsNone(desktop["state_reason"])
        # A second logout, or a look, with the old token: 401.
        resp = self.broker.logout(login, status=401)
        broker_fixture.assert_error(self, resp, 401)
        self.app.get(self.broker.session_url(login),
                     headers=self._token(login), status=401)

    def test_logout_rebuild_pool(self):
        login = self.broker.login("bob")
        server_id = login.json["desktop"]["server_id"]
        self.broker.logout(login)
        self.assertIn(("rebuild", server_id), self.broker.cloud.calls)
        self.broker.fill_pools()
        self.assertEqual(models.READY,
                         self._desktop(login.json["desktop"]["id"])["state"])

    def test_user_binding_same_desktop_after_logout(self):
        first = self.broker.login("vera", client_id="tc-0001")
        self.assertEqual("vip-personal", first.json["allocator"]["name"])
        self.assertEqual({"kind": "user", "key": "vera"},
                         {k: first.json["binding"][k]
                          for k in ("kind", "key")})
        self.broker.logout(first)
        # A bound desktop is kept for its user.
        desktop = self._desktop(first.json["desktop"]["id"])
        self.assertEqual(models.ASSIGNED, desktop["state"])
        self.broker.fill_pools()
        second = self.broker.login("vera", client_id="tc-0099",
                                   seat="SH-2F-001")
        self.assertEqual(first.json["desktop"]["id"],
                         second.json["desktop"]["id"])
        self.assertTrue(second.json["reused"])
        self.assertEqual(first.json["binding"]["id"],
                         second.json["binding"]["id"])

    def test_seat_binding_two_users_same_desktop(self):
        amy = self.broker.login("amy", client_id="tc-tr-01",
                                seat="SH-TR-01")
        self.assertEqual("training-seats", amy.json["allocator"]["name"])
        self.assertEqual("training-room", amy.json["pool"]["name"])
        sam = self.broker.login("sam", client_id="tc-tr-01",
                                seat="SH-TR-01")
        self.assertEqual(amy.json["desktop"]["id"],
                         sam.json["desktop"]["id"])
        self.assertEqual(amy.json["binding"]["id"],
                         sam.json["binding"]["id"])
        desktop = self._desktop(sam.json["desktop"]["id"])
        self.assertEqual("sam", desktop["assigned_user"])
        # The new user's session supersedes the old one.
        self.app.get(self.broker.session_url(amy), headers=self._token(amy),
                     status=401)
        old = db.session_get(self.broker.ctxt, amy.json["session"]["id"])
        self.assertEqual("superseded", old["close_reason"])
        # Another training seat is another desktop.
        other = self.broker.login("amy", client_id="tc-tr-02",
                                  seat="SH-TR-02")
        self.assertNotEqual(amy.json["desktop"]["id"],
                            other.json["desktop"]["id"])

    def test_directory_change_moves_user_to_other_allocator(self):
        """R7 step 6: a directory change alone moves the user.

        A group change sends the user to another allocator at the next
        login, with no change to the broker.
        """
        before = self.broker.login("bob")
        self.assertEqual("nantong-agents", before.json["allocator"]["name"])
        self.broker.logout(before)
        allocators = self.app.get("/v1/allocators").json["allocators"]
        self.broker.update_user(
            "bob", groups=["agents", "flight-agents", "vip-agents"])
        self.broker.build()
        self.app = self.broker.app
        after = self.broker.login("bob")
        self.assertEqual("vip-personal", after.json["allocator"]["name"])
        self.assertEqual("vip-desktops", after.json["pool"]["name"])
        self.assertNotEqual(before.json["desktop"]["id"],
                            after.json["desktop"]["id"])
        # Nothing about the broker changed.
        self.assertEqual(allocators,
                         self.app.get("/v1/allocators").json["allocators"])


class TestExpiry(ClientSessionTestCase):

    def setUp(self):
        super().setUp()
        self.flags(group="client_session", token_ttl=60)

    def test_expired_token_is_401(self):
        login = self.broker.login("amy")
        session = login.json["session"]
        created = datetime.datetime.fromisoformat(session["created_at"][:-1])
        expires = datetime.datetime.fromisoformat(session["expires_at"][:-1])
        self.assertAlmostEqual(60, (expires - created).total_seconds(),
                               delta=5)
        url = self.broker.session_url(login)
        self.app.get(url, headers=self._token(login), status=200)
        with clock.Clock() as now:
            now.advance(61)
            resp = self.app.get(url, headers=self._token(login), status=401)
            broker_fixture.assert_error(self, resp, 401)
            self.broker.logout(login, status=401)
        self.app.get(url, headers=self._token(login), status=200)

    def test_expired_sessions_closed_by_conductor(self):
        login = self.broker.login("amy")
        desktop_id = login.json["desktop"]["id"]
        with clock.Clock() as now:
            now.advance(61)
            self.broker.manager.expire_sessions(self.broker.ctxt)
        session = db.session_get(self.broker.ctxt,
                                 login.json["session"]["id"])
        self.assertEqual("closed", session["state"])
        self.assertEqual("expired", session["close_reason"])
        self.app.get(self.broker.session_url(login),
                     headers=self._token(login), status=401)
        self.broker.fill_pools()
        self.assertEqual(models.READY, self._desktop(desktop_id)["state"])


class TestWholeShiftOnMySQL(ClientSessionTestCase):
    """The thin-client path on a database server (SKIP LOCKED claims)."""

    backend = "mysql"

    def test_shift(self):
        logins = {}
        for user, seat in (("amy", None), ("bob", None), ("vera", None),
                           ("sam", "SH-TR-01"), ("nina", "SH-TR-01")):
            logins[user] = self.broker.login(user, client_id="tc-" + user,
                                             seat=seat)
        self.assertEqual(["shanghai-agents", "nantong-agents",
                          "vip-personal", "training-seats",
                          "training-seats"],
                         [logins[u].json["allocator"]["name"]
                          for u in ("amy", "bob", "vera", "sam", "nina")])
        self.assertEqual(logins["sam"].json["desktop"]["id"],
                         logins["nina"].json["desktop"]["id"])
        desktops = {logins[u].json["desktop"]["id"]
                    for u in ("amy", "bob", "vera", "nina")}
        self.assertEqual(4, len(desktops))
        for user in ("amy", "bob", "vera", "nina"):
            resp = self.app.get(self.broker.session_url(logins[user]),
                                headers=self._token(logins[user]))
            self.assertEqual(3389, resp.json["connection"]["port"])
            self.broker.logout(logins[user])
        self.broker.logout(logins["sam"], status=401)
        self.broker.fill_pools()
        again = self.broker.login("vera", client_id="tc-x")
        self.assertEqual(logins["vera"].json["desktop"]["id"],
                         again.json["desktop"]["id"])
        for user in ("amy", "bob"):
            self.assertEqual(models.READY, self._desktop(
                logins[user].json["desktop"]["id"])["state"])


class TestWholeShiftOnPostgreSQL(TestWholeShiftOnMySQL):

    backend = "postgresql"
