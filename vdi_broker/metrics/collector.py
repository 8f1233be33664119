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

"""Gauges read from the database at scrape time.

:class:`DatabaseCollector` is registered in the registry of each
``GET /metrics`` answer (never in the process-wide one), so that in
multiprocess mode the figures come from the one worker that answers the
scrape, not once per worker. What it read is reused for ``[api]
metrics_cache_time`` seconds: several Prometheus servers scraping every
15 seconds cost one set of queries each period.

Families:

* pools (one read transaction, :func:`vdi_broker.db.sqlalchemy.metrics.
  metrics_snapshot`): desktops by state, the effective ready target
  (``min_ready`` raised by open schedules), size, status, boot failures
  in a row, recent boot time, the throttle's allowance and the boot
  queue (the figures of the pool's ``boots`` block);
* active sessions by pool; thin clients by site and state;
* open image roll-outs: their progress and state by pool;
* agents active, idle and expected by department and site, and alerts
  by kind and state: from the business-monitoring modules
  (``vdi_broker.monitoring.current_counts(ctxt)`` and
  ``vdi_broker.alerts.counts(ctxt)``) when they are installed; without
  them those families are left out.

Each source reports ``vdi_scrape_collector_success{collector}`` (0 when
it failed: the database is down, say) and its duration; a failed source
leaves its families out of the answer rather than failing the scrape.
"""

import collections.abc
import importlib
import threading
import time

from oslo_log import log as logging
from oslo_utils import timeutils
from prometheus_client import core

from vdi_broker.api.handlers import pools as pool_views
from vdi_broker.conductor import schedules as schedule_rules
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker import states

LOG = logging.getLogger(__name__)

THIN_CLIENT_STATES = ("online", "offline", "faulty", "unknown")

# The business-monitoring functions (issue 16: departments, shift plans,
# alerts), called when their modules exist.
MONITORING = ("vdi_broker.monitoring", "current_counts")
ALERTS = ("vdi_broker.alerts", "counts")
AGENT_FIGURES = (("active", "vdi_agents_active",
                  "Agents whose thin client reported input within the "
                  "active interval, in a logged-in session."),
                 ("idle", "vdi_agents_idle",
                  "Agents logged in without recent input."),
                 ("expected", "vdi_agents_expected",
                  "Agents the shift plan expects in the current slot."))


def optional_function(module_name, name):
    """``module_name.name``, or None when the module is not installed."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or
                       module_name.startswith(e.name + ".")):
            return None
        raise
    return getattr(module, name, None)


def _gauge(name, documentation, labels):
    return core.GaugeMetricFamily(name, documentation, labels=labels)


class DatabaseCollector:
    """A prometheus-client collector of the database's figures."""

    def __init__(self, conf, clock=time.monotonic, now=timeutils.utcnow):
        self.conf = conf
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        self._cached = None
        self._expires = None

    def collect(self):
        with self._lock:
            now = self._clock()
            if self._cached is None or now >= self._expires:
                self._cached = self._read()
                self._expires = self._clock() + \
                    self.conf.api.metrics_cache_time
            families = self._cached
        return iter(families)

    # -- reading -------------------------------------------------------------

    def _read(self):
        ctxt = vdi_context.get_admin_context()
        families = []
        success = _gauge("vdi_scrape_collector_success",
                         "1 when the source of these gauges answered the "
                         "scrape, 0 when it failed (its families are left "
                         "out).", ["collector"])
        duration = _gauge("vdi_scrape_collector_duration_seconds",
                          "Seconds a source of these gauges took.",
                          ["collector"])
        sources = [("database", self._database)]
        for collector, (module, name), method in (
                ("agents", MONITORING, self._agents),
                ("alerts", ALERTS, self._alerts)):
            function = optional_function(module, name)
            if function is not None:
                sources.append(
                    (collector, lambda c, f=function, m=method: m(c, f)))
        for collector, read in sources:
            started = time.perf_counter()
            try:
                found = read(ctxt)
            except Exception as e:
                # Every scrape would repeat a traceback: the error only.
                LOG.warning("Prometheus scrape: the %(collector)s figures "
                            "could not be read: %(error)s",
                            {"collector": collector,
                             "error": "%s: %s" % (type(e).__name__,
                                                  str(e)[:300])})
                ok = 0
            else:
                families.extend(found)
                ok = 1
            success.add_metric([collector], ok)
            duration.add_metric([collector], time.perf_counter() - started)
        families.extend((success, duration))
        return families

    def _database(self, ctxt):
        snapshot = db.metrics_snapshot(ctxt)
        return self._pool_families(snapshot) + \
            [self._thin_clients(snapshot["thin_clients"])] + \
            self._rollouts(snapshot["pools"], snapshot.get("rollouts", ()))

    @staticmethod
    def _rollouts(pools, rollouts):
        """The open image roll-outs' progress and state, by pool."""
        names = {p["id"]: (p["name"], p["site"] or "") for p in pools}
        labels = ["pool", "site", "image"]
        progress = _gauge("vdi_rollout_desktops",
                          "Desktops of a pool with an open image roll-out:"
                          " on another image (old, old_in_use), on the "
                          "target (new), and the roll-out's rebuilds "
                          "(in_progress, done, failed).",
                          labels + ["count"])
        state = _gauge("vdi_rollout_state",
                       "1 for an open roll-out's state (running, paused, "
                       "rolling_back), 0 for the others.",
                       labels + ["state"])
        for rollout in rollouts:
            if rollout["pool_id"] not in names:
                continue
            values = list(names[rollout["pool_id"]]) + [rollout["image"]]
            for key in ("old", "old_in_use", "new", "in_progress", "done",
                        "failed"):
                progress.add_metric(values + [key],
                                    rollout["progress"][key])
            for name in states.ROLLOUT_OPEN:
                state.add_metric(values + [name],
                                 1 if name == rollout["state"] else 0)
        return [progress, state]

    def _targets(self, pools, schedules):
        """{pool_id: effective min_ready} (as the pool manager has it)."""
        now = self._now()
        usable = []
        for schedule in schedules:
            try:
                schedule_rules.window_bounds(schedule, now)
            except (ValueError, LookupError):
                # The pool manager ignores (and logs) it too.
                continue
            usable.append(schedule)
        return {pool["id"]: schedule_rules.effective_min_ready(
            pool, usable, now)[0] for pool in pools}

    def _pool_families(self, snapshot):
        labels = ["pool", "site"]
        desktops = _gauge("vdi_pool_desktops",
                          "Desktops of the pool by state.",
                          labels + ["state"])
        target = _gauge("vdi_pool_target_ready",
                        "Ready desktops the pool keeps now: min_ready, "
                        "raised by an open schedule, at most max_size.",
                        labels)
        max_size = _gauge("vdi_pool_max_size",
                          "Desktops the pool may have at most.", labels)
        enabled = _gauge("vdi_pool_enabled",
                         "1 when the pool is enabled (logins may take its "
                         "desktops).", labels)
        status = _gauge("vdi_pool_status",
                        "1 for the pool's status (active, degraded, "
                        "no_capacity), 0 for the others.",
                        labels + ["status"])
        failures = _gauge("vdi_pool_build_failures",
                          "Boots of the pool that failed in a row (0 "
                          "after a success).", labels)
        boot_seconds = _gauge("vdi_pool_boot_seconds",
                              "Recent boot time of the pool's desktops "
                              "(moving average, request to ready).",
                              labels)
        allowance = _gauge("vdi_pool_boot_allowance",
                           "Concurrent boots the adaptive throttle allows "
                           "the pool now.", labels)
        limit = _gauge("vdi_pool_boot_limit",
                       "The pool's max_concurrent_builds.", labels)
        in_flight = _gauge("vdi_pool_boots_in_flight",
                           "Boots and restarts of the pool under way.",
                           labels)
        queued = _gauge("vdi_pool_boots_queued",
                        "Boots and restarts of the pool waiting for a "
                        "slot.", labels)
        sessions = _gauge("vdi_sessions_active",
                          "Active thin-client sessions on the pool's "
                          "desktops.", labels)
        pools = snapshot["pools"]
        targets = self._targets(pools, snapshot["schedules"])
        for pool in pools:
            values = [pool["name"], pool["site"] or ""]
            counts = snapshot["desktops"].get(pool["id"], {})
            for state in states.DESKTOP_STATES:
                desktops.add_metric(values + [state], counts.get(state, 0))
            target.add_metric(values, targets[pool["id"]])
            max_size.add_metric(values, pool["max_size"])
            enabled.add_metric(values, 1 if pool["enabled"] else 0)
            statuses = states.POOL_STATUSES
            if pool["status"] not in statuses:
                statuses = statuses + (pool["status"],)
            for name in statuses:
                status.add_metric(values + [name],
                                  1 if name == pool["status"] else 0)
            failures.add_metric(values, pool["build_failures"] or 0)
            if pool["boot_seconds"] is not None:
                boot_seconds.add_metric(values, pool["boot_seconds"])
            boots = pool_views.boots_view(
                pool, snapshot["boots"].get(pool["id"]))
            allowance.add_metric(values, boots["allowance"])
            limit.add_metric(values, boots["limit"])
            in_flight.add_metric(values, boots["in_flight"])
            queued.add_metric(values, boots["queued"])
            sessions.add_metric(values,
                                snapshot["sessions"].get(pool["id"], 0))
        return [desktops, target, max_size, enabled, status, failures,
                boot_seconds, allowance, limit, in_flight, queued,
                sessions]

    @staticmethod
    def _thin_clients(rows):
        family = _gauge("vdi_thin_clients",
                        "Thin clients by site (their own, else their "
                        "seat's) and state.", ["site", "state"])
        counts = collections.Counter()
        sites = set()
        for site, state, count in rows:
            site = site or ""
            sites.add(site)
            counts[(site, state or "unknown")] += count
        # Every known state of every site, zeros included, so that
        # ratios (offline / all) exist for each site.
        for site in sorted(sites):
            for state in THIN_CLIENT_STATES:
                counts.setdefault((site, state), 0)
        for (site, state), count in sorted(counts.items()):
            family.add_metric([site, state], count)
        return family

    # -- business monitoring (optional modules) ----------------------------

    @staticmethod
    def _agents(ctxt, current_counts):
        """vdi_agents_{active,idle,expected}{department,site}.

        ``current_counts(ctxt)`` returns mappings with ``department``,
        ``site`` and any of ``active``, ``idle``, ``expected``.
        """
        families = {key: _gauge(name, doc, ["department", "site"])
                    for key, name, doc in AGENT_FIGURES}
        for row in current_counts(ctxt) or ():
            values = [row.get("department") or "", row.get("site") or ""]
            for key, family in families.items():
                if row.get(key) is not None:
                    family.add_metric(values, row[key])
        return [families[key] for key, _name, _doc in AGENT_FIGURES]

    @staticmethod
    def _alerts(ctxt, counts):
        """vdi_alerts{kind,state}.

        ``counts(ctxt)`` returns mappings with ``kind``, ``state`` and
        ``count``, or one mapping {(kind, state): count}.
        """
        family = _gauge("vdi_alerts", "Alerts of the broker's business "
                        "monitoring by kind and state.", ["kind", "state"])
        found = counts(ctxt) or ()
        if isinstance(found, collections.abc.Mapping):
            found = [{"kind": kind, "state": state, "count": count}
                     for (kind, state), count in found.items()]
        for row in found:
            family.add_metric([row["kind"], row["state"]], row["count"])
        return [family]
