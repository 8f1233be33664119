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

"""When viewer failures become a fault report."""

from tests import base
from vdi_broker.thinclient import faults


class FaultPolicyTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.policy = faults.FaultPolicy(max_failures=3, window=60,
                                         quick_exit=10)

    def test_a_long_connected_run_is_the_end_of_the_session(self):
        decision = self.policy.viewer_ended(0, 3600, connected=True)
        self.assertEqual(faults.END, decision.action)

    def test_never_connected_is_a_failure_then_a_fault(self):
        actions = [self.policy.viewer_ended(t, t + 5, connected=False,
                                            what="10.0.0.5:5901").action
                   for t in (0, 10, 20)]
        self.assertEqual([faults.RETRY, faults.RETRY, faults.FAULT],
                         actions)

    def test_the_fault_reason(self):
        for t in (0, 10):
            self.policy.viewer_ended(t, t + 5, connected=False,
                                     what="10.0.0.5:5901")
        decision = self.policy.viewer_ended(20, 25, connected=False,
                                            what="10.0.0.5:5901")
        self.assertEqual("the viewer could not connect to 10.0.0.5:5901: "
                         "3 failures within 60 s", decision.reason)
        self.assertEqual(3, decision.failures)

    def test_quick_drops_are_failures(self):
        self.policy.viewer_ended(0, 2, connected=True)
        self.policy.viewer_ended(3, 5, connected=True)
        decision = self.policy.viewer_ended(6, 9, connected=True,
                                            what="h:1")
        self.assertEqual(faults.FAULT, decision.action)
        self.assertIn("dropped the connection to h:1", decision.reason)

    def test_failures_outside_the_window_are_forgotten(self):
        self.policy.viewer_ended(0, 1, connected=False)
        self.policy.viewer_ended(30, 31, connected=False)
        # 100 s later the first two are older than the window.
        decision = self.policy.viewer_ended(100, 101, connected=False)
        self.assertEqual((faults.RETRY, 1), (decision.action,
                                             decision.failures))

    def test_a_good_run_clears_the_count(self):
        self.policy.viewer_ended(0, 1, connected=False)
        self.policy.viewer_ended(2, 3, connected=False)
        self.assertEqual(faults.END, self.policy.viewer_ended(
            4, 40, connected=True).action)
        self.assertEqual(faults.RETRY, self.policy.viewer_ended(
            41, 42, connected=False).action)

    def test_one_failure_is_enough_with_max_failures_1(self):
        policy = faults.FaultPolicy(max_failures=1, window=60, quick_exit=0)
        self.assertEqual(faults.FAULT, policy.viewer_ended(
            0, 20, connected=False).action)
        # quick_exit 0: every connected run that ends is the end.
        self.assertEqual(faults.END, policy.viewer_ended(
            0, 0.1, connected=True).action)

    def test_a_viewer_that_only_crashes_is_not_the_desktops_fault(self):
        actions = [self.policy.viewer_ended(t, t + 0.1, connected=False,
                                            what="h:1", crashed=True)
                   for t in (0, 1, 2)]
        self.assertEqual([faults.RETRY, faults.RETRY, faults.BROKEN],
                         [a.action for a in actions])
        self.assertEqual("the viewer ended by itself 3 times within 60 s "
                         "without reaching h:1", actions[-1].reason)

    def test_crashes_and_connection_failures_make_a_fault(self):
        self.policy.viewer_ended(0, 0.1, connected=False, crashed=True)
        self.policy.viewer_ended(1, 6, connected=False)
        self.assertEqual(faults.FAULT, self.policy.viewer_ended(
            7, 7.1, connected=False, crashed=True).action)
