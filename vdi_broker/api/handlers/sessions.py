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

"""Admin API: thin-client sessions."""

from oslo_utils import timeutils

from vdi_broker.api import microversion
from vdi_broker.api import util
from vdi_broker.conf import client_session as client_session_conf
from vdi_broker.db import api as db
from vdi_broker import policy
from vdi_broker import states

SORT_KEYS = ("created_at", "username", "expires_at")
FILTERS = ("username", "client_id", "seat", "state", "desktop_id",
           "pool_id")


def _connections(req, sessions):
    """{session id: Combined} of the active ones at 1.2, else {}."""
    active = [s for s in sessions if s["state"] == states.SESSION_ACTIVE]
    if not active or \
            not microversion.at_least(req, microversion.HEARTBEAT_VIEWER):
        return {}
    conf = util.app(req).conf
    return db.session_connections(
        util.context(req), active, timeutils.utcnow(),
        conf.agent.silent_after, client_session_conf.offline_after(conf))


def _view(session, req, connections):
    view = {k: session[k] for k in (
        "id", "username", "client_id", "seat", "desktop_id", "pool_id",
        "allocator_id", "binding_id", "state", "close_reason",
        "connection_state", "idle_seconds", "site")}
    for key in ("created_at", "expires_at", "closed_at",
                "connection_since"):
        view[key] = util.iso(session[key])
    if microversion.at_least(req, microversion.HEARTBEAT_VIEWER):
        # The thin client's end (the agent's is connection_state).
        view["viewer_state"] = session["viewer_state"]
        view["viewer_since"] = util.iso(session["viewer_since"])
        # Both ends combined as the conductor does (session_state), now;
        # None for a closed session.
        combined = connections.get(session["id"])
        view["connection"] = None if combined is None else {
            "state": combined.state, "since": util.iso(combined.since),
            "decided_by": combined.source}
    return view


def _session(ctxt, req, action):
    """The request's session, ``action`` authorized on it (its site)."""
    return policy.authorize_record(
        ctxt, action,
        lambda: db.session_get(ctxt, req.urlvars["session_id"]))


def list_sessions(req):
    ctxt = util.context(req)
    filters = policy.authorize_list(ctxt, "vdi_broker:sessions:list",
                                    util.filters(req, FILTERS))
    page = util.pagination(req, SORT_KEYS, "created_at")
    items = db.session_list(ctxt, filters, **page)
    connections = _connections(req, items)
    return util.json_response({
        "sessions": [_view(s, req, connections) for s in items],
        "links": util.links(req, "sessions", items, page["limit"])})


def show(req):
    ctxt = util.context(req)
    session = _session(ctxt, req, "vdi_broker:sessions:show")
    return util.json_response({"session": _view(
        session, req, _connections(req, [session]))})


def delete(req):
    """Force a logout (helpdesk); the pool's release action runs."""
    ctxt = util.context(req)
    session = _session(ctxt, req, "vdi_broker:sessions:delete")
    app = util.app(req)
    app.login.logout(ctxt, session["id"], "forced by operator",
                     release=app.conductor.release_desktop)
    app.beats.session_closed(session["id"])
    return util.empty_response()
