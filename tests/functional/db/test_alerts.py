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

"""Alerts evaluated by several conductors at once (SQLite, MariaDB,
PostgreSQL): one alert per kind and subject, each change made (and
recorded) once, clearing by itself.
"""

import concurrent.futures
import datetime

from oslo_utils import timeutils
import testscenarios

from tests import base
from tests.fixtures import database
from vdi_broker import alerts
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db

load_tests = testscenarios.load_tests_apply_scenarios

NOW = datetime.datetime(2026, 12, 8, 8, 0, 0)


class FakeNotifier:
    def __init__(self):
        self.sent = []

    def alert(self, ctxt, payload):
        self.sent.append((payload["kind"], payload["state"]))


class AlertsTestCase(testscenarios.WithScenarios, base.TestCase):

    scenarios = database.BACKENDS

    def setUp(self):
        super().setUp()
        self.useFixture(database.Database(self.backend))
        timeutils.set_time_override(NOW)
        self.addCleanup(timeutils.clear_time_override)
        self.flags(group="alerts", desktops_in_error=1, boot_failures=2,
                   pool_short_for=0)
        self.ctxt = vdi_context.get_admin_context()
        self.pool = db.pool_create(self.ctxt, {
            "name": "sh", "site": "shanghai", "flavor": "f", "image": "i",
            "networks": [], "min_ready": 0, "max_size": 4})

    def evaluate_at_once(self, evaluators):
        with concurrent.futures.ThreadPoolExecutor(len(evaluators)) as ex:
            return list(ex.map(lambda e: e.evaluate(self.ctxt),
                               evaluators))

    def test_two_conductors_fire_and_clear_an_alert_once(self):
        notifiers = [FakeNotifier(), FakeNotifier()]
        evaluators = [alerts.Evaluator(self.conf, n) for n in notifiers]
        db.pool_update(self.ctxt, self.pool["id"], {"build_failures": 3})
        self.evaluate_at_once(evaluators)
        firing = db.alert_list(self.ctxt, {"state": "firing"})
        self.assertEqual([("boots_failing", "sh", {"failures": 3})],
                         [(a["kind"], a["subject"], a["values"])
                          for a in firing])
        self.assertEqual([("boots_failing", "firing")],
                         notifiers[0].sent + notifiers[1].sent)
        # Nothing changed: nothing happens.
        self.evaluate_at_once(evaluators)
        self.assertEqual(1, len(db.alert_list(self.ctxt)))

        timeutils.advance_time_seconds(60)
        db.pool_update(self.ctxt, self.pool["id"], {"build_failures": 0})
        self.evaluate_at_once(evaluators)
        alert = db.alert_get(self.ctxt, firing[0]["id"])
        self.assertEqual(("resolved", NOW + datetime.timedelta(seconds=60)),
                         (alert["state"], alert["ended_at"]))
        self.assertEqual(NOW, alert["started_at"])
        self.assertEqual({"failures": 3}, alert["values"])
        self.assertEqual(sorted([("boots_failing", "firing"),
                                 ("boots_failing", "resolved")]),
                         sorted(notifiers[0].sent + notifiers[1].sent))
        events = db.event_list(self.ctxt, {"target_id": alert["id"]})
        self.assertEqual(["alert.firing", "alert.resolved"],
                         sorted(e["action"] for e in events))
        self.assertEqual({("boots_failing", "resolved"): 1},
                         alerts.counts(self.ctxt))

        # It fails again: a new alert, the old one stays resolved.
        db.pool_update(self.ctxt, self.pool["id"], {"build_failures": 2})
        self.evaluate_at_once(evaluators)
        self.assertEqual({("boots_failing", "resolved"): 1,
                          ("boots_failing", "firing"): 1},
                         alerts.counts(self.ctxt))

    def test_pending_alert_dropped_when_it_clears_early(self):
        self.flags(group="alerts", pool_short_for=300)
        db.pool_update(self.ctxt, self.pool["id"], {"min_ready": 2})
        evaluator = alerts.Evaluator(self.conf)
        evaluator.evaluate(self.ctxt)
        self.assertEqual(["pending"], [a["state"] for a in db.alert_list(
            self.ctxt, {"kind": "pool_short_of_ready"})])
        db.pool_update(self.ctxt, self.pool["id"], {"min_ready": 0})
        timeutils.advance_time_seconds(60)
        evaluator.evaluate(self.ctxt)
        self.assertEqual([], db.alert_list(
            self.ctxt, {"kind": "pool_short_of_ready"}))
