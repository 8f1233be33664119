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

"""Admin API: desktops, and the actions on one (Nova style)."""

from vdi_broker.api.schemas import desktops as schema
from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import policy

SORT_KEYS = ("created_at", "name", "state", "updated_at")
FILTERS = ("pool_id", "state", "assigned_user", "host", "server_id",
           "name")

_FIELDS = ("id", "name", "pool_id", "server_id", "state", "state_reason",
           "host", "address", "assigned_user", "fault_reason",
           "faulted_by", "image")
_TIMES = ("assigned_at", "faulted_at", "created_at", "updated_at")


def _view(desktop):
    view = {k: desktop[k] for k in _FIELDS}
    for key in _TIMES:
        view[key] = util.iso(desktop[key])
    return view


def _desktop(ctxt, req, action):
    """The request's desktop, ``action`` authorized on it.

    A desktop's site is its pool's (read only for a site-scoped
    persona).
    """
    return policy.authorize_record(
        ctxt, action,
        lambda: db.desktop_get(ctxt, req.urlvars["desktop_id"]),
        lambda desktop: db.pool_get(ctxt, desktop["pool_id"])["site"])


def list_desktops(req):
    ctxt = util.context(req)
    filters = policy.authorize_list(ctxt, "vdi_broker:desktops:list",
                                    util.filters(req, FILTERS))
    page = util.pagination(req, SORT_KEYS, "created_at")
    items = db.desktop_list(ctxt, filters, **page)
    return util.json_response({
        "desktops": [_view(d) for d in items],
        "links": util.links(req, "desktops", items, page["limit"])})


def show(req):
    ctxt = util.context(req)
    desktop = _desktop(ctxt, req, "vdi_broker:desktops:show")
    return util.json_response({"desktop": _view(desktop)})


def action(req):
    """POST /v1/desktops/{desktop_id}/action: exactly one action.

    The conductor runs it (a compare-and-swap on the desktop's state: 409
    when the state does not allow it) and answers with the desktop as
    the action left it; the rest (a reboot, a deletion) goes on in the
    background, hence 202.
    """
    ctxt = util.context(req)
    body = util.read_json(req, schema.action)
    name, args = next(iter(body.items()))
    _desktop(ctxt, req, "vdi_broker:desktops:action:%s" % name)
    desktop = util.app(req).conductor.desktop_action(
        ctxt, req.urlvars["desktop_id"], name, args)
    return util.json_response({"desktop": desktop}, status=202)


def console(req):
    """POST /v1/desktops/{desktop_id}/console: a browser console's URL.

    409 when the pool's console type has no browser console, or the
    server cannot give one in its state; the URL carries a one-time
    token, so the answer is not cached.
    """
    ctxt = util.context(req)
    _desktop(ctxt, req, "vdi_broker:desktops:console")
    console = util.app(req).conductor.desktop_console(
        ctxt, req.urlvars["desktop_id"])
    return util.json_response({"console": console},
                              headers={"Cache-Control": "no-store"})
