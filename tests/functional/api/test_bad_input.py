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

"""Bad input and failures: always a JSON error, never a traceback, never
half-written state."""

import json

import fixtures

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import clock
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db

LOGIN = "/v1/client/sessions"


class BadInputTestCase(base.TestCase):

    default_allocator = True
    fill = True

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(
            self, flags=getattr(self, "broker_flags", None))
        self.broker.setup_call_centre(default=self.default_allocator)
        if self.fill:
            self.broker.fill_pools()
        self.app = self.broker.app

    def login_body(self, **changes):
        body = {"username": "amy", "password": broker_fixture.PASSWORD,
                "client_id": "tc-0001"}
        body.update(changes)
        return body

    def assertError(self, resp, status, title=None):
        return broker_fixture.assert_error(self, resp, status, title)

    def assertNothingWritten(self, before, tables=None):
        after = self.broker.counts()
        if tables is not None:
            after = {t: after[t] for t in tables}
            before = {t: before[t] for t in tables}
        self.assertEqual(before, after)


class TestMalformedRequests(BadInputTestCase):

    def test_malformed_json(self):
        before = self.broker.counts()
        for body in (b"{", b"{'username': 'amy'}", b"\xff\xfe", b"nul",
                     b"[1, 2"):
            resp = self.app.post(LOGIN, body, status=400,
                                 content_type="application/json")
            error = self.assertError(resp, 400, "Bad Request")
            self.assertIn("JSON", error["message"])
        resp = self.app.post("/v1/pools", b'{"name": ', status=400,
                             content_type="application/json")
        self.assertError(resp, 400)
        self.assertNothingWritten(before)

    def test_lone_surrogates_are_400(self):
        # Valid JSON, but "\udc80" alone is no character: it cannot reach
        # the directory, the database or a log line as UTF-8.
        before = self.broker.counts()
        for field in ("username", "password", "client_id", "seat"):
            body = json.dumps(self.login_body(**{field: "a\udc80b"}))
            resp = self.app.post(LOGIN, body.encode("ascii"), status=400,
                                 content_type="application/json")
            error = self.assertError(resp, 400, "Bad Request")
            self.assertIn("surrogate", error["message"])
        # A surrogate pair is one character, and welcome.
        body = json.dumps(self.login_body(password="\ud83d\ude00"))
        self.assertIn("\\ud83d", body)
        resp = self.app.post(LOGIN, body.encode("ascii"), status=401,
                             content_type="application/json")
        self.assertError(resp, 401)
        self.assertNothingWritten(before, ["sessions", "desktops"])

    def test_json_that_is_not_an_object(self):
        for body in ([], "amy", 42, None):
            resp = self.app.post_json(LOGIN, body, status=400)
            self.assertError(resp, 400)

    def test_wrong_content_type(self):
        before = self.broker.counts()
        for content_type in ("text/plain", "application/x-www-form-urlencoded",
                             "application/xml"):
            resp = self.app.post(LOGIN, json.dumps(self.login_body()),
                                 content_type=content_type, status=400)
            error = self.assertError(resp, 400)
            self.assertIn("Content-Type", error["message"])
        self.assertNothingWritten(before)

    def test_empty_body(self):
        resp = self.app.post(LOGIN, b"", content_type="application/json",
                             status=400)
        self.assertError(resp, 400)

    def test_missing_fields(self):
        before = self.broker.counts()
        for missing in ("username", "password", "client_id"):
            body = self.login_body()
            del body[missing]
            resp = self.app.post_json(LOGIN, body, status=400)
            error = self.assertError(resp, 400)
            self.assertIn(missing, error["message"])
        resp = self.app.post_json("/v1/pools", {"name": "p"}, status=400)
        self.assertError(resp, 400)
        self.assertNothingWritten(before)

    def test_additional_fields(self):
        resp = self.app.post_json(LOGIN, self.login_body(admin=True),
                                  status=400)
        error = self.assertError(resp, 400)
        self.assertIn("admin", error["message"])
        resp = self.broker.create_pool("p", status=400, colour="red")
        self.assertError(resp, 400)

    def test_wrong_types_and_control_characters(self):
        for changes in ({"username": 42}, {"password": ["x"]},
                        {"client_id": None}, {"seat": {}},
                        {"username": "amy\x00"}, {"username": "a\nb"},
                        {"client_id": ""}):
            resp = self.app.post_json(LOGIN, self.login_body(**changes),
                                      status=400)
            self.assertError(resp, 400)

    def test_oversized_fields(self):
        before = self.broker.counts()
        for changes in ({"username": "a" * 10000},
                        {"password": "p" * 5000},
                        {"client_id": "c" * 300},
                        {"seat": "s" * 300}):
            resp = self.app.post_json(LOGIN, self.login_body(**changes),
                                      status=400)
            error = self.assertError(resp, 400)
            # The message does not echo the whole value back.
            self.assertLess(len(resp.body), 2000, error)
        resp = self.broker.create_pool("n" * 256, status=400)
        self.assertError(resp, 400)
        self.assertNothingWritten(before)

    def test_body_over_the_size_limit_is_413(self):
        before = self.broker.counts()
        limit = self.conf.oslo_middleware.max_request_body_size
        body = json.dumps(self.login_body(password="p" * (limit + 10)))
        resp = self.app.post(LOGIN, body, content_type="application/json",
                             status=413)
        self.assertError(resp, 413)
        self.assertNothingWritten(before)

    def test_unknown_route_is_404(self):
        for path in ("/v2", "/v1/nothing", "/v1/pools/x/y", "/v1/client"):
            resp = self.app.get(path, status=404)
            error = self.assertError(resp, 404, "Not Found")
            self.assertIn(path, error["message"])
        resp = self.app.get("/v1/pools/no-such-pool", status=404)
        self.assertError(resp, 404)

    def test_client_api_disabled_is_404(self):
        self.broker.flags(group="api", client_api_enabled=False)
        for resp in (self.app.post_json(LOGIN, self.login_body(),
                                        status=404),
                     self.app.get(LOGIN + "/x", status=404)):
            self.assertError(resp, 404)
        self.assertEqual(0, self.broker.count("sessions"))
        # The admin API is still there.
        self.app.get("/v1/pools", status=200)

    def test_wrong_method_is_405(self):
        for method, path, allow in (
                ("PUT", "/v1/pools", "GET, POST"),
                ("DELETE", "/v1/client/sessions", "POST"),
                ("POST", "/", "GET"),
                ("PUT", "/v1/allocators/explain", "POST")):
            resp = self.app.request(path, method=method, expect_errors=True)
            error = self.assertError(resp, 405, "Method Not Allowed")
            self.assertEqual(allow, resp.headers["Allow"])
            self.assertIn(method, error["message"])

    def test_error_responses_carry_the_version_header(self):
        resp = self.app.get("/v1/nothing", status=404)
        self.assertEqual("vdi 1.0",
                         resp.headers["OpenStack-API-Version"])


class TestLoginFailures(BadInputTestCase):

    broker_flags = {("login_throttle", "user_failure_threshold"): 3,
                    ("login_throttle", "client_failure_threshold"): 0}

    def test_wrong_password_and_unknown_user_look_alike(self):
        before = self.broker.counts()
        wrong = self.app.post_json(LOGIN, self.login_body(password="nope"),
                                   status=401)
        unknown = self.app.post_json(
            LOGIN, self.login_body(username="nobody"), status=401)
        e1 = self.assertError(wrong, 401, "Unauthorized")
        e2 = self.assertError(unknown, 401, "Unauthorized")
        del e1["request_id"], e2["request_id"]
        self.assertEqual(e1, e2)
        self.assertNotIn("amy", e1["message"])
        self.assertNotIn("nobody", e2["message"])
        self.assertNothingWritten(before, ("sessions", "desktops"))

    def test_empty_password_is_400(self):
        resp = self.app.post_json(LOGIN, self.login_body(password=""),
                                  status=400)
        self.assertError(resp, 400)

    def test_lockout_after_repeated_failures(self):
        for _ in range(3):
            self.app.post_json(LOGIN, self.login_body(password="nope"),
                               status=401)
        # Locked: even the right password is refused, before the
        # directory is asked.
        with fixtures.MockPatchObject(
                self.broker.broker_app.identity, "authenticate") as auth:
            resp = self.app.post_json(LOGIN, self.login_body(), status=429)
            self.assertFalse(auth.mock.called)
        error = self.assertError(resp, 429, "Too Many Requests")
        retry_after = int(resp.headers["Retry-After"])
        self.assertGreater(retry_after, 0)
        self.assertLessEqual(retry_after,
                             self.conf.login_throttle.lockout_duration)
        # Case and spaces do not dodge the lockout; an unknown user name
        # is locked out the same way.
        resp = self.app.post_json(LOGIN, self.login_body(username="AMY"),
                                  status=429)
        self.assertEqual(error["message"], resp.json["error"]["message"])
        for _ in range(3):
            self.app.post_json(LOGIN, self.login_body(username="ghost"),
                               status=401)
        resp = self.app.post_json(LOGIN, self.login_body(username="ghost"),
                                  status=429)
        self.assertEqual(error["message"], resp.json["error"]["message"])
        # Other users are not affected.
        self.broker.login("sam")

    def test_success_resets_the_counter(self):
        for _ in range(2):
            self.app.post_json(LOGIN, self.login_body(password="nope"),
                               status=401)
        self.broker.login("amy")
        for _ in range(2):
            self.app.post_json(LOGIN, self.login_body(password="nope"),
                               status=401)
        self.broker.login("amy")


class TestNoAllocator(BadInputTestCase):

    default_allocator = False

    def test_no_allocator_matches_is_403_with_trace(self):
        # (The refusals of one minute are one event.)
        self.useFixture(clock.Clock())
        before = self.broker.counts()
        resp = self.broker.login("carl", status=403)
        error = self.assertError(resp, 403, "Forbidden")
        tried = error["details"]["tried"]
        self.assertEqual(["vip-personal", "training-seats",
                          "shanghai-agents", "nantong-agents"],
                         [step["allocator"] for step in tried])
        for step in tried:
            self.assertIn(step["result"], ("no match",))
        self.assertNothingWritten(before, ("sessions", "desktops",
                                           "bindings"))
        # The refusal is audited, in one bounded event per user, client
        # and minute.
        events = db.event_list(self.broker.ctxt, {"action": "login",
                                                  "result": "failure"})
        self.assertEqual(["carl"], [e["username"] for e in events])
        self.assertEqual("no_allocator", events[0]["detail"]["reason"])
        self.assertEqual(["vip-personal", "training-seats",
                          "shanghai-agents", "nantong-agents"],
                         [step["allocator"]
                          for step in events[0]["detail"]["tried"]])
        self.broker.login("carl", status=403)
        (event,) = db.event_list(self.broker.ctxt, {"action": "login",
                                                    "result": "failure"})
        self.assertEqual(2, event["occurrences"])

    def test_allocator_with_unknown_plugin_is_refused(self):
        before = self.broker.count("allocators")
        resp = self.broker.create_allocator(
            "broken", plugin="no-such-plugin", pool="sh-agents", status=400)
        error = self.assertError(resp, 400)
        self.assertIn("no-such-plugin", error["message"])
        self.assertEqual(before, self.broker.count("allocators"))

    def test_allocator_whose_plugin_is_not_installed_is_skipped(self):
        ctxt = vdi_context.get_admin_context()
        db.allocator_create(ctxt, {
            "name": "uninstalled", "priority": 1, "plugin": "gone-plugin",
            "pool_id": self.broker.pools["vip-desktops"]["id"],
            "rules": {}})
        resp = self.broker.login("amy")
        self.assertEqual("shanghai-agents", resp.json["allocator"]["name"])
        explain = self.app.post_json("/v1/allocators/explain",
                                     {"username": "amy"}).json["explain"]
        first = explain["trace"][0]
        self.assertEqual("uninstalled", first["allocator"])
        self.assertIn("not installed", first["result"])
        # Nobody is matched by it: still a clean 403 for carl.
        resp = self.broker.login("carl", status=403)
        tried = self.assertError(resp, 403)["details"]["tried"]
        self.assertIn("not installed", tried[0]["result"])


class TestEmptyPool(BadInputTestCase):

    fill = False

    def test_empty_pool_is_503_with_retry_after(self):
        # One pass: the desktops are booting, none is ready yet.
        self.broker.manager.pool_upkeep(self.broker.ctxt)
        before = self.broker.counts()
        resp = self.broker.login("amy", status=503)
        error = self.assertError(resp, 503, "Service Unavailable")
        self.assertGreater(int(resp.headers["Retry-After"]), 0)
        details = error["details"]
        self.assertEqual("sh-agents", details["pool"])
        self.assertEqual(0, details["ready"])
        self.assertEqual(2, details["building"])
        self.assertNothingWritten(before, ("sessions", "desktops",
                                           "bindings"))
        # A binding allocator on an empty pool does not bind anything.
        resp = self.broker.login("vera", status=503)
        self.assertEqual("vip-desktops",
                         self.assertError(resp, 503)["details"]["pool"])
        self.assertEqual(0, self.broker.count("bindings"))
        # Once the pool manager has caught up, the login works.
        self.broker.fill_pools()
        self.broker.login("amy")

    def test_disabled_pool_is_503(self):
        self.broker.fill_pools()
        self.app.patch_json("/v1/pools/sh-agents", {"enabled": False})
        before = self.broker.counts(("sessions", "desktops", "bindings"))
        resp = self.broker.login("amy", status=503)
        self.assertEqual("sh-agents",
                         self.assertError(resp, 503)["details"]["pool"])
        self.assertEqual(before, self.broker.counts(before.keys()))
        # The refusal is audited (bounded, as failed logins are).
        (event,) = db.event_list(self.broker.ctxt, {"action": "login",
                                                    "result": "failure"})
        self.assertEqual(("amy", "pool_disabled", "sh-agents"),
                         (event["username"], event["detail"]["reason"],
                          event["detail"]["pool"]))
        self.assertIn("pool is disabled", event["message"])

    def test_exhausted_pool_refusal_is_audited(self):
        resp = self.broker.login("amy", status=503)
        self.assertEqual(0, self.assertError(resp, 503)["details"]["ready"])
        (event,) = db.event_list(self.broker.ctxt, {"action": "login",
                                                    "result": "failure"})
        self.assertEqual(("amy", "pool_exhausted", "sh-agents",
                          "shanghai-agents"),
                         (event["username"], event["detail"]["reason"],
                          event["detail"]["pool"],
                          event["detail"]["allocator"]))


class TestUnexpectedErrors(BadInputTestCase):

    SECRET = "secret-internal-detail-%s" % id(object())

    def assertGeneric500(self, resp):
        error = self.assertError(resp, 500, "Internal Server Error")
        self.assertNotIn(self.SECRET, resp.text)
        self.assertNotIn("RuntimeError", resp.text)
        self.assertNotIn("KeyError", resp.text)
        return error

    def test_admin_handler_raising_is_a_generic_500(self):
        self.useFixture(fixtures.MockPatch(
            "vdi_broker.db.api.pool_list",
            side_effect=RuntimeError(self.SECRET)))
        resp = self.app.get("/v1/pools", status=500)
        self.assertGeneric500(resp)

    def test_login_raising_is_a_generic_500(self):
        before = self.broker.counts()
        # A bug in the allocator chain, inside the login's transaction.
        self.useFixture(fixtures.MockPatch(
            "vdi_broker.login.chain.decide",
            side_effect=KeyError(self.SECRET)))
        resp = self.broker.login("amy", status=500)
        self.assertGeneric500(resp)
        self.assertNothingWritten(before)

    def test_failure_inside_the_allocation_writes_nothing(self):
        """A failure at the end of the allocation undoes the claim.

        The claim, the session and the audit event are one transaction.
        """
        before = self.broker.counts()
        ready = self.broker.ready_counts()
        self.useFixture(fixtures.MockPatch(
            "vdi_broker.db.sqlalchemy.allocation._insert_event",
            side_effect=RuntimeError(self.SECRET)))
        resp = self.broker.login("amy", status=500)
        self.assertGeneric500(resp)
        self.assertNothingWritten(before)
        self.assertEqual(ready, self.broker.ready_counts())
        self.assertEqual([], db.desktop_list(self.broker.ctxt,
                                             {"state": "assigned"}))
