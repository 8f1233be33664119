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

"""Silent thin clients go offline once, whoever sweeps (R14).

Several conductors run the sweep; each client must be set offline, and
its event written, exactly once.
"""

import concurrent.futures
import datetime
import threading

from oslo_utils import timeutils
import sqlalchemy as sa
import testscenarios

from tests import base
from tests.fixtures import database
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

load_tests = testscenarios.load_tests_apply_scenarios

CLIENTS = 60


class ThinClientSweepTest(testscenarios.WithScenarios, base.TestCase):

    scenarios = database.BACKENDS

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(database.Database(self.backend))
        self.ctxt = vdi_context.get_admin_context()
        for i in range(CLIENTS):
            db.thin_client_create(self.ctxt, {"client_id": "tc-%03d" % i})
            db.thin_client_heartbeat(self.ctxt, "tc-%03d" % i, {})
        # Half of them went silent ten minutes ago.
        silent = ["tc-%03d" % i for i in range(0, CLIENTS, 2)]
        with self.database.engine.begin() as conn:
            conn.execute(
                sa.update(models.ThinClient)
                .where(models.ThinClient.client_id.in_(silent))
                .values(last_seen_at=timeutils.utcnow() -
                        datetime.timedelta(minutes=10)))
        self.silent = set(silent)

    def test_concurrent_sweeps_set_each_client_offline_once(self):
        cutoff = timeutils.utcnow() - datetime.timedelta(minutes=5)
        gate = threading.Barrier(4)

        def sweep():
            gate.wait(timeout=30)
            return db.thin_clients_mark_offline(
                vdi_context.get_admin_context(), cutoff, limit=20)

        swept = []
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            for _round in range(3):
                results = [pool.submit(sweep) for _ in range(4)]
                for future in results:
                    swept.extend(future.result(timeout=60))
        self.assertEqual(sorted(self.silent), sorted(swept))
        events = db.event_list(self.ctxt,
                               {"action": "thin_client.offline"})
        self.assertEqual(sorted(self.silent),
                         sorted(e["message"] for e in events))
        statuses = {c["client_id"]: c["status"]
                    for c in db.thin_client_list(self.ctxt)}
        self.assertEqual({c: "offline" if c in self.silent else "online"
                          for c in statuses}, statuses)
