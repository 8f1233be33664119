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

"""Two conductor processes never boot more than the global limits together.

Two real vdi-broker-conductor processes share a database (MariaDB or
PostgreSQL) and keep four pools each (a tooz file-backend group and its
hash ring; the test picks pool ids that split evenly). They boot against
the Nova emulator over HTTP, which records the most servers ever booting
at once, in the cloud and per compute host. With ``[conductor]
max_concurrent_builds = 4`` and ``max_builds_per_host = 2``:

1. filling eight pools (16 boots) never has more than 4 servers booting;
2. a release storm (16 logouts at once) never has more than 4 servers
   rebooting, nor more than 2 on one host.

Before the boot queue each conductor had its own budget: the fill booted
8 at once, and the releases rebooted all 16.
"""

import datetime
import hashlib
import logging
import os
import time
import uuid

import fixtures
from oslo_utils import timeutils
from oslo_utils import uuidutils
from testtools import content

from tests import base
from tests.fixtures import conductors
from tests.fixtures import database
from tests.fixtures import ini
from tests.fixtures import logins
from tests.fixtures import nova_emulator
from vdi_broker import context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

GLOBAL_LIMIT = 4
HOST_LIMIT = 2
POOLS_EACH = 4
DESKTOPS = 2
PROVIDERS = [{"name": "compute-%d" % i, "vcpus": 128, "memory_mb": 524288}
             for i in (1, 2)]


class TwoConductorsTestCase(base.TestCase):

    backend = "mysql"

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.database = self.useFixture(database.Database(self.backend))
        self.emulator = self.useFixture(nova_emulator.NovaEmulator(
            boot_time=1.0, action_time=1.0, host_in_build=True,
            providers=PROVIDERS))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.coordination = "file://" + os.path.join(self.tmp, "tooz")
        self.group = "vdi-test-" + uuid.uuid4().hex[:8]
        self.ctxt = context.get_admin_context()

    def _config(self, name):
        nova_opts = dict(self.emulator.nova_options(), timeout=10,
                         retries=2)
        sections = {
            "DEFAULT": {"transport_url": "fake:/", "debug": "false",
                        "log_file": os.path.join(self.tmp, name + ".log")},
            "database": {"connection": self.database.url},
            "compute": {"driver": "nova"},
            "nova": nova_opts,
            "conductor": {"pool_interval": 1,
                          "max_concurrent_builds": GLOBAL_LIMIT,
                          "max_builds_per_host": HOST_LIMIT,
                          "reconcile_interval": 0,
                          "health_check_interval": 0},
            "pool_manager": {"release_settle_time": 2},
            "coordination": {"backend_url": self.coordination,
                             "group": self.group,
                             "heartbeat_interval": 0.2,
                             "member_timeout": 2},
        }
        return ini.write(os.path.join(self.tmp, name + ".conf"), sections)

    def _start(self, name):
        return conductors.start(
            self, self._config(name), os.path.join(self.tmp, name + ".out"),
            logs=[os.path.join(self.tmp, name + ".log")])

    def _members(self):
        """The conductors in the group, read without joining it."""
        found = conductors.members(self.coordination, self.group, 2)
        if found is None:
            self.fail("the two conductors did not join group %s"
                      % self.group)
        return found

    def _wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        self.fail("%s not reached in %d s: %s" % (
            what, timeout, db.pool_desktop_counts(self.ctxt)))

    def _all_ready(self):
        counts = db.pool_desktop_counts(self.ctxt)
        return all(counts.get(p["id"]) == {models.READY: DESKTOPS}
                   for p in self.pools)

    def _login(self, pool, username):
        return logins.claim(
            self.ctxt,
            {"username": username, "client_id": "tc-" + username,
             "seat": None},
            {"pool_id": pool["id"], "binding_kind": None,
             "binding_key": None, "allocator_id": None,
             "allocator_name": "test"},
            {"id": uuidutils.generate_uuid(),
             "token_hash": hashlib.sha256(
                 username.encode()).hexdigest(),
             "expires_at": timeutils.utcnow() + datetime.timedelta(hours=1)},
            attempts=self.conf.allocator.claim_attempts,
            candidates=self.conf.allocator.claim_candidates)

    def test_limits_hold_over_two_conductor_processes(self):
        self._start("conductor-a")
        self._start("conductor-b")
        shares = conductors.pool_ids_by_owner(
            self._members(), POOLS_EACH)
        self.pools = []
        for n, pool_id in enumerate(p for ids in shares.values()
                                    for p in ids):
            self.pools.append(db.pool_create(self.ctxt, {
                "id": pool_id, "name": "pool%d" % n, "flavor": "vdi.small",
                "image": nova_emulator.DEFAULT_IMAGE,
                "networks": [nova_emulator.DEFAULT_NETWORK],
                "min_ready": DESKTOPS, "max_size": DESKTOPS,
                "max_concurrent_builds": 10, "release_action": "reboot",
                "console_type": "rdp"}))
        # 1. The fill: 16 boots by two conductors, 4 at a time at most.
        self._wait(self._all_ready, 120, "every pool filled")
        fill = self.emulator.booting_high_water
        self.assertLessEqual(fill, GLOBAL_LIMIT)
        self.assertEqual(len(self.pools) * DESKTOPS,
                         self.emulator.calls("create"))

        # 2. The shift ends: 16 logouts at once.
        sessions = [self._login(pool, "%s-%d" % (pool["name"], i))
                    for pool in self.pools for i in range(DESKTOPS)]
        with self.emulator.lock:
            self.emulator.booting_high_water = 0
            self.emulator.host_high_water.clear()
        for result in sessions:
            db.session_close(self.ctxt, result["session"]["id"], "logout")
        self._wait(self._all_ready, 120, "every desktop back")
        self.addDetail("high-water", content.text_content(
            "fill: %d; release storm: %d, per host %s" % (
                fill, self.emulator.booting_high_water,
                dict(self.emulator.host_high_water))))
        self.assertEqual(len(sessions), self.emulator.calls("reboot"))
        self.assertLessEqual(self.emulator.booting_high_water, GLOBAL_LIMIT)
        self.assertLessEqual(max(self.emulator.host_high_water.values()),
                             HOST_LIMIT)
        # Both conductors took part: each keeps half of the pools.
        for name in ("conductor-a", "conductor-b"):
            with open(os.path.join(self.tmp, name + ".log")) as f:
                self.assertRegex(f.read(), r"keeps %d of \d+ pools" %
                                 POOLS_EACH)


class TwoConductorsPostgreSQLTestCase(TwoConductorsTestCase):
    backend = "postgresql"
