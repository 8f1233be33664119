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

"""Conductors and logins on three Galera nodes at once.

Two real ``vdi-broker-conductor`` processes, each writing to its own node
(2 and 3) of the three-node cluster (tests/fixtures/galera.py), keep four pools
between them (a tooz file-backend group): they refill the pools as
desktops are taken (boots against the Nova emulator over HTTP), promote
booted desktops to ready and turn released desktops around (reboot, then
ready). Meanwhile logins and logouts run from eight threads of the test
on node 1, with the login service's transaction
(tests/fixtures/logins.py).

What must hold:

* no desktop is ever in two sessions: the test's own ledger of what each
  login was given (a desktop handed out while another user still holds
  it fails at once), and the independent audit
  (``vdi_broker/loadgen/audit.py``) on each of the three nodes at the
  end, each node having applied every commit (``wsrep_sync_wait``);
* every login either gets a desktop or is told the pool has none ready
  right now: a certification failure or brute-force abort (the
  conductor's commit on another node won) is retried, never an error;
* all three nodes wrote: each node's own commits (``wsrep_local_commits``)
  grew while the test ran.
"""

import collections
import concurrent.futures
import logging
import os
import random
import threading
import time
import uuid

import fixtures
from testtools import content

from tests import base
from tests.fixtures import conductors
from tests.fixtures import galera
from tests.fixtures import ini
from tests.fixtures import logins
from tests.fixtures import nova_emulator
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker.loadgen import audit

# The logins of the test write to node 1 (index 0: the fixture's engine,
# the broker's DB API in this process), the conductors to nodes 2 and 3.
CONDUCTOR_NODES = {"conductor-a": 1, "conductor-b": 2}
POOLS_EACH = 2
READY = 3          # min_ready of each pool
MAX_SIZE = 6
THREADS = 8
RUN_SECONDS = 25


class GaleraConductorsTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(300, gentle=True))
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.database = self.useFixture(galera.GaleraDatabase())
        self.cluster = self.database.cluster
        self.emulator = self.useFixture(nova_emulator.NovaEmulator(
            boot_time=0.5, action_time=0.5))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.coordination = "file://" + os.path.join(self.tmp, "tooz")
        self.group = "vdi-galera-" + uuid.uuid4().hex[:8]
        self.ctxt = vdi_context.get_admin_context()

    def _config(self, name):
        nova_opts = dict(self.emulator.nova_options(), timeout=10,
                         retries=2)
        sections = {
            "DEFAULT": {"transport_url": "fake:/", "debug": "false",
                        "log_file": os.path.join(self.tmp, name + ".log")},
            "database": {"connection":
                         self.database.urls[CONDUCTOR_NODES[name]]},
            "compute": {"driver": "nova"},
            "nova": nova_opts,
            "conductor": {"pool_interval": 1, "reconcile_interval": 0,
                          "health_check_interval": 0},
            "pool_manager": {"release_settle_time": 0},
            "coordination": {"backend_url": self.coordination,
                             "group": self.group,
                             "heartbeat_interval": 0.2,
                             "member_timeout": 2},
            "alerts": {"interval": 0},
            "monitoring": {"interval": 0},
        }
        return ini.write(os.path.join(self.tmp, name + ".conf"), sections)

    def _start(self, name):
        return conductors.start(
            self, self._config(name), os.path.join(self.tmp, name + ".out"),
            logs=[os.path.join(self.tmp, name + ".log")])

    def _members(self):
        found = conductors.members(self.coordination, self.group,
                                   len(CONDUCTOR_NODES))
        if found is None:
            self.fail("the conductors did not join group %s" % self.group)
        return found

    def _pools(self, members):
        """Four pools, two kept by each conductor (the hash ring)."""
        ids = conductors.pool_ids_by_owner(members, POOLS_EACH)
        return [db.pool_create(self.ctxt, {
            "id": pool_id, "name": "pool%d" % n, "flavor": "vdi.small",
            "image": nova_emulator.DEFAULT_IMAGE,
            "networks": [nova_emulator.DEFAULT_NETWORK],
            "min_ready": READY, "max_size": MAX_SIZE,
            "max_concurrent_builds": 10, "release_action": "reboot",
            "console_type": "rdp"})
            for n, pool_id in enumerate(p for v in ids.values() for p in v)]

    def _wait_ready(self, pools, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = db.pool_desktop_counts(self.ctxt)
            if all(counts.get(p["id"], {}).get(models.READY, 0) >= READY
                   for p in pools):
                return
            time.sleep(0.3)
        self.fail("the pools were not filled: %s" % counts)

    def _local_commits(self):
        return [int((self.cluster.status(node) or {}).get(
            "wsrep_local_commits", 0)) for node in range(self.cluster.size)]

    def _conflicts(self):
        total = 0
        for node in range(self.cluster.size):
            status = self.cluster.status(node) or {}
            total += int(status.get("wsrep_local_cert_failures", 0))
            total += int(status.get("wsrep_local_bf_aborts", 0))
        return total

    def test_conductors_on_two_nodes_logins_on_the_third(self):
        for name in CONDUCTOR_NODES:
            self._start(name)
        pools = self._pools(self._members())
        self._wait_ready(pools)
        commits = self._local_commits()
        conflicts = self._conflicts()

        holders = {}             # desktop id -> username, as told
        ledger = threading.Lock()
        outcomes = collections.Counter()
        errors = []
        stop = time.monotonic() + RUN_SECONDS

        def agent(n):
            rand = random.Random(n)
            round_ = 0
            while time.monotonic() < stop and not errors:
                round_ += 1
                username = "agent%02d-%d" % (n, round_)
                pool = rand.choice(pools)
                try:
                    result = logins.login(self.ctxt, pool, username)
                except exception.PoolExhausted:
                    outcomes["exhausted"] += 1
                    time.sleep(0.2)
                    continue
                except Exception as e:
                    errors.append("%s: %r" % (username, e))
                    return
                desktop = result["desktop"]["id"]
                with ledger:
                    other = holders.get(desktop)
                    if other is not None:
                        errors.append("desktop %s given to %s while %s "
                                      "holds it" % (desktop, username, other))
                        return
                    holders[desktop] = username
                outcomes["login"] += 1
                time.sleep(rand.uniform(0.1, 0.6))
                with ledger:
                    del holders[desktop]
                try:
                    db.session_close(self.ctxt, result["session"]["id"],
                                     "logout")
                except Exception as e:
                    errors.append("logout of %s: %r" % (username, e))
                    return
                outcomes["logout"] += 1

        with concurrent.futures.ThreadPoolExecutor(THREADS) as executor:
            for future in [executor.submit(agent, n)
                           for n in range(THREADS)]:
                future.result(timeout=RUN_SECONDS + 120)

        grown = [after - before for before, after in
                 zip(commits, self._local_commits())]
        conflicts = self._conflicts() - conflicts
        self.addDetail("run", content.text_content(
            "%s; local commits per node %s; %d certification failures and "
            "brute-force aborts; %d boots, %d reboots" % (
                dict(outcomes), grown, conflicts,
                self.emulator.calls("create"),
                self.emulator.calls("reboot"))))
        self.assertEqual([], errors[:5])
        self.assertGreater(outcomes["login"], 40, outcomes)
        # Every node wrote: the conductors theirs, the logins node 1.
        self.assertTrue(all(n > 0 for n in grown), grown)
        # The conductors turned released desktops around and refilled.
        self.assertGreater(self.emulator.calls("reboot"), 0)

        # The independent audit on every node, once the conductors have
        # turned the last releases around.
        self._wait_ready(pools)
        found = []
        for node in range(self.cluster.size):
            engine = self.database.admin_engine(node, self.database.name)
            try:
                found.append(audit.run(engine=engine))
            finally:
                engine.dispose()
        for node, result in enumerate(found):
            self.assertTrue(result.ok, "node %d: %s" % (node + 1,
                                                        result.format()))
            self.assertEqual(found[0].counts, result.counts)
        self.assertEqual(0, found[0].counts["active sessions"])
