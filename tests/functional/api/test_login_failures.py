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

"""Failed logins over the thin-client API: events, no leaks (defect 7).

Every refused login writes an event (aggregated, see
vdi_broker/identity/failure_events.py) that ``GET /v1/events`` shows; the
client cannot tell an unknown user from a wrong password; the password
is in no event and in no log line.
"""

import json
import logging

import fixtures
from oslo_utils import timeutils
import sqlalchemy as sa

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import slapd
from vdi_broker.db.sqlalchemy import models
from vdi_broker.identity import ldap as ldap_driver

LOGIN = "/v1/client/sessions"


class LoginFailuresTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self, flags={
            ("login_throttle", "user_failure_threshold"): 3,
            ("login_throttle", "client_failure_threshold"): 0})
        # Everything the broker logs, debug included.
        self.logger = self.useFixture(
            fixtures.FakeLogger(level=logging.DEBUG))
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.app = self.broker.app
        # One clock for the throttle: equal Retry-After values.
        timeutils.set_time_override(timeutils.utcnow())
        self.addCleanup(timeutils.clear_time_override)

    def attempt(self, username, password, status, client_id="tc-0001",
                seat="SH-2F-001"):
        return self.app.post_json(
            LOGIN, {"username": username, "password": password,
                    "client_id": client_id, "seat": seat},
            status=status, extra_environ={"REMOTE_ADDR": "10.1.2.3"})

    def failure_events(self):
        return self.app.get("/v1/events?action=login&result=failure").json[
            "events"]

    def by_reason(self):
        return {(e["username"], e["detail"]["reason"]): e
                for e in self.failure_events()}

    def use_dead_directory(self):
        """The ldap driver, pointed at a port where nothing listens."""
        self.flags(group="ldap", urls=["ldap://127.0.0.1:%d" %
                                       slapd.free_port()],
                   use_tls=False, connect_timeout=1.0, receive_timeout=1.0,
                   server_dead_retry=0.5)
        driver = ldap_driver.LdapIdentityDriver(self.conf)
        self.addCleanup(driver.close)
        self.broker.build(identity_driver=driver)
        self.app = self.broker.app


class TestFailureEvents(LoginFailuresTestCase):

    def test_each_refusal_kind_writes_its_event(self):
        self.assertEqual([], self.failure_events())
        self.attempt("amy", "wrong-1", 401)
        self.attempt("ghost", "wrong-2", 401)
        self.attempt("amy", "wrong-3", 401)
        self.attempt("amy", "wrong-4", 401)   # the third: locks amy out
        self.attempt("amy", broker_fixture.PASSWORD, 429)
        self.attempt("AMY ", broker_fixture.PASSWORD, 429)
        self.use_dead_directory()
        self.attempt("sam", broker_fixture.PASSWORD, 503)
        events = self.by_reason()
        self.assertEqual({("amy", "wrong_password"),
                          ("ghost", "unknown_user"),
                          ("amy", "lockout"), ("amy", "locked_out"),
                          ("sam", "directory_unavailable")}, set(events))
        counts = {key: e["detail"]["count"] for key, e in events.items()}
        self.assertEqual({("amy", "wrong_password"): 3,
                          ("ghost", "unknown_user"): 1,
                          ("amy", "lockout"): 1,
                          ("amy", "locked_out"): 2,
                          ("sam", "directory_unavailable"): 1}, counts)
        wrong = events[("amy", "wrong_password")]
        self.assertEqual(("allocation", "login", "failure", "amy"),
                         (wrong["kind"], wrong["action"], wrong["result"],
                          wrong["actor"]))
        self.assertEqual("login failed: wrong password", wrong["message"])
        detail = wrong["detail"]
        self.assertEqual(("tc-0001", "SH-2F-001", "10.1.2.3"),
                         (detail["client_id"], detail["seat"],
                          detail["remote_addr"]))
        self.assertEqual(wrong["created_at"], detail["first_at"])
        self.assertLessEqual(detail["first_at"], detail["last_at"])
        self.assertTrue(wrong["request_id"].startswith("req-"))
        lockout = events[("amy", "lockout")]["detail"]
        self.assertEqual(("user", 3), (lockout["locked"],
                                       lockout["failures"]))
        self.assertEqual(["user"],
                         events[("amy", "locked_out")]["detail"]["locked"])
        # Filtering by user name finds them, with the successful logins.
        names = {(e["action"], e["result"]) for e in self.app.get(
            "/v1/events?username=ghost").json["events"]}
        self.assertEqual({("login", "failure")}, names)
        # One event shown alone carries the same count.
        shown = self.app.get("/v1/events/%s" % wrong["id"]).json["event"]
        self.assertEqual(3, shown["detail"]["count"])

    def test_unknown_and_known_users_look_alike(self):
        answers = {}
        for username in ("amy", "ghost"):
            seen = []
            for _i in range(4):
                resp = self.attempt(username, "wrong", "*")
                body = dict(resp.json["error"])
                del body["request_id"]
                headers = {k.lower(): v for k, v in resp.headers.items()
                           if k.lower() not in ("x-openstack-request-id",
                                                "content-length")}
                seen.append((resp.status_int, body, headers))
            answers[username] = seen
        self.assertEqual(answers["amy"], answers["ghost"])
        self.assertEqual([401, 401, 401, 429],
                         [status for status, _b, _h in answers["amy"]])
        # Only the events say which was which.
        reasons = set(self.by_reason())
        self.assertIn(("amy", "wrong_password"), reasons)
        self.assertIn(("ghost", "unknown_user"), reasons)
        self.assertNotIn(("ghost", "wrong_password"), reasons)

    def test_password_is_never_recorded_nor_logged(self):
        secrets = ["Wr0ng-Secret-%d-Zq" % i for i in range(4)]
        self.attempt("amy", secrets[0], 401)
        self.attempt("ghost", secrets[1], 401)
        self.attempt("amy", secrets[2], 401)
        self.attempt("amy", secrets[3], 401)
        self.attempt("amy", broker_fixture.PASSWORD, 429)
        self.broker.login("sam")
        self.use_dead_directory()
        dead_secret = "Dead-Directory-Secret-77"
        self.attempt("bob", dead_secret, 503)
        with self.broker.database.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(
                sa.select(models.Event.__table__)).mappings()]
        # The failures were recorded (wrong password, unknown user,
        # lockout, locked out, directory unavailable)...
        failures = [r for r in rows
                    if (r["action"], r["result"]) == ("login", "failure")]
        self.assertEqual(5, len(failures), failures)
        # ... and none of them, nor anything else, holds a password.
        recorded = json.dumps(rows, default=str)
        api = json.dumps(self.app.get("/v1/events").json)
        output = self.logger.output
        self.assertIn("Login throttle: user amy locked out", output)
        for secret in secrets + [broker_fixture.PASSWORD, dead_secret]:
            self.assertNotIn(secret, recorded)
            self.assertNotIn(secret, api)
            self.assertNotIn(secret, output)


class TestSuccessfulLoginCost(LoginFailuresTestCase):
    """A successful login reads the counters once and writes nothing."""

    def statements_on_counters(self):
        seen = []

        def record(conn, cursor, statement, *args):
            if "login_failures" in statement:
                seen.append(statement.split()[0].upper())

        engine = self.broker.database.engine
        sa.event.listen(engine, "before_cursor_execute", record)
        self.addCleanup(sa.event.remove, engine, "before_cursor_execute",
                        record)
        return seen

    def test_success_without_and_with_earlier_failures(self):
        seen = self.statements_on_counters()
        self.broker.login("sam")
        self.assertEqual(["SELECT"], seen)
        self.attempt("amy", "wrong", 401)
        del seen[:]
        self.broker.login("amy")
        # The counter of amy's failure is deleted: one statement more.
        self.assertEqual(["SELECT", "DELETE"], seen)
        del seen[:]
        self.broker.login("vera")
        self.assertEqual(["SELECT"], seen)
