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

"""Events: the audit log, filtered by user, pool, action, result, time."""

import urllib.parse

from vdi_broker.portal.views import common

FILTERS = ("username", "pool_id", "action", "result", "kind", "actor")
KINDS = ("allocation", "admin", "client", "pool", "job")
RESULTS = ("success", "failure")
# Suggestions of the action filter (any action may be typed).
ACTIONS = ("login", "logout", "binding.move", "desktop.build",
           "desktop.reboot", "desktop.rebuild", "desktop.quarantine",
           "desktop.console", "pool.update", "allocator.reorder",
           "job.create", "job.start", "job.finish", "job.cancel")


def index(req):
    values = {name: req.GET.get(name, "").strip() for name in FILTERS}
    params = {k: v for k, v in values.items() if v}
    times = {k: req.GET.get(k, "").strip() for k in ("since", "until")}
    # The viewer's time zone (its name, else its offset now), sent by
    # the page's script: the filter's times are the viewer's.
    zone = req.GET.get("tz", "").strip()[:64]
    offset = req.GET.get("tz_offset", "").strip()[:6]
    for key, value in times.items():
        converted = common.local_to_utc(value, zone, offset)
        if converted:
            params[key] = converted
    params["limit"] = req.portal.conf.portal.page_size
    marker = req.GET.get("marker")
    if marker:
        params["marker"] = marker
    items, next_marker = req.api().page("/events", "events", params)
    query = {k: v for k, v in dict(values, tz=zone, tz_offset=offset,
                                   **times).items() if v}
    next_url = (req.path + "?" + urllib.parse.urlencode(
        dict(query, marker=next_marker))) if next_marker else None
    first_url = (req.path + "?" + urllib.parse.urlencode(query)) \
        if marker else None
    page = {"items": items, "next_url": next_url, "first_url": first_url,
            "filters": dict(values, **times)}
    return req.render("events.html", page=page, kinds=KINDS,
                      results=RESULTS, actions=ACTIONS,
                      pools=common.pools_by_id(req), tz_offset=offset,
                      tz=zone, since_utc=params.get("since"),
                      until_utc=params.get("until"))
