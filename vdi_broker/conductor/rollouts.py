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

"""Image roll-outs: a pool moved to a new image, desktop by desktop (R14).

Run by the pool manager's pass (conductor/pool_manager.py) for the pools
this conductor keeps, after their targets and counts are known and
before the boot admission, so that the rebuilds it queues go through the
same boot limits as every other boot. For each running (or rolling back)
roll-out:

1. its rebuilds that ended are recorded (``db.rollout_settle``);
2. health gates: ``max_failures`` failed rebuilds, or as many boots of
   new desktops failed in a row since it started, pause it (with the
   reason; an operator resumes or rolls back). A rollback has no gate;
3. with no desktop left on another image (but quarantined ones, left to
   the operator), it ends: ``completed`` (``rolled_back``);
4. the canary (``canary_size`` desktops) first; once every canary
   desktop is ready on the new image, waves: at most ``wave_size``
   desktops rebuild at once;
5. ready desktops are rebuilt only while the pool has more ready ones
   than its target (the pool never drops below it because of a
   roll-out); to make room, the roll-out raises the pool's target by
   what it wants to rebuild next (the *surge*): the pool manager boots
   that many new desktops (on the new image) within ``max_size``;
6. desktops in use are never rebuilt under their user: they are rebuilt
   when their user leaves them (the release path rebuilds a desktop not
   on its pool's image), and, while a maintenance window of the pool or
   its site is open, an assigned desktop nobody has a session on (a
   bound user away) is rebuilt in place.

A roll-out with a ``window_id`` does all of this only while that window
is open.
"""

from oslo_log import log as logging
from oslo_utils import timeutils

from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker import states

LOG = logging.getLogger(__name__)


def budget(rollout):
    """How many more desktops the roll-out may start rebuilding now."""
    progress = rollout["progress"]
    in_progress = progress["in_progress"]
    if rollout["phase"] == states.ROLLOUT_CANARY:
        return max(0, rollout["canary_size"] - in_progress -
                   progress["done"] - progress["failed"])
    return max(0, rollout["wave_size"] - in_progress)


class RolloutKeeper:
    """The roll-out part of a conductor's pool manager."""

    def __init__(self, manager):
        self.manager = manager

    def run(self, ctxt, pools, targets, counts, windows):
        """One pass over the roll-outs of ``pools``.

        ``targets``: {pool_id: effective min_ready}; ``counts``: the
        pools' desktop counts by state (updated here for the ready
        desktops moved to releasing); ``windows``: {pool_id: open
        maintenance windows}. Returns {pool_id: surge}.
        """
        surges = {}
        by_id = {p["id"]: p for p in pools}
        if not by_id:
            return surges
        for rollout in db.rollouts_active(ctxt, list(by_id)):
            pool = by_id[rollout["pool_id"]]
            try:
                surge = self._step(ctxt, rollout, pool, targets[pool["id"]],
                                   counts.setdefault(pool["id"], {}),
                                   windows.get(pool["id"], ()))
            except exception.ComputeUnavailable as e:
                LOG.warning("Pool %s: roll-out %s waits: %s", pool["name"],
                            rollout["id"], e)
                continue
            except Exception:
                LOG.exception("Pool %s: roll-out %s: pass failed",
                              pool["name"], rollout["id"])
                continue
            if surge:
                surges[pool["id"]] = surge
        return surges

    def _step(self, ctxt, rollout, pool, target, counts, windows):
        settled = db.rollout_settle(ctxt, rollout["id"])
        if settled["done"] or settled["failed"]:
            rollout = db.rollout_get(ctxt, rollout["id"])
        progress = rollout["progress"]
        forward = rollout["phase"] != "rollback"
        if forward and self._gate(ctxt, rollout, pool):
            return 0
        if rollout["window_id"] and not any(
                w["id"] == rollout["window_id"] for w, _ in windows):
            self._window_gone(ctxt, rollout, pool)
            return 0
        left = progress["old"] - progress["old_quarantined"]
        if left <= 0 and not progress["in_progress"]:
            self._finish(ctxt, rollout, pool, target, counts)
            return 0
        if rollout["phase"] == states.ROLLOUT_CANARY and \
                not progress["in_progress"] and \
                progress["done"] >= rollout["canary_size"]:
            rollout = db.rollout_update(
                ctxt, rollout["id"], [states.ROLLOUT_RUNNING],
                {"phase": states.ROLLOUT_WAVES},
                event=("rollout.canary", "canary of %d desktops ready on "
                       "image %s: waves of %d follow" % (
                           rollout["canary_size"], rollout["image"],
                           rollout["wave_size"])))
            if rollout is None:
                return 0
            LOG.info("Pool %s: roll-out %s: canary passed", pool["name"],
                     rollout["id"])
        room = budget(rollout)
        if room <= 0:
            return 0
        ready = counts.get(models.READY, 0)
        take_ready = min(room, max(0, ready - target),
                         progress["old_ready"])
        take_in_use = min(room - take_ready, progress["old_in_use"]) \
            if windows else 0
        queued = []
        if take_ready or take_in_use:
            queued = db.rollout_rebuild(ctxt, rollout["id"],
                                        ready=take_ready,
                                        in_use=take_in_use,
                                        keep_ready=target)
        moved = 0
        for desktop in queued:
            if desktop["state"] == models.RELEASING:
                moved += 1
                counts[models.READY] = counts.get(models.READY, 0) - 1
                counts[models.RELEASING] = \
                    counts.get(models.RELEASING, 0) + 1
        if queued:
            LOG.info("Pool %s: roll-out %s: %d desktops queued for a "
                     "rebuild on image %s", pool["name"], rollout["id"],
                     len(queued), rollout["target_image"])
        # The surge: new desktops for the ready ones still to rebuild
        # (those in use are rebuilt in place, or at their release).
        return max(0, min(room - len(queued),
                          progress["old_ready"] - moved))

    def _window_gone(self, ctxt, rollout, pool):
        """Pause a roll-out whose maintenance window was deleted."""
        try:
            db.window_get(ctxt, rollout["window_id"])
            return
        except exception.MaintenanceWindowNotFound:
            pass
        reason = "its maintenance window %s was deleted" % (
            rollout["window_id"])
        try:
            db.rollout_action(ctxt, rollout["id"], "pause", reason,
                              kind="pool")
        except exception.Conflict:
            return
        LOG.warning("Pool %s: roll-out %s paused: %s", pool["name"],
                    rollout["id"], reason)

    def _gate(self, ctxt, rollout, pool):
        """Pause a failing roll-out; True if it did."""
        progress = rollout["progress"]
        limit = rollout["max_failures"]
        reason = None
        if progress["failed"] >= limit:
            reason = ("%d desktops failed to rebuild on image %s (limit "
                      "%d)" % (progress["failed"], rollout["image"], limit))
        elif (pool.get("build_failures") or 0) >= limit and \
                pool.get("failing_since") is not None and \
                pool["failing_since"] >= rollout["created_at"]:
            reason = ("%d boots of new desktops failed in a row on image "
                      "%s: %s" % (pool["build_failures"], rollout["image"],
                                  pool.get("last_build_error") or ""))
        if reason is None:
            return False
        try:
            db.rollout_action(ctxt, rollout["id"], "pause", reason,
                              kind="pool")
        except exception.Conflict:
            return True
        LOG.warning("Pool %s: roll-out %s paused: %s", pool["name"],
                    rollout["id"], reason)
        return True

    def _finish(self, ctxt, rollout, pool, target, counts):
        forward = rollout["phase"] != "rollback"
        done = db.rollout_update(
            ctxt, rollout["id"], states.ROLLOUT_ACTIVE,
            {"state": (states.ROLLOUT_COMPLETED if forward
                       else states.ROLLOUT_ROLLED_BACK),
             "finished_at": timeutils.utcnow(),
             "status_reason": None if forward else
             rollout["status_reason"]},
            event=("rollout.finish", "pool %s is on image %s" % (
                pool["name"], rollout["target_image"])))
        if done is None:
            return
        LOG.info("Pool %s: roll-out %s %s: every desktop on image %s",
                 pool["name"], rollout["id"], done["state"],
                 rollout["target_image"])
        # Give back the surge: the ready desktops above the target that
        # the roll-out had booted (at most one wave).
        surplus = min(counts.get(models.READY, 0) - target,
                      max(rollout["wave_size"], rollout["canary_size"]))
        if surplus > 0:
            self.manager._shrink(ctxt, pool, surplus)
