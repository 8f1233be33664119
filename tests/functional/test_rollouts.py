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

"""Image roll-outs and maintenance windows against the fake cloud.

A ConductorManager with the fake compute driver keeps a pool, pass after
pass (called by hand), while simulated agents log in (through the
conductor's login path and a floating allocator) and out. Checked at
every step: no login fails, no desktop in use is rebuilt, the roll-out
never takes the pool's ready desktops below its target, and the pool
ends on the new image. Time is the test's clock (no sleeps). The
storage parts run on SQLite, MariaDB and PostgreSQL.
"""

import datetime
import logging

import fixtures
import oslo_messaging as messaging
from oslo_utils import timeutils
from oslo_utils import uuidutils
import testscenarios

from tests import base
from tests.fixtures import clock as clock_fixture
from tests.fixtures import database
from vdi_broker.compute import base as compute_base
from vdi_broker.compute import fake as fake_compute
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker import states

load_tests = testscenarios.load_tests_apply_scenarios

BACKENDS = [("sqlite", {"backend": "sqlite"}),
            ("mysql", {"backend": "mysql"}),
            ("postgresql", {"backend": "postgresql"})]


class RolloutTestCase(testscenarios.WithScenarios, base.TestCase):

    scenarios = BACKENDS

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.database = self.useFixture(database.Database(self.backend))
        self.clock = self.useFixture(clock_fixture.Clock(
            datetime.datetime(2026, 12, 3, 10, 0, 0)))
        self.flags(group="fake_compute", boot_time=0, failure_rate=0.0)
        self.cloud = fake_compute.FakeCloud()
        self.driver = fake_compute.FakeComputeDriver(self.conf,
                                                     cloud=self.cloud)
        self.manager = conductor_manager.ConductorManager(
            self.conf, compute_driver=self.driver)
        self.ctxt = vdi_context.get_admin_context()
        self.pool = db.pool_create(self.ctxt, {
            "name": "agents", "flavor": "m1.desktop", "image": "win11-v1",
            "networks": ["net"], "min_ready": 4, "max_size": 12,
            "max_concurrent_builds": 10, "release_action": "reboot",
            "console_type": "fake", "site": "nantong"})
        db.allocator_create(self.ctxt, {
            "name": "floating", "priority": 10, "plugin": "pool",
            "pool_id": self.pool["id"], "is_default": True})
        self.sessions = {}
        self.rebuilt_in_use = []
        real_rebuild = self.driver.rebuild_server

        def rebuild(server_id, image):
            # The desktop is in use when its rebuild is sent: a failure.
            for desktop in db.desktop_list(self.ctxt,
                                           {"pool_id": self.pool["id"]}):
                if desktop["server_id"] == server_id and \
                        self._active_session(desktop["id"]):
                    self.rebuilt_in_use.append(desktop["id"])
            return real_rebuild(server_id, image)

        self.driver.rebuild_server = rebuild

    # -- helpers -----------------------------------------------------------

    def _active_session(self, desktop_id):
        return any(s["state"] == "active" for s in db.session_list(
            self.ctxt, {"desktop_id": desktop_id}))

    def _counts(self):
        return db.pool_desktop_counts(self.ctxt, [self.pool["id"]]).get(
            self.pool["id"], {})

    def _upkeep(self, passes=1):
        for _ in range(passes):
            self.manager.pool_upkeep(self.ctxt)

    def _fill(self):
        for _ in range(10):
            self._upkeep()
            if self._counts().get(models.READY, 0) >= \
                    self.pool["min_ready"]:
                return
        self.fail("pool not filled: %s" % self._counts())

    def _login(self, username):
        """Log in through the conductor (allocator chain and claim)."""
        try:
            result = self._allocate(username)
        except messaging.ExpectedException as e:
            raise e.exc_info[1]
        self.sessions[username] = result["session"]["id"]
        return result

    def _allocate(self, username):
        return self.manager.allocate(self.ctxt, {
            "principal": {"username": username, "dn": "uid=%s" % username,
                          "groups": ["agents"], "attributes": {}},
            "client_id": "tc-" + username, "seat": None,
            "session_id": uuidutils.generate_uuid(),
            "token_hash": uuidutils.generate_uuid().replace("-", "") * 2,
            "expires_at": (timeutils.utcnow() + datetime.timedelta(
                hours=8)).isoformat()})

    def _logout(self, username):
        self.manager.close_session(self.ctxt, self.sessions.pop(username),
                                   "logout")

    def _images(self):
        return {d["id"]: d["image"] for d in db.desktop_list(
            self.ctxt, {"pool_id": self.pool["id"]})}

    def _rollout(self, image, **values):
        values = dict({"id": uuidutils.generate_uuid(),
                       "pool": self.pool["id"], "image": image,
                       "canary_share": 0.25, "wave_size": 2,
                       "max_failures": 1}, **values)
        return db.rollout_create(self.ctxt, values)

    def _guard_ready(self, target):
        """Fail if a roll-out's rebuilds leave fewer ready than target."""
        real = db.rollout_rebuild
        seen = []

        def rebuild(ctxt, rollout_id, ready=0, in_use=0, keep_ready=0):
            self.assertEqual(target, keep_ready)
            queued = real(ctxt, rollout_id, ready=ready, in_use=in_use,
                          keep_ready=keep_ready)
            if queued:
                seen.append(len(queued))
                self.assertGreaterEqual(
                    self._counts().get(models.READY, 0), target,
                    "the roll-out took the pool below its target")
            return queued

        self.useFixture(fixtures.MockPatchObject(db, "rollout_rebuild",
                                                 rebuild))
        return seen


class TestRollout(RolloutTestCase):

    def test_rollout_while_agents_log_in(self):
        self._fill()
        for name in ("amy", "bob"):
            self._login(name)
        self._fill()
        self.assertEqual({"win11-v1"}, set(self._images().values()))
        rollout = self._rollout("win11-v2")
        self.assertEqual(states.ROLLOUT_RUNNING, rollout["state"])
        self.assertEqual(states.ROLLOUT_CANARY, rollout["phase"])
        # 25 % of the 6 desktops.
        self.assertEqual(2, rollout["canary_size"])
        self.assertEqual("win11-v2",
                         db.pool_get(self.ctxt, self.pool["id"])["image"])
        rebuilds = self._guard_ready(self.pool["min_ready"])
        agents = ["agent%02d" % i for i in range(12)]
        phases = set()
        for step in range(40):
            # An agent logs in every other pass, one logs out every
            # third: the login path never fails.
            if step % 2 == 0 and agents:
                self._login(agents.pop(0))
            if step % 3 == 2 and len(self.sessions) > 3:
                self._logout(sorted(self.sessions)[0])
            if step == 25:
                # The first two agents leave: their desktops (on the old
                # image) are rebuilt by the release.
                for name in ("amy", "bob"):
                    if name in self.sessions:
                        self._logout(name)
            self._upkeep()
            rollout = db.rollout_get(self.ctxt, rollout["id"])
            phases.add(rollout["phase"])
            self.assertEqual([], self.rebuilt_in_use)
        # Everyone leaves: the last desktops on the old image follow.
        for name in list(self.sessions):
            self._logout(name)
        for _ in range(10):
            self._upkeep()
            rollout = db.rollout_get(self.ctxt, rollout["id"])
            if rollout["state"] == states.ROLLOUT_COMPLETED:
                break
        self.assertEqual(states.ROLLOUT_COMPLETED, rollout["state"],
                         rollout)
        self.assertEqual({states.ROLLOUT_CANARY, states.ROLLOUT_WAVES},
                         phases)
        self.assertTrue(rebuilds)
        self.assertLessEqual(max(rebuilds), 2)
        self.assertEqual([], self.rebuilt_in_use)
        self.assertEqual({"win11-v2"}, set(self._images().values()))
        for desktop in db.desktop_list(self.ctxt,
                                       {"pool_id": self.pool["id"]}):
            self.assertEqual(
                "win11-v2", self.cloud.servers[desktop["server_id"]]["image"])
        progress = rollout["progress"]
        self.assertEqual(0, progress["old"])
        self.assertEqual(0, progress["failed"])
        self.assertGreaterEqual(progress["done"], 2)
        self.assertGreaterEqual(self._counts().get(models.READY, 0),
                                self.pool["min_ready"])
        actions = {e["action"] for e in db.event_list(
            self.ctxt, {"target_type": "rollout"})}
        self.assertTrue({"rollout.create", "rollout.canary",
                         "rollout.rebuild", "rollout.finish"} <= actions,
                        actions)

    def _failing_image(self, image):
        real = self.driver.rebuild_server

        def rebuild(server_id, to):
            result = real(server_id, to)
            if to == image:
                with self.cloud.lock:
                    server = self.cloud.servers[server_id]
                    server["end_status"] = compute_base.ERROR
                    server["fault"] = "no bootable device"
            return result

        self.driver.rebuild_server = rebuild

    def test_health_gate_pauses_then_rollback(self):
        self._fill()
        self._failing_image("win11-bad")
        rollout = self._rollout("win11-bad", canary_share=0.5)
        for _ in range(8):
            self._upkeep()
            rollout = db.rollout_get(self.ctxt, rollout["id"])
            if rollout["state"] == states.ROLLOUT_PAUSED:
                break
        self.assertEqual(states.ROLLOUT_PAUSED, rollout["state"], rollout)
        self.assertIn("failed to rebuild on image win11-bad",
                      rollout["status_reason"])
        self.assertGreaterEqual(rollout["progress"]["failed"], 1)
        # Paused: nothing more is rebuilt.
        queued = db.rollout_desktop_list(self.ctxt, rollout["id"])
        self._upkeep(3)
        self.assertEqual(len(queued), len(db.rollout_desktop_list(
            self.ctxt, rollout["id"])))
        self.assertRaises(exception.Conflict, db.rollout_action, self.ctxt,
                          rollout["id"], "pause")
        rollout = db.rollout_action(self.ctxt, rollout["id"], "rollback")
        self.assertEqual(states.ROLLOUT_ROLLING_BACK, rollout["state"])
        self.assertEqual("win11-v1", rollout["target_image"])
        self.assertEqual("win11-v1",
                         db.pool_get(self.ctxt, self.pool["id"])["image"])
        for _ in range(20):
            self._upkeep()
            rollout = db.rollout_get(self.ctxt, rollout["id"])
            if rollout["state"] == states.ROLLOUT_ROLLED_BACK:
                break
        self.assertEqual(states.ROLLOUT_ROLLED_BACK, rollout["state"],
                         rollout)
        self.assertEqual({"win11-v1"}, set(self._images().values()))
        self.assertGreaterEqual(self._counts().get(models.READY, 0),
                                self.pool["min_ready"])

    def test_pause_resume_and_one_open_rollout(self):
        self._fill()
        rollout = self._rollout("win11-v2")
        self.assertRaises(exception.Conflict, self._rollout, "win11-v3")
        rollout = db.rollout_action(self.ctxt, rollout["id"], "pause")
        self.assertEqual(states.ROLLOUT_PAUSED, rollout["state"])
        self._upkeep(3)
        self.assertEqual([], db.rollout_desktop_list(self.ctxt,
                                                     rollout["id"]))
        rollout = db.rollout_action(self.ctxt, rollout["id"], "resume")
        self.assertEqual(states.ROLLOUT_RUNNING, rollout["state"])
        for _ in range(20):
            self._upkeep()
            rollout = db.rollout_get(self.ctxt, rollout["id"])
            if rollout["state"] == states.ROLLOUT_COMPLETED:
                break
        self.assertEqual(states.ROLLOUT_COMPLETED, rollout["state"])
        self.assertEqual({"win11-v2"}, set(self._images().values()))

    def test_rollout_waits_for_its_window(self):
        self._fill()
        now = timeutils.utcnow()
        window = db.window_create(self.ctxt, {
            "name": "tonight", "pool_id": self.pool["id"],
            "timezone": "UTC", "starts_at": now + datetime.timedelta(hours=1),
            "ends_at": now + datetime.timedelta(hours=3)})
        rollout = self._rollout("win11-v2", window_id=window["id"])
        self._upkeep(4)
        self.assertEqual([], db.rollout_desktop_list(self.ctxt,
                                                     rollout["id"]))
        self.assertEqual({"win11-v1"}, set(self._images().values()))
        self.clock.advance(3600)
        self._upkeep(2)
        self.assertTrue(db.rollout_desktop_list(self.ctxt, rollout["id"]))
        # Its window deleted: paused; resumed, it goes on without one.
        db.window_delete(self.ctxt, window["id"])
        self._upkeep()
        rollout = db.rollout_get(self.ctxt, rollout["id"])
        self.assertEqual(states.ROLLOUT_PAUSED, rollout["state"])
        self.assertIn("was deleted", rollout["status_reason"])
        rollout = db.rollout_action(self.ctxt, rollout["id"], "resume")
        self.assertIsNone(rollout["window_id"])
        for _ in range(20):
            self._upkeep()
            rollout = db.rollout_get(self.ctxt, rollout["id"])
            if rollout["state"] == states.ROLLOUT_COMPLETED:
                break
        self.assertEqual(states.ROLLOUT_COMPLETED, rollout["state"])
        self.assertEqual({"win11-v2"}, set(self._images().values()))


class TestMaintenanceWindows(RolloutTestCase):

    def _window(self, **values):
        values = dict({"name": "night", "pool_id": self.pool["id"],
                       "timezone": "UTC", "drain": True}, **values)
        return db.window_create(self.ctxt, values)

    def test_draining_window_refuses_logins_on_schedule(self):
        self._fill()
        self._login("amy")
        now = timeutils.utcnow()
        self._window(starts_at=now + datetime.timedelta(hours=1),
                     ends_at=now + datetime.timedelta(hours=2))
        self._upkeep()
        self._login("bob")
        self.clock.advance(3600)
        self._upkeep()
        e = self.assertRaises(exception.PoolExhausted, self._login, "cyd")
        self.assertEqual("draining", e.kwargs["status"])
        warned = db.event_list(self.ctxt, {"action": "maintenance.warning"})
        self.assertEqual({"amy", "bob"}, {e["username"] for e in warned})
        # Announced once per opening.
        self._upkeep()
        self.assertEqual(2, len(db.event_list(
            self.ctxt, {"action": "maintenance.warning"})))
        # The window closes on its own (no pass needed).
        self.clock.advance(3601)
        self._login("cyd")

    def test_recurring_window_rebuilds_bound_desktops_in_place(self):
        self._fill()
        # Desktops in use: one with a session, one bound to a user away.
        self._login("amy")
        away = self._login("bob")
        db.binding_create(self.ctxt, "user", "bob", away["desktop"]["id"])
        self._logout("bob")
        self._fill()
        # Every day at 11:00 UTC+8 (03:00 UTC), for two hours; now is
        # 10:00 UTC.
        self._window(name="daily", cron="0 11 * * *",
                     timezone="Asia/Shanghai", duration_minutes=120,
                     drain=False)
        rollout = self._rollout("win11-v2", canary_share=0)
        self._upkeep(10)
        images = self._images()
        # Outside the window the bound desktop keeps its image.
        self.assertEqual("win11-v1", images[away["desktop"]["id"]])
        self.clock.advance(17 * 3600)
        self._upkeep(6)
        images = self._images()
        self.assertEqual("win11-v2", images[away["desktop"]["id"]])
        self.assertEqual(models.ASSIGNED, db.desktop_get(
            self.ctxt, away["desktop"]["id"])["state"])
        # amy works on: never rebuilt under her.
        amy = [d for d in db.desktop_list(self.ctxt,
                                          {"pool_id": self.pool["id"]})
               if d["assigned_user"] == "amy"][0]
        self.assertEqual("win11-v1", amy["image"])
        self.assertEqual([], self.rebuilt_in_use)
        self.assertEqual(states.ROLLOUT_RUNNING,
                         db.rollout_get(self.ctxt, rollout["id"])["state"])
