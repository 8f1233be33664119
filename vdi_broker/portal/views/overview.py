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

"""The overview: every pool at a glance, logins of the last hour.

The page refreshes its figures by itself: static/portal.js polls
``/overview.json`` (the same figures) every ``[portal]
refresh_interval`` seconds.
"""

import datetime

from oslo_utils import timeutils
import webob

from vdi_broker.portal import api
from vdi_broker.portal import web

N_ = web.N_
# Events read for the login figures, at most (a very busy hour shows
# "at least").
EVENT_CAP = 5000
LIST_CAP = 10000
# Firing alerts listed on the overview (the count is of them all).
ALERTS_SHOWN = 5


def shortfall(pool):
    """Why a pool has fewer ready desktops than its target.

    A list of (code, values) from what the API shows of the pool: its
    status (degraded after failed boots, no_capacity when the cloud
    cannot fit it), the build throttle's failures, the boot queue (its
    allowance, lowered by the adaptive throttle, and why boots wait) and
    the pool's own limits. Empty when the pool is not short.
    """
    desktops = pool["desktops"]
    reasons = []
    if not pool["enabled"]:
        return [("disabled", {})]
    target = min(pool["min_ready"], pool["max_size"])
    ready = desktops.get("ready", 0)
    building = desktops.get("building", 0)
    if ready >= target:
        return []
    boots = pool.get("boots") or {}
    if pool["status"] == "no_capacity":
        reasons.append(("capacity", {"reason": pool["status_reason"]}))
    if pool["status"] == "degraded":
        reasons.append(("degraded", {"reason": pool["status_reason"]}))
    elif (pool.get("build") or {}).get("failures"):
        reasons.append(("failures", {
            "count": pool["build"]["failures"],
            "error": pool["build"].get("last_error") or "-"}))
    live = desktops.get("total", 0) - desktops.get("deleting", 0) - \
        desktops.get("error", 0) - desktops.get("quarantined", 0)
    if live >= pool["max_size"] and not building:
        reasons.append(("max_size", {"max_size": pool["max_size"]}))
    in_flight = max(building, boots.get("in_flight") or 0)
    allowance = boots.get("allowance") or pool["max_concurrent_builds"]
    if in_flight:
        if in_flight >= allowance:
            code = ("throttle" if allowance >= pool["max_concurrent_builds"]
                    else "throttle_lowered")
            reasons.append((code, {
                "building": in_flight, "limit": allowance,
                "max": pool["max_concurrent_builds"]}))
        else:
            reasons.append(("booting", {"building": in_flight}))
    if boots.get("queued") and boots.get("waiting_reason"):
        reasons.append(("queued", {"queued": boots["queued"],
                                   "reason": boots["waiting_reason"]}))
    if not reasons:
        reasons.append(("waiting", {}))
    return reasons


REASON_TEXT = {
    "disabled": N_("disabled"),
    "capacity": N_("no capacity in the cloud: %(reason)s"),
    "degraded": N_("boots failing (Nova errors): %(reason)s"),
    "failures": N_("%(count)s boot(s) failed in a row, last: %(error)s"),
    "max_size": N_("at its max_size (%(max_size)s)"),
    "throttle": N_("booting %(building)s, throttled at %(limit)s "
                   "concurrent builds"),
    "throttle_lowered": N_("booting %(building)s, throttled at %(limit)s "
                           "concurrent builds (of %(max)s: lowered by the "
                           "adaptive throttle)"),
    "booting": N_("booting %(building)s"),
    "queued": N_("%(queued)s boot(s) waiting in the boot queue: "
                 "%(reason)s"),
    "waiting": N_("waiting for the pool manager"),
}


def reason_texts(req, pool):
    return [req.gettext(REASON_TEXT[code], **values)
            for code, values in shortfall(pool)]


def pool_row(req, pool):
    desktops = pool["desktops"]
    return {
        "id": pool["id"], "name": pool["name"], "site": pool["site"],
        "enabled": pool["enabled"], "status": pool["status"],
        "ready": desktops.get("ready", 0),
        "target": min(pool["min_ready"], pool["max_size"])
        if pool["enabled"] else 0,
        "building": desktops.get("building", 0),
        "failed": desktops.get("error", 0) + desktops.get("quarantined", 0),
        "assigned": desktops.get("assigned", 0),
        "total": desktops.get("total", 0),
        "short": bool(shortfall(pool)) and pool["enabled"],
        "boots": pool.get("boots") or {},
        "reasons": reason_texts(req, pool),
    }


def _unless_refused(read):
    """``read()``, or None when the API refuses it to this persona.

    The events, alerts and agents have no site: a site-scoped persona
    (its lists limited to its sites) gets a 403 for them, and its overview
    shows what it may read instead of the API's 403 page.
    """
    try:
        return read()
    except api.ApiError as e:
        if e.status in (403, 404):
            return None
        raise


def login_figures(client, now):
    """The last hour's logins; None when the API refuses the events."""
    since = (now - datetime.timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    read = _unless_refused(lambda: client.all(
        "/events", "events", {"action": "login", "since": since},
        cap=EVENT_CAP))
    if read is None:
        return None
    events, truncated = read
    succeeded = failed = 0
    reasons = {}
    for event in events:
        if event["result"] == "success":
            succeeded += 1
            continue
        count = (event.get("detail") or {}).get("count") or 1
        failed += count
        reason = (event.get("detail") or {}).get("reason") or \
            (event.get("message") or "other")[:60]
        reasons[reason] = reasons.get(reason, 0) + count
    top = sorted(reasons.items(), key=lambda kv: -kv[1])[:5]
    return {"succeeded": succeeded, "failed": failed,
            "per_minute": round(succeeded / 60.0, 1),
            "failure_reasons": [{"reason": r, "count": n} for r, n in top],
            "truncated": truncated, "since": since}


def firing_alerts(client):
    """The firing alerts: their count and the newest few (None: refused)."""
    read = _unless_refused(lambda: client.all(
        "/alerts", "alerts", {"state": "firing", "sort_key": "started_at",
                              "sort_dir": "desc"}, cap=LIST_CAP))
    if read is None:
        return None
    alerts, truncated = read
    return {"firing": len(alerts), "more": truncated,
            "items": [{"id": a["id"], "kind": a["kind"],
                       "subject": a["subject"],
                       "started_at": a.get("fired_at") or a["started_at"],
                       "acknowledged_by": a.get("acknowledged_by")}
                      for a in alerts[:ALERTS_SHOWN]]}


# The agents chart: an inline SVG (no script), its plot area in user units.
CHART_WIDTH = 600
CHART_HEIGHT = 160
CHART_MINUTES = 60
HISTORY_LIMIT = 100000


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def team_rows(teams):
    """The department and site rows of GET /v1/agents, for the table.

    ``scale`` is the bar's maximum: the plan, or the agents active when
    there are more of them (or no plan).
    """
    rows = []
    for team in teams:
        expected = team.get("expected")
        active = team.get("active", 0)
        rows.append({
            "key": "%s@%s" % (team["department"], team["site"]),
            "department": team["department"], "site": team["site"],
            "active": active, "idle": team.get("idle", 0),
            "offline": team.get("offline", 0), "expected": expected,
            "scale": max(expected or 0, active, 1),
            "below": expected is not None and active < expected,
        })
    return rows


def _scale(value, top):
    return round(CHART_HEIGHT - CHART_HEIGHT * value / float(top), 1)


def history_chart(history, now):
    """The last hour of active against expected, summed over teams.

    One point per minute of the history (minutes the conductors did not
    count are left out); ``active`` and ``expected`` are the SVG
    polylines' points, x from the hour's start to now.
    """
    since = now.replace(second=0, microsecond=0) - datetime.timedelta(
        minutes=CHART_MINUTES)
    sums = {}
    for row in history:
        if row.get("pool"):
            continue
        minute = _parse(row["minute"])
        active, expected = sums.get(minute, (0, 0))
        sums[minute] = (active + row["active"],
                        expected + (row.get("expected") or 0))
    minutes = sorted(m for m in sums if m >= since)
    top = max([1] + [max(sums[m]) for m in minutes])
    points = {"active": [], "expected": []}
    for minute in minutes:
        x = round(CHART_WIDTH * (minute - since).total_seconds() /
                  (CHART_MINUTES * 60.0), 1)
        points["active"].append("%s,%s" % (x, _scale(sums[minute][0], top)))
        points["expected"].append("%s,%s" % (x, _scale(sums[minute][1],
                                                       top)))
    last = sums[minutes[-1]] if minutes else (0, 0)
    return {"since": _iso(since), "until": _iso(now), "top": top,
            "minutes": len(minutes),
            "active": " ".join(points["active"]),
            "expected": " ".join(points["expected"]),
            "last_active": last[0], "last_expected": last[1]}


def agent_figures(client, now):
    """Agents against the plan now, and the last hour's chart.

    None when the API refuses them (a role without the agents
    policies): the section is left out.
    """
    read = _unless_refused(lambda: (
        client.request("GET", "/agents"),
        client.request("GET", "/agents/history", params={
            "since": _iso(now - datetime.timedelta(
                minutes=CHART_MINUTES + 1)),
            "limit": HISTORY_LIMIT})))
    if read is None:
        return None
    body, history = read
    rows = team_rows(body.get("agents") or [])
    return {"at": body.get("at"), "teams": rows,
            "active": sum(r["active"] for r in rows),
            "expected": sum(r["expected"] or 0 for r in rows),
            "chart": history_chart(history.get("history") or [], now)}


def gather(req):
    client = req.api()
    now = timeutils.utcnow()
    pools, _ = client.all("/pools", "pools", cap=LIST_CAP)
    sessions, sessions_more = client.all(
        "/sessions", "sessions", {"state": "active"}, cap=LIST_CAP)
    clients, _ = client.all("/thin-clients", "thin_clients", cap=LIST_CAP)
    by_status = dict.fromkeys(("online", "offline", "faulty", "unknown"), 0)
    for item in clients:
        by_status[item["status"]] = by_status.get(item["status"], 0) + 1
    rows = [pool_row(req, p) for p in pools]
    return {
        "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pools": rows,
        "totals": {k: sum(r[k] for r in rows)
                   for k in ("ready", "target", "building", "failed",
                             "assigned", "total")},
        "short_pools": sum(1 for r in rows if r["short"]),
        "sessions": len(sessions), "sessions_more": sessions_more,
        "thin_clients": by_status,
        "logins": login_figures(client, now),
        "alerts": firing_alerts(client),
        "agents": agent_figures(client, now),
    }


def page(req):
    return req.render("overview.html", data=gather(req),
                      refresh=req.portal.conf.portal.refresh_interval)


def data_json(req):
    response = webob.Response(content_type="application/json",
                              charset="UTF-8")
    response.json_body = gather(req)
    return response
