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

"""Alerts: what the conductor raised, and an operator's acknowledgement.

The conductor opens an alert (pending, then firing) when a figure
crosses its threshold and resolves it when the figure recovers
(``/v1/alerts``, see doc/source/admin/monitoring.rst). Every persona
reads them; operators acknowledge one (it still clears by itself).
"""

import urllib.parse

from vdi_broker.portal import api
from vdi_broker.portal.views import common
from vdi_broker import states

ALERT_STATES = states.ALERT_STATES
ALERT_KINDS = states.ALERT_KINDS
# The page shows the firing alerts unless told otherwise; "any" shows
# every state.
DEFAULT_STATE = states.ALERT_FIRING
ANY = "any"


def values_text(values):
    """The numbers that raised an alert, as "name: value" pairs."""
    if not isinstance(values, dict):
        return []
    return ["%s: %s" % (key, values[key]) for key in sorted(values)]


def index(req):
    state = req.GET.get("state", DEFAULT_STATE).strip()
    if state not in ALERT_STATES:
        state = ANY
    kind = req.GET.get("kind", "").strip()
    if kind not in ALERT_KINDS:
        kind = ""
    params = {"limit": req.portal.conf.portal.page_size,
              "sort_key": "started_at", "sort_dir": "desc"}
    if state != ANY:
        params["state"] = state
    if kind:
        params["kind"] = kind
    marker = req.GET.get("marker")
    if marker:
        params["marker"] = marker
    items, next_marker = req.api().page("/alerts", "alerts", params)
    query = {"state": state}
    if kind:
        query["kind"] = kind
    next_url = (req.path + "?" + urllib.parse.urlencode(
        dict(query, marker=next_marker))) if next_marker else None
    first_url = (req.path + "?" + urllib.parse.urlencode(query)) \
        if marker else None
    page = {"items": items, "next_url": next_url, "first_url": first_url,
            "filters": {"state": state, "kind": kind}}
    return req.render("alerts.html", page=page, alert_states=ALERT_STATES,
                      alert_kinds=ALERT_KINDS, any_state=ANY,
                      values_text=values_text)


def acknowledge(req):
    alert_id = req.urlvars["alert_id"]
    name = req.POST.get("name") or alert_id
    asked = req.confirm(req.gettext("Acknowledge an alert"), req.gettext(
        "Acknowledge alert %(name)s? It stays open until its condition "
        "clears; the acknowledgement tells the other operators someone "
        "is on it.", name=name))
    if asked:
        return asked
    return common.run(
        req, req.gettext("Acknowledging alert %(name)s", name=name),
        lambda: req.api().request("POST", "/alerts/%s/acknowledge" %
                                  api.quote(alert_id)),
        req.gettext("Alert %(name)s acknowledged.", name=name), "/alerts")
