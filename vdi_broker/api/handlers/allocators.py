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

"""Admin API: allocators (R6, R7) and the explain dry run."""

from vdi_broker import allocators
from vdi_broker.allocators import rules as rules_mod
from vdi_broker.api.schemas import allocators as schema
from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker import policy
from vdi_broker.services import allocators as allocators_service

SORT_KEYS = ("priority", "name", "created_at")
FILTERS = ("name", "plugin", "enabled", "is_default", "pool_id")


def _view(allocator):
    view = {k: allocator[k] for k in (
        "id", "name", "description", "priority", "plugin", "pool_id",
        "rules", "options", "is_default", "enabled", "revision")}
    view["created_at"] = util.iso(allocator["created_at"])
    view["updated_at"] = util.iso(allocator["updated_at"])
    return view


def _values(req, body, current=None):
    values = dict(body)
    values.pop("revision", None)
    if "pool" in values:
        values["pool_id"] = values.pop("pool")
    merged = dict(current or {}, **values)
    plugin = allocators.get_plugin(merged["plugin"])
    if "rules" in values:
        rules_mod.validate(values["rules"])
        if values["rules"].get("pools"):
            values["rules"] = dict(values["rules"], pools=_pool_ids(
                req, values["rules"]["pools"]))
    plugin.validate_options(merged.get("options"))
    if plugin.requires_pool and not merged.get("pool_id"):
        raise exception.Invalid(reason="plugin %s needs a pool" %
                                merged["plugin"])
    if values.get("pool_id"):
        # Resolve a pool name now so that a typo is a 404, not a broken
        # allocator.
        values["pool_id"] = db.pool_get(util.context(req),
                                        values["pool_id"])["id"]
    return values


def _pool_ids(req, refs):
    """The ids of a site-aware rule's pools (400 for an unknown one)."""
    ids = []
    for i, ref in enumerate(refs):
        try:
            ids.append(db.pool_get(util.context(req), ref)["id"])
        except exception.PoolNotFound:
            raise exception.InvalidRules(
                reason="pools/%d: no pool %s" % (i, ref))
    if len(set(ids)) != len(ids):
        raise exception.InvalidRules(
            reason="pools: a pool is listed twice (by name and id)")
    return ids


def list_allocators(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:allocators:list")
    page = util.pagination(req, SORT_KEYS, "priority")
    items = db.allocator_list(ctxt, util.filters(req, FILTERS), **page)
    return util.json_response({
        "allocators": [_view(a) for a in items],
        "links": util.links(req, "allocators", items, page["limit"])})


def show(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:allocators:show")
    allocator = db.allocator_get(ctxt, req.urlvars["allocator_id"])
    return util.json_response({"allocator": _view(allocator)},
                              headers={"ETag": '"%d"' %
                                       allocator["revision"]})


def create(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:allocators:create")
    body = util.read_json(req, schema.create)
    allocator = db.allocator_create(ctxt, _values(req, body))
    return util.json_response(
        {"allocator": _view(allocator)}, status=201,
        headers={"Location": "%s/v1/allocators/%s" % (req.application_url,
                                                      allocator["id"])})


def update(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:allocators:update")
    body = util.read_json(req, schema.update)
    current = db.allocator_get(ctxt, req.urlvars["allocator_id"])
    allocator = db.allocator_update(
        ctxt, current["id"], _values(req, body, current),
        expected_revision=util.expected_revision(req, body))
    return util.json_response({"allocator": _view(allocator)},
                              headers={"ETag": '"%d"' %
                                       allocator["revision"]})


def delete(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:allocators:delete")
    db.allocator_delete(ctxt, req.urlvars["allocator_id"])
    return util.empty_response()


def explain(req):
    """What would this user get? Walks the chain and changes nothing."""
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:allocators:explain")
    body = util.read_json(req, schema.explain)
    app = util.app(req)
    try:
        principal = app.identity.lookup(body["username"])
    except NotImplementedError:
        raise exception.Invalid(reason="the identity driver cannot look "
                                       "users up without a password")
    result = app.login.explain(ctxt, {
        "principal": principal.to_dict(),
        "client_id": body.get("client_id", "(explain)"),
        "seat": body.get("seat")})
    return util.json_response({"explain": result})


def reorder(req):
    """Set the chain's order in one transaction: priorities 10, 20, ..."""
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:allocators:reorder")
    body = util.read_json(req, schema.reorder)
    items = allocators_service.reorder(ctxt, body["allocators"])
    return util.json_response({"allocators": [_view(a) for a in items]})
