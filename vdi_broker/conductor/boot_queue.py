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

"""The boot queue: one set of limits for every boot (R10).

Every Nova action that starts a guest takes a boot slot first, through
:meth:`BootQueue.admit` (the database counts the slots of every pool and
every conductor, see db/sqlalchemy/boot_queue.py):

* creates: the pool manager's pass asks for the new desktops each pool
  wants; what the limits do not allow now is recorded as the pool's
  ``boots_wanted`` and asked for again at the next pass;
* restarts: a release's reboot or rebuild (at logout), an operator's
  reboot or rebuild (of a ready, assigned or quarantined desktop) and
  the restart of an unquarantined desktop are *queued* on the desktop
  (``boot_queued_at``) and started in order. A logout or an operator's
  action starts its restart at once when nothing waits before it; else
  the pass of the conductor that keeps the pool starts it;
* a probe reboot (a new desktop whose readiness probe did not pass) is
  part of the boot it belongs to: the desktop is still building and
  holds its slot.

The limits: ``[conductor] max_concurrent_builds`` in the deployment, the
pool's allowance (its ``max_concurrent_builds``, lowered by the adaptive
throttle) and each compute host's allowance (``[conductor]
max_builds_per_host``, lowered by the adaptive throttle and by the host's
load). This module also follows a restart to its end (for a desktop
restarted in place) and feeds the finished boots to the throttle
(conductor/throttle.py).
"""

import collections

from oslo_log import log as logging

from vdi_broker.compute import base as compute_base
from vdi_broker.compute import registry as cloud_registry
from vdi_broker.conductor import throttle
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

LOG = logging.getLogger(__name__)

# boot_action of a restart (without its phase).
RESTARTS = ("reboot", "reboot-hard", "rebuild")
RESTARTING = (compute_base.REBOOT, compute_base.REBUILD, compute_base.BUILD)
# What a finished restart leaves on the desktop.
DONE = {"boot_queued_at": None, "boot_started_at": None,
        "boot_action": None}


def restart_of(action, hard=False):
    """boot_action of an operator's restart."""
    return "reboot-hard" if action == "reboot" and hard else action


def load_of(loads, host):
    """A host's load, by Placement's provider names.

    The exact name, else the same first DNS label: Nova's host and the
    hypervisor host name may differ by the domain.
    """
    if not loads or not host:
        return None
    if host in loads:
        return loads[host]
    short = host.split(".")[0]
    for name, load in loads.items():
        if name.split(".")[0] == short:
            return load
    return None


def seconds_since(then, now):
    return max(0.0, (now - then).total_seconds())


class BootQueue:
    """The boot queue of one conductor; ``manager`` gives the drivers."""

    def __init__(self, manager):
        self.manager = manager

    @property
    def conf(self):
        return self.manager.conf

    @property
    def compute(self):
        return self.manager.compute

    # -- admission -----------------------------------------------------------

    def host_base(self):
        opts = self.conf.conductor
        return opts.max_builds_per_host or opts.max_concurrent_builds

    def _host_allowance(self):
        opts = self.conf.conductor
        base = self.host_base()
        loads = self.manager._host_loads()

        def allowance(host, row):
            window = throttle.current(row and row["allowance"], base)
            note = ("slow boots: lowered by the adaptive throttle"
                    if window < base else "")
            load = load_of(loads, host)
            cap = throttle.load_cap(base, load, opts.host_load_low,
                                    opts.host_load_high)
            if cap < window:
                window, note = cap, "load %d%%" % round(load * 100)
            return window, note

        return allowance

    def admit(self, ctxt, pools=(), only=None):
        """Start what the limits allow (see db boot_admit).

        With several clouds each has its own budget ([cloud:NAME]
        max_concurrent_builds), and the pools of a cloud that is down
        start nothing (compute/registry.py).
        """
        clouds = self.manager.clouds
        if not clouds.several:
            return db.boot_admit(
                ctxt, self.conf.conductor.max_concurrent_builds,
                throttle.pool_allowance, self._host_allowance(),
                pools=pools, only=only)

        def allowance(pool):
            cloud = cloud_registry.cloud_of(self.conf, pool)
            if not clouds.known(cloud) or clouds.health(cloud).down:
                return 0
            return throttle.pool_allowance(pool)

        def cloud_limit(cloud):
            return clouds.max_builds(cloud) if clouds.known(cloud) else 0

        return db.boot_admit(
            ctxt, self.conf.conductor.max_concurrent_builds, allowance,
            self._host_allowance(), pools=pools, only=only,
            cloud_limit=cloud_limit)

    def start_now(self, ctxt, desktop, pool=None, operator=False):
        """Start a queued restart now if nothing waits before it.

        Returns the desktop after its restart was sent, or None when it
        waits in the queue (the pass of the pool's conductor starts it).
        With ``operator``, errors of the cloud are raised.
        """
        result = self.admit(ctxt, only=[desktop["id"]])
        for started in result["restarts"]:
            return self.issue(ctxt, started, pool, operator=operator)
        LOG.info("Desktop %(id)s waits in the boot queue of pool %(pool)s "
                 "for its %(action)s", {"id": desktop["id"],
                                        "pool": desktop["pool_id"],
                                        "action": desktop["boot_action"]})
        return None

    # -- sending a restart ---------------------------------------------------

    def issue(self, ctxt, desktop, pool=None, operator=False):
        """Send a restart that holds its boot slot; return the desktop.

        A cloud that does not answer gives the slot back (the restart
        stays first in the queue, and is sent again later); a cloud that
        refuses (the server is gone, or in a state that cannot restart)
        ends it: a releasing or assigned desktop goes to error and is
        replaced. ``operator``: raise a refusal as Conflict.
        """
        if pool is None:
            pool = db.pool_get(ctxt, desktop["pool_id"])
        if desktop["state"] == models.RELEASING:
            return self._issue_release(ctxt, desktop, pool, operator)
        return self._issue_in_place(ctxt, desktop, operator)

    def _give_back(self, ctxt, desktop, error):
        LOG.warning("Desktop %(id)s: restart not sent (%(error)s); it "
                    "waits in the boot queue again",
                    {"id": desktop["id"], "error": error})
        db.desktop_transition(ctxt, desktop["id"], [desktop["state"]],
                              {"boot_started_at": None})

    def _issue_release(self, ctxt, desktop, pool, operator):
        action = (desktop.get("state_reason") or "").split(":")[1]
        hard = desktop.get("boot_action") == "reboot-hard"
        try:
            compute = self.manager.compute_of(pool)
            if action == "rebuild":
                compute.rebuild_server(desktop["server_id"], pool["image"])
            else:
                compute.reboot_server(desktop["server_id"], hard=hard)
        except exception.ComputeUnavailable as e:
            self._give_back(ctxt, desktop, e)
            return desktop
        except exception.ComputeError as e:
            # The server is gone or refuses the action: the desktop is
            # replaced (left in releasing, it would fail every pass).
            LOG.warning("Desktop %s: %s failed: %s", desktop["id"], action,
                        e)
            reason = ("server vanished"
                      if isinstance(e, exception.ServerNotFound)
                      else "%s failed: %s" % (action, e.message))
            self.manager.notify_desktop(ctxt, db.desktop_transition(
                ctxt, desktop["id"], [models.RELEASING],
                dict(DONE, state=models.ERROR, state_reason=reason[:1000])))
            if operator:
                raise exception.Conflict(
                    reason="desktop %s: %s" % (desktop["id"], reason))
            return desktop
        values = {"state_reason": "release:%s:issued" % action}
        if action == "rebuild":
            values["image"] = pool["image"]
        return db.desktop_transition(
            ctxt, desktop["id"], [models.RELEASING], values) or desktop

    def _issue_in_place(self, ctxt, desktop, operator):
        action = (desktop.get("boot_action") or "reboot").split(":")[0]
        try:
            image = self.manager.desktop_actions.server_restart(
                ctxt, desktop, "rebuild" if action == "rebuild" else
                "reboot", hard=action == "reboot-hard")
        except exception.ComputeUnavailable as e:
            self._give_back(ctxt, desktop, e)
            return desktop
        except exception.Conflict:
            # server_restart marked it error (or, quarantined, left it).
            db.desktop_transition(
                ctxt, desktop["id"], [models.QUARANTINED, models.ERROR],
                DONE)
            if operator:
                raise
            return desktop
        values = {"boot_action": action + ":issued"}
        if image:
            values["image"] = image
        return db.desktop_transition(
            ctxt, desktop["id"], [desktop["state"]], values) or desktop

    # -- restarts in place ---------------------------------------------------

    def track(self, ctxt, pool, desktop, servers, now):
        """Follow the restart of an assigned or quarantined desktop.

        Queued: nothing (the admission starts it). Started but not sent
        for ``[conductor] boot_request_grace`` seconds (its conductor
        stopped): sent again. Sent: done once its server is ACTIVE again
        after it was seen restarting, or ``[pool_manager]
        release_settle_time`` seconds after it was sent if never seen;
        also done when the server is gone, in ERROR or SHUTOFF, or after
        ``[conductor] build_timeout``.
        """
        started = desktop["boot_started_at"]
        if started is None:
            return
        action = desktop["boot_action"] or "reboot"
        waited = seconds_since(started, now)
        if ":" not in action:
            if waited > self.conf.conductor.boot_request_grace:
                self.issue(ctxt, desktop, pool)
            return
        name, phase = action.split(":", 1)
        try:
            server = servers.get(desktop["server_id"])
        except exception.ServerNotFound:
            server = None
        done = server is None or waited > self.conf.conductor.build_timeout
        if server is not None and server.status in RESTARTING:
            if phase == "issued":
                db.desktop_transition(ctxt, desktop["id"],
                                      [desktop["state"]],
                                      {"boot_action": name + ":seen"})
            return
        if server is not None and server.status == compute_base.ACTIVE:
            since = desktop["updated_at"] or started
            done = done or phase == "seen" or seconds_since(
                since, now) >= self.conf.pool_manager.release_settle_time
        elif server is not None:
            done = True     # ERROR, SHUTOFF: the health check's business
        if done:
            db.desktop_transition(ctxt, desktop["id"], [desktop["state"]],
                                  DONE)

    # -- the adaptive throttle -----------------------------------------------

    def adapt(self, ctxt, finished, now):
        """Feed finished boots to the throttle of their pools and hosts.

        ``finished``: [(pool_id, host, throttle.Boot)].
        """
        if not finished:
            return
        target = self.conf.conductor.boot_duration_target
        by_pool = collections.defaultdict(list)
        by_host = collections.defaultdict(list)
        for pool_id, host, boot in finished:
            by_pool[pool_id].append(boot)
            if host:
                by_host[host].append(boot)

        def pool_change(boots):
            def change(row):
                limit = max(1, row["max_concurrent_builds"])
                window, cut, slow = throttle.after_boots(
                    throttle.pool_allowance(row), limit, boots, target,
                    row["build_throttled_at"], now)
                if slow:
                    LOG.warning(
                        "Pool %(pool)s: a boot took %(seconds).1f s "
                        "([conductor] boot_duration_target %(target).1f s); "
                        "%(window)d concurrent boot(s) allowed now",
                        {"pool": row["name"], "target": target,
                         "seconds": max(b.seconds for b in slow),
                         "window": window})
                return _changes(row, "build_allowance", "build_throttled_at",
                                window, limit, cut, boots)
            return change

        base = self.host_base()

        def host_change(host, boots):
            def change(row):
                row = row or {"allowance": None, "throttled_at": None,
                              "boot_seconds": None}
                window, cut, slow = throttle.after_boots(
                    throttle.current(row["allowance"], base), base, boots,
                    target, row["throttled_at"], now)
                if slow:
                    LOG.warning("Host %(host)s: slow boots; %(window)d "
                                "concurrent boot(s) allowed there now",
                                {"host": host, "window": window})
                return _changes(row, "allowance", "throttled_at", window,
                                base, cut, boots)
            return change

        db.boot_feedback(
            ctxt, pools={p: pool_change(b) for p, b in by_pool.items()},
            hosts={h: host_change(h, b) for h, b in by_host.items()})


def _changes(row, allowance_key, cut_key, window, limit, cut, boots):
    """The values to write: allowance (None at the limit), cut, average."""
    average = row["boot_seconds"]
    for boot in boots:
        average = throttle.average(average, boot.seconds)
    values = {"boot_seconds": average}
    stored = None if window >= limit else window
    if stored != row[allowance_key]:
        values[allowance_key] = stored
    if cut != row[cut_key]:
        values[cut_key] = cut
    return values
