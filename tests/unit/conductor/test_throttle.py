"""The adaptive build throttle (AIMD)."""

import testtools

from vdi_broker.conductor import throttle


def _pool(limit=20, failures=0):
    return {"id": "p1", "max_concurrent_builds": limit,
            "build_failures": failures}


class TestBuildThrottle(testtools.TestCase):

    def test_halves_on_failure_and_climbs_back_by_one(self):
        t = throttle.BuildThrottle()
        pool = _pool()
        self.assertEqual(20, t.allowed(pool))
        self.assertEqual([10, 5, 2, 1, 1],
                         [t.decrease(pool) for _ in range(5)])
        self.assertEqual([2, 3, 4], [t.increase(pool) for _ in range(3)])
        for _ in range(30):
            t.increase(pool)
        self.assertEqual(20, t.allowed(pool))

    def test_a_new_conductor_starts_from_the_persisted_failures(self):
        self.assertEqual(5, throttle.BuildThrottle().allowed(
            _pool(failures=2)))
        self.assertEqual(1, throttle.BuildThrottle().allowed(
            _pool(failures=100)))

    def test_lowered_limit_caps_the_window(self):
        t = throttle.BuildThrottle()
        self.assertEqual(20, t.allowed(_pool()))
        self.assertEqual(4, t.allowed(_pool(limit=4)))
        self.assertEqual(4, t.increase(_pool(limit=4)))
        # A pool with a limit of 0 still gets its one probe boot.
        self.assertEqual(1, t.allowed(_pool(limit=0)))

    def test_forget(self):
        t = throttle.BuildThrottle()
        t.decrease(_pool())
        t.forget("p1")
        self.assertEqual(20, t.allowed(_pool()))
