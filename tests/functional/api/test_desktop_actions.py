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

"""Desktop actions (POST /v1/desktops/{id}/action) and the thin client's
fault report, through the API against the fake cloud.

The state changes are the DB API's compare-and-swaps, so the main cases
run on SQLite, MariaDB and PostgreSQL.
"""

from tests import base
from tests.fixtures import broker as broker_fixture
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception


class ActionTestCase(base.TestCase):

    backend = "sqlite"

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self, backend=self.backend)
        self.pools, self.allocators = self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt
        self.cloud = self.broker.cloud

    # -- helpers -----------------------------------------------------------

    def act(self, desktop_id, body, status=202, roles=None):
        headers = {}
        if roles is not None:
            headers = {"X-Roles": ",".join(roles), "X-User-Id": "op-1",
                       "X-Project-Id": "p-1"}
        return self.app.post_json("/v1/desktops/%s/action" % desktop_id,
                                  body, headers=headers, status=status)

    def desktop(self, desktop_id):
        return db.desktop_get(self.ctxt, desktop_id)

    def ready(self, pool):
        return db.desktop_list(self.ctxt, {
            "pool_id": self.pools[pool]["id"], "state": models.READY})

    def events(self, action, **filters):
        return db.event_list(self.ctxt, dict(filters, action=action))

    def server(self, desktop):
        return self.cloud.servers.get(desktop["server_id"])

    def session_state(self, login):
        return db.session_get(self.ctxt,
                              login.json["session"]["id"])["state"]

    def take_ready(self, pool, users):
        """Bind the pool's ready desktops to ``users`` (none stays ready)."""
        for desktop, user in zip(self.ready(pool), users):
            self.app.post_json("/v1/bindings", {
                "kind": "user", "key": user, "desktop_id": desktop["id"]})
        self.assertEqual([], self.ready(pool))


class QuarantineTests(ActionTestCase):

    def test_operator_quarantine_and_unquarantine(self):
        login = self.broker.login("amy")
        desktop_id = login.json["desktop"]["id"]
        resp = self.act(desktop_id, {"quarantine": {"reason": "blue screen"}},
                        roles=["admin"])
        view = resp.json["desktop"]
        self.assertEqual(models.QUARANTINED, view["state"])
        self.assertEqual("blue screen", view["fault_reason"])
        self.assertEqual("op-1", view["faulted_by"])
        self.assertIsNotNone(view["faulted_at"])
        # Locked in the cloud, with the reason; the session is closed.
        desktop = self.desktop(desktop_id)
        self.assertIn("blue screen", self.server(desktop)["locked"])
        self.assertEqual("closed", self.session_state(login))
        self.app.get(self.broker.session_url(login), status=401, headers={
            "X-Session-Token": login.json["session"]["token"]})
        event = self.events("desktop.quarantine")[0]
        self.assertEqual(desktop_id, event["desktop_id"])
        self.assertEqual("op-1", event["actor"])
        self.assertEqual(models.ASSIGNED, event["detail"]["from_state"])
        # The next login gets a healthy desktop.
        again = self.broker.login("amy")
        self.assertNotEqual(desktop_id, again.json["desktop"]["id"])
        # Not twice; GET shows the fault.
        self.act(desktop_id, {"quarantine": {}}, status=409)
        shown = self.app.get("/v1/desktops/%s" % desktop_id).json["desktop"]
        self.assertEqual("blue screen", shown["fault_reason"])

        resp = self.act(desktop_id, {"unquarantine": {}})
        # sh-agents reboots released desktops: the reboot is under way.
        self.assertEqual(models.RELEASING, resp.json["desktop"]["state"])
        self.assertIsNone(resp.json["desktop"]["fault_reason"])
        self.assertIsNone(self.server(desktop)["locked"])
        self.assertIn(("reboot", desktop["server_id"]), self.cloud.calls)
        self.broker.fill_pools()
        self.assertEqual(models.READY, self.desktop(desktop_id)["state"])
        self.assertEqual("reboot", self.events(
            "desktop.unquarantine")[0]["detail"]["action"])
        self.act(desktop_id, {"unquarantine": {}}, status=409)

    def test_unquarantine_keep_and_delete(self):
        one, two = self.ready("sh-agents")[:2]
        for desktop in (one, two):
            self.act(desktop["id"], {"quarantine": {"reason": "test"}})
        resp = self.act(one["id"], {"unquarantine": {"action": "keep"}})
        self.assertEqual(models.READY, resp.json["desktop"]["state"])
        resp = self.act(two["id"], {"unquarantine": {"action": "delete"}})
        self.assertEqual(models.DELETING, resp.json["desktop"]["state"])
        self.assertRaises(exception.DesktopNotFound, self.desktop, two["id"])
        self.assertNotIn(two["server_id"], self.cloud.servers)

    def test_unquarantine_default_from_config(self):
        self.broker.flags(group="conductor", unquarantine_action="delete")
        desktop = self.ready("sh-agents")[0]
        self.act(desktop["id"], {"quarantine": {}})
        resp = self.act(desktop["id"], {"unquarantine": {}})
        self.assertEqual(models.DELETING, resp.json["desktop"]["state"])

    def test_bound_user_gets_another_desktop(self):
        login = self.broker.login("vera")
        old = login.json["desktop"]["id"]
        binding = login.json["binding"]
        resp = self.act(old, {"quarantine": {"reason": "no sound"}})
        self.assertEqual(models.QUARANTINED, resp.json["desktop"]["state"])
        moved = db.binding_get(self.ctxt, binding["id"])
        self.assertNotEqual(old, moved["desktop_id"])
        new = self.desktop(moved["desktop_id"])
        self.assertEqual((models.ASSIGNED, "vera"),
                         (new["state"], new["assigned_user"]))
        event = self.events("binding.move")[0]
        self.assertEqual(old, event["detail"]["from_desktop"])
        self.assertEqual("vera", event["username"])
        again = self.broker.login("vera")
        self.assertEqual(moved["desktop_id"], again.json["desktop"]["id"])
        self.assertTrue(again.json["reused"])

    def test_bound_without_ready_desktop_keeps_binding(self):
        login = self.broker.login("vera")
        old = login.json["desktop"]["id"]
        self.take_ready("vip-desktops", ["sam", "nina"])
        self.act(old, {"quarantine": {"reason": "no sound"}})
        binding = db.binding_find(self.ctxt, "user", "vera")
        self.assertEqual(old, binding["desktop_id"])
        self.assertEqual([], self.events("binding.move"))
        # Back in service: the owner's desktop again.
        resp = self.act(old, {"unquarantine": {"action": "rebuild"}})
        self.assertEqual((models.ASSIGNED, "vera"),
                         (resp.json["desktop"]["state"],
                          resp.json["desktop"]["assigned_user"]))
        self.assertIn(("rebuild", resp.json["desktop"]["server_id"]),
                      self.cloud.calls)

    def test_thin_client_reports_fault(self):
        login = self.broker.login("amy", client_id="tc-0042")
        desktop_id = login.json["desktop"]["id"]
        token = {"X-Session-Token": login.json["session"]["token"]}
        url = self.broker.session_url(login) + "/fault"
        resp = self.app.post_json(url, {"reason": "screen frozen"},
                                  headers=token, status=202)
        self.assertEqual({"id": desktop_id, "state": models.QUARANTINED,
                          "name": login.json["desktop"]["name"]},
                         resp.json["desktop"])
        desktop = self.desktop(desktop_id)
        self.assertEqual(("screen frozen", "client:tc-0042"),
                         (desktop["fault_reason"], desktop["faulted_by"]))
        self.assertIn("screen frozen", self.server(desktop)["locked"])
        event = self.events("desktop.quarantine")[0]
        self.assertEqual("client", event["detail"]["source"])
        # The session is over: a second report is refused.
        self.assertEqual("closed", self.session_state(login))
        resp = self.app.post_json(url, {"reason": "again"}, headers=token,
                                  expect_errors=True)
        broker_fixture.assert_error(self, resp, 401)
        again = self.broker.login("amy", client_id="tc-0042")
        self.assertNotEqual(desktop_id, again.json["desktop"]["id"])

    def test_fault_report_needs_the_token_and_a_body(self):
        login = self.broker.login("amy")
        url = self.broker.session_url(login) + "/fault"
        resp = self.app.post_json(url, {"reason": "x"}, expect_errors=True)
        broker_fixture.assert_error(self, resp, 401)
        token = {"X-Session-Token": login.json["session"]["token"]}
        for body in ({"reason": ""}, {"reason": 5}, {"why": "x"}, []):
            resp = self.app.post_json(url, body, headers=token,
                                      expect_errors=True)
            broker_fixture.assert_error(self, resp, 400)
        resp = self.app.post(url, headers=token, expect_errors=True)
        broker_fixture.assert_error(self, resp, 400)
        self.assertEqual(models.ASSIGNED,
                         self.desktop(login.json["desktop"]["id"])["state"])


class RestartTests(ActionTestCase):

    def test_reboot_ready_desktop_leaves_and_returns(self):
        desktop = self.ready("sh-agents")[0]
        resp = self.act(desktop["id"], {"reboot": {"hard": True}})
        self.assertEqual(models.RELEASING, resp.json["desktop"]["state"])
        self.assertEqual("release:reboot:issued",
                         resp.json["desktop"]["state_reason"])
        self.assertIn(("reboot", desktop["server_id"]), self.cloud.calls)
        self.broker.fill_pools()
        self.assertEqual(models.READY, self.desktop(desktop["id"])["state"])
        event = self.events("desktop.reboot")[0]
        self.assertEqual({"state": models.READY, "hard": True},
                         event["detail"])

    def test_reboot_assigned_keeps_user(self):
        login = self.broker.login("amy")
        desktop_id = login.json["desktop"]["id"]
        resp = self.act(desktop_id, {"reboot": {}})
        self.assertEqual((models.ASSIGNED, "amy"),
                         (resp.json["desktop"]["state"],
                          resp.json["desktop"]["assigned_user"]))
        self.assertEqual("active", self.session_state(login))

    def test_rebuild_uses_pool_image(self):
        desktop = self.ready("nt-agents")[0]
        self.cloud.servers[desktop["server_id"]]["image"] = "old-image"
        resp = self.act(desktop["id"], {"rebuild": {}})
        self.assertEqual(models.RELEASING, resp.json["desktop"]["state"])
        self.assertEqual("win10-golden",
                         self.cloud.servers[desktop["server_id"]]["image"])
        self.assertEqual(1, len(self.events("desktop.rebuild")))

    def test_reboot_quarantined_stays_locked(self):
        desktop = self.ready("sh-agents")[0]
        self.act(desktop["id"], {"quarantine": {"reason": "disk full"}})
        resp = self.act(desktop["id"], {"reboot": {}})
        self.assertEqual(models.QUARANTINED, resp.json["desktop"]["state"])
        self.assertIn(("reboot", desktop["server_id"]), self.cloud.calls)
        self.assertIn("disk full", self.server(desktop)["locked"])

    def test_vanished_server_marks_error(self):
        desktop = self.ready("sh-agents")[0]
        del self.cloud.servers[desktop["server_id"]]
        resp = self.act(desktop["id"], {"reboot": {}}, status=409)
        self.assertIn("server vanished", resp.json["error"]["message"])
        self.assertEqual(models.ERROR, self.desktop(desktop["id"])["state"])
        # Wrong state now.
        self.act(desktop["id"], {"rebuild": {}}, status=409)


class ReplaceMoveTests(ActionTestCase):

    def test_replace_bound_desktop(self):
        login = self.broker.login("vera")
        old = self.desktop(login.json["desktop"]["id"])
        resp = self.act(old["id"], {"replace": {}})
        self.assertEqual(models.DELETING, resp.json["desktop"]["state"])
        self.assertRaises(exception.DesktopNotFound, self.desktop, old["id"])
        self.assertNotIn(old["server_id"], self.cloud.servers)
        binding = db.binding_find(self.ctxt, "user", "vera")
        self.assertNotEqual(old["id"], binding["desktop_id"])
        self.assertEqual("closed", self.session_state(login))
        self.assertEqual(1, len(self.events("desktop.replace")))
        self.assertEqual(1, len(self.events("binding.move")))
        again = self.broker.login("vera")
        self.assertEqual(binding["desktop_id"], again.json["desktop"]["id"])

    def test_replace_quarantined_unlocks_and_deletes(self):
        desktop = self.ready("sh-agents")[0]
        self.act(desktop["id"], {"quarantine": {}})
        self.act(desktop["id"], {"replace": {}})
        self.assertNotIn(desktop["server_id"], self.cloud.servers)

    def test_replace_without_ready_desktop_changes_nothing(self):
        login = self.broker.login("vera")
        old = login.json["desktop"]["id"]
        self.take_ready("vip-desktops", ["sam", "nina"])
        resp = self.act(old, {"replace": {}}, status=409)
        self.assertIn("no ready desktop", resp.json["error"]["message"])
        self.assertEqual(models.ASSIGNED, self.desktop(old)["state"])
        self.assertEqual(old, db.binding_find(self.ctxt, "user",
                                              "vera")["desktop_id"])
        self.assertEqual("active", self.session_state(login))

    def test_move_bound_desktop_to_another_user(self):
        login = self.broker.login("vera")
        desktop_id = login.json["desktop"]["id"]
        # Sam becomes a VIP agent: the vip-personal allocator serves him.
        sam = next(u for u in self.broker.users if u["username"] == "sam")
        self.broker.update_user("sam",
                                groups=sam["groups"] + ["vip-agents"])
        self.broker.build()
        self.app = self.broker.app
        resp = self.act(desktop_id, {"move": {"user": "sam"}})
        self.assertEqual("sam", resp.json["desktop"]["assigned_user"])
        self.assertIsNone(db.binding_find(self.ctxt, "user", "vera"))
        binding = db.binding_find(self.ctxt, "user", "sam")
        self.assertEqual((desktop_id, 2),
                         (binding["desktop_id"], binding["revision"]))
        self.assertEqual("closed", self.session_state(login))
        event = self.events("desktop.move")[0]
        self.assertEqual({"vera", "sam"}, {event["detail"]["from_user"],
                                           event["detail"]["to_user"]})
        again = self.broker.login("sam")
        self.assertEqual(desktop_id, again.json["desktop"]["id"])
        # Vera gets a new one of her pool.
        vera = self.broker.login("vera")
        self.assertNotEqual(desktop_id, vera.json["desktop"]["id"])
        # Back to sam again: already his; to vera: she has a binding now.
        self.act(desktop_id, {"move": {"user": "sam"}}, status=409)
        self.act(desktop_id, {"move": {"user": "vera"}}, status=409)

    def test_move_refused_for_floating_and_ready(self):
        login = self.broker.login("amy")
        resp = self.act(login.json["desktop"]["id"],
                        {"move": {"user": "sam"}}, status=409)
        self.assertIn("no user binding", resp.json["error"]["message"])
        self.act(self.ready("sh-agents")[0]["id"],
                 {"move": {"user": "sam"}}, status=409)
        self.assertEqual("amy", self.desktop(
            login.json["desktop"]["id"])["assigned_user"])


class RefusalTests(ActionTestCase):

    def test_bad_requests(self):
        desktop = self.ready("sh-agents")[0]
        for body in ({}, {"reboot": {}, "rebuild": {}}, {"explode": {}},
                     {"move": {}}, {"reboot": {"hard": "yes"}},
                     {"unquarantine": {"action": "burn"}},
                     {"quarantine": {"reason": ""}}, ["reboot"],
                     {"reboot": None}):
            resp = self.app.post_json(
                "/v1/desktops/%s/action" % desktop["id"], body,
                expect_errors=True)
            broker_fixture.assert_error(self, resp, 400)
        resp = self.app.post_json("/v1/desktops/nope/action",
                                  {"reboot": {}}, expect_errors=True)
        broker_fixture.assert_error(self, resp, 404)
        resp = self.app.get("/v1/desktops/%s/action" % desktop["id"],
                            expect_errors=True)
        broker_fixture.assert_error(self, resp, 405)
        self.assertEqual(models.READY, self.desktop(desktop["id"])["state"])
        self.assertEqual([], [c for c in self.cloud.calls
                              if c[0] in ("reboot", "rebuild")])

    def test_wrong_states_are_409(self):
        desktop = self.ready("sh-agents")[0]
        self.act(desktop["id"], {"unquarantine": {}}, status=409)
        db.desktop_transition(self.ctxt, desktop["id"], [models.READY],
                              {"state": models.DELETING})
        for body in ({"reboot": {}}, {"rebuild": {}}, {"replace": {}},
                     {"quarantine": {}}, {"move": {"user": "x"}}):
            resp = self.act(desktop["id"], body, status=409)
            broker_fixture.assert_error(self, resp, 409)
        self.assertEqual([], self.events("desktop.quarantine"))

    def test_personas(self):
        desktop = self.ready("sh-agents")[0]
        bodies = [{"reboot": {}}, {"rebuild": {}}, {"replace": {}},
                  {"move": {"user": "sam"}}, {"quarantine": {}},
                  {"unquarantine": {}}]
        for roles in (["reader"], ["member"], ["nobody"]):
            for body in bodies:
                resp = self.act(desktop["id"], body, status=403,
                                roles=roles)
                error = broker_fixture.assert_error(self, resp, 403)
                self.assertIn("vdi_broker:desktops:action:%s" % next(
                    iter(body)), error["message"])
        for body in bodies:
            if "quarantine" not in body:
                self.act(desktop["id"], body, status=403,
                         roles=["service"])
        self.assertEqual(models.READY, self.desktop(desktop["id"])["state"])
        resp = self.act(desktop["id"], {"quarantine": {"reason": "probe"}},
                        roles=["service"])
        self.assertEqual("op-1", resp.json["desktop"]["faulted_by"])
        self.act(desktop["id"], {"unquarantine": {}}, status=403,
                 roles=["service"])
        self.act(desktop["id"], {"unquarantine": {}}, roles=["admin"])


class MySQLQuarantineTests(QuarantineTests):
    backend = "mysql"


class PostgreSQLQuarantineTests(QuarantineTests):
    backend = "postgresql"


class MySQLReplaceMoveTests(ReplaceMoveTests):
    backend = "mysql"


class PostgreSQLReplaceMoveTests(ReplaceMoveTests):
    backend = "postgresql"
