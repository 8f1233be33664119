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

"""Admin API: image roll-outs of pools (R14).

Creating a roll-out sets the pool's image; the conductor that keeps the
pool rebuilds its desktops, canary first, then in waves, within the boot
limits, never under a working agent (vdi_broker/conductor/rollouts.py).
"""

from oslo_utils import uuidutils

from vdi_broker.api.schemas import rollouts as schema
from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker import policy
from vdi_broker import states

SORT_KEYS = ("created_at", "state")
FILTERS = ("state",)
FIELDS = ("id", "pool_id", "image", "previous_image", "target_image",
          "state", "status_reason", "phase", "canary_share", "canary_size",
          "wave_size", "max_failures", "window_id", "created_by",
          "progress", "revision")
DESKTOP_FIELDS = ("desktop_id", "desktop_name", "image", "from_state",
                  "state", "reason")


def _view(rollout):
    view = {k: rollout.get(k) for k in FIELDS}
    for key in ("created_at", "updated_at", "finished_at"):
        view[key] = util.iso(rollout.get(key))
    return view


def _desktop_view(row):
    view = {k: row[k] for k in DESKTOP_FIELDS}
    view["started_at"] = util.iso(row["started_at"])
    view["finished_at"] = util.iso(row["finished_at"])
    return view


def create(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:rollouts:create")
    body = util.read_json(req, schema.create)
    pool = db.pool_get(ctxt, req.urlvars["pool_id"])
    window_id = None
    if body.get("window"):
        try:
            window_id = db.window_get(ctxt, body["window"])["id"]
        except exception.MaintenanceWindowNotFound:
            raise exception.Invalid(reason="maintenance window %s does "
                                           "not exist" % body["window"])
    rollout = db.rollout_create(ctxt, {
        "id": uuidutils.generate_uuid(), "pool": pool["id"],
        "image": body["image"],
        "canary_share": body.get("canary_share", 0.1),
        "wave_size": body.get("wave_size", 5),
        "max_failures": body.get("max_failures", 1),
        "window_id": window_id,
        "created_by": getattr(ctxt, "user_id", None)})
    return util.json_response(
        {"rollout": _view(rollout)}, status=201,
        headers={"Location": "%s/v1/rollouts/%s" % (req.application_url,
                                                    rollout["id"])})


def _list(req, filters):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:rollouts:list")
    page = util.pagination(req, SORT_KEYS, "created_at")
    filters = dict(util.filters(req, FILTERS), **filters)
    if filters.get("state") and filters["state"] not in \
            states.ROLLOUT_STATES:
        raise exception.Invalid(reason="state must be one of %s" %
                                ", ".join(states.ROLLOUT_STATES))
    items = db.rollout_list(ctxt, filters, **page)
    return util.json_response({
        "rollouts": [_view(r) for r in items],
        "links": util.links(req, "rollouts", items, page["limit"])})


def list_pool_rollouts(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:rollouts:list")
    pool = db.pool_get(ctxt, req.urlvars["pool_id"])
    return _list(req, {"pool_id": pool["id"]})


def list_rollouts(req):
    return _list(req, {})


def show(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:rollouts:show")
    rollout = db.rollout_get(ctxt, req.urlvars["rollout_id"])
    return util.json_response({"rollout": _view(rollout)})


def desktops(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:rollouts:show")
    state = req.GET.get("state")
    allowed = (states.ROLLOUT_DESKTOP_IN_PROGRESS,
               states.ROLLOUT_DESKTOP_DONE, states.ROLLOUT_DESKTOP_FAILED)
    if state is not None and state not in allowed:
        raise exception.Invalid(reason="state must be one of %s" %
                                ", ".join(allowed))
    items = db.rollout_desktop_list(ctxt, req.urlvars["rollout_id"], state)
    return util.json_response({"desktops": [_desktop_view(d)
                                            for d in items]})


def action(req):
    ctxt = util.context(req)
    body = util.read_json(req, schema.action)
    policy.authorize(ctxt, "vdi_broker:rollouts:%s" % body["action"])
    rollout = db.rollout_action(ctxt, req.urlvars["rollout_id"],
                                body["action"], body.get("reason"))
    return util.json_response({"rollout": _view(rollout)})
