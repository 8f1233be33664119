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

"""Admin API: seats, the desks thin clients stand at (R14)."""

from vdi_broker.api.schemas import seats as schema
from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import policy

SORT_KEYS = ("name", "created_at", "site")
FILTERS = ("name", "site", "department")
FIELDS = ("id", "name", "site", "location", "department", "tags",
          "description", "revision")


def _view(seat):
    view = {k: seat[k] for k in FIELDS}
    view["created_at"] = util.iso(seat["created_at"])
    view["updated_at"] = util.iso(seat["updated_at"])
    return view


def _record(ctxt, req, action, body=None):
    """The request's seat, ``action`` authorized on its site.

    An update that moves it to another site (``body``) needs the new
    site's rights too.
    """
    def get():
        return db.seat_get(ctxt, req.urlvars["seat_id"])

    moved = [body["site"]] if body and "site" in body else []
    return policy.authorize_record(ctxt, action, get, also=moved)


def _values(body):
    values = dict(body)
    values.pop("revision", None)
    return values


def list_seats(req):
    ctxt = util.context(req)
    filters = policy.authorize_list(ctxt, "vdi_broker:seats:list",
                                    util.filters(req, FILTERS))
    page = util.pagination(req, SORT_KEYS, "name")
    items = db.seat_list(ctxt, filters, **page)
    return util.json_response({
        "seats": [_view(s) for s in items],
        "links": util.links(req, "seats", items, page["limit"])})


def show(req):
    ctxt = util.context(req)
    seat = _record(ctxt, req, "vdi_broker:seats:show")
    return util.json_response({"seat": _view(seat)},
                              headers={"ETag": util.etag(seat)})


def create(req):
    ctxt = util.context(req)
    scoped = policy.site_filter(ctxt, "vdi_broker:seats:create")
    body = util.read_json(req, schema.create)
    if scoped is not None:
        policy.authorize(ctxt, "vdi_broker:seats:create",
                         {"site": body.get("site")})
    values = _values(body)
    values.setdefault("tags", [])
    seat = db.seat_create(ctxt, values)
    return util.created(req, "seats", "seat", seat, _view(seat))


def update(req):
    ctxt = util.context(req)
    # 403 before the body is read, for a persona without the rule.
    scoped = policy.site_filter(ctxt, "vdi_broker:seats:update")
    body = util.read_json(req, schema.update)
    if scoped is not None:
        _record(ctxt, req, "vdi_broker:seats:update", body)
    seat = db.seat_update(ctxt, req.urlvars["seat_id"], _values(body),
                          expected_revision=util.expected_revision(req,
                                                                   body))
    return util.json_response({"seat": _view(seat)},
                              headers={"ETag": util.etag(seat)})


def delete(req):
    ctxt = util.context(req)
    _record(ctxt, req, "vdi_broker:seats:delete")
    db.seat_delete(ctxt, req.urlvars["seat_id"])
    return util.empty_response()
