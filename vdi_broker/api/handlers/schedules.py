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

"""Admin API: schedules, the time windows that raise a pool's min_ready.

The pool manager applies them (vdi_broker/conductor/schedules.py); here
they are checked so that a stored schedule always means something: known
days, times, a time zone of the zone database and a min_ready the pool
can hold. An end at or before the start closes the next day (an end
equal to the start makes a 24-hour window), as the pool manager reads it.
"""

import zoneinfo

from vdi_broker.api.schemas import schedules as schema
from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker import policy

SORT_KEYS = ("name", "created_at", "pool_id")
FILTERS = ("pool_id", "enabled")
FIELDS = ("id", "name", "pool_id", "days", "start_time", "end_time",
          "timezone", "min_ready", "prewarm_minutes", "enabled",
          "description", "revision")


def _view(schedule):
    view = {k: schedule[k] for k in FIELDS}
    view["created_at"] = util.iso(schedule["created_at"])
    view["updated_at"] = util.iso(schedule["updated_at"])
    return view


def check_timezone(name):
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise exception.Invalid(reason="timezone %s is not a time zone of "
                                       "the IANA database" % name)


def _values(ctxt, body, current=None):
    """Checked values of a create or update (pool names resolved)."""
    values = dict(body)
    values.pop("revision", None)
    merged = dict(current or {}, **values)
    if "timezone" in values:
        check_timezone(values["timezone"])
    pool = db.pool_get(ctxt, merged["pool_id"])
    if "pool_id" in values:
        values["pool_id"] = pool["id"]
    if merged["min_ready"] > pool["max_size"]:
        raise exception.Invalid(
            reason="min_ready (%d) is larger than the max_size (%d) of "
                   "pool %s" % (merged["min_ready"], pool["max_size"],
                                pool["name"]))
    if "days" in values:
        # Stored in week order, whatever order they came in.
        values["days"] = [d for d in schema.DAYS if d in values["days"]]
    return values


def _filters(req):
    filters = util.filters(req, FILTERS)
    if filters.get("pool_id"):
        try:
            filters["pool_id"] = db.pool_get(util.context(req),
                                             filters["pool_id"])["id"]
        except exception.PoolNotFound:
            pass
    return filters


def list_schedules(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:schedules:list")
    page = util.pagination(req, SORT_KEYS, "name")
    items = db.schedule_list(ctxt, _filters(req), **page)
    return util.json_response({
        "schedules": [_view(s) for s in items],
        "links": util.links(req, "schedules", items, page["limit"])})


def show(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:schedules:show")
    schedule = db.schedule_get(ctxt, req.urlvars["schedule_id"])
    return util.json_response({"schedule": _view(schedule)},
                              headers={"ETag": util.etag(schedule)})


def create(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:schedules:create")
    body = util.read_json(req, schema.create)
    values = dict(body)
    values.setdefault("timezone", "UTC")
    schedule = db.schedule_create(ctxt, _values(ctxt, values))
    return util.created(req, "schedules", "schedule", schedule,
                        _view(schedule))


def update(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:schedules:update")
    body = util.read_json(req, schema.update)
    current = db.schedule_get(ctxt, req.urlvars["schedule_id"])
    schedule = db.schedule_update(
        ctxt, current["id"], _values(ctxt, body, current),
        expected_revision=util.expected_revision(req, body))
    return util.json_response({"schedule": _view(schedule)},
                              headers={"ETag": util.etag(schedule)})


def delete(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:schedules:delete")
    db.schedule_delete(ctxt, req.urlvars["schedule_id"])
    return util.empty_response()
