"""Policy on the admin API: reader < member < admin; the thin-client API
and the version document are public."""

import fixtures
from oslo_config import cfg

from tests import base
from tests.fixtures import broker as broker_fixture
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models


class PolicyTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.pools, self.allocators = self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.app = self.broker.app
        self.login = self.broker.login("amy")
        self.pool = self.pools["sh-agents"]
        self.allocator = self.allocators["shanghai-agents"]
        self.thin_client = self.app.post_json("/v1/thin-clients", {
            "client_id": "tc-policy", "seat": "SH-2F-001"}
        ).json["thin_client"]
        self.schedule = self.app.post_json("/v1/schedules", {
            "name": "day", "pool_id": "sh-agents", "days": ["mon"],
            "start_time": "08:00", "end_time": "18:00", "min_ready": 1}
        ).json["schedule"]
        self.event = self.app.get("/v1/events?limit=1").json["events"][0]

    def call(self, roles, method, path, body=None, status=None):
        headers = {"X-Roles": ",".join(roles), "X-User-Id": "u-1",
                   "X-Project-Id": "p-1"}
        kwargs = {"headers": headers, "expect_errors": True}
        if body is not None:
            resp = getattr(self.app, method.lower() + "_json")(
                path, body, **kwargs)
        else:
            resp = self.app.request(path, method=method, **kwargs)
        if status is not None:
            self.assertEqual(status, resp.status_int,
                             "%s %s as %s: %s" % (method, path, roles,
                                                  resp.text))
        return resp

    def ready_desktop(self):
        return db.desktop_list(self.broker.ctxt, {
            "pool_id": self.pools["vip-desktops"]["id"],
            "state": models.READY})[0]

    def reads(self):
        return [
            ("GET", "/v1/pools", None),
            ("GET", "/v1/pools/%s" % self.pool["id"], None),
            ("GET", "/v1/allocators", None),
            ("GET", "/v1/allocators/%s" % self.allocator["id"], None),
            ("POST", "/v1/allocators/explain", {"username": "amy"}),
            ("GET", "/v1/bindings", None),
            ("GET", "/v1/desktops", None),
            ("GET", "/v1/desktops/%s" % self.login.json["desktop"]["id"],
             None),
            ("GET", "/v1/sessions", None),
            ("GET", "/v1/sessions/%s" % self.login.json["session"]["id"],
             None),
            ("GET", "/v1/seats", None),
            ("GET", "/v1/seats/SH-2F-001", None),
            ("GET", "/v1/thin-clients", None),
            ("GET", "/v1/thin-clients/%s" % self.thin_client["id"], None),
            ("GET", "/v1/schedules", None),
            ("GET", "/v1/schedules/%s" % self.schedule["id"], None),
            ("GET", "/v1/events", None),
            ("GET", "/v1/events/%d" % self.event["id"], None),
        ]

    def admin_writes(self):
        return [
            ("POST", "/v1/pools", dict(broker_fixture.POOL_DEFAULTS,
                                       name="new-pool")),
            ("PATCH", "/v1/pools/%s" % self.pool["id"], {"min_ready": 1}),
            ("DELETE", "/v1/pools/%s" % self.pool["id"], None),
            ("POST", "/v1/allocators", {"name": "new", "plugin": "pool",
                                        "pool": "sh-agents"}),
            ("PATCH", "/v1/allocators/%s" % self.allocator["id"],
             {"priority": 1}),
            ("DELETE", "/v1/allocators/%s" % self.allocator["id"], None),
            ("POST", "/v1/allocators/reorder", {"allocators": [
                a["name"] for a in reversed(list(
                    self.allocators.values()))]}),
            ("POST", "/v1/seats", {"name": "new-seat"}),
            ("PATCH", "/v1/seats/SH-2F-001", {"department": "x"}),
            ("DELETE", "/v1/seats/SH-2F-001", None),
            ("POST", "/v1/thin-clients", {"client_id": "tc-new"}),
            ("PATCH", "/v1/thin-clients/tc-policy", {"model": "x"}),
            ("DELETE", "/v1/thin-clients/tc-policy", None),
            ("POST", "/v1/schedules", {
                "name": "night", "pool_id": "sh-agents", "days": ["mon"],
                "start_time": "20:00", "end_time": "06:00",
                "min_ready": 1}),
            ("PATCH", "/v1/schedules/%s" % self.schedule["id"],
             {"min_ready": 2}),
            ("DELETE", "/v1/schedules/%s" % self.schedule["id"], None),
        ]

    def member_writes(self):
        return [
            ("POST", "/v1/bindings", {"kind": "user", "key": "sam",
                                      "desktop_id":
                                      self.ready_desktop()["id"]}),
            ("DELETE", "/v1/bindings/any", None),
            ("PATCH", "/v1/bindings/any", {"desktop_id": "any"}),
            ("DELETE", "/v1/sessions/%s" % self.login.json["session"]["id"],
             None),
        ]

    def revisions(self):
        return {(path, item["name" if "name" in item else "client_id"]):
                item["revision"]
                for path in ("pools", "allocators", "seats", "thin-clients",
                             "schedules")
                for item in self.app.get("/v1/" + path).json[
                    path.replace("-", "_")]}

    def assertForbidden(self, roles, requests):
        before = self.broker.counts(("pools", "allocators", "bindings",
                                     "sessions", "desktops", "events",
                                     "seats", "thin_clients", "schedules"))
        revisions = self.revisions()
        for method, path, body in requests:
            resp = self.call(roles, method, path, body, status=403)
            error = broker_fixture.assert_error(self, resp, 403,
                                                "Forbidden")
            self.assertIn("vdi_broker:", error["message"])
        self.assertEqual(before, self.broker.counts(before.keys()))
        self.assertEqual(revisions, self.revisions())
        self.assertEqual("active", db.session_get(
            self.broker.ctxt, self.login.json["session"]["id"])["state"])


class TestPersonas(PolicyTestCase):

    def test_reader_reads_but_does_not_write(self):
        for method, path, body in self.reads():
            self.call(["reader"], method, path, body, status=200)
        self.assertForbidden(["reader"],
                             self.admin_writes() + self.member_writes())

    def test_member_manages_bindings_and_sessions_only(self):
        for method, path, body in self.reads():
            self.call(["member"], method, path, body, status=200)
        self.assertForbidden(["member"], self.admin_writes())
        desktop = self.ready_desktop()
        resp = self.call(["member"], "POST", "/v1/bindings",
                         {"kind": "user", "key": "sam",
                          "desktop_id": desktop["id"]}, status=201)
        self.call(["member"], "PATCH",
                  "/v1/bindings/%s" % resp.json["binding"]["id"],
                  {"desktop_id": self.ready_desktop()["id"]}, status=200)
        self.call(["member"], "DELETE",
                  "/v1/bindings/%s" % resp.json["binding"]["id"],
                  status=204)
        self.call(["member"], "DELETE",
                  "/v1/sessions/%s" % self.login.json["session"]["id"],
                  status=204)
        self.assertEqual("closed", db.session_get(
            self.broker.ctxt, self.login.json["session"]["id"])["state"])

    def test_admin_does_everything(self):
        for method, path, body in self.reads():
            self.call(["admin"], method, path, body, status=200)
        resp = self.call(["admin"], "POST", "/v1/bindings",
                         {"kind": "user", "key": "sam",
                          "desktop_id": self.ready_desktop()["id"]},
                         status=201)
        self.call(["admin"], "DELETE",
                  "/v1/bindings/%s" % resp.json["binding"]["id"],
                  status=204)
        self.call(["admin"], "DELETE",
                  "/v1/sessions/%s" % self.login.json["session"]["id"],
                  status=204)
        self.call(["admin"], "POST", "/v1/pools",
                  dict(broker_fixture.POOL_DEFAULTS, name="new-pool"),
                  status=201)
        self.call(["admin"], "PATCH", "/v1/pools/new-pool",
                  {"min_ready": 0}, status=200)
        self.call(["admin"], "POST", "/v1/allocators",
                  {"name": "new", "plugin": "pool", "pool": "new-pool"},
                  status=201)
        self.call(["admin"], "PATCH", "/v1/allocators/new",
                  {"priority": 1}, status=200)
        self.call(["admin"], "DELETE", "/v1/allocators/new", status=204)
        self.call(["admin"], "DELETE", "/v1/pools/new-pool", status=204)
        self.call(["admin"], "POST", "/v1/allocators/reorder", {
            "allocators": [a["name"] for a in reversed(list(
                self.allocators.values()))]}, status=200)
        for collection, ident, body, change in (
                ("seats", "s-new", {"name": "s-new"}, {"site": "x"}),
                ("thin-clients", "tc-new", {"client_id": "tc-new",
                                            "seat": "s-new"},
                 {"seat": None}),
                ("schedules", None, {
                    "name": "night", "pool_id": "sh-agents",
                    "days": ["sun"], "start_time": "20:00",
                    "end_time": "06:00", "min_ready": 1},
                 {"min_ready": 2})):
            resp = self.call(["admin"], "POST", "/v1/" + collection, body,
                             status=201)
            ident = ident or list(resp.json.values())[0]["id"]
            self.call(["admin"], "PATCH", "/v1/%s/%s" % (collection, ident),
                      change, status=200)
        for collection, ident in (("thin-clients", "tc-new"),
                                  ("seats", "s-new"),
                                  ("schedules", self.schedule["id"])):
            self.call(["admin"], "DELETE", "/v1/%s/%s" % (collection, ident),
                      status=204)

    def test_no_roles_forbidden_everywhere_but_public_paths(self):
        for roles in ([], ["guest"], ["readers"]):
            self.assertForbidden(roles, self.reads() + self.admin_writes() +
                                 self.member_writes())
        # The thin-client API and the version document need no role.
        for roles in ([], ["guest"]):
            self.call(roles, "GET", "/", status=200)
            self.call(roles, "GET", "/v1", status=200)
            self.call(roles, "POST", "/v1/client/heartbeat",
                      {"client_id": "tc-policy"}, status=204)
            resp = self.call(roles, "POST", "/v1/client/sessions", {
                "username": "bob", "password": broker_fixture.PASSWORD,
                "client_id": "tc-9"}, status=201)
            token = resp.json["session"]["token"]
            self.assertEqual(200, self.app.get(
                self.broker.session_url(resp),
                headers={"X-Roles": "", "X-Session-Token": token}
            ).status_int)
            self.app.delete(self.broker.session_url(resp),
                            headers={"X-Roles": "",
                                     "X-Session-Token": token},
                            status=204)

    def test_roles_are_trimmed_and_combined(self):
        self.call([" reader", "member "], "DELETE",
                  "/v1/sessions/%s" % self.login.json["session"]["id"],
                  status=204)


class TestKeystone(PolicyTestCase):

    def setUp(self):
        super().setUp()
        broker_fixture.keystone_service_user(self)
        self.flags(group="api", auth_strategy="keystone")
        # Any attempt to reach a Keystone fails the test.
        self.network = self.useFixture(fixtures.MockPatch(
            "keystoneauth1.session.Session.request",
            side_effect=AssertionError("Keystone was contacted")))
        self.app = self.broker.build()

    def test_admin_api_without_token_is_401(self):
        for method, path, body in self.reads()[:3] + self.admin_writes()[:1]:
            resp = self.call(["admin"], method, path, body, status=401)
            self.assertIn('Keystone uri="http://127.0.0.1:1/identity"',
                          resp.headers["WWW-Authenticate"])
            self.assertNotIn("Traceback", resp.text)
            self.assertEqual(401, resp.json["error"]["code"])
        self.assertFalse(self.network.mock.called)

    def test_missing_service_user_refuses_to_start(self):
        # Without an auth plugin every request with a token would be a
        # 500: the API does not start, and says why.
        self.flags(group="keystone_authtoken", auth_type=None)
        e = self.assertRaises(cfg.RequiredOptError, self.broker.build)
        self.assertIn("auth_type", str(e))
        self.assertIn("keystone_authtoken", str(e))

    def test_public_paths_work_without_token(self):
        self.assertEqual(200, self.app.get("/").status_int)
        self.assertEqual(200, self.app.get("/v1").status_int)
        resp = self.broker.login("bob", client_id="tc-7")
        headers = {"X-Session-Token": resp.json["session"]["token"]}
        self.app.get(self.broker.session_url(resp), headers=headers,
                     status=200)
        self.app.delete(self.broker.session_url(resp), headers=headers,
                        status=204)
        self.assertFalse(self.network.mock.called)

    def test_headers_without_a_confirmed_token_are_not_trusted(self):
        # keystonemiddleware strips forged identity headers.
        resp = self.app.get("/v1/pools", headers={
            "X-Identity-Status": "Confirmed", "X-Roles": "admin"},
            status=401)
        self.assertEqual(401, resp.status_int)
        self.assertFalse(self.network.mock.called)
