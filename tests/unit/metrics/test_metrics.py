# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The instrumentation's labels, the scrape's access rules, the collector's
optional business-monitoring families."""

import sys
import types

import fixtures
from prometheus_client import core

from tests import base
from vdi_broker import exception
from vdi_broker import metrics
from vdi_broker.metrics import collector
from vdi_broker.metrics import exposition


class ResultsTest(base.TestCase):

    def test_login_results(self):
        for error, result in (
                (exception.LoginFailed(reason="wrong_password"),
                 "invalid_credentials"),
                (exception.LoginThrottled(), "throttled"),
                (exception.NoAllocatorMatches(username="u"),
                 "no_allocator"),
                (exception.PoolExhausted(pool="p"), "pool_exhausted"),
                (exception.LoginNotConnected(pool="p", tries=2, reason="x"),
                 "not_connected"),
                (exception.IdentityUnavailable(reason="down"),
                 "directory_unavailable"),
                (exception.ConductorUnavailable(), "unavailable"),
                (exception.DatabaseUnavailable(), "unavailable"),
                (exception.Invalid(reason="x"), "invalid_request"),
                (exception.SeatNotRegistered(seat="s"), "not_found"),
                (exception.Forbidden(), "forbidden"),
                (ValueError("bug"), "error")):
            self.assertEqual(result, metrics.login_result(error), error)

    def test_nova_and_ldap_results(self):
        for error, result in (
                (None, "ok"),
                (exception.ServerNotFound(server="s"), "not_found"),
                (exception.ConsoleTimeout(console_type="c", server="s",
                                          timeout=1), "timeout"),
                (exception.ComputeUnavailable(reason="r"), "unavailable"),
                (exception.Invalid(reason="r"), "invalid"),
                (exception.ComputeError(reason="r"), "error")):
            self.assertEqual(result, metrics.nova_result(error))
        self.assertEqual("ok", metrics.ldap_result(None))
        self.assertEqual("unavailable", metrics.ldap_result(
            exception.IdentityUnavailable(reason="r")))
        self.assertEqual("error", metrics.ldap_result(RuntimeError()))

    def test_timed_calls_reraise(self):
        before = metrics.NOVA_DURATION.labels("unit", "error")._sum.get()

        def failing():
            with metrics.nova_request("unit"):
                raise exception.ComputeError(reason="x")

        self.assertRaises(exception.ComputeError, failing)
        self.assertGreaterEqual(
            metrics.NOVA_DURATION.labels("unit", "error")._sum.get(), before)


class AccessTest(base.TestCase):

    def test_addresses(self):
        for value, expected in (("127.0.0.1", "127.0.0.1"),
                                ("::1", "::1"),
                                ("[2001:db8::1]:8080", "2001:db8::1"),
                                ("10.0.0.1:443", "10.0.0.1"),
                                ("10.9.8.7, 127.0.0.1", "10.9.8.7"),
                                ("", None), (None, None),
                                ("example.com", None)):
            found = exposition._address(value)
            self.assertEqual(expected, str(found) if found else None,
                             value)

    def test_rules(self):
        self.flags(group="api", metrics_allowed_networks=["10.0.0.0/8",
                                                          "bogus"])
        exposition.check_access(self.conf, "10.1.1.1", None)
        self.assertRaises(exception.MetricsForbidden,
                          exposition.check_access, self.conf, "11.1.1.1",
                          None)
        self.flags(group="api", metrics_bearer_token="tok")
        self.assertRaises(exception.MetricsUnauthorized,
                          exposition.check_access, self.conf, "10.1.1.1",
                          "Bearer nope")
        exposition.check_access(self.conf, "10.1.1.1", "bearer tok")


class OptionalFamiliesTest(base.TestCase):
    """The agents and alerts families come from the monitoring modules."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch(
            "vdi_broker.db.api.metrics_snapshot",
            return_value={"pools": [], "desktops": {}, "boots": {},
                          "schedules": [], "sessions": {},
                          "thin_clients": []}))

    def _install(self, name, **functions):
        module = types.ModuleType(name)
        for key, value in functions.items():
            setattr(module, key, value)
        self.useFixture(fixtures.MonkeyPatch(
            "sys.modules", dict(sys.modules, **{name: module})))

    def families(self):
        return {f.name: f for f in collector.DatabaseCollector(
            self.conf).collect()}

    def test_absent_modules_leave_the_families_out(self):
        # None in sys.modules: an import raises ModuleNotFoundError, as
        # for a module that is not installed.
        self.useFixture(fixtures.MonkeyPatch(
            "sys.modules", dict(sys.modules, **{
                "vdi_broker.monitoring": None, "vdi_broker.alerts": None})))
        found = self.families()
        self.assertNotIn("vdi_agents_active", found)
        self.assertNotIn("vdi_alerts", found)
        self.assertEqual(
            [({"collector": "database"}, 1)],
            [(s.labels, s.value)
             for s in found["vdi_scrape_collector_success"].samples])

    def test_present_modules_give_the_families(self):
        self._install("vdi_broker.monitoring", current_counts=lambda ctxt: [
            {"department": "hotel", "site": "shanghai", "active": 40,
             "idle": 3, "expected": 60},
            {"department": "flight", "site": "nantong", "active": 5}])
        self._install("vdi_broker.alerts", counts=lambda ctxt: {
            ("agents_below_plan", "firing"): 2,
            ("agents_below_plan", "resolved"): 7})
        found = self.families()

        def values(name):
            return {tuple(sorted(s.labels.values())): s.value
                    for s in found[name].samples}

        self.assertEqual({("hotel", "shanghai"): 40,
                          ("flight", "nantong"): 5},
                         values("vdi_agents_active"))
        self.assertEqual({("hotel", "shanghai"): 60},
                         values("vdi_agents_expected"))
        self.assertEqual({("hotel", "shanghai"): 3},
                         values("vdi_agents_idle"))
        self.assertEqual({("agents_below_plan", "firing"): 2,
                          ("agents_below_plan", "resolved"): 7},
                         values("vdi_alerts"))
        self.assertEqual({("agents",): 1, ("alerts",): 1, ("database",): 1},
                         values("vdi_scrape_collector_success"))

    def test_a_failing_source_is_reported(self):
        def broken(ctxt):
            raise RuntimeError("no table")

        self._install("vdi_broker.monitoring", current_counts=broken)
        found = self.families()
        self.assertNotIn("vdi_agents_active", found)
        self.assertEqual(0, [s.value for s in found[
            "vdi_scrape_collector_success"].samples
            if s.labels["collector"] == "agents"][0])

    def test_a_broken_import_is_not_hidden(self):
        # A monitoring module that exists but imports something missing
        # is a bug to see, not a module to skip.
        def find(name, *args, **kwargs):
            raise ModuleNotFoundError("No module named 'missing_dep'",
                                      name="missing_dep")

        self.useFixture(fixtures.MockPatch("importlib.import_module",
                                           side_effect=find))
        self.assertRaises(ModuleNotFoundError,
                          collector.optional_function,
                          "vdi_broker.monitoring", "current_counts")

    def test_gauge_families_are_gauges(self):
        for family in self.families().values():
            self.assertIsInstance(family, core.GaugeMetricFamily)
