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

"""Admin API: bindings of desktops to users, seats and thin clients."""

from vdi_broker.api.schemas import bindings as schema
from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import policy
from vdi_broker.services import bindings as bindings_service

SORT_KEYS = ("created_at", "key", "kind")
FILTERS = ("kind", "key", "desktop_id", "pool_id")


def _view(binding):
    view = {k: binding[k] for k in ("id", "kind", "key", "desktop_id",
                                    "pool_id", "allocator_id", "revision")}
    view["created_at"] = util.iso(binding["created_at"])
    view["updated_at"] = util.iso(binding["updated_at"])
    return view


def list_bindings(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:bindings:list")
    page = util.pagination(req, SORT_KEYS, "created_at")
    items = db.binding_list(ctxt, util.filters(req, FILTERS), **page)
    return util.json_response({
        "bindings": [_view(b) for b in items],
        "links": util.links(req, "bindings", items, page["limit"])})


def show(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:bindings:show")
    binding = db.binding_get(ctxt, req.urlvars["binding_id"])
    return util.json_response({"binding": _view(binding)},
                              headers={"ETag": util.etag(binding)})


def update(req):
    """Move the binding to another desktop of its pool."""
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:bindings:update")
    body = util.read_json(req, schema.update)
    binding = db.binding_move(
        ctxt, req.urlvars["binding_id"], body["desktop_id"],
        expected_revision=util.expected_revision(req, body))
    return util.json_response({"binding": _view(binding)},
                              headers={"ETag": util.etag(binding)})


def create(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:bindings:create")
    body = util.read_json(req, schema.create)
    binding = db.binding_create(ctxt, body["kind"], body["key"],
                                body["desktop_id"])
    return util.created(req, "bindings", "binding", binding,
                        _view(binding))


def delete(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:bindings:delete")
    bindings_service.delete(ctxt, req.urlvars["binding_id"])
    return util.empty_response()
