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

"""Desktops: search, and the actions on one."""

from vdi_broker.portal import api
from vdi_broker.portal.views import common
from vdi_broker.portal import web
from vdi_broker import states

N_ = web.N_
STATES = states.DESKTOP_STATES
FILTERS = ("assigned_user", "name", "pool_id", "host", "state")
# Console types that open in a web browser (Nova's proxies); the others
# (rdp, spice-direct) need the thin client's own viewer.
BROWSER_CONSOLES = ("spice-html5", "novnc")

# action -> (capability, label, question)
ACTIONS = {
    "reboot": ("desktop:reboot", N_("Reboot"),
               N_("Reboot desktop %(name)s? An agent working on it loses "
                  "their unsaved work.")),
    "rebuild": ("desktop:rebuild", N_("Rebuild"),
                N_("Rebuild desktop %(name)s from its pool's image? "
                   "Everything on its disk is lost.")),
    "quarantine": ("desktop:quarantine", N_("Quarantine"),
                   N_("Quarantine desktop %(name)s? Its session is closed, "
                      "its server locked, its binding moves to a healthy "
                      "desktop.")),
    "unquarantine": ("desktop:unquarantine", N_("Put back in service"),
                     N_("Put desktop %(name)s back in service?")),
    "replace": ("desktop:replace", N_("Replace"),
                N_("Replace desktop %(name)s? Its binding moves to a ready "
                   "desktop of the pool and it is deleted.")),
    "release": ("session:delete", N_("Release"),
                N_("Release desktop %(name)s? Its agent is logged off and "
                   "the pool's release action runs.")),
}


def index(req):
    page = common.listing(req, "/desktops", "desktops", FILTERS,
                          sort_key="name")
    pools = common.pools_by_id(req)
    return req.render("desktops.html", page=page, pools=pools,
                      states=STATES)


def offered(req, desktop, sessions):
    """The actions this persona may run on this desktop now."""
    state = desktop["state"]
    result = []
    for name in ("reboot", "rebuild", "quarantine", "unquarantine",
                 "replace", "release"):
        capability, label, _question = ACTIONS[name]
        if not req.can(capability):
            continue
        if name in ("reboot", "rebuild") and state not in states.RESTARTABLE:
            continue
        if name == "quarantine" and state in ("quarantined", "deleting"):
            continue
        if name == "unquarantine" and state != "quarantined":
            continue
        if name == "replace" and state in ("building", "deleting"):
            continue
        if name == "release" and not sessions:
            continue
        result.append((name, req.gettext(label)))
    return result


def show(req):
    client = req.api()
    desktop = client.get("/desktops/" + api.quote(
        req.urlvars["desktop_id"]), "desktop")
    pool = client.get("/pools/" + desktop["pool_id"], "pool")
    sessions, _ = client.page("/sessions", "sessions",
                              {"desktop_id": desktop["id"],
                               "state": "active"})
    bindings, _ = client.page("/bindings", "bindings",
                              {"desktop_id": desktop["id"]})
    events, _ = client.page("/events", "events",
                            {"desktop_id": desktop["id"], "limit": 15})
    return req.render("desktop.html", desktop=desktop, pool=pool,
                      sessions=sessions, bindings=bindings, events=events,
                      actions=offered(req, desktop, sessions),
                      unquarantine_actions=states.UNQUARANTINE_ACTIONS,
                      browser_console=pool["console_type"] in
                      BROWSER_CONSOLES)


def action(req):
    desktop_id = req.urlvars["desktop_id"]
    back = "/desktops/" + api.quote(desktop_id)
    name = req.POST.get("action")
    label = req.POST.get("desktop_name") or desktop_id
    if name not in ACTIONS:
        return req.done(("error", req.gettext("Unknown action.")), back)
    _capability, verb, question = ACTIONS[name]
    asked = req.confirm(req.gettext(verb), req.gettext(question,
                                                       name=label),
                        danger=name in ("rebuild", "replace"))
    if asked:
        return asked
    client = req.api()
    what = req.gettext("%(action)s of desktop %(name)s",
                       action=req.gettext(verb), name=label)
    if name == "release":
        def call():
            sessions, _ = client.page("/sessions", "sessions",
                                      {"desktop_id": desktop_id,
                                       "state": "active"})
            for session in sessions:
                client.request("DELETE", "/sessions/" + session["id"])
            return len(sessions)
        return common.run(req, what, call, lambda n: req.ngettext(
            "Desktop %(name)s released: %(num)s session closed.",
            "Desktop %(name)s released: %(num)s sessions closed.", n,
            name=label), back)
    args = {}
    if name == "reboot":
        args["hard"] = bool(req.POST.get("hard"))
    elif name == "quarantine":
        reason = common.optional(req.POST.get("reason"))
        if reason:
            args["reason"] = reason
    elif name == "unquarantine":
        choice = req.POST.get("unquarantine_action")
        if choice in states.UNQUARANTINE_ACTIONS:
            args["action"] = choice
    return common.run(
        req, what,
        lambda: client.request("POST", "/desktops/%s/action" %
                               api.quote(desktop_id), body={name: args}),
        lambda result: req.gettext(
            "%(action)s of desktop %(name)s accepted; it is now %(state)s.",
            action=req.gettext(verb), name=label,
            state=(result or {}).get("desktop", {}).get("state", "?")),
        back)


def console(req):
    """Open a desktop's browser console (in the tab the form opened).

    The API answers with the URL of Nova's spice-html5 or noVNC proxy,
    with a one-time token: the page sends the browser on to it (its
    script, or a link), and it is neither stored nor logged here. A
    redirect would not do: the CSP's form-action stops a form's redirect
    to another origin.
    """
    desktop_id = req.urlvars["desktop_id"]
    label = req.POST.get("desktop_name") or desktop_id
    try:
        body = req.api().request(
            "POST", "/desktops/%s/console" % api.quote(desktop_id))
    except api.ApiError as e:
        if e.status == 401:
            raise
        return req.render("error.html", status=e.status if 400 <= e.status
                          < 600 else 502, status_code=e.status,
                          message=req.api_failure(e, req.gettext(
                              "Opening the console of desktop %(name)s",
                              name=label))[1])
    console = body["console"]
    return req.render("console.html", desktop_id=desktop_id, name=label,
                      console=console)
