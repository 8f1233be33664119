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

"""The five-minute rule's health judgement and the agent probes."""

import datetime

import testtools

from vdi_broker.conductor import agents
from vdi_broker.conductor import probes
from vdi_broker import states

T0 = datetime.datetime(2026, 12, 8, 9, 0, 0, 500000)


def _incident(**values):
    incident = {"kind": states.INCIDENT_AGENT_SILENT, "opened_at": T0,
                "last_report_at": None, "display": None,
                "connection_state": None, "connection_since": None}
    incident.update(values)
    return incident


class TestHealthy(testtools.TestCase):

    def later(self, seconds):
        return T0 + datetime.timedelta(seconds=seconds)

    def test_silent_until_a_report_after_the_fault(self):
        self.assertIsNotNone(agents.healthy(_incident()))
        self.assertIsNotNone(agents.healthy(_incident(
            last_report_at=self.later(-1))))
        self.assertIsNone(agents.healthy(_incident(
            last_report_at=self.later(1), display="running")))

    def test_display_must_run(self):
        self.assertEqual("the display service is stopped",
                         agents.healthy(_incident(
                             kind=states.INCIDENT_DISPLAY_STOPPED,
                             last_report_at=self.later(5),
                             display="stopped")))

    def test_client_fault_needs_a_new_connection(self):
        incident = _incident(kind=states.INCIDENT_CLIENT_FAULT,
                             last_report_at=self.later(5),
                             display="running", connection_state="connected",
                             connection_since=self.later(-60))
        self.assertIn("not connected again", agents.healthy(incident))
        incident["connection_since"] = self.later(3).replace(microsecond=0)
        self.assertIsNone(agents.healthy(incident))
        incident["connection_state"] = "disconnected"
        self.assertIsNotNone(agents.healthy(incident))


class Conf:
    class pool_manager:
        readiness_probe = "none"
        probe_ports = {}
        probe_connect_timeout = 0.1

    class rdp:
        port = 1


class TestAgentProbes(testtools.TestCase):

    def test_agent_probe(self):
        pool = {"readiness_probe": "agent", "console_type": "rdp"}
        desktop = {"id": "d1", "address": "127.0.0.1"}
        self.assertEqual(probes.NOT_REGISTERED,
                         probes.run(Conf, pool, desktop, set()))
        self.assertIsNone(probes.run(Conf, pool, desktop, {"d1"}))

    def test_both_needs_the_port_too(self):
        pool = {"readiness_probe": "both", "console_type": "rdp"}
        desktop = {"id": "d1", "address": "127.0.0.1"}
        self.assertEqual(probes.NOT_REGISTERED,
                         probes.run(Conf, pool, desktop, None))
        # Registered, but nothing listens on port 1.
        self.assertIn("does not answer",
                      probes.run(Conf, pool, desktop, {"d1"}))

    def test_port_is_tcp(self):
        pool = {"readiness_probe": "port", "console_type": "rdp"}
        self.assertIn("does not answer", probes.run(
            Conf, pool, {"id": "d1", "address": "127.0.0.1"}))
