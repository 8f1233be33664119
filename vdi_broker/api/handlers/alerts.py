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

"""Admin API: the broker's alerts (R15)."""

from oslo_log import log as logging

from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker import notifications
from vdi_broker import policy
from vdi_broker import states

LOG = logging.getLogger(__name__)

SORT_KEYS = ("started_at", "kind", "state")
FILTERS = ("state", "kind", "department", "site", "pool", "subject")
FIELDS = ("id", "kind", "subject", "severity", "state", "department",
          "site", "pool", "values", "message", "acknowledged_by")


def view(alert):
    result = {k: alert[k] for k in FIELDS}
    for key in ("started_at", "fired_at", "ended_at", "updated_at",
                "acknowledged_at"):
        result[key] = util.iso(alert[key])
    return result


def list_alerts(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:alerts:list")
    page = util.pagination(req, SORT_KEYS, "started_at")
    if "sort_dir" not in req.GET:
        page["sort_dir"] = "desc"
    filters = util.filters(req, FILTERS)
    for key, allowed in (("state", states.ALERT_STATES),
                         ("kind", states.ALERT_KINDS)):
        if key in filters and filters[key] not in allowed:
            raise exception.Invalid(reason="%s must be one of %s" % (
                key, ", ".join(allowed)))
    items = db.alert_list(ctxt, filters, **page)
    return util.json_response({
        "alerts": [view(a) for a in items],
        "links": util.links(req, "alerts", items, page["limit"])})


def show(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:alerts:show")
    return util.json_response(
        {"alert": view(db.alert_get(ctxt, req.urlvars["alert_id"]))})


def acknowledge(req):
    """An operator acknowledges an alert (it still clears by itself)."""
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:alerts:acknowledge")
    alert = db.alert_acknowledge(ctxt, req.urlvars["alert_id"],
                                 ctxt.user_id or "unknown")
    try:
        notifications.get_notifier(
            util.app(req).conf, "vdi-broker-api").alert(ctxt, {
                "id": alert["id"], "kind": alert["kind"],
                "state": "acknowledged", "severity": alert["severity"],
                "department": alert["department"], "site": alert["site"],
                "pool": alert["pool"],
                "started_at": alert["fired_at"] or alert["started_at"],
                "ended_at": alert["ended_at"],
                "acknowledged_by": alert["acknowledged_by"],
                "values": alert["values"], "message": alert["message"]})
    except Exception:
        LOG.exception("Alert %s: the acknowledgement's notification failed",
                      alert["id"])
    return util.json_response({"alert": view(alert)})
