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

"""Allocators: the chain in order, reordering, rules, explanations."""

import json

from vdi_broker.portal import api
from vdi_broker.portal.views import common


def chain(client):
    """The allocators in the order logins try them (defaults last)."""
    items, _ = client.all("/allocators", "allocators",
                          {"sort_key": "priority"})
    return ([a for a in items if not a["is_default"]] +
            [a for a in items if a["is_default"]])


def _moves(items):
    """For each allocator, the order after moving it up and down."""
    ids = [a["id"] for a in items]
    movable = [a["id"] for a in items if not a["is_default"]]
    moves = {}
    for i, ident in enumerate(movable):
        up = down = None
        if i > 0:
            order = list(movable)
            order[i - 1], order[i] = order[i], order[i - 1]
            up = ",".join(order + ids[len(movable):])
        if i < len(movable) - 1:
            order = list(movable)
            order[i + 1], order[i] = order[i], order[i + 1]
            down = ",".join(order + ids[len(movable):])
        moves[ident] = (up, down)
    return moves


def index(req):
    client = req.api()
    items = chain(client)
    return req.render("allocators.html", allocators=items,
                      moves=_moves(items), pools=common.pools_by_id(req))


def reorder(req):
    order = [i for i in req.POST.get("order", "").split(",") if i]
    if not order:
        return req.done(("error", req.gettext("No order given.")),
                        "/allocators")
    client = req.api()
    names = {a["id"]: a["name"] for a in chain(client)}
    listed = ", ".join(names.get(i, i) for i in order)
    asked = req.confirm(req.gettext("Reorder allocators"), req.gettext(
        "Try the allocators in this order: %(order)s?", order=listed))
    if asked:
        return asked
    return common.run(
        req, req.gettext("Reordering the allocators"),
        lambda: client.request("POST", "/allocators/reorder",
                               body={"allocators": order}),
        req.gettext("New order: %(order)s.", order=listed), "/allocators")


def show(req):
    client = req.api()
    allocator = client.get("/allocators/" + api.quote(
        req.urlvars["allocator_id"]), "allocator")
    pools, _ = client.all("/pools", "pools")
    return req.render(
        "allocator.html", allocator=allocator, pools=pools,
        rules=json.dumps(allocator["rules"] or {}, indent=2,
                         ensure_ascii=False),
        options=json.dumps(allocator["options"] or {}, indent=2,
                           ensure_ascii=False))


def _json_field(req, name):
    text = req.POST.get(name, "").strip() or "{}"
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ValueError(req.gettext("%(field)s is not valid JSON: "
                                     "%(error)s", field=name, error=e))
    if not isinstance(value, dict):
        raise ValueError(req.gettext("%(field)s must be a JSON object.",
                                     field=name))
    return value


def update(req):
    ident = req.urlvars["allocator_id"]
    back = "/allocators/" + api.quote(ident)
    name = req.POST.get("name") or ident
    try:
        body = {"description": common.optional(req.POST.get("description")),
                "priority": common.integer(req, "priority"),
                "pool": common.optional(req.POST.get("pool")),
                "rules": _json_field(req, "rules"),
                "options": _json_field(req, "options"),
                "enabled": bool(req.POST.get("enabled"))}
    except ValueError as e:
        return req.done(("error", str(e)), back)
    asked = req.confirm(req.gettext("Change allocator"), req.gettext(
        "Change allocator %(name)s? Logins use the new rules at once.",
        name=name))
    if asked:
        return asked
    headers = {}
    if req.POST.get("revision"):
        headers["If-Match"] = '"%s"' % req.POST["revision"]
    return common.run(
        req, req.gettext("Changing allocator %(name)s", name=name),
        lambda: req.api().request("PATCH", "/allocators/" +
                                  api.quote(ident), body=body,
                                  headers=headers),
        req.gettext("Allocator %(name)s changed.", name=name), back)


def explain(req):
    """The allocator chain's dry run for a user (changes nothing)."""
    values = {k: req.GET.get(k, "").strip()
              for k in ("username", "client_id", "seat")}
    result = error = None
    if values["username"]:
        body = {k: v for k, v in values.items() if v}
        try:
            result = req.api().request("POST", "/allocators/explain",
                                       body=body)["explain"]
        except api.ApiError as e:
            error = req.api_failure(e, req.gettext("The explanation"))[1]
    return req.render("explain.html", values=values, result=result,
                      error=error)
