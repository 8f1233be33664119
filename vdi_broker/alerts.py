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

"""The broker's own alerts: anomalies seen in what it already knows (R15).

A conductor's periodic task (``[alerts] interval``) reads the agents
against the shift plan, the recent history, the pools, the login events,
its own Nova calls and the thin clients, and turns them into conditions:
each a kind, a subject (the department and site, the pool, the site...),
whether it holds, and the numbers that say so. Then, for every kind and
subject:

* a condition that starts to hold opens an alert, ``pending`` when the
  kind needs it to hold for a while (``..._for`` options), else
  ``firing`` at once;
* a pending alert whose condition held long enough fires;
* an alert whose condition no longer holds clears by itself: a firing
  one is ``resolved`` (start and end kept, with the numbers that raised
  it), a pending one is forgotten;
* a condition that cannot be known this time (no Nova call since the
  last evaluation) leaves its alert as it is.

Firing and resolving are written as events (kind ``alert``) and sent as
notifications (alert.firing, alert.resolved). Acknowledging is an
operator's action (``POST /v1/alerts/{id}/acknowledge``): it changes
nothing but the acknowledgement. Every change is a compare-and-swap on
the alert's state: conductors evaluating at once change an alert once.

Kinds (thresholds in ``[alerts]``): agents_below_plan,
agents_above_plan, agents_dropped, login_failures, directory_errors,
directory_slow, pool_short_of_ready, boots_failing, boots_slow,
nova_errors, nova_slow, desktops_in_error, thin_clients_offline,
thin_clients_faulty.
"""

import collections
import datetime
import math
import threading

from oslo_log import log as logging
from oslo_utils import timeutils

from vdi_broker.conductor import schedules as schedule_rules
from vdi_broker.db import api as db
from vdi_broker import metrics
from vdi_broker.monitoring import agents
from vdi_broker import states

LOG = logging.getLogger(__name__)

CRITICAL = "critical"
WARNING = "warning"

Condition = collections.namedtuple(
    "Condition", "kind subject holds hold_for severity department site pool "
                 "values message")


def _condition(kind, subject, holds, values, message, hold_for=0,
               severity=WARNING, department=None, site=None, pool=None):
    return Condition(kind, subject, holds, hold_for, severity, department,
                     site, pool, values, message)


def counts(ctxt):
    """{(kind, state): alerts}: the Prometheus gauge vdi_alerts."""
    return db.alert_counts(ctxt)


# -- conditions (pure) -------------------------------------------------------

def agent_conditions(opts, totals, max_active):
    """Conditions of the department and site totals.

    ``totals``: monitoring.agents.count's totals; ``max_active``:
    {(department, site): highest active of the drop window}.
    """
    found = []
    for row in totals:
        team = (row["department"], row["site"])
        subject = "%s@%s" % team
        labels = {"department": row["department"] or None,
                  "site": row["site"] or None}
        active, expected = row["active"], row["expected"]
        if expected is not None:
            floor = expected * (1 - opts.below_plan_share)
            values = {"active": active, "expected": expected,
                      "idle": row["idle"], "offline": row["offline"],
                      "threshold": round(floor, 2)}
            found.append(_condition(
                "agents_below_plan", subject,
                expected >= opts.below_plan_min_expected and active < floor,
                values, "%d agents of %s at %s are active, %d planned "
                "(below %d%% of the plan)" % (
                    active, team[0] or "-", team[1] or "-", expected,
                    round((1 - opts.below_plan_share) * 100)),
                hold_for=opts.below_plan_for, **labels))
            ceiling = expected * (1 + opts.above_plan_share)
            found.append(_condition(
                "agents_above_plan", subject,
                active > ceiling and active - expected >= opts.above_plan_min,
                dict(values, threshold=round(ceiling, 2)),
                "%d agents of %s at %s are active, only %d planned "
                "(agents outside their shift?)" % (
                    active, team[0] or "-", team[1] or "-", expected),
                hold_for=opts.above_plan_for, **labels))
        high = max_active.get(team)
        if high is not None:
            floor = high * (1 - opts.drop_share)
            found.append(_condition(
                "agents_dropped", subject,
                high >= opts.drop_min_active and active < floor,
                {"active": active, "high": high,
                 "minutes": opts.drop_minutes},
                "active agents of %s at %s dropped from %d to %d within "
                "%d minutes" % (team[0] or "-", team[1] or "-", high, active,
                                opts.drop_minutes),
                severity=CRITICAL, **labels))
    return found


def _targets(pools, schedules, now):
    usable = []
    for schedule in schedules:
        try:
            schedule_rules.window_bounds(schedule, now)
        except (ValueError, LookupError):
            continue
        usable.append(schedule)
    return {pool["id"]: schedule_rules.effective_min_ready(
        pool, usable, now)[0] for pool in pools}


def pool_conditions(opts, snapshot, now):
    """Conditions of the pools (db.metrics_snapshot's figures)."""
    found = []
    targets = _targets(snapshot["pools"], snapshot["schedules"], now)
    for pool in snapshot["pools"]:
        name = pool["name"]
        labels = {"pool": name, "site": pool["site"]}
        desktops = snapshot["desktops"].get(pool["id"], {})
        ready, target = desktops.get(states.READY, 0), targets[pool["id"]]
        found.append(_condition(
            "pool_short_of_ready", name,
            bool(pool["enabled"]) and ready < target,
            {"ready": ready, "target": target,
             "building": desktops.get(states.BUILDING, 0)},
            "pool %s has %d ready desktops of %d" % (name, ready, target),
            hold_for=opts.pool_short_for, **labels))
        failures = pool["build_failures"] or 0
        found.append(_condition(
            "boots_failing", name, failures >= opts.boot_failures,
            {"failures": failures},
            "%d boots of pool %s failed in a row" % (failures, name),
            severity=CRITICAL, **labels))
        seconds = pool["boot_seconds"]
        found.append(_condition(
            "boots_slow", name,
            seconds is not None and seconds > opts.boot_slow_seconds,
            {"boot_seconds": seconds, "threshold": opts.boot_slow_seconds},
            "desktops of pool %s take %ss to boot" % (
                name, round(seconds or 0)), **labels))
        errors = desktops.get(states.ERROR, 0)
        found.append(_condition(
            "desktops_in_error", name, errors >= opts.desktops_in_error,
            {"error": errors}, "%d desktops of pool %s are in ERROR" % (
                errors, name), **labels))
    return found


def thin_client_conditions(opts, rows):
    """Conditions per site of [(site, status, count)]."""
    sites = collections.defaultdict(collections.Counter)
    for site, status, number in rows:
        sites[site or ""][status or "unknown"] += number
    found = []
    for site, by_status in sorted(sites.items()):
        total = sum(by_status.values())
        offline = by_status.get("offline", 0)
        found.append(_condition(
            "thin_clients_offline", site or "-",
            offline >= opts.thin_clients_offline_min and
            offline >= total * opts.thin_clients_offline_share,
            {"offline": offline, "total": total},
            "%d of %d thin clients at %s are offline" % (
                offline, total, site or "(no site)"),
            severity=CRITICAL, site=site or None))
        faulty = by_status.get("faulty", 0)
        found.append(_condition(
            "thin_clients_faulty", site or "-",
            faulty >= opts.thin_clients_faulty,
            {"faulty": faulty, "total": total},
            "%d thin clients at %s are faulty" % (faulty,
                                                  site or "(no site)"),
            site=site or None))
    return found


def login_conditions(opts, logins):
    """Conditions of the login window (db.login_results)."""
    total = logins["success"] + logins["failure"]
    failed = logins["failure"]
    directory = logins["reasons"].get("directory_unavailable", 0)
    found = [_condition(
        "login_failures", "logins",
        failed >= opts.login_failure_min and
        failed >= total * opts.login_failure_rate,
        {"failed": failed, "total": total,
         "window_seconds": opts.login_window},
        "%d of %d logins failed in %d minutes" % (
            failed, total, opts.login_window // 60))]
    found.append(_condition(
        "directory_errors", "directory",
        directory >= opts.call_error_min and
        directory >= total * opts.call_error_rate,
        {"unavailable": directory, "logins": total,
         "window_seconds": opts.login_window},
        "the directory did not answer %d of %d logins" % (directory,
                                                          total),
        severity=CRITICAL))
    found.append(directory_slow(opts, logins["directory_ms"]))
    return found


def directory_slow(opts, directory_ms):
    """The directory's time in the logins of the window.

    ``directory_ms``: what the LDAP operations of each successful login
    took (the observations of vdi_ldap_request_duration_seconds, kept in
    the login's event). Holds when their 95th percentile is above
    ``directory_slow_seconds``; unknown (the alert stays as it is) with
    fewer than ``directory_slow_min`` such logins.
    """
    if len(directory_ms) < opts.directory_slow_min:
        return _condition("directory_slow", "directory", None, {}, "")
    ordered = sorted(directory_ms)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] / 1000.0
    return _condition(
        "directory_slow", "directory", p95 > opts.directory_slow_seconds,
        {"p95_seconds": round(p95, 3), "logins": len(ordered),
         "threshold": opts.directory_slow_seconds,
         "window_seconds": opts.login_window},
        "95%% of %d logins spent up to %.1fs in the directory" % (
            len(ordered), p95),
        hold_for=opts.directory_slow_for)


def nova_conditions(opts, calls):
    """Conditions of this conductor's Nova calls since the last time.

    ``calls``: {"calls", "errors", "seconds"}; with no call, unknown
    (holds None: the alerts stay as they are).
    """
    if not calls["calls"]:
        return [_condition("nova_errors", "nova", None, {}, ""),
                _condition("nova_slow", "nova", None, {}, "")]
    rate = calls["errors"] / calls["calls"]
    average = calls["seconds"] / calls["calls"]
    return [
        _condition("nova_errors", "nova",
                   calls["errors"] >= opts.call_error_min and
                   rate >= opts.call_error_rate,
                   {"errors": calls["errors"], "calls": calls["calls"]},
                   "%d of %d Nova calls failed" % (calls["errors"],
                                                   calls["calls"]),
                   severity=CRITICAL),
        _condition("nova_slow", "nova", average > opts.call_slow_seconds,
                   {"average_seconds": round(average, 3),
                    "calls": calls["calls"]},
                   "Nova calls take %.1fs on average" % average)]


# -- transitions (pure) ------------------------------------------------------

def transitions(conditions, open_alerts, now):
    """What to do: [(action, condition or None, open alert or None)].

    Actions: "open" (a new alert, pending or firing), "fire",
    "refresh" (new numbers of a firing alert), "resolve", "drop" (a
    pending alert that cleared).
    """
    by_key = {(a["kind"], a["subject"]): a for a in open_alerts}
    seen = set()
    actions = []
    for cond in conditions:
        key = (cond.kind, cond.subject)
        seen.add(key)
        alert = by_key.get(key)
        if cond.holds is None:
            continue
        if cond.holds:
            if alert is None:
                actions.append(("open", cond, None))
            elif alert["state"] == states.ALERT_PENDING:
                held = (now - alert["started_at"]).total_seconds()
                if held >= cond.hold_for:
                    actions.append(("fire", cond, alert))
            elif alert["values"] != cond.values:
                actions.append(("refresh", cond, alert))
        elif alert is not None:
            actions.append(("drop" if alert["state"] == states.ALERT_PENDING
                            else "resolve", cond, alert))
    for key, alert in by_key.items():
        if key not in seen:
            # Its subject is gone (a pool deleted, a team without
            # agents or plan): nothing holds any more.
            actions.append(("drop" if alert["state"] == states.ALERT_PENDING
                            else "resolve", None, alert))
    return actions


# -- the evaluator -----------------------------------------------------------

class NovaCalls:
    """This process's Nova calls since the last reading.

    From the histogram vdi_nova_request_duration_seconds.
    """

    def __init__(self, histogram=None):
        self._histogram = histogram or metrics.NOVA_DURATION
        self._last = None

    def _totals(self):
        calls = errors = seconds = 0.0
        for family in self._histogram.collect():
            for sample in family.samples:
                result = sample.labels.get("result")
                if sample.name.endswith("_count"):
                    calls += sample.value
                    if result not in ("ok", "not_found"):
                        errors += sample.value
                elif sample.name.endswith("_sum"):
                    seconds += sample.value
        return calls, errors, seconds

    def since_last(self):
        now = self._totals()
        last, self._last = self._last, now
        if last is None:
            last = (0, 0, 0)
        calls, errors, seconds = (max(0, a - b) for a, b in zip(now, last))
        return {"calls": int(calls), "errors": int(errors),
                "seconds": seconds}


def _payload(alert, state=None):
    return {"id": alert["id"], "kind": alert["kind"],
            "state": state or alert["state"], "severity": alert["severity"],
            "department": alert["department"], "site": alert["site"],
            "pool": alert["pool"], "started_at": alert["fired_at"] or
            alert["started_at"], "ended_at": alert["ended_at"],
            "acknowledged_by": alert["acknowledged_by"],
            "values": alert["values"], "message": alert["message"]}


class Evaluator:
    """One conductor's alert evaluation.

    Its Nova call counts between two evaluations are its own.
    """

    def __init__(self, conf, notifier=None, nova_calls=None):
        self.conf = conf
        self.notifier = notifier
        self.nova_calls = nova_calls or NovaCalls()
        self._lock = threading.Lock()

    def conditions(self, ctxt, now):
        opts = self.conf.alerts
        totals, _pools = agents.snapshot(ctxt, self.conf, now)
        max_active = db.agent_counts_max_active(
            ctxt, now - datetime.timedelta(minutes=opts.drop_minutes))
        snapshot = db.metrics_snapshot(ctxt)
        logins = db.login_results(
            ctxt, now - datetime.timedelta(seconds=opts.login_window))
        return (agent_conditions(opts, totals, max_active) +
                pool_conditions(opts, snapshot, now) +
                thin_client_conditions(opts, snapshot["thin_clients"]) +
                login_conditions(opts, logins) +
                nova_conditions(opts, self.nova_calls.since_last()))

    def evaluate(self, ctxt, now=None):
        """One evaluation.

        Returns the alerts that changed, as [(action, alert)].
        """
        with self._lock:
            now = now or timeutils.utcnow()
            found = self.conditions(ctxt, now)
            changed = []
            for action, cond, alert in transitions(
                    found, db.alert_open_list(ctxt), now):
                result = self._apply(ctxt, action, cond, alert, now)
                if result is not None:
                    changed.append((action, result))
            db.alerts_purge(ctxt, now - datetime.timedelta(
                days=self.conf.alerts.resolved_days))
            return changed

    def _apply(self, ctxt, action, cond, alert, now):
        numbers = {}
        if cond is not None:
            numbers = {"values": cond.values, "message": cond.message,
                       "updated_at": now}
        if action == "open":
            state = (states.ALERT_FIRING if cond.hold_for <= 0
                     else states.ALERT_PENDING)
            result = db.alert_open(ctxt, {
                "kind": cond.kind, "subject": cond.subject, "state": state,
                "severity": cond.severity, "department": cond.department,
                "site": cond.site, "pool": cond.pool,
                "values": cond.values, "message": cond.message,
                "started_at": now})
        elif action == "drop":
            return alert if db.alert_drop_pending(ctxt, alert["id"]) \
                else None
        elif action == "refresh":
            return db.alert_update(ctxt, alert["id"], alert["state"],
                                   numbers)
        elif action == "fire":
            result = db.alert_update(ctxt, alert["id"],
                                     states.ALERT_PENDING,
                                     dict(numbers,
                                          state=states.ALERT_FIRING))
        else:
            # Resolved: the numbers that raised it stay.
            result = db.alert_update(ctxt, alert["id"], alert["state"],
                                     {"state": states.ALERT_RESOLVED,
                                      "updated_at": now})
        if result is not None and result["state"] != states.ALERT_PENDING:
            log = LOG.warning if result["state"] == states.ALERT_FIRING \
                else LOG.info
            log("Alert %(kind)s %(subject)s %(state)s: %(message)s",
                result)
            if self.notifier is not None:
                try:
                    self.notifier.alert(ctxt, _payload(result))
                except Exception:
                    LOG.exception("Alert %s: the notification failed",
                                  result["id"])
        return result
