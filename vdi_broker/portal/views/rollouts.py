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

"""Image roll-outs: a pool moved to a new image, canary then waves.

The conductor rebuilds the ready desktops within the boot limits, the
canary first, then in waves; desktops in use when their user leaves or
in a maintenance window (``/v1/rollouts``, see doc/source/admin/
maintenance.rst). Every persona reads them; operators start one, pause,
resume and roll it back.
"""

import urllib.parse

import webob

from vdi_broker.portal import api
from vdi_broker.portal.views import common
from vdi_broker.portal import web
from vdi_broker import states

N_ = web.N_
ROLLOUT_STATES = states.ROLLOUT_STATES
OPEN = states.ROLLOUT_OPEN
# action -> (capability, states it applies to, danger).
ACTIONS = {
    "pause": ("rollout:pause", (states.ROLLOUT_RUNNING,
                                states.ROLLOUT_ROLLING_BACK), False),
    "resume": ("rollout:resume", (states.ROLLOUT_PAUSED,), False),
    "rollback": ("rollout:rollback", (states.ROLLOUT_RUNNING,
                                      states.ROLLOUT_PAUSED,
                                      states.ROLLOUT_COMPLETED), True),
}
DESKTOP_STATES = (states.ROLLOUT_DESKTOP_IN_PROGRESS,
                  states.ROLLOUT_DESKTOP_DONE,
                  states.ROLLOUT_DESKTOP_FAILED)


def actions_of(req, rollout):
    """The actions the viewer may take on ``rollout`` now."""
    return [name for name, (capability, allowed, _d) in ACTIONS.items()
            if rollout["state"] in allowed and req.can(capability)]


def percent(rollout):
    """How far the roll-out is: desktops on the target image, in %."""
    progress = rollout.get("progress") or {}
    total = progress.get("total") or 0
    if not total:
        return 100 if rollout["state"] not in OPEN else 0
    return int(round(100.0 * (progress.get("new") or 0) / total))


def _windows(req):
    windows, _ = req.api().all("/maintenance-windows",
                               "maintenance_windows")
    return {w["id"]: w for w in windows}


def index(req):
    state = req.GET.get("state", "").strip()
    if state not in ROLLOUT_STATES:
        state = ""
    pool_id = req.GET.get("pool_id", "").strip()
    params = {"limit": req.portal.conf.portal.page_size,
              "sort_key": "created_at", "sort_dir": "desc"}
    if state:
        params["state"] = state
    marker = req.GET.get("marker")
    if marker:
        params["marker"] = marker
    client = req.api()
    path = ("/pools/%s/rollouts" % api.quote(pool_id)) if pool_id \
        else "/rollouts"
    items, next_marker = client.page(path, "rollouts", params)
    query = {k: v for k, v in (("state", state), ("pool_id", pool_id)) if v}
    page = {"items": items, "filters": {"state": state,
                                        "pool_id": pool_id},
            "next_url": (req.path + "?" + urllib.parse.urlencode(
                dict(query, marker=next_marker))) if next_marker else None,
            "first_url": (req.path + ("?" + urllib.parse.urlencode(query)
                                      if query else "")) if marker
            else None}
    pools = sorted(common.pools_by_id(req).values(),
                   key=lambda p: p["name"])
    return req.render(
        "rollouts.html", page=page, rollout_states=ROLLOUT_STATES,
        pools=pools, pools_by_id={p["id"]: p for p in pools},
        windows=sorted(_windows(req).values(), key=lambda w: w["name"]),
        actions_of=lambda r: actions_of(req, r), percent=percent,
        open_states=OPEN)


def show(req):
    client = req.api()
    rollout = client.get("/rollouts/" + api.quote(req.urlvars["rollout_id"]),
                         "rollout")
    state = req.GET.get("state", "")
    params = {"state": state} if state in DESKTOP_STATES else None
    desktops = client.request("GET", "/rollouts/%s/desktops" % api.quote(
        rollout["id"]), params=params)["desktops"]
    events, _ = client.page("/events", "events",
                            {"target_id": rollout["id"], "limit": 20})
    pools = common.pools_by_id(req)
    window = None
    if rollout.get("window_id"):
        window = _windows(req).get(rollout["window_id"])
    size = req.portal.conf.portal.page_size
    try:
        start = max(0, int(req.GET.get("start", "0")))
    except ValueError:
        start = 0
    query = {"state": state} if params else {}
    page = {"items": desktops[start:start + size], "start": start,
            "total": len(desktops),
            "next_url": (req.path + "?" + urllib.parse.urlencode(
                dict(query, start=start + size)))
            if start + size < len(desktops) else None,
            "first_url": (req.path + ("?" + urllib.parse.urlencode(query)
                                      if query else "")) if start
            else None}
    return req.render(
        "rollout.html", rollout=rollout, pool=pools.get(rollout["pool_id"]),
        window=window, page=page, state=state if params else "",
        desktop_states=DESKTOP_STATES, events=events,
        actions=actions_of(req, rollout), percent=percent(rollout),
        refresh=req.portal.conf.portal.refresh_interval,
        open=rollout["state"] in OPEN)


def data_json(req):
    """A roll-out's state and progress, for its page's refresh."""
    rollout = req.api().get(
        "/rollouts/" + api.quote(req.urlvars["rollout_id"]), "rollout")
    response = webob.Response(content_type="application/json",
                              charset="UTF-8")
    progress = rollout.get("progress") or {}
    response.json_body = {
        "id": rollout["id"], "state": rollout["state"],
        "phase": rollout.get("phase"),
        "status_reason": rollout.get("status_reason"),
        "open": rollout["state"] in OPEN, "percent": percent(rollout),
        "progress": progress}
    return response


def _body(req):
    """POST /v1/pools/{id}/rollouts's body from the form; ValueError."""
    image = common.optional(req.POST.get("image"))
    if not image:
        raise ValueError(req.gettext("Enter the new image."))
    body = {"image": image}
    share = req.POST.get("canary_percent", "").strip()
    if share:
        try:
            value = float(share)
        except ValueError:
            value = -1
        if not 0 <= value <= 100:
            raise ValueError(req.gettext(
                "The canary share is a percentage from 0 to 100."))
        body["canary_share"] = round(value / 100.0, 4)
    for key in ("wave_size", "max_failures"):
        if req.POST.get(key, "").strip():
            body[key] = common.integer(req, key, minimum=1)
    window = common.optional(req.POST.get("window"))
    if window:
        body["window"] = window
    return body


def create(req):
    back = "/rollouts"
    pool_id = req.POST.get("pool_id", "").strip()
    if not pool_id:
        return req.done(("error", req.gettext("Choose the pool.")), back)
    try:
        body = _body(req)
    except ValueError as e:
        return req.done(("error", str(e)), back)
    client = req.api()
    pool = client.get("/pools/" + api.quote(pool_id), "pool")
    asked = req.confirm(req.gettext("Start a roll-out"), req.gettext(
        "Move pool %(pool)s from image %(old)s to %(new)s? New desktops "
        "use the new image at once; the ready ones are rebuilt, "
        "%(canary)s%% first as a canary, then %(wave)s at a time; "
        "desktops in use wait for their user to leave.",
        pool=pool["name"], old=pool.get("image") or "-", new=body["image"],
        canary=round(body.get("canary_share", 0.1) * 100, 1),
        wave=body.get("wave_size", 5)), danger=True)
    if asked:
        return asked
    try:
        rollout = client.request("POST", "/pools/%s/rollouts" % api.quote(
            pool["id"]), body=body)["rollout"]
    except api.ApiError as e:
        return req.done(req.api_failure(e, req.gettext(
            "Starting the roll-out of pool %(pool)s", pool=pool["name"])),
            back)
    req.flash("ok", req.gettext(
        "Roll-out of pool %(pool)s to image %(image)s started.",
        pool=pool["name"], image=body["image"]))
    return req.redirect("/rollouts/" + api.quote(rollout["id"]))


QUESTIONS = {
    "pause": N_("Pause the roll-out of pool %(pool)s to %(image)s? "
                "Rebuilds under way finish; no new one starts."),
    "resume": N_("Resume the roll-out of pool %(pool)s to %(image)s?"),
    "rollback": N_("Roll pool %(pool)s back to image %(previous)s? The "
                   "pool's image is set back at once and its desktops on "
                   "%(image)s are rebuilt (no canary); desktops in use "
                   "wait for their user to leave."),
}
RESULTS = {
    "pause": N_("Roll-out of pool %(pool)s paused."),
    "resume": N_("Roll-out of pool %(pool)s resumed."),
    "rollback": N_("Pool %(pool)s is rolling back to image %(previous)s."),
}
TITLES = {
    "pause": N_("Pause a roll-out"),
    "resume": N_("Resume a roll-out"),
    "rollback": N_("Roll back a roll-out"),
}


def action(req):
    rollout_id = req.urlvars["rollout_id"]
    back = "/rollouts/" + api.quote(rollout_id)
    name = req.POST.get("action")
    if name not in ACTIONS:
        return req.done(("error", req.gettext("No such action.")), back)
    names = {"pool": req.POST.get("pool") or "-",
             "image": req.POST.get("image") or "-",
             "previous": req.POST.get("previous") or "-"}
    asked = req.confirm(req.gettext(TITLES[name]),
                        req.gettext(QUESTIONS[name], **names),
                        danger=ACTIONS[name][2])
    if asked:
        return asked
    body = {"action": name}
    reason = common.optional(req.POST.get("reason"))
    if reason:
        body["reason"] = reason
    return common.run(
        req, req.gettext(TITLES[name]),
        lambda: req.api().request("POST", "/rollouts/%s/action" %
                                  api.quote(rollout_id), body=body),
        req.gettext(RESULTS[name], **names), back)
