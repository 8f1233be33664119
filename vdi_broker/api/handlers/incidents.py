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

"""Admin API: incidents of the five-minute rule (R1)."""

from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import policy

SORT_KEYS = ("opened_at", "deadline", "resolved_at", "seconds")
FILTERS = ("state", "kind", "desktop_id", "pool_id", "session_id",
           "username")


def _view(incident):
    view = {k: incident[k] for k in (
        "id", "kind", "state", "reason", "desktop_id", "pool_id",
        "session_id", "username", "probe_result", "new_desktop_id",
        "seconds")}
    for key in ("opened_at", "deadline", "probed_at", "resolved_at"):
        view[key] = util.iso(incident[key])
    return view


def list_incidents(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:incidents:list")
    page = util.pagination(req, SORT_KEYS, "opened_at")
    if "sort_dir" not in req.GET:
        # Newest first unless asked otherwise.
        page["sort_dir"] = "desc"
    items = db.incident_list(ctxt, util.filters(req, FILTERS), **page)
    return util.json_response({
        "incidents": [_view(i) for i in items],
        "links": util.links(req, "incidents", items, page["limit"])})


def show(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:incidents:show")
    return util.json_response({"incident": _view(
        db.incident_get(ctxt, req.urlvars["incident_id"]))})
