"""Admin API: desktops (read-only for now; actions come with the
operator API)."""

from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import policy

SORT_KEYS = ("created_at", "name", "state", "updated_at")
FILTERS = ("pool_id", "state", "assigned_user", "host", "server_id")


def _view(desktop):
    view = {k: desktop[k] for k in (
        "id", "name", "pool_id", "server_id", "state", "state_reason",
        "host", "address", "assigned_user")}
    for key in ("assigned_at", "created_at", "updated_at"):
        view[key] = util.iso(desktop[key])
    return view


def list_desktops(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:desktops:list")
    page = util.pagination(req, SORT_KEYS, "created_at")
    items = db.desktop_list(ctxt, util.filters(req, FILTERS), **page)
    return util.json_response({
        "desktops": [_view(d) for d in items],
        "links": util.links(req, "desktops", items, page["limit"])})


def show(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:desktops:show")
    return util.json_response(
        {"desktop": _view(db.desktop_get(ctxt, req.urlvars["desktop_id"]))})
