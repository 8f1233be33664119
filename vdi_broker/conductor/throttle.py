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

"""The adaptive build throttle: how many boots a pool or a host may have.

AIMD (additive increase, multiplicative decrease, as TCP's congestion
window) on each pool's and each compute host's *allowance* of concurrent
boots, driven by what hurts a VDI cloud (R10):

* a failed boot, or a slow answer to a create request, halves the pool's
  allowance (floor 1);
* a boot that took longer than ``[conductor] boot_duration_target``
  (create or restart, until the desktop is ready) halves the allowance of
  its pool and of its host, once per round: a boot admitted before the
  last cut was admitted under the old allowance, and its slowness is
  already answered (TCP cuts once per window of data, not once per lost
  packet);
* a boot within the target raises them by one, up to the limit;
* a loaded host (memory or vCPU usage against capacity, from Placement)
  gets fewer boots at once: all of its limit below ``host_load_low``, one
  at ``host_load_high`` and above, in proportion between.

This module is the policy only: pure functions of the current values.
The allowances live in the database (pools.build_allowance, boot_hosts),
so that every conductor, a conductor taking a pool over and the API see
the same figures; conductor/boot_queue.py applies the policy there.
"""

import dataclasses

# Weight of the newest boot in the moving average of boot times.
EWMA_WEIGHT = 0.3


def initial(limit, failures=0):
    """A pool's allowance before the throttle ever lowered it.

    The limit, halved once per failed boot in a row: a pool that was
    failing stays throttled after an upgrade or a restart.
    """
    limit = max(1, limit)
    return max(1, limit >> min(failures or 0, 30))


def current(allowance, limit, failures=0):
    """The allowance in force: the stored one, capped by the limit."""
    limit = max(1, limit)
    if allowance is None:
        return initial(limit, failures)
    return max(1, min(allowance, limit))


def pool_allowance(pool):
    """The allowance of a pool (a dict with its row's fields)."""
    return current(pool.get("build_allowance"),
                   pool["max_concurrent_builds"],
                   pool.get("build_failures"))


def halve(window):
    return max(1, window // 2)


def average(previous, seconds):
    """The moving average of boot times, with one more boot."""
    if previous is None:
        return float(seconds)
    return (1 - EWMA_WEIGHT) * previous + EWMA_WEIGHT * seconds


@dataclasses.dataclass
class Boot:
    """One finished boot: when it took its slot and how long it took."""

    started_at: object
    seconds: float


def after_boots(window, limit, boots, target, throttled_at, now):
    """The allowance after a round of finished boots.

    ``boots``: :class:`Boot` records; ``target``: seconds a boot should
    take (0: no target, every boot counts as quick). Returns
    ``(allowance, throttled_at, slow)`` where ``slow`` is the slow boots
    that cut it (empty when it did not).
    """
    limit = max(1, limit)
    window = max(1, min(window, limit))
    if not target:
        return min(limit, window + len(boots)), throttled_at, []
    slow = [b for b in boots if b.seconds > target and
            (throttled_at is None or b.started_at is None or
             b.started_at >= throttled_at)]
    if slow:
        return halve(window), now, slow
    quick = sum(1 for b in boots if b.seconds <= target)
    return min(limit, window + quick), throttled_at, []


def load_cap(limit, load, low, high):
    """Boots a host may have at once at this load (fraction, 0..1)."""
    limit = max(1, limit)
    if load is None or load < low:
        return limit
    if load >= high or high <= low:
        return 1
    share = (high - load) / (high - low)
    return max(1, int(limit * share))
