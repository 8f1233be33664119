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

"""A login that names a seat the broker does not know.

Like a thin client's first heartbeat, ``[client_session]
register_unknown_clients`` decides: the seat is registered (with an
event) or the login is refused. It is never stored silently in a session
that points at no seat.
"""

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import clock
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

TABLES = ("sessions", "desktops", "events", "bindings", "seats")


class LoginSeatTestCase(base.TestCase):

    backend = "sqlite"

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self, backend=self.backend)
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt

    def desktop_states(self):
        return {d["id"]: d["state"] for d in db.desktop_list(self.ctxt)}

    def test_refused_by_default(self):
        # (The refusal events of one minute are one event.)
        self.useFixture(clock.Clock())
        before = self.broker.counts(TABLES)
        states = self.desktop_states()
        resp = self.broker.login("amy", seat="SH-9F-404", status=404)
        error = broker_fixture.assert_error(self, resp, 404, "Not Found")
        self.assertIn("SH-9F-404", error["message"])
        self.assertIn("not registered", error["message"])
        # Nothing claimed, nothing stored but the refusal's event.
        after = self.broker.counts(TABLES)
        self.assertEqual(before["events"] + 1, after.pop("events"))
        before.pop("events")
        self.assertEqual(before, after)
        self.assertEqual(states, self.desktop_states())
        self.assertIsNone(db.seat_find(self.ctxt, "SH-9F-404"))
        (event,) = db.event_list(self.ctxt, {"action": "login",
                                             "result": "failure"})
        self.assertEqual(("amy", "seat_not_registered", "SH-9F-404"),
                         (event["username"], event["detail"]["reason"],
                          event["detail"]["seat"]))
        # Bounded: the same refusal again adds to that event.
        self.broker.login("amy", seat="SH-9F-404", status=404)
        (event,) = db.event_list(self.ctxt, {"action": "login",
                                             "result": "failure"})
        self.assertEqual(2, event["occurrences"])
        # A registered seat, and no seat at all, still log in.
        self.broker.login("amy", seat="SH-2F-001")
        self.broker.login("sam", client_id="tc-2")

    def test_registered_when_configured(self):
        self.broker.flags(group="client_session",
                          register_unknown_clients=True)
        resp = self.broker.login("amy", seat="SH-9F-001", client_id="tc-9")
        self.assertEqual("SH-9F-001", resp.json["session"]["seat"])
        seat = self.app.get("/v1/seats/SH-9F-001").json["seat"]
        self.assertEqual(("SH-9F-001", 1, []),
                         (seat["name"], seat["revision"], seat["tags"]))
        (event,) = db.event_list(self.ctxt, {"action": "seat.register"})
        self.assertEqual(("client", "success", "seat", seat["id"], "amy"),
                         (event["kind"], event["result"],
                          event["target_type"], event["target_id"],
                          event["username"]))
        self.assertEqual({"client_id": "tc-9"}, event["detail"])
        # The session and the seat were written together; the next login
        # from the seat finds it.
        self.assertEqual(models.ASSIGNED, db.desktop_get(
            self.ctxt, resp.json["desktop"]["id"])["state"])
        self.broker.logout(resp)
        self.broker.login("sam", seat="SH-9F-001", client_id="tc-9")
        self.assertEqual(1, len(db.event_list(
            self.ctxt, {"action": "seat.register"})))
        self.assertEqual(4, self.broker.count("seats"))

    def test_a_refused_login_registers_nothing(self):
        # The seat is registered in the login's transaction: a login that
        # fails later (no allocator serves carl, the default allocator is
        # gone) leaves no seat behind.
        self.broker.flags(group="client_session",
                          register_unknown_clients=True)
        self.app.delete("/v1/allocators/everyone-else", status=204)
        self.broker.login("carl", seat="SH-9F-002", status=403)
        self.assertIsNone(db.seat_find(self.ctxt, "SH-9F-002"))


class LoginSeatOnMySQL(LoginSeatTestCase):

    backend = "mysql"


class LoginSeatOnPostgreSQL(LoginSeatTestCase):

    backend = "postgresql"
