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

"""The reconciler and the health check (conductor/reconciler.py).

Each case runs against the fake cloud and against the Nova emulator over
HTTP (the real novaclient); the fake-cloud cases also run on MariaDB and
PostgreSQL, since the reconciler's reads and writes are bulk statements.
"""

import datetime
import hashlib
import logging
import time

import fixtures
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from tests import base
from tests.fixtures import database
from tests.fixtures import logins
from tests.fixtures import nova_emulator as emu
from tests.functional.compute import base as compute_test_base
from vdi_broker.compute import base as compute_base
from vdi_broker.compute import fake as fake_compute
from vdi_broker.compute import nova
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker.conductor import reconciler
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception


class Ownership:
    """Owns the keys it is given (a conductor among several)."""

    def __init__(self, keys):
        self.keys = set(keys)

    def owns(self, key):
        return key in self.keys


class FakeCloudMixin:
    """The cloud seen through the fake driver."""

    def make_driver(self):
        self.cloud = fake_compute.FakeCloud()
        return fake_compute.FakeComputeDriver(self.conf, cloud=self.cloud)

    def pool_values(self):
        return {"flavor": "m1.desktop", "image": "win11-img",
                "networks": ["net-agents"]}

    def vanish(self, server_id):
        del self.cloud.servers[server_id]

    def set_status(self, server_id, status):
        self.cloud.servers[server_id]["status"] = status

    def set_address(self, server_id, address):
        self.cloud.servers[server_id]["address"] = address

    def lock_reason(self, server_id):
        return self.cloud.servers[server_id]["locked"]

    def exists(self, server_id):
        return server_id in self.cloud.servers

    def untagged_server(self, pool_id):
        server = self.driver.create_server(compute_base.ServerSpec(
            name="someone-elses", flavor="m1", image="img",
            metadata={compute_base.META_POOL: pool_id}, tags=["other"]))
        return server.id


class EmulatorMixin:
    """The cloud seen through the Nova driver, over HTTP."""

    def make_driver(self):
        self.emulator = self.useFixture(emu.NovaEmulator())
        return nova.NovaComputeDriver(
            compute_test_base.make_conf(self.emulator, list_page_size=5))

    def pool_values(self):
        return {"flavor": "vdi.small", "image": emu.DEFAULT_IMAGE,
                "networks": [emu.DEFAULT_NETWORK]}

    def vanish(self, server_id):
        self.emulator.delete_out_of_band(server_id)

    def set_status(self, server_id, status):
        self.emulator.set_server_status(server_id, status)

    def set_address(self, server_id, address):
        with self.emulator.lock:
            self.emulator.servers[server_id]["addresses"] = {"private": [
                {"addr": address, "version": 4,
                 "OS-EXT-IPS:type": "fixed"}]}

    def lock_reason(self, server_id):
        record = self.emulator.servers[server_id]
        return record["locked_reason"] if record["locked"] else None

    def exists(self, server_id):
        return not self.emulator.servers[server_id]["deleted"]

    def untagged_server(self, pool_id):
        # The Nova driver tags every server it makes: someone else's
        # server is made behind its back.
        server = self.driver.create_server(compute_base.ServerSpec(
            name="someone-elses", flavor="vdi.small",
            image=emu.DEFAULT_IMAGE, metadata={
                compute_base.META_POOL: pool_id}))
        with self.emulator.lock:
            self.emulator.servers[server.id]["tags"] = ["other"]
        return server.id


class ReconcilerTestCase(base.TestCase):

    backend = "sqlite"

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.database = self.useFixture(database.Database(self.backend))
        self.flags(group="fake_compute", boot_time=0, failure_rate=0.0)
        self.driver = self.make_driver()
        self.manager = conductor_manager.ConductorManager(
            self.conf, compute_driver=self.driver)
        self.ctxt = vdi_context.get_admin_context()

    # -- helpers -----------------------------------------------------------

    def _pool(self, name="agents", **values):
        pool = dict(self.pool_values(), name=name, min_ready=2, max_size=4,
                    release_action="reboot", console_type="fake")
        pool.update(values)
        return db.pool_create(self.ctxt, pool)

    def _fill(self, pool, passes=10):
        for _ in range(passes):
            self.manager.pool_upkeep(self.ctxt)
            counts = self._counts(pool)
            if counts.get(models.READY, 0) >= pool["min_ready"] and \
                    not counts.get(models.BUILDING):
                return
        self.fail("pool not filled: %s" % self._counts(pool))

    def _counts(self, pool):
        return db.pool_desktop_counts(self.ctxt, [pool["id"]]).get(
            pool["id"], {})

    def _desktops(self, pool, **filters):
        return db.desktop_list(self.ctxt, dict(filters, pool_id=pool["id"]))

    def _age(self, minutes=10):
        """Make every desktop row look older than the next listing."""
        then = timeutils.utcnow() - datetime.timedelta(minutes=minutes)
        with self.database.engine.begin() as conn:
            conn.execute(sa.update(models.Desktop.__table__).values(
                created_at=then, updated_at=then))

    def _spec(self, pool_id, desktop_id=None, name="forgotten"):
        metadata = {compute_base.META_BROKER: "1",
                    compute_base.META_POOL: pool_id}
        if desktop_id:
            metadata[compute_base.META_DESKTOP] = desktop_id
        return compute_base.ServerSpec(
            name=name, metadata=metadata,
            tags=[compute_base.BROKER_TAG,
                  compute_base.POOL_TAG_PREFIX + pool_id],
            **self.pool_values())

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
             "expires_at": timeutils.utcnow() + datetime.timedelta(hours=1)})

    def _events(self, action):
        return db.event_list(self.ctxt, {"action": action})


class ReconcilerTests:
    """The cases; mixed with a cloud and a test case below."""

    def test_attaches_server_of_forgotten_boot(self):
        pool = self._pool(min_ready=1, max_size=2)
        # The conductor died between the boot and writing the server id.
        desktop = db.desktop_create(self.ctxt, {
            "pool_id": pool["id"], "name": "vdi-agents-1",
            "state": models.BUILDING})
        server = self.driver.create_server(self._spec(pool["id"],
                                                      desktop["id"]))
        report = self.manager.reconcile(self.ctxt)
        self.assertEqual(1, report["attached"])
        self.assertEqual(server.id,
                         db.desktop_get(self.ctxt,
                                        desktop["id"])["server_id"])
        self.assertEqual(1, len(self._events("desktop.adopt")))
        self._fill(pool)
        self.assertEqual(models.READY,
                         db.desktop_get(self.ctxt, desktop["id"])["state"])
        self.assertEqual(1, len(self.driver.list_servers()))

    def test_adopts_what_the_pool_wants_and_deletes_the_rest(self):
        pool = self._pool(min_ready=2, max_size=4)
        servers = [self.driver.create_server(self._spec(
            pool["id"], uuidutils.generate_uuid(), name="lost-%d" % i))
            for i in range(3)]
        report = self.manager.reconcile(self.ctxt)
        self.assertEqual((2, 1), (report["adopted"], report["deleted"]))
        adopted = self._desktops(pool)
        self.assertEqual(2, len(adopted))
        by_server = {s.id: s for s in servers}
        for desktop in adopted:
            server = by_server[desktop["server_id"]]
            # The desktop id the server names is kept.
            self.assertEqual(server.metadata[compute_base.META_DESKTOP],
                             desktop["id"])
        deleted = [s.id for s in servers
                   if s.id not in {d["server_id"] for d in adopted}]
        self.assertFalse(self.exists(deleted[0]))
        self._fill(pool)
        self.assertEqual({models.READY: 2}, self._counts(pool))
        # A second pass has nothing to do.
        report = self.manager.reconcile(self.ctxt)
        self.assertEqual(0, sum(report[k] for k in (
            "adopted", "attached", "deleted", "vanished", "quarantined")))

    def test_deletes_servers_of_deleted_pools_only_as_orphan_owner(self):
        pool = self._pool()
        gone = self.driver.create_server(self._spec("no-such-pool-id"))
        # A conductor that does not own the orphans leaves it.
        self.manager.ownership = Ownership([pool["id"]])
        self.assertEqual(0, self.manager.reconcile(self.ctxt)["deleted"])
        self.assertTrue(self.exists(gone.id))
        self.manager.ownership = Ownership([reconciler.ORPHANS_KEY])
        report = self.manager.reconcile(self.ctxt)
        self.assertEqual(1, report["deleted"])
        self.assertFalse(self.exists(gone.id))
        event = self._events("server.delete")[0]
        self.assertEqual(gone.id, event["target_id"])
        self.assertIn("no longer exists", event["message"])

    def test_untagged_servers_are_never_touched(self):
        pool = self._pool(min_ready=1)
        mine = self.untagged_server(pool["id"])
        theirs = self.untagged_server("no-such-pool-id")
        self._fill(pool)
        for _ in range(2):
            report = self.manager.reconcile(self.ctxt)
            self.manager.health_check(self.ctxt)
        self.assertEqual((0, 0), (report["adopted"], report["deleted"]))
        self.assertTrue(self.exists(mine))
        self.assertTrue(self.exists(theirs))
        self.assertEqual(1, len(self._desktops(pool)))

    def test_vanished_servers(self):
        pool = self._pool(min_ready=3, max_size=6)
        self._fill(pool)
        bound = self._login(pool, "vera", kind="user")["desktop"]
        floating = self._login(pool, "amy")["desktop"]
        ready = self._desktops(pool, state=models.READY)[0]
        self._fill(pool)
        for desktop in (bound, floating, ready):
            self.vanish(desktop["server_id"])
        # Rows changed while the cloud was listed are left alone.
        self.assertEqual(0, self.manager.reconcile(self.ctxt)["vanished"])
        self._age()
        report = self.manager.reconcile(self.ctxt)
        self.assertEqual(3, report["vanished"])
        for desktop in (bound, floating, ready):
            row = db.desktop_get(self.ctxt, desktop["id"])
            self.assertEqual((models.ERROR, "server vanished"),
                             (row["state"], row["state_reason"]))
        self.assertEqual(3, len(self._events("desktop.vanished")))
        # The pool manager replaces them, the binding moving first.
        self._fill(pool)
        binding = db.binding_find(self.ctxt, "user", "vera")
        self.assertNotEqual(bound["id"], binding["desktop_id"])
        self.assertEqual("vera", db.desktop_get(
            self.ctxt, binding["desktop_id"])["assigned_user"])
        self.assertEqual(1, len(self._events("binding.move")))
        self.assertEqual([], self._desktops(pool, state=models.ERROR))

    def test_drift(self):
        pool = self._pool(min_ready=3, max_size=6)
        self._fill(pool)
        bound = self._login(pool, "vera", kind="user")
        self._fill(pool)
        shut, moved_ip, other = self._desktops(pool, state=models.READY)
        self.set_status(shut["server_id"], compute_base.SHUTOFF)
        self.set_status(bound["desktop"]["server_id"], compute_base.ERROR)
        self.set_address(moved_ip["server_id"], "10.77.0.5")
        report = self.manager.reconcile(self.ctxt)
        self.assertEqual((2, 1), (report["quarantined"], report["updated"]))
        row = db.desktop_get(self.ctxt, shut["id"])
        self.assertEqual((models.QUARANTINED, "reconciler"),
                         (row["state"], row["faulted_by"]))
        self.assertIn("SHUTOFF", row["fault_reason"])
        self.assertIn("SHUTOFF", self.lock_reason(shut["server_id"]))
        self.assertEqual("10.77.0.5", db.desktop_get(
            self.ctxt, moved_ip["id"])["address"])
        # The bound user's binding moved to a healthy desktop.
        binding = db.binding_find(self.ctxt, "user", "vera")
        self.assertNotEqual(bound["desktop"]["id"], binding["desktop_id"])
        self.assertEqual(models.QUARANTINED, db.desktop_get(
            self.ctxt, bound["desktop"]["id"])["state"])
        self.assertEqual("closed", db.session_get(
            self.ctxt, bound["session"]["id"])["state"])
        # It took one of the healthy ready desktops; the other is ready.
        self.assertIn(binding["desktop_id"], (moved_ip["id"], other["id"]))
        untouched = other if binding["desktop_id"] != other["id"] \
            else moved_ip
        self.assertEqual(models.READY,
                         db.desktop_get(self.ctxt, untouched["id"])["state"])

    def test_health_check(self):
        pool = self._pool(min_ready=3, max_size=6)
        other_pool = self._pool(name="others", min_ready=1, max_size=2)
        self._fill(pool)
        self._fill(other_pool)
        login = self._login(pool, "amy")
        one = self._desktops(pool, state=models.READY)[0]
        self.set_status(one["server_id"], compute_base.SHUTOFF)
        self.vanish(login["desktop"]["server_id"])
        stray = self.driver.create_server(self._spec("no-such-pool-id"))
        self._age()
        report = self.manager.health_check(self.ctxt)
        self.assertEqual((1, 1, 0), (report["quarantined"],
                                     report["vanished"], report["deleted"]))
        self.assertEqual(models.QUARANTINED,
                         db.desktop_get(self.ctxt, one["id"])["state"])
        self.assertEqual("health-check", db.desktop_get(
            self.ctxt, one["id"])["faulted_by"])
        self.assertIn("SHUTOFF", self.lock_reason(one["server_id"]))
        self.assertEqual(models.ERROR, db.desktop_get(
            self.ctxt, login["desktop"]["id"])["state"])
        self.assertEqual("closed", db.session_get(
            self.ctxt, login["session"]["id"])["state"])
        # The health check neither adopts nor deletes.
        self.assertTrue(self.exists(stray.id))
        # The next login gets a healthy desktop.
        again = self._login(pool, "amy")
        self.assertNotIn(again["desktop"]["id"],
                         (one["id"], login["desktop"]["id"]))

    def test_only_kept_pools(self):
        pool = self._pool(min_ready=1)
        kept = self._pool(name="kept", min_ready=1)
        self._fill(pool)
        self._fill(kept)
        for p in (pool, kept):
            desktop = self._desktops(p)[0]
            self.set_status(desktop["server_id"], compute_base.SHUTOFF)
        self.manager.ownership = Ownership([kept["id"]])
        self.assertEqual(1, self.manager.health_check(
            self.ctxt)["quarantined"])
        self.assertEqual({models.READY: 1}, self._counts(pool))
        self.assertEqual({models.QUARANTINED: 1}, self._counts(kept))
        self.manager.ownership = Ownership([])
        self.assertEqual(0, self.manager.reconcile(self.ctxt)["servers"])


class FakeCloudReconcilerTest(FakeCloudMixin, ReconcilerTests,
                              ReconcilerTestCase):
    pass


class MySQLReconcilerTest(FakeCloudReconcilerTest):
    backend = "mysql"


class PostgreSQLReconcilerTest(FakeCloudReconcilerTest):
    backend = "postgresql"


class EmulatorReconcilerTest(EmulatorMixin, ReconcilerTests,
                             ReconcilerTestCase):

    def test_health_check_lists_once_per_pool(self):
        pools = [self._pool(name="p%d" % i, min_ready=2) for i in range(3)]
        for pool in pools:
            self._fill(pool)
        before = self.emulator.calls("list")
        shows = self.emulator.calls("show")
        self.manager.health_check(self.ctxt)
        # Two desktops a pool, five servers a page: one page each, and
        # the empty page that ends a listing.
        self.assertEqual(6, self.emulator.calls("list") - before)
        self.assertEqual(shows, self.emulator.calls("show"))
        queries = [r["query"].get("tags") for r in self.emulator.requests
                   if r["kind"] == "list"][-6:]
        self.assertEqual(sorted(2 * [["%s,%s%s" % (
            compute_base.BROKER_TAG, compute_base.POOL_TAG_PREFIX, p["id"])]
            for p in pools]), sorted(queries))

    def test_reconcile_lists_every_page(self):
        pool = self._pool(min_ready=12, max_size=12,
                          max_concurrent_builds=12)
        self._fill(pool)
        before = self.emulator.calls("list")
        report = self.manager.reconcile(self.ctxt)
        # 12 servers, 5 a page: 3 pages and the empty one that ends it.
        self.assertEqual(4, self.emulator.calls("list") - before)
        self.assertEqual(12, report["servers"])

    def test_quarantined_locked_server_unlocked_before_delete(self):
        # A non-admin broker user: Nova refuses actions on locked servers.
        self.emulator.admin = False
        pool = self._pool(min_ready=1)
        self._fill(pool)
        desktop = self._desktops(pool)[0]
        self.set_status(desktop["server_id"], compute_base.SHUTOFF)
        self.manager.health_check(self.ctxt)
        self.assertTrue(self.emulator.servers[desktop["server_id"]]["locked"])
        self.assertRaises(exception.ComputeError, self.driver.delete_server,
                          desktop["server_id"])
        self.manager.desktop_action(self.ctxt, desktop["id"], "replace", {})
        self.assertFalse(self.exists(desktop["server_id"]))

    def test_deletes_locked_leftover_as_non_admin(self):
        self.emulator.admin = False
        server = self.driver.create_server(self._spec("no-such-pool-id"))
        self.driver.lock_server(server.id, "quarantined, row lost")
        self.assertEqual(1, self.manager.reconcile(self.ctxt)["deleted"])
        self.assertFalse(self.exists(server.id))

    def test_emulator_lists_a_servers_tags(self):
        server = self.driver.create_server(self._spec("pool-x"))
        resp = self.driver.adapter.get("/servers/%s/tags" % server.id,
                                       microversion="2.26")
        self.assertEqual(sorted([compute_base.BROKER_TAG,
                                 compute_base.POOL_TAG_PREFIX + "pool-x"]),
                         sorted(resp.json()["tags"]))


class PeriodicTest(FakeCloudMixin, ReconcilerTestCase):
    """The reconciler runs at start and every reconcile_interval."""

    def _names(self):
        return [task.__name__ for task, _, _ in
                self.manager.periodic_tasks()]

    def test_registered_with_the_intervals(self):
        self.flags(group="conductor", reconcile_interval=300,
                   health_check_interval=30)
        tasks = {task.__name__: task for task, _, _ in
                 self.manager.periodic_tasks()}
        self.assertEqual(300, tasks["reconcile"]._periodic_spacing)
        self.assertEqual(30, tasks["health_check"]._periodic_spacing)
        self.assertTrue(tasks["reconcile"]._periodic_run_immediately)
        self.flags(group="conductor", reconcile_interval=0,
                   health_check_interval=0)
        self.assertNotIn("reconcile", self._names())
        self.assertNotIn("health_check", self._names())

    def test_runs_at_start_and_again(self):
        self.flags(group="conductor", reconcile_interval=1,
                   health_check_interval=3600, pool_interval=3600)
        pool = self._pool(min_ready=0, max_size=0)
        first = self.driver.create_server(self._spec("deleted-pool-1"))
        runner = conductor_manager.PeriodicRunner(self.manager)
        runner.start()
        self.addCleanup(runner.stop)
        self._wait(lambda: not self.exists(first.id))
        # And again, a second later, without a restart.
        second = self.driver.create_server(self._spec(pool["id"]))
        self._wait(lambda: not self.exists(second.id))
        self.assertEqual(2, len(self._events("server.delete")))

    def _wait(self, condition, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        self.fail("condition not met in %s s" % timeout)
