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

"""A conductor killed in the middle of 50 builds, then started again.

A real vdi-broker-conductor process boots a pool of 50 desktops against
the Nova emulator (over HTTP, in this test process) with a database file
(or MariaDB) shared with the test. It is SIGKILLed while its batch of
boot requests is half sent, then a new conductor process is started.
Afterwards: no orphan server (every server of the emulator belongs to a
desktop, every desktop's server exists), the binding made before the
crash is intact, and the pool is back to its target.

The restarted pool manager alone repairs this (adoption of servers by the
desktop id in their metadata, rows of unsent boots given up after
[conductor] boot_request_grace): the reconciler is not needed.
"""

import logging
import os
import signal
import time

import fixtures
from testtools import content

from tests import base
from tests.fixtures import conductors
from tests.fixtures import database
from tests.fixtures import ini
from tests.fixtures import nova_emulator
from tests.functional.compute import base as nova_base
from vdi_broker.compute import base as compute_base
from vdi_broker.compute import nova
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker import context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

BUILDS = 50
# Big enough hosts for every desktop of the test.
PROVIDERS = [{"name": "compute-%d" % i, "vcpus": 128, "memory_mb": 524288}
             for i in (1, 2)]


class ConductorCrashTestCase(base.TestCase):

    backend = "sqlite"

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.database = self.useFixture(database.Database(self.backend))
        self.emulator = self.useFixture(nova_emulator.NovaEmulator(
            boot_time=0, providers=PROVIDERS))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.ctxt = context.get_admin_context()
        self.config_file = self._write_config()

    def _write_config(self):
        nova_opts = dict(self.emulator.nova_options(), timeout=10,
                         retries=2)
        sections = {
            "DEFAULT": {"transport_url": "fake:/", "debug": "false",
                        "log_file": os.path.join(self.tmp, "conductor.log")},
            "database": {"connection": self.database.url},
            "compute": {"driver": "nova"},
            "nova": nova_opts,
            "conductor": {"pool_interval": 1, "max_concurrent_builds": 50,
                          "boot_request_grace": 5},
        }
        return ini.write(os.path.join(self.tmp, "vdi-broker.conf"), sections)

    def _start_conductor(self, name):
        return conductors.start(
            self, self.config_file, os.path.join(self.tmp, name + ".out"),
            logs=[os.path.join(self.tmp, "conductor.log")])

    def _wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        self.fail("%s not reached in %d s: %s" % (
            what, timeout, db.pool_desktop_counts(self.ctxt)))

    def _pool(self, name, **values):
        pool = {"name": name, "flavor": "vdi.small",
                "image": nova_emulator.DEFAULT_IMAGE,
                "networks": [nova_emulator.DEFAULT_NETWORK],
                "release_action": "reboot", "console_type": "rdp"}
        pool.update(values)
        return db.pool_create(self.ctxt, pool)

    def _counts(self, pool):
        return db.pool_desktop_counts(self.ctxt, [pool["id"]]).get(
            pool["id"], {})

    def test_killed_during_builds(self):
        # Before the crash: a pool with a desktop bound to vera.
        vip = self._pool("vip", min_ready=2, max_size=3)
        manager = conductor_manager.ConductorManager(
            self.conf, compute_driver=nova.NovaComputeDriver(
                nova_base.make_conf(self.emulator)))
        for _ in range(3):
            manager.pool_upkeep(self.ctxt)
        ready = db.desktop_list(self.ctxt, {"pool_id": vip["id"],
                                            "state": models.READY})
        self.assertEqual(2, len(ready))
        binding = db.binding_create(self.ctxt, "user", "vera",
                                    ready[0]["id"])

        # 50 builds: slow boots, slow answers to the boot requests, so
        # that the kill lands in the middle of the batch.
        self.emulator.boot_time = 3
        self.emulator.inject_fault("create", delay=0.1, count=None)
        agents = self._pool("agents", min_ready=BUILDS, max_size=BUILDS,
                            max_concurrent_builds=BUILDS)
        before = self.emulator.calls("create")
        first = self._start_conductor("first")
        self._wait(lambda: self.emulator.calls("create") - before >= 20,
                   60, "20 boot requests")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(30)
        self.emulator.clear_faults()
        desktops = db.desktop_list(self.ctxt, {"pool_id": agents["id"]})
        sent = self.emulator.calls("create") - before
        self.addDetail("at-kill", content.text_content(
            "%d boot requests sent; %d desktop rows, %d without server id"
            % (sent, len(desktops),
               sum(1 for d in desktops if d["server_id"] is None))))
        # Killed mid-batch: rows whose server ids were never written.
        self.assertLess(sent, BUILDS)
        self.assertTrue([d for d in desktops if d["server_id"] is None])

        self._start_conductor("second")
        self._wait(lambda: self._counts(agents) == {models.READY: BUILDS},
                   120, "pool agents back to %d ready" % BUILDS)
        self._wait(lambda: self._counts(vip) == {models.READY: 2,
                                                 models.ASSIGNED: 1},
                   30, "pool vip at its target")

        # No orphan server, no desktop without its server.
        live = {s["id"]: s for s in self.emulator.live_servers()}
        rows = {d["server_id"]: d for d in db.desktop_list(self.ctxt)}
        self.assertEqual(set(live), set(rows))
        for server_id, server in live.items():
            self.assertEqual(rows[server_id]["id"], server["metadata"][
                compute_base.META_DESKTOP])
        # The binding is where it was.
        kept = db.binding_find(self.ctxt, "user", "vera")
        self.assertEqual((binding["id"], ready[0]["id"]),
                         (kept["id"], kept["desktop_id"]))
        desktop = db.desktop_get(self.ctxt, kept["desktop_id"])
        self.assertEqual((models.ASSIGNED, "vera"),
                         (desktop["state"], desktop["assigned_user"]))
        self.assertIn(desktop["server_id"], live)


class ConductorCrashMySQLTestCase(ConductorCrashTestCase):
    backend = "mysql"
