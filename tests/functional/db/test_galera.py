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

"""Logins on a multi-writer Galera cluster: three nodes, three writers.

Three ``vdi-broker-api`` processes (``[conductor] use_local = true``: the
login transaction runs in the API process) each write to a different
node of a three-node MariaDB Galera cluster (tests/fixtures/galera.py),
at the same time:

* distinct users log in concurrently across the nodes: no desktop is
  given to two users;
* one user logs in six times at once on each node: the user ends with
  exactly one desktop (GET_LOCK, the per-user lock of a single server, is
  local to one node: the logins on two nodes each claimed one before
  login_serials);
* a node is killed while logins run: the other nodes go on, and the node
  rejoins the cluster.

The outcome is checked twice: from the answers the thin clients got, and
by an audit query on each node of the cluster (``wsrep_sync_wait``, so
that each node has applied every commit first).
"""

import collections
import concurrent.futures
import json
import os
import threading
import time

import fixtures
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import engines
from oslo_utils import timeutils
from oslo_utils import uuidutils
import requests
import sqlalchemy as sa
from testtools import content

from tests import base
from tests.fixtures import api_server
from tests.fixtures import broker as broker_fixture
from tests.fixtures import galera
from tests.fixtures import ini
from tests.fixtures import logins
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import allocation
from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine as db_engine
from vdi_broker.db.sqlalchemy import models

NODES = 3


def _users(names):
    return [broker_fixture._user(name, "uid=%s,ou=agents,%s" % (
        name, broker_fixture.BASE_DN), ["agents"], {}) for name in names]


def _allocate(pool, username):
    """One login's transaction (the login service's, with a decision)."""
    return logins.login(vdi_context.get_admin_context(), pool, username,
                        client_id="tc-1")


class GaleraEngineTest(base.TestCase):
    """The broker's connections know a Galera node; what a login writes."""

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(galera.GaleraDatabase())
        self.ctxt = vdi_context.get_admin_context()
        self.pool = db.pool_create(self.ctxt, {
            "name": "pool", "flavor": "m1.desktop", "image": "win11",
            "min_ready": 0, "max_size": 2})
        for i in range(2):
            db.desktop_create(self.ctxt, {
                "pool_id": self.pool["id"], "name": "d-%d" % i,
                "server_id": uuidutils.generate_uuid(),
                "state": models.READY})

    def engine(self, node):
        engine = engines.create_engine(self.database.urls[node])
        db_engine.prepare_engine(engine)
        self.addCleanup(engine.dispose)
        return engine

    def serial(self, username):
        with self.database.engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT logins FROM login_serials WHERE id = :id"),
                {"id": allocation._user_lock_digest(username).hex()}).scalar()

    def test_logins_count_in_the_users_row(self):
        with self.database.engine.connect() as conn:
            self.assertIs(True, conn.info["vdi_galera"])
        first = _allocate(self.pool, "alice")
        self.assertEqual(1, self.serial("alice"))
        again = _allocate(self.pool, "alice")
        self.assertEqual(2, self.serial("alice"))
        self.assertTrue(again["reused"])
        self.assertEqual(first["desktop"]["id"], again["desktop"]["id"])
        self.assertIsNone(self.serial("bob"))

    def test_a_concurrent_login_on_another_node_loses_and_is_retried(self):
        # A login of alice on node 2 has written her row and not yet
        # committed when a login of alice on node 1 commits: node 2's
        # transaction fails (certification, or aborted by the applier of
        # node 1's commit) with a deadlock, which the login's transaction
        # runs again (retry_on_conflict) and oslo.db reports as such.
        other = self.engine(1)
        conn = other.connect()
        self.addCleanup(conn.close)
        conn.begin()
        conn.execute(allocation._LOGIN_SERIAL, {
            "p_id": allocation._user_lock_digest("alice").hex(),
            "p_now": timeutils.utcnow()})
        _allocate(self.pool, "alice")
        self.assertEqual(1, self.serial("alice"))
        self.assertRaises(db_exc.DBDeadlock, conn.commit)

    def test_pool_changes_on_two_nodes_conflict_and_are_retried(self):
        # Two changes of different pools on two nodes both write the
        # allocators' and pools' generation (common.config_changed). A
        # change of this node has bumped it and not yet committed when one
        # of node 2 commits: this node's transaction is aborted with a
        # deadlock and run again (retry_on_deadlock).
        other = self.engine(1)
        spare = db.pool_create(self.ctxt, {
            "name": "spare", "flavor": "m1.desktop", "image": "win11"})
        before = self.generation()
        commits = []

        def meanwhile(session):
            if commits:
                return
            commits.append(True)
            with other.begin() as conn:
                conn.execute(sa.update(models.Pool.__table__)
                             .where(models.Pool.id == spare["id"])
                             .values(description="node 2"))
                common.config_changed(conn)

        # (After the bump: common's listener was registered first.)
        sa.event.listen(sa.orm.Session, "before_commit", meanwhile)
        self.addCleanup(sa.event.remove, sa.orm.Session, "before_commit",
                        meanwhile)
        db.pool_update(self.ctxt, self.pool["id"], {"description": "node 1"})
        self.assertEqual([True], commits)
        self.assertEqual("node 1",
                         db.pool_get(self.ctxt, "pool")["description"])
        self.assertEqual("node 2",
                         db.pool_get(self.ctxt, "spare")["description"])
        # Both changes moved it: node 2's, then this node's second try.
        self.assertEqual(before + 2, self.generation())

    def generation(self):
        with self.database.engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT generation FROM cache_generations "
                "WHERE name = 'allocation'")).scalar()


class GaleraLoginTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(600, gentle=True))
        self.database = self.useFixture(galera.GaleraDatabase())
        self.cluster = self.database.cluster
        self.ctxt = vdi_context.get_admin_context()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        users = ["agent%02d" % i for i in range(48)] + \
            ["solo%d" % i for i in range(4)]
        users_file = os.path.join(self.tmp, "users.json")
        with open(users_file, "w", encoding="utf-8") as f:
            json.dump(broker_fixture.users_document(_users(users)), f)
        self.workers = []
        for index in range(NODES):
            config = self._config(index, users_file)
            self.workers.append(self.useFixture(api_server.ApiProcess(
                config, "api-on-node%d" % (index + 1))))
        self.http = requests.Session()
        self.http.trust_env = False
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=64)
        self.http.mount("http://", adapter)
        self.addCleanup(self.http.close)
        self._n = 0
        self._n_lock = threading.Lock()

    def _pool(self, desktops):
        pool = db.pool_create(self.ctxt, {
            "name": "agents", "flavor": "win10-4c8g",
            "image": "win10-golden", "console_type": "rdp",
            "min_ready": 0, "max_size": desktops,
            "release_action": "keep"})
        db.allocator_create(self.ctxt, {
            "name": "everyone", "priority": 100, "plugin": "pool",
            "pool_id": pool["id"], "is_default": True})
        for i in range(desktops):
            db.desktop_create(self.ctxt, {
                "pool_id": pool["id"], "name": "agents-%03d" % i,
                "server_id": "server-%03d" % i, "state": models.READY,
                "address": "10.0.0.%d" % (i + 1)})
        return pool

    def _config(self, index, users_file):
        sections = {
            "DEFAULT": {"transport_url": "fake:/", "debug": "false"},
            "database": {"connection": self.database.urls[index],
                         "max_pool_size": "10", "max_overflow": "20"},
            "api": {"auth_strategy": "noauth", "bind_host": "127.0.0.1",
                    "bind_port": "0"},
            "conductor": {"use_local": "true", "pool_interval": "600",
                          "reconcile_interval": "0",
                          "health_check_interval": "0"},
            "compute": {"driver": "fake"},
            "identity": {"driver": "static"},
            "static_identity": {"users_file": users_file},
            "login_throttle": {"user_failure_threshold": "0",
                               "client_failure_threshold": "0"},
        }
        return ini.write(
            os.path.join(self.tmp, "vdi-broker-%d.conf" % index), sections)

    # -- logins ---------------------------------------------------------------

    def login(self, node, username):
        """One login on the API of ``node``: (status, body or error)."""
        with self._n_lock:
            self._n += 1
            client = "tc-%04d" % self._n
        try:
            resp = self.http.post(
                self.workers[node].url + "/v1/client/sessions",
                json={"username": username,
                      "password": broker_fixture.PASSWORD,
                      "client_id": client}, timeout=90)
        except requests.RequestException as e:
            return None, repr(e)
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        return resp.status_code, body

    def run_logins(self, calls):
        """(node, username) logins all at once; results in call order."""
        gate = threading.Event()

        def call(node, username):
            gate.wait(30)
            return self.login(node, username)

        with concurrent.futures.ThreadPoolExecutor(len(calls)) as executor:
            futures = [executor.submit(call, node, user)
                       for node, user in calls]
            time.sleep(0.2)
            gate.set()
            return [f.result(timeout=180) for f in futures]

    # -- the audit ------------------------------------------------------------

    def audit(self, node):
        """Check the invariants with plain SQL on ``node``; its numbers.

        Independent of the broker's code: no desktop has active sessions
        of two users, an active session's desktop is assigned to its user,
        no user holds two desktops of the pool, no assigned desktop is
        without a session.
        """
        engine = self.database.admin_engine(node, self.database.name)
        try:
            with engine.connect() as conn:
                shared = conn.execute(sa.text(
                    "SELECT desktop_id, COUNT(DISTINCT username) FROM "
                    "sessions WHERE state = 'active' GROUP BY desktop_id "
                    "HAVING COUNT(DISTINCT username) > 1")).all()
                self.assertEqual([], shared, "desktops of two users")
                twice = conn.execute(sa.text(
                    "SELECT desktop_id, COUNT(*) FROM sessions WHERE "
                    "state = 'active' GROUP BY desktop_id "
                    "HAVING COUNT(*) > 1")).all()
                self.assertEqual([], twice,
                                 "desktops with two active sessions")
                wrong = conn.execute(sa.text(
                    "SELECT s.id, s.username, d.state, d.assigned_user "
                    "FROM sessions s JOIN desktops d ON d.id = s.desktop_id "
                    "WHERE s.state = 'active' AND (d.state <> 'assigned' "
                    "OR d.assigned_user IS NULL OR "
                    "d.assigned_user <> s.username)")).all()
                self.assertEqual([], wrong, "sessions on desktops that are "
                                            "not their user's")
                doubled = conn.execute(sa.text(
                    "SELECT assigned_user, COUNT(*) FROM desktops WHERE "
                    "state = 'assigned' GROUP BY assigned_user "
                    "HAVING COUNT(*) > 1")).all()
                self.assertEqual([], doubled, "users with two desktops")
                leaked = conn.execute(sa.text(
                    "SELECT d.id, d.assigned_user FROM desktops d WHERE "
                    "d.state = 'assigned' AND NOT EXISTS (SELECT 1 FROM "
                    "sessions s WHERE s.desktop_id = d.id AND "
                    "s.state = 'active')")).all()
                self.assertEqual([], leaked, "assigned desktops without a "
                                             "session")
                assigned = dict(conn.execute(sa.text(
                    "SELECT id, assigned_user FROM desktops WHERE "
                    "state = 'assigned'")).all())
                active = conn.execute(sa.text(
                    "SELECT COUNT(*) FROM sessions WHERE state = 'active'"
                )).scalar()
        finally:
            engine.dispose()
        return assigned, active

    def audit_all(self):
        """The audit on every node: the same outcome everywhere."""
        outcomes = [self.audit(node) for node in range(NODES)]
        for other in outcomes[1:]:
            self.assertEqual(outcomes[0], other)
        return outcomes[0]

    def assert_answers_agree(self, results, calls, assigned):
        """What the thin clients were told matches the database."""
        holders = collections.defaultdict(set)
        for (node, user), (status, body) in zip(calls, results):
            if status == 201:
                holders[body["desktop"]["id"]].add(user)
                self.assertEqual(user, assigned.get(body["desktop"]["id"]),
                                 "%s was given desktop %s, which is "
                                 "assigned to %s" % (
                                     user, body["desktop"]["id"],
                                     assigned.get(body["desktop"]["id"])))
        given_twice = {d: u for d, u in holders.items() if len(u) > 1}
        self.assertEqual({}, given_twice, "desktops given to two users")
        return holders

    # -- the scenarios --------------------------------------------------------

    def test_distinct_users_across_nodes(self):
        self._pool(24)
        users = ["agent%02d" % i for i in range(36)]
        calls = [(i % NODES, user) for i, user in enumerate(users)]
        results = self.run_logins(calls)
        statuses = collections.Counter(status for status, _ in results)
        unexpected = [(c, r) for c, r in zip(calls, results)
                      if r[0] not in (201, 503)]
        self.assertEqual([], unexpected[:5])
        self.assertEqual(24, statuses[201], statuses)
        exhausted = [body for status, body in results if status == 503]
        self.assertEqual(36 - 24, len(exhausted))
        for body in exhausted:
            self.assertIn("ready", json.dumps(body))
        assigned, active = self.audit_all()
        self.assertEqual(24, len(assigned))
        self.assertEqual(24, active)
        holders = self.assert_answers_agree(results, calls, assigned)
        self.assertEqual(24, len(holders))
        # Every node wrote: the logins really were spread.
        by_node = collections.Counter(node for (node, _), (status, _) in
                                      zip(calls, results) if status == 201)
        self.assertEqual(NODES, len(by_node), by_node)

    def hold_ready_desktops(self, pool, node, count):
        """Lock ``count`` ready desktops on ``node`` in a transaction.

        As other users' logins in flight do in a busy pool: a login on
        that node skips them (SKIP LOCKED) and claims another desktop
        than a login on another node, which does not see these row locks.
        Returns the connection; roll it back to let go.
        """
        engine = sa.create_engine(self.database.urls[node],
                                  poolclass=sa.pool.NullPool)
        self.addCleanup(engine.dispose)
        conn = engine.connect()
        self.addCleanup(conn.close)
        conn.begin()
        rows = conn.execute(sa.text(
            "SELECT id FROM desktops WHERE pool_id = :pool AND "
            "state = 'ready' LIMIT %d FOR UPDATE" % count),
            {"pool": pool["id"]}).all()
        self.assertEqual(count, len(rows))
        return conn

    def conflicts(self):
        """Certification failures and brute-force aborts, all nodes."""
        total = 0
        for node in range(NODES):
            status = self.cluster.status(node) or {}
            total += int(status.get("wsrep_local_cert_failures", 0))
            total += int(status.get("wsrep_local_bf_aborts", 0))
        return total

    def test_same_user_on_every_node_at_once(self):
        pool = self._pool(12)
        conflicts = self.conflicts()
        # Each round: one user logs in six times at once on each node.
        for user in ("solo0", "solo1", "solo2"):
            # The nodes' first ready desktops differ (see
            # hold_ready_desktops): without a per-user serialisation
            # that holds across nodes, each node claims one for the user.
            holders = [self.hold_ready_desktops(pool, 0, 2),
                       self.hold_ready_desktops(pool, 1, 1)]
            calls = [(node, user) for _ in range(6)
                     for node in range(NODES)]
            results = self.run_logins(calls)
            for conn in holders:
                try:
                    conn.rollback()
                except sa.exc.DBAPIError:
                    # Aborted by a replicated claim of a row it held.
                    pass
                conn.close()
            statuses = [status for status, _ in results]
            self.assertEqual([201] * len(calls), statuses,
                             [body for status, body in results
                              if status != 201][:3])
            assigned, active = self.audit_all()
            held = [d for d, u in assigned.items() if u == user]
            self.assertEqual(1, len(held),
                             "%s holds %d desktops" % (user, len(held)))
            # Every login was told that one desktop.
            self.assertEqual(set(held), {body["desktop"]["id"]
                                         for _, body in results})
            self.assert_answers_agree(results, calls, assigned)
            # One login claimed it; the others took the session over.
            self.assertEqual(1, sum(1 for _, body in results
                                    if not body["reused"]))
        # The nodes' logins did collide, and every failed transaction was
        # run again (every login above answered 201).
        conflicts = self.conflicts() - conflicts
        self.addDetail("conflicts", content.text_content(
            "%d certification failures and brute-force aborts" % conflicts))
        self.assertGreater(conflicts, 0)

    def test_node_killed_and_rejoined_during_logins(self):
        self._pool(48)
        victim = NODES - 1
        survivors = [n for n in range(NODES) if n != victim]
        users = iter("agent%02d" % i for i in range(48))
        calls, results = [], []
        lock = threading.Lock()
        stop = threading.Event()
        killed = threading.Event()

        def stream(node):
            # Logins one after another on one node's API until told to
            # stop; the victim's stream ends when its node is killed.
            while not stop.is_set():
                with lock:
                    user = next(users, None)
                if user is None or (node == victim and killed.is_set()):
                    return
                result = self.login(node, user)
                with lock:
                    calls.append((node, user))
                    results.append(result)

        with concurrent.futures.ThreadPoolExecutor(2 * NODES) as executor:
            streams = [executor.submit(stream, node)
                       for node in range(NODES) for _ in range(2)]
            # Kill the node once the logins are under way.
            deadline = time.monotonic() + 60
            while len(results) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.cluster.kill(victim)
            killed.set()
            before_kill = len(results)
            # The survivors carry on: wait for logins after the kill.
            deadline = time.monotonic() + 90
            while len(results) < before_kill + 8 and \
                    time.monotonic() < deadline:
                time.sleep(0.1)
            stop.set()
            for future in streams:
                future.result(timeout=120)
        after_kill = [(c, r) for c, r in zip(calls[before_kill:],
                                             results[before_kill:])
                      if c[0] in survivors]
        self.assertGreaterEqual(len(after_kill), 6, results)
        self.assertEqual([201] * len(after_kill),
                         [r[0] for _, r in after_kill],
                         [r for _, r in after_kill if r[0] != 201][:3])
        # A login on the surviving nodes' side never failed.
        survivor_failures = [(c, r) for c, r in zip(calls, results)
                             if c[0] in survivors and r[0] != 201]
        self.assertEqual([], survivor_failures[:3])

        # The audit on the survivors, with the node down.
        outcomes = [self.audit(node) for node in survivors]
        self.assertEqual(outcomes[0], outcomes[1])
        assigned, _active = outcomes[0]
        self.assert_answers_agree(results, calls, assigned)

        # The node rejoins; its API serves logins again.
        self.cluster.start(victim)
        self.cluster.wait_for_size(NODES)
        late = []
        for user in ("agent46", "agent47"):
            # The API's pooled connections to the killed node are dead:
            # oslo.db reconnects (a 503 for a login that hit one is fine).
            status, body = self.login(victim, user)
            if status == 503:
                status, body = self.login(victim, user)
            late.append(((victim, user), (status, body)))
            self.assertEqual(201, status, body)
        calls += [c for c, _ in late]
        results += [r for _, r in late]
        assigned, active = self.audit_all()
        self.assert_answers_agree(results, calls, assigned)
        held = collections.Counter(assigned.values())
        self.assertEqual([], [u for u, n in held.items() if n > 1])
        self.addDetail("drill", content.text_content(
            "%d logins, %d before the kill; statuses %s" % (
                len(results), before_kill,
                dict(collections.Counter(r[0] for r in results)))))
