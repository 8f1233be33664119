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

"""Active-active conductors: pool ownership over real tooz backends.

Every test runs on the file backend (a temporary directory) and on Redis
(a private key namespace on the local server). The intervals are short
(heartbeat 0.2 s, member timeout 2 s) so that takeovers are measured in
seconds. tooz's mysql and postgresql drivers have no group membership: the
tests check that such a backend is refused with a clear error.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import fixtures
import oslo_messaging as messaging
from oslo_utils import uuidutils
import sqlalchemy as sa

from tests import base
from tests.fixtures import database
from vdi_broker.compute import base as compute_base
from vdi_broker.compute import fake as fake_compute
from vdi_broker.conductor import coordination
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker import service

HEARTBEAT = 0.2
MEMBER_TIMEOUT = 2
# Slack for a loaded 2-core test machine.
MARGIN = 1.5

REDIS_URL = os.environ.get("VDI_TEST_REDIS_URL", "redis://127.0.0.1:6379")

# A conductor in another process, killed with SIGKILL by the test.
MEMBER_SCRIPT = textwrap.dedent("""
    import sys, time
    from oslo_config import cfg
    from vdi_broker.conf import coordination as coordination_opts
    from vdi_broker.conductor import coordination
    conf = cfg.ConfigOpts()
    coordination_opts.register_opts(conf)
    conf([], default_config_files=[], default_config_dirs=[])
    conf.set_override("backend_url", sys.argv[1], "coordination")
    conf.set_override("group", sys.argv[2], "coordination")
    conf.set_override("heartbeat_interval", float(sys.argv[3]),
                      "coordination")
    conf.set_override("member_timeout", int(sys.argv[4]), "coordination")
    ownership = coordination.PoolOwnership(conf, member_id=sys.argv[5])
    ownership.start()
    print("joined", flush=True)
    time.sleep(120)
""")


def _wait(condition, timeout, interval=0.05):
    """Poll until condition() is true; return the seconds it took."""
    start = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(interval)


class CoordinationTestCase(base.TestCase):

    backend = "file"

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(level="INFO"))
        self.url = self._backend_url()
        self.flags(group="coordination", backend_url=self.url,
                   heartbeat_interval=HEARTBEAT,
                   member_timeout=MEMBER_TIMEOUT)
        # "group" is an option of [coordination] too.
        self.conf.set_override("group", "vdi-test-" + uuid.uuid4().hex[:8],
                               "coordination")
        self.pool_ids = [uuidutils.generate_uuid() for _ in range(60)]

    def _backend_url(self):
        if self.backend == "file":
            return "file://" + self.useFixture(fixtures.TempDir()).path
        try:
            import redis
            client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
            client.ping()
        except Exception as e:
            if database.required():
                raise
            self.skipTest("redis is not reachable at %s: %s" % (REDIS_URL,
                                                                e))
        namespace = "vdi-test-" + uuid.uuid4().hex[:12]

        def clean():
            for key in client.scan_iter(namespace + "*"):
                client.delete(key)
            client.close()

        self.addCleanup(clean)
        return REDIS_URL + "?namespace=" + namespace

    def _member(self, name=None, start=True):
        ownership = coordination.PoolOwnership(
            self.conf, member_id=name or "test-" + uuid.uuid4().hex[:8])
        if start:
            ownership.start()
            self.addCleanup(ownership.stop)
        return ownership

    def _owners(self, members, pool_ids=None):
        owners = {}
        for pool_id in pool_ids or self.pool_ids:
            owners[pool_id] = [m.member_id for m in members
                               if m.owns(pool_id)]
        return owners

    def _settled(self, members, expected_count=None):
        """Every member sees the others and the pools are partitioned."""
        count = expected_count or len(members)

        def check():
            if any(len(m.members) != count for m in members):
                return False
            return all(len(o) == 1 for o in self._owners(members).values())

        took = _wait(check, MEMBER_TIMEOUT + 3 * HEARTBEAT + MARGIN + 2)
        self.assertIsNotNone(took, "members did not settle: %s" % [
            sorted(m.members) for m in members])
        return took

    def _assert_partition(self, members):
        owners = self._owners(members)
        overlap = {p: o for p, o in owners.items() if len(o) > 1}
        gap = [p for p, o in owners.items() if not o]
        self.assertEqual({}, overlap)
        self.assertEqual([], gap)
        return owners


class OwnershipTests:
    """The tests of both backends (mixed into the concrete classes)."""

    def test_members_partition_the_pools(self):
        members = [self._member() for _ in range(3)]
        self._settled(members)
        owners = self._assert_partition(members)
        # A consistent hash ring spreads 60 pools over 3 members.
        per_member = {m.member_id: 0 for m in members}
        for owner in owners.values():
            per_member[owner[0]] += 1
        self.assertTrue(all(n > 0 for n in per_member.values()),
                        per_member)

    def test_new_member_waits_before_owning(self):
        first = self._member()
        self._settled([first])
        second = self._member()
        # Until everyone has seen it, the newcomer owns nothing: a pool
        # may briefly have no owner, never two.
        self.assertFalse(any(second.owns(p) for p in self.pool_ids))
        deadline = time.monotonic() + second.join_grace + 2 * HEARTBEAT
        while time.monotonic() < deadline:
            owners = self._owners([first, second])
            self.assertEqual(
                {}, {p: o for p, o in owners.items() if len(o) > 1})
            time.sleep(0.05)
        self._settled([first, second])
        self._assert_partition([first, second])

    def test_leaving_member_is_taken_over_quickly(self):
        first, second = self._member(), self._member()
        self._settled([first, second])
        theirs = [p for p in self.pool_ids if first.owns(p)]
        self.assertTrue(theirs)
        start = time.monotonic()
        # stop() leaves the group, then waits for tooz's executor (about
        # 1 s with the file driver).
        first.stop()
        stopped = time.monotonic() - start
        self.assertFalse(any(first.owns(p) for p in self.pool_ids))
        took = _wait(lambda: all(second.owns(p) for p in self.pool_ids),
                     MEMBER_TIMEOUT + 5)
        self.assertIsNotNone(took)
        # A member that leaves is seen gone at the next refresh.
        self.assertLess(took, 2 * HEARTBEAT + MARGIN)
        self.addDetail("takeover-after-leave", _text(
            "at most %.2f s (stop() took %.2f s)" % (stopped + took,
                                                     stopped)))

    def test_killed_member_is_taken_over_after_member_timeout(self):
        survivor = self._member()
        killed_id = "killed-" + uuid.uuid4().hex[:8]
        proc = subprocess.Popen(
            [sys.executable, "-c", MEMBER_SCRIPT, self.url,
             self.conf.coordination.group, str(HEARTBEAT),
             str(MEMBER_TIMEOUT), killed_id],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(proc.wait)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        line = proc.stdout.readline()
        self.assertEqual(b"joined\n", line, proc.stderr.read(2000)
                         if not line else line)
        # The survivor sees the other member and hands it its share.
        took = _wait(lambda: killed_id in survivor.members and
                     not all(survivor.owns(p) for p in self.pool_ids),
                     MEMBER_TIMEOUT + 3)
        self.assertIsNotNone(took, sorted(survivor.members))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        start = time.monotonic()
        took = _wait(lambda: all(survivor.owns(p) for p in self.pool_ids),
                     MEMBER_TIMEOUT + 3 * HEARTBEAT + MARGIN + 3)
        self.assertIsNotNone(took, "no takeover after SIGKILL")
        # Not before the backend expired the member (no heartbeat for
        # member_timeout, less the last interval), not much after.
        self.assertGreater(took, MEMBER_TIMEOUT - 2 * HEARTBEAT - 0.5)
        self.assertLess(took, MEMBER_TIMEOUT + 2 * HEARTBEAT + MARGIN)
        self.assertNotIn(killed_id, survivor.members)
        self.addDetail("takeover-after-kill",
                       _text("%.2f s" % (time.monotonic() - start)))

    def test_backend_errors_mean_no_pool_after_a_while(self):
        failing, healthy = self._member(), self._member()
        self._settled([failing, healthy])
        theirs = [p for p in self.pool_ids if failing.owns(p)]
        self.assertTrue(theirs)

        def broken():
            raise coordination.tooz.ToozError("backend down (test)")

        failing._coordinator.heartbeat = broken
        start = time.monotonic()
        gave_up = None
        while time.monotonic() - start < MEMBER_TIMEOUT + 3 + MARGIN:
            owners = self._owners([failing, healthy])
            # Never two owners at any moment of the transition.
            self.assertEqual(
                {}, {p: o for p, o in owners.items() if len(o) > 1})
            if gave_up is None and not any(failing.owns(p)
                                           for p in theirs):
                gave_up = time.monotonic() - start
            if all(healthy.owns(p) for p in self.pool_ids):
                break
            time.sleep(0.05)
        else:
            self.fail("the healthy member never took over")
        self.assertIsNotNone(gave_up)
        # The failing member trusted its ring for member_timeout / 2.
        self.assertLess(gave_up, failing.ring_ttl + HEARTBEAT + MARGIN)
        self.assertTrue(self.logger.output.count("backend error"))


class TestFileOwnership(OwnershipTests, CoordinationTestCase):
    backend = "file"


class TestRedisOwnership(OwnershipTests, CoordinationTestCase):
    backend = "redis"


def _text(value):
    from testtools import content
    return content.text_content(value)


class TestWithoutBackend(base.TestCase):

    def test_owns_every_pool(self):
        ownership = coordination.PoolOwnership(self.conf)
        ownership.start()
        self.assertFalse(ownership.enabled)
        self.assertTrue(ownership.owns(uuidutils.generate_uuid()))
        ownership.stop()

    def test_intervals_are_checked(self):
        self.flags(group="coordination", backend_url="file:///nonexistent",
                   heartbeat_interval=5, member_timeout=6)
        ownership = coordination.PoolOwnership(self.conf)
        self.assertRaises(exception.CoordinationUnsupported,
                          ownership.start)


class TestLockOnlyBackends(base.TestCase):
    """tooz's SQL drivers have no groups: refused, clearly."""

    def _refused(self, backend, scheme):
        db_fixture = self.useFixture(database.Database(backend,
                                                       migrate=False))
        url = sa.engine.make_url(db_fixture.url).set(drivername=scheme)
        self.flags(group="coordination",
                   backend_url=url.render_as_string(hide_password=False))
        ownership = coordination.PoolOwnership(self.conf)
        e = self.assertRaises(exception.CoordinationUnsupported,
                              ownership.start)
        self.assertIn("no group membership", str(e))
        self.assertNotIn("openstack_citest@", str(e))

    def test_mysql_is_refused(self):
        self._refused("mysql", "mysql")

    def test_postgresql_is_refused(self):
        self._refused("postgresql", "postgresql")


class TestTwoConductors(CoordinationTestCase):
    """Two ConductorManagers over one cloud never build for one pool."""

    backend = "file"

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(database.Database("sqlite"))
        self.flags(group="fake_compute", boot_time=0, failure_rate=0.0)
        self.cloud = fake_compute.FakeCloud()
        self.ctxt = vdi_context.get_admin_context()
        self.creates = {}

    def _conductor(self, name):
        driver = fake_compute.FakeComputeDriver(self.conf, cloud=self.cloud)
        create = driver.create_server

        def counting(spec):
            pool_id = spec.metadata[compute_base.META_POOL]
            self.creates.setdefault(pool_id, {}).setdefault(name, 0)
            self.creates[pool_id][name] += 1
            return create(spec)

        driver.create_server = counting
        ownership = self._member(name)
        return conductor_manager.ConductorManager(
            self.conf, compute_driver=driver, ownership=ownership)

    def _pool(self, i):
        return db.pool_create(self.ctxt, {
            "name": "pool%d" % i, "flavor": "m1.desktop",
            "image": "win11-img", "networks": ["net"], "min_ready": 2,
            "max_size": 3, "max_concurrent_builds": 10,
            "release_action": "reboot", "console_type": "fake"})

    def test_upkeep_is_partitioned_then_taken_over(self):
        pools = [self._pool(i) for i in range(8)]
        self.pool_ids = [p["id"] for p in pools]
        one, two = self._conductor("one"), self._conductor("two")
        self._settled([one.ownership, two.ownership])
        for _ in range(4):
            one.pool_upkeep(self.ctxt)
            two.pool_upkeep(self.ctxt)
        # No overlap: every pool was built by one conductor only; no gap:
        # every pool is full.
        for pool in pools:
            self.assertEqual(1, len(self.creates.get(pool["id"], {})),
                             self.creates)
            counts = db.pool_desktop_counts(self.ctxt, [pool["id"]])
            self.assertEqual({models.READY: 2}, counts[pool["id"]])
        builders = {n for c in self.creates.values() for n in c}
        self.assertEqual({"one", "two"}, builders)
        self.assertEqual(16, sum(sum(c.values())
                                 for c in self.creates.values()))

        # Conductor one stops; two keeps its pools too.
        ones = [p for p in pools if "one" in self.creates[p["id"]]]
        one.ownership.stop()
        took = _wait(lambda: all(two.ownership.owns(p["id"])
                                 for p in pools), MEMBER_TIMEOUT + 3)
        self.assertIsNotNone(took)
        for pool in ones:
            desktop = db.desktop_list(self.ctxt, {"pool_id": pool["id"]})[0]
            db.desktop_transition(self.ctxt, desktop["id"], [models.READY],
                                  {"state": models.DELETING})
        one.pool_upkeep(self.ctxt)  # owns nothing now: does nothing
        for _ in range(3):
            two.pool_upkeep(self.ctxt)
        for pool in ones:
            self.assertEqual({"one": 2, "two": 1}, self.creates[pool["id"]])
            counts = db.pool_desktop_counts(self.ctxt, [pool["id"]])
            self.assertEqual({models.READY: 2}, counts[pool["id"]])


class TestConductorService(CoordinationTestCase):

    def test_service_joins_and_leaves(self):
        messaging.TransportURL.parse(self.conf, "fake:/")
        self.flags(transport_url="fake:/")
        observer = self._member()
        self.useFixture(database.Database("sqlite"))
        manager = conductor_manager.ConductorManager(self.conf)
        svc = service.ConductorService(self.conf, manager=manager,
                                       host="conductor-a")
        svc.start()
        self.addCleanup(lambda: svc.ownership and svc.stop())
        member_id = manager.ownership.member_id
        self.assertIsNotNone(_wait(lambda: member_id in observer.members,
                                   3))
        svc.stop()
        self.assertIsNone(manager.ownership)
        self.assertIsNotNone(_wait(
            lambda: member_id not in observer.members, 3))
