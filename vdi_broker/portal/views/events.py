"""Events: the audit log, filtered."""

import datetime
import urllib.parse

from vdi_broker.portal.views import common

FILTERS = ("username", "pool_id", "action", "result", "kind", "actor")
KINDS = ("allocation", "admin", "client", "pool")
RESULTS = ("success", "failure")


def _utc(value, offset):
    """A datetime-local value (the viewer's zone) as UTC ISO 8601.

    ``offset``: the browser's getTimezoneOffset() in minutes (UTC minus
    local), sent by the page's script; without it the time is UTC.
    """
    if not value:
        return None
    try:
        local = datetime.datetime.strptime(value[:16], "%Y-%m-%dT%H:%M")
        minutes = int(offset or 0)
    except ValueError:
        return None
    utc = local + datetime.timedelta(minutes=minutes)
    return utc.strftime("%Y-%m-%dT%H:%M:00Z")


def index(req):
    values = {name: req.GET.get(name, "").strip() for name in FILTERS}
    params = {k: v for k, v in values.items() if v}
    times = {k: req.GET.get(k, "").strip() for k in ("since", "until")}
    offset = req.GET.get("tz_offset", "")
    for key, value in times.items():
        converted = _utc(value, offset)
        if converted:
            params[key] = converted
    params["limit"] = req.portal.conf.portal.page_size
    marker = req.GET.get("marker")
    if marker:
        params["marker"] = marker
    items, next_marker = req.api().page("/events", "events", params)
    query = {k: v for k, v in dict(values, tz_offset=offset,
                                   **times).items() if v}
    next_url = (req.path + "?" + urllib.parse.urlencode(
        dict(query, marker=next_marker))) if next_marker else None
    first_url = (req.path + "?" + urllib.parse.urlencode(query)) \
        if marker else None
    page = {"items": items, "next_url": next_url, "first_url": first_url,
            "filters": dict(values, **times)}
    return req.render("events.html", page=page, kinds=KINDS,
                      results=RESULTS, pools=common.pools_by_id(req),
                      tz_offset=offset)
