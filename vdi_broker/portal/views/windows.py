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

"""Maintenance windows: when desktops in use may be taken.

A window of one pool or of every pool of a site, recurring (cron in a
time zone, with a duration) or one-off (a start and an end): jobs that
wait for a window run in it, roll-outs rebuild in place the assigned
desktops nobody uses; with drain, its pools take no new logins while it
is open (``/v1/maintenance-windows``, see doc/source/admin/
maintenance.rst). Every persona reads them; operators create and delete.
"""

from vdi_broker.portal import api
from vdi_broker.portal.views import common

FILTERS = ("pool_id", "site")


def index(req):
    page = common.listing(req, "/maintenance-windows", "maintenance_windows",
                          FILTERS, sort_key="name", sort_dir="asc")
    pools = sorted(common.pools_by_id(req).values(),
                   key=lambda p: p["name"])
    sites = sorted({p["site"] for p in pools if p.get("site")})
    return req.render("windows.html", page=page, pools=pools, sites=sites,
                      pools_by_id={p["id"]: p for p in pools})


def _body(req):
    """POST /v1/maintenance-windows's body from the form; ValueError."""
    name = common.optional(req.POST.get("name"))
    if not name:
        raise ValueError(req.gettext("Enter the window's name."))
    body = {"name": name, "drain": req.POST.get("drain") == "1"}
    description = common.optional(req.POST.get("description"))
    if description:
        body["description"] = description
    scope = req.POST.get("scope", "pool")
    if scope == "site":
        site = common.optional(req.POST.get("site"))
        if not site:
            raise ValueError(req.gettext("Choose the site."))
        body["site"] = site
    else:
        pool_id = common.optional(req.POST.get("pool_id"))
        if not pool_id:
            raise ValueError(req.gettext("Choose the pool."))
        body["pool_id"] = pool_id
    if req.POST.get("kind", "recurring") == "once":
        for key in ("starts_at", "ends_at"):
            converted = common.local_to_utc(
                req.POST.get(key, "").strip(), req.POST.get("tz"),
                req.POST.get("tz_offset"))
            if not converted:
                raise ValueError(req.gettext(
                    "Enter when the window starts and ends."))
            body[key] = converted
    else:
        cron = " ".join(req.POST.get("cron", "").split())
        if not cron:
            raise ValueError(req.gettext(
                "Enter the cron expression of the window's openings."))
        body["cron"] = cron
        body["timezone"] = common.optional(req.POST.get("timezone")) or "UTC"
        body["duration_minutes"] = common.integer(req, "duration_minutes",
                                                  minimum=1)
    return body


def _describe(req, body, pool_names):
    if body.get("site"):
        where = req.gettext("every pool of site %(site)s", site=body["site"])
    else:
        where = req.gettext("pool %(pool)s", pool=pool_names.get(
            body["pool_id"], body["pool_id"]))
    if body.get("cron"):
        when = req.gettext(
            "at %(cron)s (%(timezone)s) for %(minutes)s minutes",
            cron=body["cron"], timezone=body["timezone"],
            minutes=body["duration_minutes"])
    else:
        when = req.gettext("from %(start)s to %(end)s UTC",
                           start=body["starts_at"][:16].replace("T", " "),
                           end=body["ends_at"][:16].replace("T", " "))
    return where, when


def create(req):
    back = "/maintenance-windows"
    try:
        body = _body(req)
    except ValueError as e:
        return req.done(("error", str(e)), back)
    pool_names = {p["id"]: p["name"]
                  for p in common.pools_by_id(req).values()}
    where, when = _describe(req, body, pool_names)
    question = req.gettext(
        "Create maintenance window %(name)s for %(where)s, %(when)s?",
        name=body["name"], where=where, when=when)
    if body["drain"]:
        question += " " + req.gettext(
            "While it is open its pools take no new logins and the agents "
            "on them are warned.")
    asked = req.confirm(req.gettext("Create a maintenance window"),
                        question, danger=body["drain"])
    if asked:
        return asked
    return common.run(
        req, req.gettext("Creating maintenance window %(name)s",
                         name=body["name"]),
        lambda: req.api().request("POST", "/maintenance-windows",
                                  body=body),
        req.gettext("Maintenance window %(name)s created.",
                    name=body["name"]), back)


def delete(req):
    window_id = req.urlvars["window_id"]
    name = req.POST.get("name") or window_id
    asked = req.confirm(req.gettext("Delete a maintenance window"),
                        req.gettext(
        "Delete maintenance window %(name)s? A pool it drains takes logins "
        "again when the current opening ends; a roll-out that rebuilds "
        "only in it is paused.", name=name), danger=True)
    if asked:
        return asked
    return common.run(
        req, req.gettext("Deleting maintenance window %(name)s", name=name),
        lambda: req.api().request("DELETE", "/maintenance-windows/" +
                                  api.quote(window_id)),
        req.gettext("Maintenance window %(name)s deleted.", name=name),
        "/maintenance-windows")
