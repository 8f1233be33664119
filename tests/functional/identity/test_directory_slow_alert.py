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

"""The directory_slow alert against a real slapd made slow (SQLite,
MariaDB, PostgreSQL).

Thin clients log in through the API with the ``ldap`` identity driver; the
driver reaches slapd through a proxy (tests/fixtures/blackhole_proxy.py)
that can hold each of the server's answers. The conductor's alert
evaluation reads what the window's logins spent in the directory from
their events: fast, nothing; slow, the alert fires with its numbers;
fast again once the slow logins left the window, it resolves.
"""

import datetime

from oslo_utils import timeutils
import testscenarios

from tests import base
from tests.fixtures import blackhole_proxy
from tests.fixtures import broker as broker_fixture
from tests.fixtures import database
from tests.fixtures import slapd
from tests.functional.identity import ldap_base
from vdi_broker import alerts
from vdi_broker.db import api as db

load_tests = testscenarios.load_tests_apply_scenarios

USERS = (("amy", "amy-Pa55"), ("bob", "bob-Pa55"), ("carol", "carol-Pa55"),
         ("erin", "erin-Pa55"))
POOLS = [{"name": "everyone", "min_ready": 8, "max_size": 8}]
ALLOCATORS = [{"name": "everyone", "priority": 100, "plugin": "pool",
               "pool": "everyone", "is_default": True}]
# Each answer of slapd held this long: a login asks it at least twice
# (find the user, bind as the user), so a slow login spends >= 2 s; a
# fast one, even on a busy test machine, well under the threshold.
DELAY = 1.0
THRESHOLD = 1.5


class DirectorySlowAlertTest(ldap_base.ClassSlapdMixin,
                             testscenarios.WithScenarios, base.TestCase):

    scenarios = database.BACKENDS

    def setUp(self):
        super().setUp()
        self.proxy = self.useFixture(blackhole_proxy.BlackholeProxy(
            "127.0.0.1", self.slapd.port))
        self.broker = broker_fixture.use_broker(
            self, backend=self.backend, flags={
                ("identity", "driver"): "ldap",
                ("ldap", "urls"): ["ldap://127.0.0.1:%d" % self.proxy.port],
                ("ldap", "use_tls"): False,
                ("ldap", "bind_dn"): slapd.SERVICE_DN,
                ("ldap", "bind_password"): slapd.SERVICE_PASSWORD,
                ("ldap", "user_base"): slapd.USER_BASE,
                ("ldap", "group_base"): slapd.GROUP_BASE,
                ("ldap", "receive_timeout"): 5.0,
                ("alerts", "directory_slow_seconds"): THRESHOLD,
                ("alerts", "directory_slow_for"): 60,
                ("alerts", "directory_slow_min"): 3,
            })
        self.addCleanup(self.broker.broker_app.identity.close)
        self.broker.setup_call_centre(default=False, pools=POOLS,
                                      allocators=ALLOCATORS)
        self.broker.fill_pools()
        self.evaluator = alerts.Evaluator(self.conf)
        self.ctxt = self.broker.ctxt
        # Whole seconds: MariaDB's DATETIME keeps no fraction.
        timeutils.set_time_override(
            timeutils.utcnow().replace(microsecond=0))
        self.addCleanup(timeutils.clear_time_override)

    def login_everyone(self):
        # (Again from the same thin client: the same desktop.)
        for n, (username, password) in enumerate(USERS):
            self.broker.login(username, password=password,
                              client_id="tc-slow-%d" % n)

    def directory_ms(self):
        """{login event id: directory_ms} of the successful logins."""
        events = db.event_list(self.ctxt, {"action": "login"})
        return {e["id"]: e["detail"]["directory_ms"] for e in events
                if e["result"] == "success"}

    def directory_alerts(self):
        return db.alert_list(self.ctxt, {"kind": "directory_slow"})

    def test_slow_directory_fires_and_clears(self):
        # A fast directory: the condition is judged, nothing is raised.
        self.login_everyone()
        fast = self.directory_ms()
        self.assertEqual(len(USERS), len(fast))
        self.assertTrue(all(ms > 0 for ms in fast.values()), fast)
        self.evaluator.evaluate(self.ctxt)
        self.assertEqual([], self.directory_alerts())

        # slapd answers late: pending, then firing after the hold.
        self.proxy.slow(DELAY)
        timeutils.advance_time_seconds(10)
        self.login_everyone()
        # (By event: two logins may spend the same milliseconds.)
        slow = sorted(ms for event_id, ms in self.directory_ms().items()
                      if event_id not in fast)
        self.assertEqual(len(USERS), len(slow))
        self.assertTrue(all(ms >= 2 * DELAY * 1000 for ms in slow), slow)
        self.evaluator.evaluate(self.ctxt)
        [alert] = self.directory_alerts()
        self.assertEqual("pending", alert["state"])
        timeutils.advance_time_seconds(61)
        self.evaluator.evaluate(self.ctxt)
        [alert] = self.directory_alerts()
        self.assertEqual(("firing", "directory", "warning"),
                         (alert["state"], alert["subject"],
                          alert["severity"]))
        values = alert["values"]
        self.assertEqual((2 * len(USERS), THRESHOLD, 300),
                         (values["logins"], values["threshold"],
                          values["window_seconds"]))
        self.assertGreaterEqual(values["p95_seconds"], 2 * DELAY)
        self.assertAlmostEqual(max(slow) / 1000.0, values["p95_seconds"],
                               places=3)
        events = db.event_list(self.ctxt, {"target_id": alert["id"]})
        self.assertEqual(["alert.firing"], [e["action"] for e in events])

        # Fast again; once the slow logins left the window, it resolves.
        self.proxy.slow(0)
        timeutils.advance_time_seconds(
            self.conf.alerts.login_window + 1)
        self.login_everyone()
        self.evaluator.evaluate(self.ctxt)
        alert = db.alert_get(self.ctxt, alert["id"])
        self.assertEqual("resolved", alert["state"])
        self.assertEqual(timeutils.utcnow(), alert["ended_at"])

    def test_too_few_logins_leave_the_alert_as_it_is(self):
        self.proxy.slow(DELAY)
        for username, password in USERS[:2]:
            self.broker.login(username, password=password)
        self.evaluator.evaluate(self.ctxt)
        self.assertEqual([], self.directory_alerts())


class DirectorySlowWindowTest(base.TestCase):
    """The alert's window: only the logins of the last login_window."""

    def test_old_logins_are_out_of_the_window(self):
        self.useFixture(database.Database("sqlite"))
        from vdi_broker import context as vdi_context
        ctxt = vdi_context.get_admin_context()
        now = datetime.datetime(2026, 12, 3, 8, 0, 0)
        timeutils.set_time_override(now - datetime.timedelta(seconds=400))
        self.addCleanup(timeutils.clear_time_override)
        db.event_record(ctxt, "allocation", "login",
                        detail={"directory_ms": 2000.0})
        timeutils.set_time_override(now)
        db.event_record(ctxt, "allocation", "login",
                        detail={"directory_ms": 4.0})
        found = db.login_results(ctxt, now - datetime.timedelta(
            seconds=300))
        self.assertEqual([4.0], found["directory_ms"])
