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

"""Admin API: thin clients (R14, R15)."""

from vdi_broker.api.schemas import thin_clients as schema
from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import policy

SORT_KEYS = ("client_id", "created_at", "site", "status", "last_seen_at")
FILTERS = ("client_id", "site", "status", "seat", "model")
FIELDS = ("id", "client_id", "seat", "site", "model", "tags", "status",
          "last_address", "last_user", "input_events", "health",
          "fault_reason", "description", "revision")


def _view(client):
    view = {k: client[k] for k in FIELDS}
    for key in ("last_seen_at", "created_at", "updated_at"):
        view[key] = util.iso(client[key])
    return view


def _record(ctxt, req, action, body=None):
    """The request's thin client, ``action`` authorized on its site.

    An update that moves it to another site (``body``) needs the new
    site's rights too.
    """
    def get():
        return db.thin_client_get(
            ctxt, req.urlvars["thin_client_id"])

    moved = [body["site"]] if body and "site" in body else []
    return policy.authorize_record(ctxt, action, get, also=moved)


def _values(body):
    values = dict(body)
    values.pop("revision", None)
    return values


def list_thin_clients(req):
    ctxt = util.context(req)
    filters = policy.authorize_list(ctxt, "vdi_broker:thin_clients:list",
                                    util.filters(req, FILTERS))
    page = util.pagination(req, SORT_KEYS, "client_id")
    items = db.thin_client_list(ctxt, filters, **page)
    return util.json_response({
        "thin_clients": [_view(c) for c in items],
        "links": util.links(req, "thin-clients", items, page["limit"])})


def show(req):
    ctxt = util.context(req)
    client = _record(ctxt, req, "vdi_broker:thin_clients:show")
    return util.json_response({"thin_client": _view(client)},
                              headers={"ETag": util.etag(client)})


def create(req):
    ctxt = util.context(req)
    scoped = policy.site_filter(ctxt, "vdi_broker:thin_clients:create")
    body = util.read_json(req, schema.create)
    if scoped is not None:
        policy.authorize(ctxt, "vdi_broker:thin_clients:create",
                         {"site": body.get("site")})
    values = _values(body)
    values.setdefault("tags", [])
    client = db.thin_client_create(ctxt, values)
    return util.created(req, "thin-clients", "thin_client", client,
                        _view(client))


def update(req):
    ctxt = util.context(req)
    # 403 before the body is read, for a persona without the rule.
    scoped = policy.site_filter(ctxt, "vdi_broker:thin_clients:update")
    body = util.read_json(req, schema.update)
    if scoped is not None:
        _record(ctxt, req, "vdi_broker:thin_clients:update", body)
    client = db.thin_client_update(
        ctxt, req.urlvars["thin_client_id"], _values(body),
        expected_revision=util.expected_revision(req, body))
    return util.json_response({"thin_client": _view(client)},
                              headers={"ETag": util.etag(client)})


def delete(req):
    ctxt = util.context(req)
    _record(ctxt, req, "vdi_broker:thin_clients:delete")
    db.thin_client_delete(ctxt, req.urlvars["thin_client_id"])
    return util.empty_response()
