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

"""The Nova driver's calls in the Prometheus metrics, against the emulator.

Every call of compute/nova.py is timed and counted once, with its
retries, by operation and by the result its error translates to.
"""

import prometheus_client as prom

from tests.functional.compute import base as test_base
from tests.functional.compute.test_nova_servers import spec
from vdi_broker import exception

CALLS = "vdi_nova_request_duration_seconds_count"
RETRIES = "vdi_nova_retries_total"


def value(name, **labels):
    return prom.REGISTRY.get_sample_value(name, labels) or 0.0


class NovaMetricsTest(test_base.NovaTestCase):

    def setUp(self):
        super().setUp()
        self.before = {}

    def watch(self, *series):
        for name, labels in series:
            self.before[(name, tuple(sorted(labels.items())))] = value(
                name, **labels)

    def delta(self, name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return value(name, **labels) - self.before[key]

    def test_calls_by_operation_and_result(self):
        ok = [(CALLS, {"operation": op, "result": "ok"})
              for op in ("create", "show", "flavor")]
        self.watch(*ok, ("vdi_nova_request_duration_seconds_sum",
                         {"operation": "show", "result": "ok"}))
        server = self.driver.create_server(spec(name="metrics-1"))
        self.driver.get_server(server.id)
        self.assertEqual(1, self.delta(CALLS, operation="create",
                                       result="ok"))
        self.assertEqual(1, self.delta(CALLS, operation="show",
                                       result="ok"))
        self.assertGreater(self.delta(
            "vdi_nova_request_duration_seconds_sum", operation="show",
            result="ok"), 0)

    def test_retries_count_once_with_their_retries(self):
        server = self.driver.create_server(spec(name="metrics-2"))
        self.watch((CALLS, {"operation": "show", "result": "ok"}),
                   (RETRIES, {"operation": "show"}),
                   (CALLS, {"operation": "list", "result": "unavailable"}),
                   (RETRIES, {"operation": "list"}))
        self.emulator.inject_fault("show", status=500, count=2)
        self.driver.get_server(server.id)
        self.assertEqual(1, self.delta(CALLS, operation="show",
                                       result="ok"))
        self.assertEqual(2, self.delta(RETRIES, operation="show"))
        self.emulator.inject_fault("list", status=503, count=None)
        self.assertRaises(exception.ComputeUnavailable,
                          self.driver.list_servers)
        self.assertEqual(1, self.delta(CALLS, operation="list",
                                       result="unavailable"))
        self.assertEqual(2, self.delta(RETRIES, operation="list"))

    def test_errors_by_kind(self):
        server = self.driver.create_server(spec(name="metrics-3"))
        self.watch((CALLS, {"operation": "show", "result": "not_found"}),
                   (CALLS, {"operation": "show", "result": "error"}),
                   (CALLS, {"operation": "list", "result": "timeout"}))
        self.assertRaises(exception.ServerNotFound, self.driver.get_server,
                          "0b9a2c1e-0000-4000-8000-000000000000")
        self.assertEqual(1, self.delta(CALLS, operation="show",
                                       result="not_found"))
        self.emulator.inject_fault("show", status=403, count=1)
        self.assertRaises(exception.ComputeError, self.driver.get_server,
                          server.id)
        self.assertEqual(1, self.delta(CALLS, operation="show",
                                       result="error"))
        self.conf.set_override("retries", 0, group="nova")
        self.emulator.inject_fault("list", delay=test_base.HOLD, count=1)
        self.assertRaises(exception.ComputeUnavailable,
                          self.driver.list_servers)
        self.assertEqual(1, self.delta(CALLS, operation="list",
                                       result="timeout"))
