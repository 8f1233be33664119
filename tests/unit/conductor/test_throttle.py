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

"""The adaptive build throttle's policy (AIMD on boots, host load)."""

import datetime

import testtools

from vdi_broker.conductor import throttle

T0 = datetime.datetime(2026, 12, 14, 8, 0, 0)


def _at(minutes):
    return T0 + datetime.timedelta(minutes=minutes)


def _pool(limit=20, failures=0, allowance=None):
    return {"id": "p1", "max_concurrent_builds": limit,
            "build_failures": failures, "build_allowance": allowance}


class TestAllowance(testtools.TestCase):

    def test_halves_on_failure_and_climbs_back_by_one(self):
        window = throttle.pool_allowance(_pool())
        self.assertEqual(20, window)
        cuts = []
        for _ in range(5):
            window = throttle.halve(window)
            cuts.append(window)
        self.assertEqual([10, 5, 2, 1, 1], cuts)
        quick = [throttle.Boot(_at(0), 60)]
        climbs = []
        for _ in range(3):
            window, _cut, _slow = throttle.after_boots(
                window, 20, quick, 600, None, _at(1))
            climbs.append(window)
        self.assertEqual([2, 3, 4], climbs)
        for _ in range(30):
            window, _cut, _slow = throttle.after_boots(
                window, 20, quick, 600, None, _at(1))
        self.assertEqual(20, window)

    def test_before_any_cut_the_persisted_failures_count(self):
        self.assertEqual(5, throttle.pool_allowance(_pool(failures=2)))
        self.assertEqual(1, throttle.pool_allowance(_pool(failures=100)))
        # Once stored, the allowance is what counts.
        self.assertEqual(7, throttle.pool_allowance(
            _pool(failures=2, allowance=7)))

    def test_lowered_limit_caps_the_allowance(self):
        self.assertEqual(4, throttle.pool_allowance(_pool(limit=4,
                                                          allowance=9)))
        # A pool with a limit of 0 still gets its one probe boot.
        self.assertEqual(1, throttle.pool_allowance(_pool(limit=0)))


class TestBootDuration(testtools.TestCase):

    def test_a_slow_boot_halves_once_per_round(self):
        boots = [throttle.Boot(_at(0), 2400), throttle.Boot(_at(0), 2500)]
        window, cut, slow = throttle.after_boots(8, 8, boots, 600, None,
                                                 _at(40))
        self.assertEqual((4, _at(40)), (window, cut))
        self.assertEqual(2, len(slow))
        # More slow boots admitted before that cut: already answered.
        late = [throttle.Boot(_at(1), 2500)]
        self.assertEqual((4, _at(40), []), throttle.after_boots(
            4, 8, late, 600, cut, _at(42)))
        # A slow boot admitted after it cuts again.
        again = [throttle.Boot(_at(41), 900)]
        self.assertEqual((2, _at(57)), throttle.after_boots(
            4, 8, again, 600, cut, _at(57))[:2])

    def test_slow_wins_over_quick_in_one_round(self):
        boots = [throttle.Boot(_at(0), 60), throttle.Boot(_at(0), 700)]
        self.assertEqual(3, throttle.after_boots(6, 8, boots, 600, None,
                                                 _at(12))[0])

    def test_a_boot_that_succeeds_slowly_does_not_raise(self):
        # The defect: a 40-minute boot that succeeds raised the allowance.
        window, _cut, _slow = throttle.after_boots(
            8, 8, [throttle.Boot(_at(0), 2400)], 600, None, _at(40))
        self.assertLess(window, 8)

    def test_without_target_every_boot_raises(self):
        self.assertEqual((5, None, []), throttle.after_boots(
            3, 8, [throttle.Boot(_at(0), 9999)] * 2, 0, None, _at(1)))

    def test_average(self):
        self.assertEqual(100.0, throttle.average(None, 100))
        self.assertAlmostEqual(130.0, throttle.average(100.0, 200))


class TestHostLoad(testtools.TestCase):

    def test_load_cap(self):
        cap = [throttle.load_cap(8, load, 0.75, 0.9)
               for load in (None, 0.1, 0.74, 0.75, 0.8, 0.85, 0.9, 1.2)]
        self.assertEqual([8, 8, 8, 8, 5, 2, 1, 1], cap)

    def test_degenerate_thresholds(self):
        self.assertEqual(1, throttle.load_cap(8, 0.5, 0.5, 0.5))
        self.assertEqual(8, throttle.load_cap(8, 0.99, 1.0, 1.0))


class TestHostNames(testtools.TestCase):
    """Placement's provider names against Nova's host names."""

    def test_load_of(self):
        from vdi_broker.conductor import boot_queue
        loads = {"compute-1.example.org": 0.9, "compute-2": 0.2}
        self.assertEqual(0.9, boot_queue.load_of(loads, "compute-1"))
        self.assertEqual(0.2, boot_queue.load_of(loads,
                                                 "compute-2.example.org"))
        self.assertIsNone(boot_queue.load_of(loads, "compute-3"))
        self.assertIsNone(boot_queue.load_of(None, "compute-1"))
        self.assertIsNone(boot_queue.load_of(loads, None))

    def test_host_loads_from_capacity(self):
        from vdi_broker.compute import base
        capacity = {"providers": [
            {"name": "a", "memory_mb": {"used": 900, "capacity": 1000},
             "vcpus": {"used": 1, "capacity": 10}},
            {"name": "b", "memory_mb": {"used": 0, "capacity": 0},
             "vcpus": {"used": 5, "capacity": 10}},
            {"name": "c", "memory_mb": None, "vcpus": None}]}
        self.assertEqual({"a": 0.9, "b": 0.5}, base.host_loads(capacity))
        self.assertIsNone(base.host_loads(None))
