"""The adaptive build throttle: AIMD on each pool's concurrent builds.

A pool may have up to its ``max_concurrent_builds`` desktops booting. The
throttle lowers that when the cloud struggles: a failed boot or a slow
answer to a create request halves the pool's allowed builds (floor 1), a
successful boot raises it by one (additive increase, multiplicative
decrease, as TCP's congestion control). A cloud that fails or slows down
thus sees fewer boots at once at the first sign of trouble, and the rate
climbs back step by step when it recovers.

The window is kept in memory; what a conductor taking a pool over needs
is in the pool's row (``build_failures``, ``failing_since``,
``last_build_error``): a new window starts at the pool's limit halved once
per failure in a row, so a failing pool stays throttled across a
takeover or a restart.
"""

import threading


class BuildThrottle:
    """Allowed concurrent builds per pool (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._windows = {}

    @staticmethod
    def _initial(pool):
        limit = max(1, pool["max_concurrent_builds"])
        failures = min(pool.get("build_failures") or 0, 30)
        return max(1, limit >> failures)

    def allowed(self, pool):
        """Builds the pool may have running now (1..max_concurrent_builds).

        A lowered max_concurrent_builds caps the window at once.
        """
        limit = max(1, pool["max_concurrent_builds"])
        with self._lock:
            window = self._windows.get(pool["id"])
            if window is None:
                window = self._initial(pool)
            window = min(window, limit)
            self._windows[pool["id"]] = window
            return window

    def decrease(self, pool):
        """A failure or a slow answer: halve the window (floor 1)."""
        current = self.allowed(pool)
        with self._lock:
            self._windows[pool["id"]] = max(1, current // 2)
            return self._windows[pool["id"]]

    def increase(self, pool):
        """A successful boot: one more allowed, up to the pool's limit."""
        current = self.allowed(pool)
        limit = max(1, pool["max_concurrent_builds"])
        with self._lock:
            self._windows[pool["id"]] = min(limit, current + 1)
            return self._windows[pool["id"]]

    def forget(self, pool_id):
        """Drop a pool's window (no longer kept by this conductor)."""
        with self._lock:
            self._windows.pop(pool_id, None)
