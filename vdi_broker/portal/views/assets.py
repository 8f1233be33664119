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

"""Thin clients and seats: the asset managers' pages."""

from vdi_broker.portal import api
from vdi_broker.portal.views import common

STATUSES = ("online", "offline", "faulty", "unknown")


def thin_clients(req):
    page = common.listing(req, "/thin-clients", "thin_clients",
                          ("site", "status", "seat", "client_id"))
    return req.render("thin_clients.html", page=page, statuses=STATUSES)


def register(req):
    client_id = req.POST.get("client_id", "").strip()
    body = {"client_id": client_id,
            "site": common.optional(req.POST.get("site")),
            "seat": common.optional(req.POST.get("seat")),
            "model": common.optional(req.POST.get("model")),
            "tags": common.words(req.POST.get("tags")),
            "description": common.optional(req.POST.get("description"))}
    asked = req.confirm(req.gettext("Register a thin client"), req.gettext(
        "Register thin client %(client)s?", client=client_id))
    if asked:
        return asked
    return common.run(
        req, req.gettext("Registering thin client %(client)s",
                         client=client_id),
        lambda: req.api().request("POST", "/thin-clients", body=body),
        req.gettext("Thin client %(client)s registered.", client=client_id),
        "/thin-clients")


def update_client(req):
    ident = req.urlvars["thin_client_id"]
    name = req.POST.get("client_id") or ident
    body = {"tags": common.words(req.POST.get("tags")),
            "description": common.optional(req.POST.get("description"))}
    status = req.POST.get("status")
    if status in STATUSES:
        body["status"] = status
    asked = req.confirm(req.gettext("Change a thin client"), req.gettext(
        "Change thin client %(client)s?", client=name))
    if asked:
        return asked
    headers = {}
    if req.POST.get("revision"):
        headers["If-Match"] = '"%s"' % req.POST["revision"]
    return common.run(
        req, req.gettext("Changing thin client %(client)s", client=name),
        lambda: req.api().request("PATCH", "/thin-clients/" +
                                  api.quote(ident), body=body,
                                  headers=headers),
        req.gettext("Thin client %(client)s changed.", client=name),
        "/thin-clients")


def retire_client(req):
    ident = req.urlvars["thin_client_id"]
    name = req.POST.get("client_id") or ident
    asked = req.confirm(req.gettext("Retire a thin client"), req.gettext(
        "Retire thin client %(client)s? Its record is deleted; it is "
        "registered again at its next heartbeat or login.", client=name),
        danger=True)
    if asked:
        return asked
    return common.run(
        req, req.gettext("Retiring thin client %(client)s", client=name),
        lambda: req.api().request("DELETE", "/thin-clients/" +
                                  api.quote(ident)),
        req.gettext("Thin client %(client)s retired.", client=name),
        "/thin-clients")


def seats(req):
    page = common.listing(req, "/seats", "seats", ("site", "department"))
    return req.render("seats.html", page=page)


def _seat_body(req):
    return {"site": common.optional(req.POST.get("site")),
            "location": common.optional(req.POST.get("location")),
            "department": common.optional(req.POST.get("department")),
            "tags": common.words(req.POST.get("tags")),
            "description": common.optional(req.POST.get("description"))}


def create_seat(req):
    name = req.POST.get("name", "").strip()
    body = dict(_seat_body(req), name=name)
    asked = req.confirm(req.gettext("Add a seat"), req.gettext(
        "Add seat %(seat)s?", seat=name))
    if asked:
        return asked
    return common.run(
        req, req.gettext("Adding seat %(seat)s", seat=name),
        lambda: req.api().request("POST", "/seats", body=body),
        req.gettext("Seat %(seat)s added.", seat=name), "/seats")


def update_seat(req):
    ident = req.urlvars["seat_id"]
    name = req.POST.get("name") or ident
    asked = req.confirm(req.gettext("Change a seat"), req.gettext(
        "Change seat %(seat)s?", seat=name))
    if asked:
        return asked
    headers = {}
    if req.POST.get("revision"):
        headers["If-Match"] = '"%s"' % req.POST["revision"]
    body = _seat_body(req)
    return common.run(
        req, req.gettext("Changing seat %(seat)s", seat=name),
        lambda: req.api().request("PATCH", "/seats/" + api.quote(ident),
                                  body=body, headers=headers),
        req.gettext("Seat %(seat)s changed.", seat=name), "/seats")


def delete_seat(req):
    ident = req.urlvars["seat_id"]
    name = req.POST.get("name") or ident
    asked = req.confirm(req.gettext("Delete a seat"), req.gettext(
        "Delete seat %(seat)s?", seat=name), danger=True)
    if asked:
        return asked
    return common.run(
        req, req.gettext("Deleting seat %(seat)s", seat=name),
        lambda: req.api().request("DELETE", "/seats/" + api.quote(ident)),
        req.gettext("Seat %(seat)s deleted.", seat=name), "/seats")
