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

"""Concurrent fault reports and actions move a desktop once.

Many threads quarantine the same desktops at once (operators, thin
clients, the health check), while others log users in: each desktop is
quarantined exactly once (one event), and no login gets a quarantined
desktop. On SQLite, MariaDB and PostgreSQL.
"""

import concurrent.futures
import datetime
import hashlib

from oslo_utils import timeutils
from oslo_utils import uuidutils
import testscenarios

from tests import base
from tests.fixtures import database
from tests.fixtures import logins
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

load_tests = testscenarios.load_tests_apply_scenarios

THREADS = 16


class QuarantineConcurrencyTest(testscenarios.WithScenarios, base.TestCase):

    scenarios = database.BACKENDS

    def setUp(self):
        super().setUp()
        self.useFixture(database.Database(self.backend))
        self.ctxt = vdi_context.get_admin_context()
        self.pool = db.pool_create(self.ctxt, {
            "name": "agents", "flavor": "f", "image": "i",
            "console_type": "rdp", "min_ready": 0, "max_size": 100})
        self.desktops = [db.desktop_create(self.ctxt, {
            "pool_id": self.pool["id"], "name": "d%d" % i,
            "server_id": uuidutils.generate_uuid(),
            "state": models.READY}) for i in range(THREADS)]

    def _login(self, username):
        try:
            return logins.claim(
                self.ctxt,
                {"username": username, "client_id": "tc-" + username,
                 "seat": None},
                {"pool_id": self.pool["id"], "binding_kind": None,
                 "binding_key": None, "allocator_id": None,
                 "allocator_name": "test"},
                {"id": uuidutils.generate_uuid(),
                 "token_hash": hashlib.sha256(
                     username.encode()).hexdigest(),
                 "expires_at": (timeutils.utcnow() +
                                datetime.timedelta(hours=1))})
        except exception.PoolExhausted:
            return None

    def test_each_desktop_quarantined_once(self):
        half = [d["id"] for d in self.desktops[:THREADS // 2]]

        def report(n):
            # Every reporter names the same half of the desktops.
            return db.desktops_quarantine(
                self.ctxt, {d: "fault %d" % n for d in half},
                "reporter-%d" % n, source="operator")

        with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
            reports = [pool.submit(report, n) for n in range(THREADS)]
            logins = [pool.submit(self._login, "user%d" % n)
                      for n in range(THREADS)]
            done = [d["id"] for f in reports for d in f.result()]
            logged = [f.result() for f in logins]
        self.assertEqual(sorted(half), sorted(done))
        events = db.event_list(self.ctxt, {"action": "desktop.quarantine"})
        self.assertEqual(sorted(half),
                         sorted(e["desktop_id"] for e in events))
        quarantined = set(half)
        given = [r["desktop"]["id"] for r in logged if r is not None]
        # A login got a desktop only if no report took it first; a
        # desktop is either quarantined or given, never both in service.
        self.assertEqual(len(given), len(set(given)))
        for desktop_id in given:
            row = db.desktop_get(self.ctxt, desktop_id)
            if desktop_id in quarantined:
                self.assertEqual(models.QUARANTINED, row["state"])
                # Its session was closed by the quarantine.
                sessions = db.session_list(self.ctxt,
                                           {"desktop_id": desktop_id})
                self.assertEqual({"closed"},
                                 {s["state"] for s in sessions})
            else:
                self.assertEqual(models.ASSIGNED, row["state"])
        for desktop_id in half:
            self.assertEqual(models.QUARANTINED,
                             db.desktop_get(self.ctxt, desktop_id)["state"])
