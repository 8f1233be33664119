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

"""Admin API: the audit log of events, newest first (R16)."""

from oslo_utils import timeutils

from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker import policy

FILTERS = ("kind", "action", "result", "username", "actor", "target_type",
           "target_id", "pool_id", "desktop_id")
FIELDS = ("id", "kind", "action", "result", "actor", "request_id",
          "username", "target_type", "target_id", "pool_id", "desktop_id",
          "message", "detail")


def _view(event):
    view = {k: event[k] for k in FIELDS}
    view["created_at"] = util.iso(event["created_at"])
    if event.get("aggregate_key"):
        # An aggregated event (failed logins): how often, first and last.
        view["detail"] = dict(view["detail"] or {},
                              count=event["occurrences"],
                              first_at=view["created_at"],
                              last_at=util.iso(event["last_at"]))
    return view


def _time(req, name):
    """An ISO 8601 query parameter as naive UTC (a bare time is UTC)."""
    value = req.GET.get(name)
    if value is None:
        return None
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(value))
    except (ValueError, OverflowError):
        # OverflowError: a valid time whose UTC value is before year 1 or
        # after 9999 (0001-01-01T00:00:00+01:00).
        raise exception.Invalid(reason="%s must be an ISO 8601 time such "
                                       "as 2026-11-26T08:00:00Z" % name)


def _page(req):
    max_limit = util.app(req).conf.api.max_limit
    try:
        limit = int(req.GET.get("limit", max_limit))
        marker = req.GET.get("marker")
        marker = int(marker) if marker is not None else None
    except ValueError:
        raise exception.Invalid(reason="limit and marker must be integers")
    if limit < 1:
        raise exception.Invalid(reason="limit must be positive")
    return min(limit, max_limit), marker


def list_events(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:events:list")
    limit, marker = _page(req)
    items = db.event_list(ctxt, util.filters(req, FILTERS), limit=limit,
                          marker=marker, since=_time(req, "since"),
                          until=_time(req, "until"))
    return util.json_response({
        "events": [_view(e) for e in items],
        "links": util.links(req, "events", items, limit)})


def show(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:events:show")
    return util.json_response(
        {"event": _view(db.event_get(ctxt, req.urlvars["event_id"]))})
