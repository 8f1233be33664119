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

"""The pool manager (ConductorManager.pool_upkeep) against the fake cloud.

Each test gets a migrated database (SQLite; the main case runs on MariaDB
too), a private FakeCloud and a ConductorManager, and calls pool_upkeep by
hand, pass after pass, checking the limits after every pass.
"""

import datetime
import hashlib
import logging
import time

import fixtures
from oslo_utils import timeutils
from oslo_utils import uuidutils

from tests import base
from tests.fixtures import database
from tests.fixtures import logins
from vdi_broker.compute import base as compute_base
from vdi_broker.compute import fake as fake_compute
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception


class PoolManagerTestCase(base.TestCase):

    backend = "sqlite"

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.database = self.useFixture(database.Database(self.backend))
        self.flags(group="fake_compute", boot_time=0, failure_rate=0.0)
        self.cloud = fake_compute.FakeCloud()
        self.driver = fake_compute.FakeComputeDriver(self.conf,
                                                     cloud=self.cloud)
        self.manager = conductor_manager.ConductorManager(
            self.conf, compute_driver=self.driver)
        self.ctxt = vdi_context.get_admin_context()

    # -- helpers -----------------------------------------------------------

    def _pool(self, name="agents", **values):
        pool = {"name": name, "flavor": "m1.desktop", "image": "win11-img",
                "networks": ["net-agents"], "min_ready": 2, "max_size": 4,
                "max_concurrent_builds": 10, "release_action": "reboot",
                "console_type": "fake",
                "server_metadata": {"department": "hotel"}}
        pool.update(values)
        return db.pool_create(self.ctxt, pool)

    def _counts(self, pool):
        return db.pool_desktop_counts(self.ctxt, [pool["id"]]).get(
            pool["id"], {})

    def _desktops(self, pool, **filters):
        return db.desktop_list(self.ctxt, dict(filters, pool_id=pool["id"]))

    def _upkeep(self, passes=1, check=None):
        for _ in range(passes):
            self.manager.pool_upkeep(self.ctxt)
            if check is not None:
                check()

    def _fill(self, pool, passes=10):
        """Run upkeep until the pool has min_ready ready desktops."""
        for _ in range(passes):
            self.manager.pool_upkeep(self.ctxt)
            if self._counts(pool).get(models.READY, 0) >= pool["min_ready"]:
                return
        self.fail("pool %s not filled after %d passes: %s" % (
            pool["name"], passes, self._counts(pool)))

    def _login(self, pool, username, kind=None):
        token = uuidutils.generate_uuid()
        return logins.claim(
            self.ctxt,
            {"username": username, "client_id": "tc-" + username,
             "seat": None},
            {"pool_id": pool["id"], "binding_kind": kind,
             "binding_key": username if kind else None,
             "allocator_id": None, "allocator_name": "test"},
            {"id": uuidutils.generate_uuid(),
             "token_hash": hashlib.sha256(token.encode()).hexdigest(),
             "expires_at": timeutils.utcnow() + datetime.timedelta(hours=1)},
            attempts=self.conf.allocator.claim_attempts,
            candidates=self.conf.allocator.claim_candidates)

    def _server(self, desktop):
        return self.driver.get_server(desktop["server_id"])

    def _settle_builds(self):
        """Make every fake server that is still booting finish now."""
        with self.cloud.lock:
            for server in self.cloud.servers.values():
                server["ready_at"] = 0


class TestPoolFill(PoolManagerTestCase):

    def test_fills_to_min_ready_within_limits(self):
        pool = self._pool(min_ready=6, max_size=8, max_concurrent_builds=2)

        def check():
            counts = self._counts(pool)
            self.assertLessEqual(counts.get(models.BUILDING, 0), 2, counts)
            self.assertLessEqual(sum(counts.values()), 8, counts)

        self._upkeep(passes=6, check=check)
        counts = self._counts(pool)
        self.assertEqual({models.READY: 6}, counts)
        # Further passes change nothing: min_ready is met.
        self._upkeep(passes=2, check=check)
        self.assertEqual({models.READY: 6}, self._counts(pool))
        self.assertEqual(6, len(self.cloud.servers))

        # Logins take desktops; upkeep replaces them, up to max_size.
        for i in range(4):
            self._login(pool, "agent%d" % i)
        self._upkeep(passes=4, check=check)
        counts = self._counts(pool)
        self.assertEqual(4, counts[models.ASSIGNED])
        self.assertEqual(4, counts[models.READY])  # max_size caps it
        self.assertEqual(8, sum(counts.values()))

    def test_servers_carry_broker_tags_and_metadata(self):
        pool = self._pool(min_ready=2, max_size=2)
        self._fill(pool)
        desktops = self._desktops(pool)
        self.assertEqual(2, len(desktops))
        tagged = self.driver.list_servers(
            tags=[compute_base.BROKER_TAG,
                  compute_base.POOL_TAG_PREFIX + pool["id"]])
        self.assertEqual({d["server_id"] for d in desktops},
                         {s.id for s in tagged})
        for desktop in desktops:
            server = self._server(desktop)
            self.assertEqual(compute_base.ACTIVE, server.status)
            self.assertEqual(desktop["name"], server.name)
            self.assertTrue(desktop["name"].startswith("vdi-agents-"))
            self.assertEqual("1", server.metadata[compute_base.META_BROKER])
            self.assertEqual(pool["id"],
                             server.metadata[compute_base.META_POOL])
            self.assertEqual(desktop["id"],
                             server.metadata[compute_base.META_DESKTOP])
            self.assertEqual("hotel", server.metadata["department"])
            self.assertIn(compute_base.BROKER_TAG, server.tags)
            self.assertIn(compute_base.POOL_TAG_PREFIX + pool["id"],
                          server.tags)
            self.assertEqual(server.address, desktop["address"])
            self.assertEqual(server.host, desktop["host"])
            raw = self.cloud.servers[server.id]
            self.assertEqual("win11-img", raw["image"])
            self.assertEqual("m1.desktop", raw["flavor"])

    def test_concurrent_builds_limited_per_pool_and_globally(self):
        # Servers stay in BUILD: the limits are what keeps boots down.
        self.flags(group="fake_compute", boot_time=3600)
        self.flags(group="conductor", max_concurrent_builds=5)
        a = self._pool("a", min_ready=10, max_size=10,
                       max_concurrent_builds=3)
        b = self._pool("b", min_ready=10, max_size=10,
                       max_concurrent_builds=3)

        def check():
            building = [self._counts(p).get(models.BUILDING, 0)
                        for p in (a, b)]
            self.assertLessEqual(building[0], 3)
            self.assertLessEqual(building[1], 3)
            self.assertLessEqual(sum(building), 5)

        self._upkeep(passes=4, check=check)
        building = [self._counts(p).get(models.BUILDING, 0) for p in (a, b)]
        self.assertEqual(5, sum(building))
        self.assertEqual(5, len(self.cloud.servers))

        # Builds finish: the budget frees up and the pools go on filling.
        for _ in range(8):
            self._settle_builds()
            self._upkeep(check=check)
        self.assertEqual({models.READY: 10}, self._counts(a))
        self.assertEqual({models.READY: 10}, self._counts(b))

    def test_lowering_max_size_shrinks_ready_desktops(self):
        pool = self._pool(min_ready=5, max_size=5, release_action="keep")
        self._fill(pool)
        self._login(pool, "amy")
        # bob's desktop goes back to ready with a closed session on it.
        bob = self._login(pool, "bob")
        self.manager.close_session(self.ctxt, bob["session"]["id"],
                                   "logout")
        self.assertEqual({models.READY: 4, models.ASSIGNED: 1},
                         self._counts(pool))
        pool = db.pool_update(self.ctxt, pool["id"],
                              {"max_size": 3, "min_ready": 1})
        self._upkeep()
        self.assertEqual({models.READY: 2, models.ASSIGNED: 1},
                         self._counts(pool))
        pool = db.pool_update(self.ctxt, pool["id"],
                              {"max_size": 1, "min_ready": 0})
        self._upkeep(passes=2)
        # Ready desktops go (bob's too); the one in use stays.
        self.assertEqual({models.ASSIGNED: 1}, self._counts(pool))
        self.assertEqual(1, len(self.cloud.servers))
        deletes = [c for c in self.cloud.calls if c[0] == "delete"]
        self.assertEqual(4, len(deletes))
        self.assertNotIn(bob["desktop"]["id"],
                         [d["id"] for d in self._desktops(pool)])

    def test_one_broken_desktop_does_not_stop_upkeep(self):
        first = self._pool("first", min_ready=1, max_size=2)
        self._fill(first)
        desktop = self._desktops(first)[0]
        db.desktop_transition(self.ctxt, desktop["id"], [models.READY],
                              {"state": models.ERROR})
        second = self._pool("second", min_ready=2, max_size=2)
        real_delete = self.driver.delete_server

        def delete_server(server_id):
            if server_id == desktop["server_id"]:
                raise exception.ComputeError(reason="delete refused")
            return real_delete(server_id)

        self.driver.delete_server = delete_server
        self._upkeep(passes=3)
        # The other pool fills all the same; the broken desktop is kept
        # for the next pass.
        self.assertEqual({models.READY: 2}, self._counts(second))
        self.assertEqual(models.ERROR,
                         db.desktop_get(self.ctxt, desktop["id"])["state"])
        self.driver.delete_server = real_delete
        self._upkeep(passes=2)
        self.assertRaises(exception.DesktopNotFound, db.desktop_get,
                          self.ctxt, desktop["id"])
        self.assertEqual({models.READY: 1}, self._counts(first))

    def test_disabled_pool_is_not_filled(self):
        pool = self._pool(min_ready=2, enabled=False)
        self._upkeep(passes=3)
        self.assertEqual({}, self._counts(pool))
        self.assertEqual([], self.cloud.calls)


class TestPoolFillMySQL(PoolManagerTestCase):
    backend = "mysql"

    test_fills_to_min_ready_within_limits = (
        TestPoolFill.test_fills_to_min_ready_within_limits)
    test_lowering_max_size_shrinks_ready_desktops = (
        TestPoolFill.test_lowering_max_size_shrinks_ready_desktops)


class TestPoolHealth(PoolManagerTestCase):

    def test_failing_boots_degrade_then_recover(self):
        self.flags(group="fake_compute", failure_rate=1.0)
        pool = self._pool(min_ready=2, max_size=4)
        self._upkeep()                      # 2 boots start
        self.assertEqual({models.BUILDING: 2}, self._counts(pool))
        self._upkeep()                      # both fail, 2 more start
        errors = self._desktops(pool, state=models.ERROR)
        self.assertEqual(2, len(errors))
        for desktop in errors:
            self.assertIn("fake boot failure", desktop["state_reason"])
        self.assertEqual("active", db.pool_get(self.ctxt,
                                               pool["id"])["status"])
        self._upkeep()                      # errors deleted, 3rd+ failure
        current = db.pool_get(self.ctxt, pool["id"])
        self.assertEqual("degraded", current["status"])
        self.assertIn("boots failed in a row", current["status_reason"])
        self.assertIn("fake boot failure", current["status_reason"])
        # Broken desktops are cleaned up at the next pass: rows and
        # servers. While degraded, one probe boot at a time.
        for _ in range(3):
            broken = {d["id"]: d["server_id"]
                      for d in self._desktops(pool, state=models.ERROR)}
            self.assertTrue(broken)
            self._upkeep()
            left = {d["id"] for d in self._desktops(pool)}
            self.assertEqual(set(), left & set(broken))
            self.assertEqual(set(), set(self.cloud.servers) &
                             set(broken.values()))
            self.assertLessEqual(
                self._counts(pool).get(models.BUILDING, 0), 1)
        live = {d["server_id"] for d in self._desktops(pool)}
        self.assertEqual(live, set(self.cloud.servers))
        failures = db.event_list(self.ctxt, {"action": "desktop.build",
                                             "result": "failure"})
        self.assertGreaterEqual(len(failures), 3)

        # The cloud heals: the next boot succeeds and the pool recovers.
        self.flags(group="fake_compute", failure_rate=0.0)
        self._upkeep(passes=6)
        current = db.pool_get(self.ctxt, pool["id"])
        self.assertEqual("active", current["status"])
        self.assertIsNone(current["status_reason"])
        self.assertEqual(2, self._counts(pool).get(models.READY))
        self.assertEqual(1, len(db.event_list(
            self.ctxt, {"action": "pool.recovered"})))

    def test_vanished_server_is_replaced(self):
        pool = self._pool(min_ready=2, max_size=2)
        self.flags(group="fake_compute", boot_time=3600)
        self._upkeep()
        building = self._desktops(pool, state=models.BUILDING)
        self.assertEqual(2, len(building))
        with self.cloud.lock:
            self.cloud.servers.pop(building[0]["server_id"])
        self.flags(group="fake_compute", boot_time=0)
        self._settle_builds()
        self._upkeep(passes=4)
        self.assertEqual({models.READY: 2}, self._counts(pool))
        self.assertNotIn(building[0]["id"],
                         [d["id"] for d in self._desktops(pool)])


class TestRelease(PoolManagerTestCase):

    def _logged_in(self, release_action, kind=None, min_ready=2):
        pool = self._pool(min_ready=min_ready, max_size=3,
                          release_action=release_action)
        self._fill(pool)
        result = self._login(pool, "amy", kind)
        return pool, result["session"], result["desktop"]

    def _assert_restarted(self, action):
        pool, session, desktop = self._logged_in(action)
        # The fake cloud takes boot_time for a rebuild, half for a reboot;
        # its clock stands still until the test moves it (a loaded machine
        # must not finish the restart before the first pass sees it).
        self.flags(group="fake_compute", boot_time=1.0)
        now = time.monotonic()
        self.cloud.clock = lambda: now
        out = self.manager.close_session(self.ctxt, session["id"], "logout")
        self.assertEqual(models.RELEASING, out["release"])
        self.assertEqual("closed", out["session"]["state"])
        self.assertIn((action, desktop["server_id"]), self.cloud.calls)
        current = db.desktop_get(self.ctxt, desktop["id"])
        self.assertEqual(models.RELEASING, current["state"])
        self.assertEqual("release:%s:issued" % action,
                         current["state_reason"])
        self.assertIsNone(current["assigned_user"])
        # The server is still restarting: the desktop stays out.
        self.assertNotEqual(compute_base.ACTIVE,
                            self._server(desktop).status)
        self._upkeep()
        self.assertEqual(models.RELEASING,
                         db.desktop_get(self.ctxt, desktop["id"])["state"])
        # The restart's time passes on the fake cloud's clock.
        self.cloud.clock = lambda: now + 1.1
        self._upkeep()
        current = db.desktop_get(self.ctxt, desktop["id"])
        self.assertEqual(compute_base.ACTIVE, self._server(desktop).status)
        self.assertEqual(models.READY, current["state"])
        self.assertIsNone(current["state_reason"])
        self.assertEqual(desktop["server_id"], current["server_id"])
        # Only one restart was asked for.
        self.assertEqual(1, self.cloud.calls.count(
            (action, desktop["server_id"])))
        return pool, desktop

    def test_reboot(self):
        self._assert_restarted("reboot")

    def test_rebuild(self):
        pool, desktop = self._assert_restarted("rebuild")
        self.assertEqual(pool["image"],
                         self.cloud.servers[desktop["server_id"]]["image"])

    def test_delete(self):
        pool, session, desktop = self._logged_in("delete")
        out = self.manager.close_session(self.ctxt, session["id"], "logout")
        self.assertEqual(models.DELETING, out["release"])
        self.assertIn(("delete", desktop["server_id"]), self.cloud.calls)
        self.assertNotIn(desktop["server_id"], self.cloud.servers)
        self.assertNotIn(desktop["id"],
                         [d["id"] for d in self._desktops(pool)])
        self._upkeep(passes=2)
        self.assertEqual({models.READY: 2}, self._counts(pool))

    def test_server_vanished_before_release(self):
        # The server is gone (deleted behind the broker's back) when the
        # user logs out: the release cannot reboot it. The desktop goes to
        # error and is replaced; the pool manager does not get stuck on it.
        other = self._pool("other", min_ready=1, max_size=1)
        pool, session, desktop = self._logged_in("reboot")
        with self.cloud.lock:
            self.cloud.servers.pop(desktop["server_id"])
        out = self.manager.close_session(self.ctxt, session["id"], "logout")
        self.assertEqual(models.RELEASING, out["release"])
        self._upkeep(passes=3)
        self.assertNotIn(desktop["id"],
                         [d["id"] for d in self._desktops(pool)])
        self.assertEqual({models.READY: 2}, self._counts(pool))
        self.assertEqual({models.READY: 1}, self._counts(other))

    def test_keep_floating_goes_back_to_ready(self):
        pool, session, desktop = self._logged_in("keep")
        out = self.manager.close_session(self.ctxt, session["id"], "logout")
        self.assertEqual(models.READY, out["release"])
        current = db.desktop_get(self.ctxt, desktop["id"])
        self.assertEqual(models.READY, current["state"])
        self.assertIsNone(current["assigned_user"])
        self.assertEqual([], [c for c in self.cloud.calls
                              if c[0] in ("reboot", "rebuild", "delete")])

    def test_keep_user_bound_desktop_stays_assigned(self):
        pool, session, desktop = self._logged_in("keep", kind="user")
        out = self.manager.close_session(self.ctxt, session["id"], "logout")
        self.assertIsNone(out["release"])
        self._upkeep(passes=2)
        current = db.desktop_get(self.ctxt, desktop["id"])
        self.assertEqual(models.ASSIGNED, current["state"])
        self.assertEqual("amy", current["assigned_user"])
        binding = db.binding_find(self.ctxt, "user", "amy")
        self.assertEqual(desktop["id"], binding["desktop_id"])
        # The returning user gets it back.
        again = self._login(pool, "amy", "user")
        self.assertTrue(again["reused"])
        self.assertEqual(desktop["id"], again["desktop"]["id"])

    def test_bound_desktop_in_error_moves_binding(self):
        pool, session, desktop = self._logged_in("reboot", kind="user")
        binding = db.binding_find(self.ctxt, "user", "amy")
        self.manager.close_session(self.ctxt, session["id"], "logout")
        # The desktop breaks while its user is away.
        moved = db.desktop_transition(self.ctxt, desktop["id"],
                                      [models.ASSIGNED],
                                      {"state": models.ERROR,
                                       "state_reason": "host failure"})
        self.assertIsNotNone(moved)
        again = self._login(pool, "amy", "user")
        self.assertNotEqual(desktop["id"], again["desktop"]["id"])
        self.assertEqual(models.ASSIGNED, again["desktop"]["state"])
        self.assertEqual("amy", again["desktop"]["assigned_user"])
        self.assertEqual(binding["id"], again["binding"]["id"])
        self.assertEqual(again["desktop"]["id"],
                         again["binding"]["desktop_id"])
        events = db.event_list(self.ctxt, {"action": "binding.move"})
        self.assertEqual(1, len(events))
        self.assertEqual(desktop["id"],
                         events[0]["detail"]["from_desktop"])
        self.assertEqual(again["desktop"]["id"], events[0]["desktop_id"])
        # The pool manager deletes the broken desktop; the binding stays.
        self._upkeep(passes=2)
        self.assertNotIn(desktop["id"],
                         [d["id"] for d in self._desktops(pool)])
        self.assertNotIn(desktop["server_id"], self.cloud.servers)
        self.assertEqual(again["desktop"]["id"], db.binding_find(
            self.ctxt, "user", "amy")["desktop_id"])

    def _break_bound_desktop(self, min_ready=2, max_size=3):
        pool = self._pool(min_ready=min_ready, max_size=max_size,
                          release_action="reboot")
        self._fill(pool)
        result = self._login(pool, "amy", "user")
        self.manager.close_session(self.ctxt, result["session"]["id"],
                                   "logout")
        desktop = result["desktop"]
        self.assertIsNotNone(db.desktop_transition(
            self.ctxt, desktop["id"], [models.ASSIGNED],
            {"state": models.ERROR, "state_reason": "host failure"}))
        return pool, desktop, db.binding_find(self.ctxt, "user", "amy")

    def test_pool_manager_moves_the_binding_at_once(self):
        # R1: the owner of a broken bound desktop does not wait for the
        # next login to be moved.
        pool, desktop, binding = self._break_bound_desktop()
        self._upkeep()
        moved = db.binding_find(self.ctxt, "user", "amy")
        self.assertEqual(binding["id"], moved["id"])
        self.assertNotEqual(desktop["id"], moved["desktop_id"])
        new = db.desktop_get(self.ctxt, moved["desktop_id"])
        self.assertEqual((models.ASSIGNED, "amy"),
                         (new["state"], new["assigned_user"]))
        self.assertNotIn(desktop["id"],
                         [d["id"] for d in self._desktops(pool)])
        events = db.event_list(self.ctxt, {"action": "binding.move"})
        self.assertEqual([desktop["id"]],
                         [e["detail"]["from_desktop"] for e in events])
        again = self._login(pool, "amy", "user")
        self.assertEqual(new["id"], again["desktop"]["id"])

    def test_broken_bound_desktop_waits_for_a_replacement(self):
        # The only desktop of the pool breaks: it is kept, binding and
        # all, until the pool manager has booted a ready one.
        pool, desktop, binding = self._break_bound_desktop(min_ready=1,
                                                           max_size=1)
        self._upkeep()
        self.assertEqual(desktop["id"],
                         db.binding_find(self.ctxt, "user", "amy")[
                             "desktop_id"])
        self.assertEqual(models.ERROR,
                         db.desktop_get(self.ctxt, desktop["id"])["state"])
        self._upkeep(passes=2)
        moved = db.binding_find(self.ctxt, "user", "amy")
        self.assertNotEqual(desktop["id"], moved["desktop_id"])
        self.assertNotIn(desktop["id"],
                         [d["id"] for d in self._desktops(pool)])


class TestReleaseMySQL(TestRelease):
    """Deleting desktops that had sessions (foreign keys enforced)."""
    backend = "mysql"


class TestReleasePostgreSQL(TestRelease):
    backend = "postgresql"
