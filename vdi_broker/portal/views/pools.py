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

"""Pools: sizes, build throttle, enable and disable, schedules."""

from vdi_broker.portal import api
from vdi_broker.portal.views import common
from vdi_broker.portal.views import overview

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def index(req):
    page = common.listing(req, "/pools", "pools", ("site", "status"))
    rows = [overview.pool_row(req, p) for p in page["items"]]
    return req.render("pools.html", page=page, rows=rows)


def show(req):
    client = req.api()
    pool = client.get("/pools/" + api.quote(req.urlvars["pool_id"]),
                      "pool")
    schedules, _ = client.all("/schedules", "schedules",
                              {"pool_id": pool["id"]})
    events, _ = client.page("/events", "events",
                            {"pool_id": pool["id"], "limit": 10})
    return req.render("pool.html", pool=pool, row=overview.pool_row(req,
                                                                    pool),
                      schedules=schedules, events=events, days=DAYS)


def _pool_url(req):
    return "/pools/" + api.quote(req.urlvars["pool_id"])


def update(req):
    """Change sizes, or enable / disable (``enabled`` only)."""
    name = req.POST.get("name") or req.urlvars["pool_id"]
    if "toggle" in req.POST:
        enable = req.POST["toggle"] == "enable"
        question = (req.gettext("Enable pool %(name)s? The pool manager "
                                "boots toward its target again.",
                                name=name) if enable else
                    req.gettext("Disable pool %(name)s? Logins that would "
                                "get a desktop of it are refused; its "
                                "desktops stay.", name=name))
        body = {"enabled": enable}
    else:
        question = req.gettext("Change the sizes of pool %(name)s?",
                               name=name)
        try:
            body = {"min_ready": common.integer(req, "min_ready"),
                    "max_size": common.integer(req, "max_size"),
                    "max_concurrent_builds": common.integer(
                        req, "max_concurrent_builds", 1),
                    "description": common.optional(
                        req.POST.get("description"))}
        except ValueError as e:
            return req.done(("error", str(e)), _pool_url(req))
    asked = req.confirm(req.gettext("Change pool"), question)
    if asked:
        return asked
    headers = {}
    if req.POST.get("revision"):
        headers["If-Match"] = '"%s"' % req.POST["revision"]
    return common.run(
        req, req.gettext("Changing pool %(name)s", name=name),
        lambda: req.api().request(
            "PATCH", "/pools/" + api.quote(req.urlvars["pool_id"]),
            body=body, headers=headers),
        req.gettext("Pool %(name)s changed.", name=name), _pool_url(req))


def _schedule_body(req):
    days = [d for d in DAYS if req.POST.get("day_" + d)]
    if not days:
        raise ValueError(req.gettext("Choose at least one day."))
    return {"name": req.POST.get("name", "").strip(), "days": days,
            "start_time": req.POST.get("start_time", "").strip(),
            "end_time": req.POST.get("end_time", "").strip(),
            "timezone": req.POST.get("timezone", "").strip() or "UTC",
            "min_ready": common.integer(req, "min_ready"),
            "prewarm_minutes": common.integer(req, "prewarm_minutes"),
            "enabled": bool(req.POST.get("enabled"))}


def create_schedule(req):
    back = _pool_url(req)
    try:
        body = _schedule_body(req)
    except ValueError as e:
        return req.done(("error", str(e)), back)
    body["pool_id"] = req.urlvars["pool_id"]
    asked = req.confirm(req.gettext("Add a schedule"), req.gettext(
        "Add schedule %(name)s: %(min_ready)s ready desktops on %(days)s "
        "from %(start)s to %(end)s (%(tz)s)?", name=body["name"],
        min_ready=body["min_ready"], days=", ".join(body["days"]),
        start=body["start_time"], end=body["end_time"],
        tz=body["timezone"]))
    if asked:
        return asked
    return common.run(
        req, req.gettext("Adding schedule %(name)s", name=body["name"]),
        lambda: req.api().request("POST", "/schedules", body=body),
        req.gettext("Schedule %(name)s added.", name=body["name"]), back)


def update_schedule(req):
    back = common.optional(req.POST.get("next")) or "/pools"
    try:
        body = _schedule_body(req)
    except ValueError as e:
        return req.done(("error", str(e)), back)
    asked = req.confirm(req.gettext("Change a schedule"), req.gettext(
        "Change schedule %(name)s?", name=body["name"]))
    if asked:
        return asked
    headers = {}
    if req.POST.get("revision"):
        headers["If-Match"] = '"%s"' % req.POST["revision"]
    return common.run(
        req, req.gettext("Changing schedule %(name)s", name=body["name"]),
        lambda: req.api().request(
            "PATCH", "/schedules/" + api.quote(req.urlvars["schedule_id"]),
            body=body, headers=headers),
        req.gettext("Schedule %(name)s changed.", name=body["name"]), back)


def delete_schedule(req):
    name = req.POST.get("name", req.urlvars["schedule_id"])
    asked = req.confirm(req.gettext("Delete a schedule"), req.gettext(
        "Delete schedule %(name)s? The pool's own min_ready applies "
        "again.", name=name), danger=True)
    if asked:
        return asked
    return common.run(
        req, req.gettext("Deleting schedule %(name)s", name=name),
        lambda: req.api().request(
            "DELETE", "/schedules/" + api.quote(
                req.urlvars["schedule_id"])),
        req.gettext("Schedule %(name)s deleted.", name=name), "/pools")
