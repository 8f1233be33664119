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

"""Admin API: maintenance windows of pools and sites (R14).

A window is recurring (a cron expression local to its time zone, and a
duration) or one-off (start and end). While it is open, jobs with
``in_use: wait`` and roll-outs may take desktops in use (never under a
working agent for roll-outs); a window with ``drain`` takes no new
logins to its pools (vdi_broker/conductor/maintenance.py).
"""

from oslo_utils import timeutils

from vdi_broker.api.handlers import schedules
from vdi_broker.api.schemas import rollouts as schema
from vdi_broker.api import util
from vdi_broker.conductor import maintenance as rules
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker import policy

SORT_KEYS = ("name", "created_at")
FILTERS = ("pool_id", "site", "enabled")
FIELDS = ("id", "name", "description", "pool_id", "site", "cron",
          "timezone", "duration_minutes", "drain", "enabled", "revision")


def _view(window, now=None):
    view = {k: window[k] for k in FIELDS}
    for key in ("starts_at", "ends_at", "created_at", "updated_at"):
        view[key] = util.iso(window[key])
    now = now or timeutils.utcnow(with_timezone=True)
    try:
        current = rules.opening(window, now)
        upcoming = rules.next_opening(window, now)
    except (ValueError, LookupError):
        current = upcoming = None
    view["open"] = current is not None
    bounds = current or upcoming
    view["opens_at"] = util.iso(bounds and bounds[0].replace(tzinfo=None))
    view["closes_at"] = util.iso(bounds and bounds[1].replace(tzinfo=None))
    return view


def _time(body, key):
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(body[key]))
    except (ValueError, OverflowError):
        raise exception.Invalid(reason="%s must be an ISO 8601 time such "
                                       "as 2026-12-24T22:00:00Z" % key)


def create(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:maintenance_windows:create")
    body = util.read_json(req, schema.window_create)
    values = dict(body)
    if bool(values.get("pool_id")) == bool(values.get("site")):
        raise exception.Invalid(reason="a window is of one pool (pool_id) "
                                       "or of one site (site)")
    if values.get("cron") and (values.get("starts_at") or
                               values.get("ends_at")):
        raise exception.Invalid(reason="a window is recurring (cron) or "
                                       "one-off (starts_at, ends_at), not "
                                       "both")
    values.setdefault("timezone", "UTC")
    schedules.check_timezone(values["timezone"])
    for key in ("starts_at", "ends_at"):
        if key in values:
            values[key] = _time(values, key)
    try:
        rules.validate(values)
    except ValueError as e:
        raise exception.Invalid(reason=str(e))
    if values.get("pool_id"):
        values["pool_id"] = db.pool_get(ctxt, values["pool_id"])["id"]
    window = db.window_create(ctxt, values)
    return util.json_response(
        {"maintenance_window": _view(window)}, status=201,
        headers={"Location": "%s/v1/maintenance-windows/%s" % (
            req.application_url, window["id"])})


def list_windows(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:maintenance_windows:list")
    page = util.pagination(req, SORT_KEYS, "name")
    filters = util.filters(req, FILTERS)
    if filters.get("pool_id"):
        try:
            filters["pool_id"] = db.pool_get(ctxt, filters["pool_id"])["id"]
        except exception.PoolNotFound:
            pass
    items = db.window_list(ctxt, filters, **page)
    now = timeutils.utcnow(with_timezone=True)
    return util.json_response({
        "maintenance_windows": [_view(w, now) for w in items],
        "links": util.links(req, "maintenance-windows", items,
                            page["limit"])})


def show(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:maintenance_windows:show")
    window = db.window_get(ctxt, req.urlvars["window_id"])
    return util.json_response({"maintenance_window": _view(window)})


def delete(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:maintenance_windows:delete")
    db.window_delete(ctxt, req.urlvars["window_id"])
    return util.empty_response()
