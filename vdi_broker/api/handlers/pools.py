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

"""Admin API: pools (R5)."""

from oslo_utils import timeutils

from vdi_broker.api.schemas import pools as schema
from vdi_broker.api import util
from vdi_broker.compute import registry as cloud_registry
from vdi_broker.conductor import throttle
from vdi_broker import consoles
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker import policy
from vdi_broker import states

SORT_KEYS = ("name", "created_at", "updated_at", "site")
FILTERS = ("name", "site", "cloud", "status", "enabled")


def boots_view(pool, boots):
    """The pool's boot queue: what boots, what waits and why (R10)."""
    boots = boots or {}
    # As the boot queue applies it (a failing pool starts throttled).
    # (int(): a pool just created still has the body's 4.0 for 4.)
    allowance = throttle.current(pool["build_allowance"],
                                 int(pool["max_concurrent_builds"]),
                                 pool["build_failures"])
    restarts = boots.get("queued", 0)
    wanted = pool["boots_wanted"] or 0
    return {"in_flight": boots.get("in_flight", 0),
            "queued": restarts + wanted,
            "queued_restarts": restarts, "queued_creates": wanted,
            "allowance": allowance, "limit": pool["max_concurrent_builds"],
            "waiting_reason": pool["boot_wait_reason"],
            "average_seconds": (round(pool["boot_seconds"], 1)
                                if pool["boot_seconds"] is not None
                                else None)}


def _view(pool, counts, boots=None):
    counts = counts or {}
    view = {k: pool[k] for k in (
        "id", "name", "description", "site", "cloud", "flavor", "image",
        "networks", "availability_zone", "min_ready", "max_size",
        "max_concurrent_builds", "release_action", "console_type",
        "enabled", "status", "status_reason", "readiness_probe",
        "disconnect_timeout", "idle_timeout", "expiry_when_connected",
        "fix_time", "revision")}
    view["metadata"] = pool["server_metadata"]
    # The build throttle's state (see the pool manager).
    view["build"] = {"failures": pool["build_failures"],
                     "failing_since": util.iso(pool["failing_since"]),
                     "last_error": pool["last_build_error"]}
    view["desktops"] = dict({s: counts.get(s, 0)
                             for s in states.DESKTOP_STATES},
                            total=sum(counts.values()))
    view["boots"] = boots_view(pool, boots)
    # A draining maintenance window: no new logins before then.
    until = pool.get("drain_until")
    view["draining_until"] = util.iso(until) if until is not None and \
        until > timeutils.utcnow() else None
    view["created_at"] = util.iso(pool["created_at"])
    view["updated_at"] = util.iso(pool["updated_at"])
    return view


def _values(body):
    values = dict(body)
    if "metadata" in values:
        values["server_metadata"] = values.pop("metadata")
    values.pop("revision", None)
    return values


def _check(req, values, current=None):
    merged = dict(current or {}, **values)
    if merged.get("min_ready", 0) > merged.get("max_size", 0):
        raise exception.Invalid(reason="min_ready (%s) is larger than "
                                       "max_size (%s)" % (
                                           merged.get("min_ready"),
                                           merged.get("max_size")))
    conf = util.app(req).conf
    if values.get("cloud") is not None:
        # 400: a cloud the broker does not know ([compute] clouds).
        cloud_registry.driver_and_group(conf, values["cloud"])
    if current is not None and "cloud" in values and \
            values["cloud"] != current.get("cloud") and \
            db.pool_desktop_counts(util.context(req), [current["id"]]).get(
                current["id"]):
        raise exception.Conflict(
            reason="pool %s has desktops in cloud %s: empty it (max_size "
                   "0) before moving it to another cloud" % (
                       current["name"], current.get("cloud") or "default"))
    if "console_type" in values or "cloud" in values:
        console_type = merged.get("console_type") or "rdp"
        if console_type not in consoles.driver_names():
            raise exception.InvalidPlugin(namespace=consoles.NAMESPACE,
                                          name=console_type)
        # 409 when the pool's compute driver cannot open that console:
        # every login of the pool would fail after its claim.
        consoles.check_supported(console_type, conf,
                                 cloud=cloud_registry.cloud_of(conf, merged))


def list_pools(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:pools:list")
    page = util.pagination(req, SORT_KEYS, "name")
    pools = db.pool_list(ctxt, util.filters(req, FILTERS), **page)
    ids = [p["id"] for p in pools]
    counts = db.pool_desktop_counts(ctxt, ids)
    boots = db.pool_boot_counts(ctxt, ids)
    return util.json_response({
        "pools": [_view(p, counts.get(p["id"]), boots.get(p["id"]))
                  for p in pools],
        "links": util.links(req, "pools", pools, page["limit"])})


def show(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:pools:show")
    pool = db.pool_get(ctxt, req.urlvars["pool_id"])
    counts = db.pool_desktop_counts(ctxt, [pool["id"]])
    boots = db.pool_boot_counts(ctxt, [pool["id"]])
    return util.json_response(
        {"pool": _view(pool, counts.get(pool["id"]), boots.get(pool["id"]))},
        headers={"ETag": util.etag(pool)})


def create(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:pools:create")
    body = util.read_json(req, schema.create)
    values = _values(body)
    values.setdefault("console_type", "rdp")
    _check(req, values)
    pool = db.pool_create(ctxt, values)
    return util.json_response(
        {"pool": _view(pool, {})}, status=201,
        headers={"Location": "%s/v1/pools/%s" % (req.application_url,
                                                 pool["id"]),
                 "ETag": util.etag(pool)})


def update(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:pools:update")
    body = util.read_json(req, schema.update)
    current = db.pool_get(ctxt, req.urlvars["pool_id"])
    values = _values(body)
    _check(req, values, current)
    if values.get("image", current["image"]) != current["image"] and \
            db.rollout_list(ctxt, {"pool_id": current["id"],
                                   "state": list(states.ROLLOUT_OPEN)}):
        raise exception.Conflict(
            reason="pool %s has an open image roll-out: pause, finish or "
                   "roll it back instead of changing the image" %
                   current["name"])
    pool = db.pool_update(ctxt, current["id"], values,
                          expected_revision=util.expected_revision(req, body))
    counts = db.pool_desktop_counts(ctxt, [pool["id"]])
    boots = db.pool_boot_counts(ctxt, [pool["id"]])
    return util.json_response(
        {"pool": _view(pool, counts.get(pool["id"]), boots.get(pool["id"]))},
        headers={"ETag": util.etag(pool)})


def delete(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:pools:delete")
    db.pool_delete(ctxt, req.urlvars["pool_id"])
    return util.empty_response()
