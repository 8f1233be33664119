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

"""Sessions and users: what the helpdesk needs about one agent."""

from vdi_broker.portal import api
from vdi_broker.portal.views import common

SESSION_FILTERS = ("username", "state", "pool_id", "client_id", "seat")


def _agent(client, username):
    """Everything the broker knows about one agent."""
    sessions, _ = client.page("/sessions", "sessions",
                              {"username": username, "limit": 10,
                               "sort_key": "created_at",
                               "sort_dir": "desc"})
    active = [s for s in sessions if s["state"] == "active"]
    desktops, _ = client.page("/desktops", "desktops",
                              {"assigned_user": username})
    bindings, _ = client.page("/bindings", "bindings",
                              {"kind": "user", "key": username})
    latest = active[0] if active else (sessions[0] if sessions else None)
    thin_client = seat = None
    if latest:
        found, _ = client.page("/thin-clients", "thin_clients",
                               {"client_id": latest["client_id"]})
        thin_client = found[0] if found else None
        if latest.get("seat"):
            try:
                seat = client.get("/seats/" + api.quote(latest["seat"]),
                                  "seat")
            except api.ApiError:
                seat = {"name": latest["seat"], "unknown": True}
        for kind, key in (("seat", latest.get("seat")),
                          ("client", latest["client_id"])):
            if key:
                more, _ = client.page("/bindings", "bindings",
                                      {"kind": kind, "key": key})
                bindings.extend(more)
    # Where each binding may move: ready desktops of its pool.
    targets = {}
    for binding in bindings:
        if binding["pool_id"] not in targets:
            ready, _ = client.page("/desktops", "desktops",
                                   {"pool_id": binding["pool_id"],
                                    "state": "ready", "limit": 20})
            targets[binding["pool_id"]] = ready
    return {"sessions": sessions, "active": active, "desktops": desktops,
            "bindings": bindings, "latest": latest,
            "thin_client": thin_client, "seat": seat, "targets": targets}


def find(req):
    username = req.GET.get("username", "").strip()
    agent = _agent(req.api(), username) if username else None
    pools = common.pools_by_id(req) if agent else {}
    return req.render("users.html", username=username, agent=agent,
                      pools=pools)


def sessions(req):
    page = common.listing(req, "/sessions", "sessions", SESSION_FILTERS)
    return req.render("sessions.html", page=page,
                      pools=common.pools_by_id(req))


def logoff(req):
    session_id = req.urlvars["session_id"]
    who = req.POST.get("username") or session_id
    back = "/users?username=" + api.quote(who)
    asked = req.confirm(req.gettext("Log off"), req.gettext(
        "Log %(user)s off? Their session is closed and the pool's release "
        "action runs on the desktop.", user=who))
    if asked:
        return asked
    return common.run(
        req, req.gettext("Logging %(user)s off", user=who),
        lambda: req.api().request("DELETE", "/sessions/" +
                                  api.quote(session_id)),
        req.gettext("%(user)s logged off.", user=who), back)


def move_binding(req):
    binding_id = req.urlvars["binding_id"]
    key = req.POST.get("key") or binding_id
    target = req.POST.get("desktop_id", "").strip()
    back = "/users"
    if not target:
        return req.done(("error", req.gettext("Choose a desktop.")), back)
    asked = req.confirm(req.gettext("Move binding"), req.gettext(
        "Move the binding of %(key)s to desktop %(desktop)s? Their next "
        "login gets that desktop.", key=key,
        desktop=req.POST.get("desktop_label") or target))
    if asked:
        return asked
    headers = {}
    if req.POST.get("revision"):
        headers["If-Match"] = '"%s"' % req.POST["revision"]
    return common.run(
        req, req.gettext("Moving the binding of %(key)s", key=key),
        lambda: req.api().request("PATCH", "/bindings/" +
                                  api.quote(binding_id),
                                  body={"desktop_id": target},
                                  headers=headers),
        req.gettext("The binding of %(key)s moved.", key=key), back)
