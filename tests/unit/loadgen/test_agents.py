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

"""loadgen --mode agents: desktops, fault schedule, command line."""

import io
import os

import fixtures
import testtools

from vdi_broker.cmd import loadgen
from vdi_broker.guest_agent import protocol
from vdi_broker.loadgen import agents


class TestAgents(testtools.TestCase):

    def test_read_agents(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, "d.csv")
        with open(path, "w") as f:
            f.write("desktop_id,secret\n# a comment\nd1,s1\nd2, s2\n")
        read = agents.read_agents(path)
        self.assertEqual([("d1", "s1"), ("d2", "s2")],
                         [(a.desktop_id, a.secret) for a in read])
        with open(path, "w") as f:
            f.write("d1\n")
        self.assertRaises(ValueError, agents.read_agents, path)

    def test_from_servers(self):
        servers = [{"metadata": {protocol.META_DESKTOP: "d1",
                                 protocol.META_SECRET: "s1"}},
                   {"metadata": {protocol.META_DESKTOP: "d2"}}]
        self.assertEqual(["d1"], [a.desktop_id for a in
                                  agents.agents_from_servers(servers)])

    def test_schedule_faults(self):
        sims = [agents.SimAgent("d%d" % i, "s") for i in range(100)]
        planned = agents.schedule_faults(
            sims, {"hang": 0.05, "display": 0.1, "crash": 0.02},
            start=10, window=30, duration=60, seed=3)
        kinds = [p[0] for p in planned]
        self.assertEqual((5, 10, 2), (kinds.count("hang"),
                                      kinds.count("display"),
                                      kinds.count("crash")))
        # No desktop gets two faults; times within the window, in order.
        self.assertEqual(17, len({p[1] for p in planned}))
        times = [p[2] for p in planned]
        self.assertEqual(sorted(times), times)
        self.assertTrue(all(10 <= t <= 40 for t in times))
        hung = [a for a in sims if a.fault == "hang"]
        self.assertTrue(all(a.fault_end is None for a in hung))
        # The same seed, the same schedule.
        again = [agents.SimAgent("d%d" % i, "s") for i in range(100)]
        self.assertEqual(planned, agents.schedule_faults(
            again, {"hang": 0.05, "display": 0.1, "crash": 0.02},
            start=10, window=30, duration=60, seed=3))

    def test_silent_and_body(self):
        agent = agents.SimAgent("d", "s")
        agent.fault, agent.fault_at, agent.fault_end = "display", 5, 10
        sim = agents.AgentSimulation("http://x", [agent])
        self.assertEqual("running", sim._body(agent, 4)["display"])
        self.assertEqual("stopped", sim._body(agent, 6)["display"])
        self.assertFalse(sim._silent(agent, 6))
        agent.fault = "crash"
        agent.registered = True
        self.assertTrue(sim._silent(agent, 6))
        self.assertFalse(agent.registered)
        self.assertFalse(sim._silent(agent, 11))

    def test_command_line_needs_desktops(self):
        self.useFixture(fixtures.MonkeyPatch("sys.stderr", io.StringIO()))
        self.assertRaises(SystemExit, loadgen.parse_args,
                          ["--mode", "agents"])
        args = loadgen.parse_args(["--mode", "agents", "--desktops-file",
                                   "x.csv", "--hang-share", "0.01"])
        self.assertEqual(0.01, args.hang_share)
        self.assertEqual(30.0, args.report_interval)
