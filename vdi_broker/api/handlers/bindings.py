"""Admin API: bindings of desktops to users, seats and thin clients."""

from vdi_broker.api.schemas import bindings as schema
from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import policy

SORT_KEYS = ("created_at", "key", "kind")
FILTERS = ("kind", "key", "desktop_id", "pool_id")


def _view(binding):
    view = {k: binding[k] for k in ("id", "kind", "key", "desktop_id",
                                    "pool_id", "allocator_id")}
    view["created_at"] = util.iso(binding["created_at"])
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
    return util.json_response(
        {"binding": _view(db.binding_get(ctxt, req.urlvars["binding_id"]))})


def create(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:bindings:create")
    body = util.read_json(req, schema.create)
    binding = db.binding_create(ctxt, body["kind"], body["key"],
                                body["desktop_id"])
    return util.json_response(
        {"binding": _view(binding)}, status=201,
        headers={"Location": "%s/v1/bindings/%s" % (req.application_url,
                                                    binding["id"])})


def delete(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:bindings:delete")
    db.binding_delete(ctxt, req.urlvars["binding_id"])
    return util.empty_response()
