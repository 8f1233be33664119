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

"""``vdi-broker-manage monitoring purge`` as an operator runs it (SQLite,
MariaDB, PostgreSQL): the one-minute agent counts older than the
retention and the alerts resolved before ``[alerts] resolved_days`` go,
everything else stays.
"""

import datetime
import os
import subprocess

import fixtures
from oslo_utils import timeutils
import sqlalchemy as sa
import testscenarios

from tests import base
from tests.fixtures import database
from tests.functional.db import test_migrations
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

load_tests = testscenarios.load_tests_apply_scenarios

DAY = datetime.timedelta(days=1)
MINUTE = datetime.timedelta(minutes=1)


class MonitoringPurgeTestCase(testscenarios.WithScenarios, base.TestCase):

    scenarios = database.BACKENDS

    def setUp(self):
        super().setUp()
        self.command = test_migrations._manage_command()
        if self.command is None:
            self.fail("vdi-broker-manage is not installed")
        self.database = self.useFixture(database.Database(self.backend))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.config = os.path.join(self.tmp, "vdi-broker.conf")
        self.ctxt = vdi_context.get_admin_context()
        # The command runs on the real clock: the rows are placed around
        # its retention limits with a margin of hours.
        self.now = timeutils.utcnow().replace(second=0, microsecond=0)

    def write_config(self, history_days=14, resolved_days=30):
        with open(self.config, "w") as f:
            f.write("[database]\nconnection = %s\n"
                    "[monitoring]\nhistory_days = %d\n"
                    "[alerts]\nresolved_days = %d\n" % (
                        self.database.url, history_days, resolved_days))

    def purge(self, *args):
        result = subprocess.run(
            [self.command, "--config-file", self.config, "monitoring",
             "purge"] + list(args), capture_output=True, text=True,
            timeout=120, cwd=self.tmp,
            env=dict(os.environ, PYTHONWARNINGS="ignore"))
        self.assertEqual(0, result.returncode, result.stderr)
        return result.stdout

    def record(self, ages):
        """One minute of counts (total and a pool row) for each age."""
        for age in ages:
            minute = self.now - age
            self.assertTrue(db.agent_counts_record(self.ctxt, minute, [
                {"department": "hotel", "site": "shanghai", "pool": "",
                 "active": 5, "idle": 1, "offline": 0, "expected": 6},
                {"department": "hotel", "site": "shanghai", "pool": "sh",
                 "active": 5, "idle": 1, "offline": 0}]))

    def minutes_left(self):
        counts = models.AgentCount.__table__
        with self.database.engine.connect() as conn:
            rows = conn.execute(
                sa.select(counts.c.minute, sa.func.count())
                .group_by(counts.c.minute).order_by(counts.c.minute)).all()
        return [(self.now - minute, n) for minute, n in rows]

    def alert(self, subject, state, ended_days_ago=None, started_days=40):
        started = self.now - started_days * DAY
        alert = db.alert_open(self.ctxt, {
            "kind": "boots_failing", "subject": subject,
            "state": "firing", "values": {"failures": 3},
            "message": subject, "started_at": started})
        if state == "resolved":
            alert = db.alert_update(self.ctxt, alert["id"], "firing", {
                "state": "resolved",
                "updated_at": self.now - ended_days_ago * DAY})
            # ended_at is the change's time: put it in the past.
            alerts = models.Alert.__table__
            with self.database.engine.begin() as conn:
                conn.execute(sa.update(alerts)
                             .where(alerts.c.id == alert["id"])
                             .values(ended_at=self.now -
                                     ended_days_ago * DAY))
        return alert["id"]

    def test_purge_keeps_the_retention_and_deletes_the_rest(self):
        old = [15 * DAY, 14 * DAY + 3 * 60 * MINUTE, 30 * DAY]
        kept = [14 * DAY - 3 * 60 * MINUTE, 2 * DAY, MINUTE, 0 * MINUTE]
        self.record(old + kept)
        resolved_old = self.alert("old", "resolved", ended_days_ago=31)
        resolved_recent = self.alert("recent", "resolved", ended_days_ago=29)
        firing = self.alert("firing", "firing")
        self.write_config()

        out = self.purge()
        self.assertIn("Deleted 6 agent counts older than 14 days and 1 "
                      "resolved alerts", out)
        self.assertEqual(sorted(((age, 2) for age in kept), reverse=True),
                         self.minutes_left())
        left = {a["id"] for a in db.alert_list(self.ctxt)}
        self.assertEqual({resolved_recent, firing}, left)
        self.assertNotIn(resolved_old, left)

        # Again: nothing more to delete.
        out = self.purge()
        self.assertIn("Deleted 0 agent counts older than 14 days and 0 "
                      "resolved alerts", out)
        self.assertEqual(len(kept), len(self.minutes_left()))

        # --days overrides [monitoring] history_days.
        out = self.purge("--days", "1")
        self.assertIn("Deleted 4 agent counts older than 1 days", out)
        self.assertEqual([(MINUTE, 2), (0 * MINUTE, 2)],
                         self.minutes_left())

    def test_purge_follows_the_configured_retention(self):
        self.record([4 * DAY, 2 * DAY, MINUTE])
        self.alert("a", "resolved", ended_days_ago=6)
        kept = self.alert("b", "resolved", ended_days_ago=4)
        self.write_config(history_days=3, resolved_days=5)
        out = self.purge()
        self.assertIn("Deleted 2 agent counts older than 3 days and 1 "
                      "resolved alerts", out)
        self.assertEqual([(2 * DAY, 2), (MINUTE, 2)], self.minutes_left())
        self.assertEqual([kept], [a["id"] for a in db.alert_list(self.ctxt)])
