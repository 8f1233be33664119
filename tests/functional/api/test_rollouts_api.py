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

"""Image roll-outs and maintenance windows through the admin API.

The whole WSGI application with the conductor in-process
(tests/fixtures/broker.py) and its pool manager run by hand; real logins
of the thin-client API for the drain.
"""

import datetime

from oslo_utils import timeutils

from tests import base
from tests.fixtures import broker as broker_fixture
from vdi_broker.db import api as db


class RolloutApiTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.app = self.broker.app
        self.broker.setup_call_centre()
        self.broker.fill_pools()

    def error(self, resp, status):
        return broker_fixture.assert_error(self, resp, status)


class TestRolloutsApi(RolloutApiTestCase):

    def test_rollout_life_cycle(self):
        pool = self.broker.pools["sh-agents"]
        resp = self.app.post_json("/v1/pools/sh-agents/rollouts", {
            "image": "win11-next", "canary_share": 0.5, "wave_size": 1},
            status=201)
        rollout = resp.json["rollout"]
        self.assertTrue(resp.headers["Location"].endswith(
            "/v1/rollouts/%s" % rollout["id"]))
        self.assertEqual(pool["image"], rollout["previous_image"])
        self.assertEqual("win11-next", rollout["target_image"])
        self.assertEqual(("running", "canary", 1),
                         (rollout["state"], rollout["phase"],
                          rollout["canary_size"]))
        self.assertEqual(2, rollout["progress"]["old"])
        self.assertEqual("win11-next", self.app.get(
            "/v1/pools/sh-agents").json["pool"]["image"])
        # One open roll-out per pool; an image the pool runs already.
        self.error(self.app.post_json("/v1/pools/sh-agents/rollouts", {
            "image": "win11-other"}, expect_errors=True), 409)
        self.error(self.app.post_json("/v1/pools/nt-agents/rollouts", {
            "image": self.broker.pools["nt-agents"]["image"]},
            expect_errors=True), 409)
        # The pool's image belongs to the roll-out now.
        self.error(self.app.patch_json("/v1/pools/sh-agents", {
            "image": "win11-other"}, expect_errors=True), 409)
        self.app.patch_json("/v1/pools/sh-agents",
                            {"image": "win11-next", "min_ready": 2})
        listed = self.app.get("/v1/pools/sh-agents/rollouts").json
        self.assertEqual([rollout["id"]],
                         [r["id"] for r in listed["rollouts"]])
        self.assertEqual([rollout["id"]], [r["id"] for r in self.app.get(
            "/v1/rollouts?state=running").json["rollouts"]])
        # The conductor works on it.
        for _ in range(20):
            self.broker.manager.pool_upkeep(self.broker.ctxt)
            rollout = self.app.get("/v1/rollouts/%s" %
                                   rollout["id"]).json["rollout"]
            if rollout["state"] == "completed":
                break
        self.assertEqual("completed", rollout["state"], rollout)
        self.assertEqual(0, rollout["progress"]["old"])
        desktops = self.app.get("/v1/desktops?pool_id=%s" %
                                pool["id"]).json["desktops"]
        self.assertEqual({"win11-next"}, {d["image"] for d in desktops})
        rebuilt = self.app.get("/v1/rollouts/%s/desktops?state=done" %
                               rollout["id"]).json["desktops"]
        self.assertEqual(2, len(rebuilt))
        self.assertEqual({"ready"}, {d["from_state"] for d in rebuilt})
        # Paused only while running; a completed one may be rolled back.
        self.error(self.app.post_json(
            "/v1/rollouts/%s/action" % rollout["id"], {"action": "pause"},
            expect_errors=True), 409)
        rollout = self.app.post_json(
            "/v1/rollouts/%s/action" % rollout["id"],
            {"action": "rollback", "reason": "ticket 7"}).json["rollout"]
        self.assertEqual(("rolling_back", pool["image"]),
                         (rollout["state"], rollout["target_image"]))
        self.assertEqual(pool["image"], self.app.get(
            "/v1/pools/sh-agents").json["pool"]["image"])
        events = self.app.get("/v1/events?target_type=rollout").json[
            "events"]
        self.assertTrue({"rollout.create", "rollout.canary",
                         "rollout.finish", "rollout.rollback"} <=
                        {e["action"] for e in events})

    def test_bad_requests(self):
        for body in ({}, {"image": ""}, {"image": "x", "canary_share": 2},
                     {"image": "x", "wave_size": 0},
                     {"image": "x", "surge": 1}):
            self.error(self.app.post_json("/v1/pools/sh-agents/rollouts",
                                          body, expect_errors=True), 400)
        self.error(self.app.post_json("/v1/pools/sh-agents/rollouts", {
            "image": "x", "window": "nope"}, expect_errors=True), 400)
        self.error(self.app.post_json("/v1/pools/nope/rollouts", {
            "image": "x"}, expect_errors=True), 404)
        self.error(self.app.get("/v1/pools/nope/rollouts",
                                expect_errors=True), 404)
        self.error(self.app.get("/v1/rollouts?state=nope",
                                expect_errors=True), 400)
        self.error(self.app.get("/v1/rollouts/nope", expect_errors=True),
                   404)
        rollout = self.app.post_json("/v1/pools/sh-agents/rollouts", {
            "image": "x"}).json["rollout"]
        self.error(self.app.post_json(
            "/v1/rollouts/%s/action" % rollout["id"], {"action": "stop"},
            expect_errors=True), 400)
        self.error(self.app.post_json(
            "/v1/rollouts/%s/action" % rollout["id"], {"action": "resume"},
            expect_errors=True), 409)
        self.error(self.app.get("/v1/rollouts/%s/desktops?state=x" %
                                rollout["id"], expect_errors=True), 400)


class TestMaintenanceWindowsApi(RolloutApiTestCase):

    def test_create_show_list_delete(self):
        resp = self.app.post_json("/v1/maintenance-windows", {
            "name": "saturday-night", "site": "nantong",
            "cron": "0 22 * * sat", "timezone": "Asia/Shanghai",
            "duration_minutes": 240, "drain": True}, status=201)
        window = resp.json["maintenance_window"]
        self.assertFalse(window["open"])
        self.assertTrue(window["opens_at"].endswith("T14:00:00Z"),
                        window["opens_at"])
        self.assertTrue(window["closes_at"].endswith("T18:00:00Z"))
        once = self.app.post_json("/v1/maintenance-windows", {
            "name": "now", "pool_id": "sh-agents",
            "starts_at": "2000-01-01T00:00:00Z",
            "ends_at": "2099-01-01T00:00:00+08:00"}, status=201).json[
                "maintenance_window"]
        self.assertTrue(once["open"])
        self.assertEqual(self.broker.pools["sh-agents"]["id"],
                         once["pool_id"])
        self.assertEqual("2098-12-31T16:00:00Z", once["ends_at"])
        self.assertEqual(["saturday-night"], [w["name"] for w in self.app.get(
            "/v1/maintenance-windows?site=nantong").json[
                "maintenance_windows"]])
        self.assertEqual(["now"], [w["name"] for w in self.app.get(
            "/v1/maintenance-windows?pool_id=sh-agents").json[
                "maintenance_windows"]])
        self.assertEqual(window["id"], self.app.get(
            "/v1/maintenance-windows/saturday-night").json[
                "maintenance_window"]["id"])
        self.error(self.app.post_json("/v1/maintenance-windows", {
            "name": "now", "site": "x", "cron": "0 1 * * *",
            "duration_minutes": 5}, expect_errors=True), 409)
        self.app.delete("/v1/maintenance-windows/%s" % window["id"],
                        status=204)
        self.error(self.app.get("/v1/maintenance-windows/%s" % window["id"],
                                expect_errors=True), 404)

    def test_bad_windows(self):
        base_body = {"name": "w", "pool_id": "sh-agents"}
        for extra in ({},
                      {"site": "nantong", "cron": "0 1 * * *",
                       "duration_minutes": 5},
                      {"cron": "0 1 * * *"},
                      {"cron": "61 1 * * *", "duration_minutes": 5},
                      {"cron": "0 1 * *", "duration_minutes": 5},
                      {"cron": "0 1 * * *", "duration_minutes": 5,
                       "timezone": "Mars/Olympus"},
                      {"cron": "0 1 * * *", "duration_minutes": 5,
                       "starts_at": "2026-01-01T00:00:00Z"},
                      {"starts_at": "2026-01-02T00:00:00Z",
                       "ends_at": "2026-01-01T00:00:00Z"},
                      {"starts_at": "tomorrow", "ends_at": "later"},
                      {"cron": "0 1 * * *", "duration_minutes": 0}):
            body = dict(base_body, **extra)
            self.error(self.app.post_json("/v1/maintenance-windows", body,
                                          expect_errors=True), 400)
        self.error(self.app.post_json("/v1/maintenance-windows", {
            "name": "w", "pool_id": "nope", "cron": "0 1 * * *",
            "duration_minutes": 5}, expect_errors=True), 404)

    def test_draining_window_refuses_logins_to_its_pool(self):
        # amy's logins go to sh-agents (the shanghai-agents allocator).
        first = self.broker.login("amy")
        self.assertEqual("sh-agents", first.json["pool"]["name"])
        self.broker.logout(first)
        self.broker.fill_pools()
        now = timeutils.utcnow()
        db.window_create(self.broker.ctxt, {
            "name": "now", "pool_id": self.broker.pools["sh-agents"]["id"],
            "timezone": "UTC", "drain": True,
            "starts_at": now - datetime.timedelta(minutes=1),
            "ends_at": now + datetime.timedelta(hours=1)})
        self.broker.manager.pool_upkeep(self.broker.ctxt)
        error = self.error(self.broker.login("amy", status=503), 503)
        self.assertEqual("draining", error["details"]["status"])
        self.assertIn("maintenance window", error["details"][
            "status_reason"])
