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

"""The thin-client API: log in, look at the session, log out (R7)."""

from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import uuidutils
import webob

from vdi_broker.api import client_auth
from vdi_broker.api import microversion
from vdi_broker.api.schemas import client as schema
from vdi_broker.api import util
from vdi_broker.conf import client_session as client_session_conf
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker.login import service as login_service
from vdi_broker import metrics
from vdi_broker import session_state

LOG = logging.getLogger(__name__)


def _client_context(req, username=None):
    ctxt = vdi_context.RequestContext(
        user_id=username, request_id=req.environ.get("openstack.request_id"),
        overwrite=False)
    req.environ[util.CONTEXT_KEY] = ctxt
    return ctxt


@metrics.login_observed
def login(req):
    app = util.app(req)
    body = util.read_json(req, schema.login)
    username = body["username"]
    client_id = body["client_id"]
    # One directory bind: locked-out users and clients are refused before
    # the directory is asked; failures are counted the same for unknown
    # and known users, in counters every API worker shares, and recorded
    # as events (never with the password).
    # What the directory took is kept in the login's event (the
    # directory_slow alert reads it).
    with metrics.directory_time() as directory:
        principal = app.login.authenticate(
            _client_context(req), app.identity, username, body["password"],
            client_id, detail={"seat": body.get("seat"),
                               "remote_addr": req.remote_addr})
    ctxt = _client_context(req, principal.username)
    token = client_auth.new_token()
    login = {
        "principal": principal.to_dict(),
        "client_id": client_id,
        "seat": body.get("seat"),
        "session_id": uuidutils.generate_uuid(),
        "token_hash": client_auth.token_hash(token),
        "expires_at": client_auth.expires_at(
            app.conf.client_session.token_ttl),
        "deadline": login_service.deadline(app.conf),
        "directory_seconds": directory.seconds,
    }
    # One database transaction, in this process (vdi_broker/login): no
    # message bus, no conductor on the way.
    result = app.login.login(ctxt, login)
    metrics.login_chosen(req, result["allocator"]["name"],
                         result["pool"]["name"])
    LOG.info("Login of %s from client %s: desktop %s of pool %s "
             "(allocator %s)", principal.username, client_id,
             result["desktop"]["id"], result["pool"]["name"],
             result["allocator"]["name"])
    result["session"]["token"] = token
    location = "%s/v1/client/sessions/%s" % (
        req.application_url, result["session"]["id"])
    return util.json_response(result, status=201,
                              headers={"Location": location})


def _authorized_session(req, session_id):
    _client_context(req)
    try:
        session = db.session_get(util.context(req), session_id)
    except exception.SessionNotFound:
        # Without a valid token, an unknown session looks like any other
        # refused one: the API does not tell which session ids exist.
        raise exception.InvalidSessionToken()
    client_auth.check(req, session)
    return session


def show(req):
    session = _authorized_session(req, req.urlvars["session_id"])
    ctxt = util.context(req)
    desktop = db.desktop_get(ctxt, session["desktop_id"])
    connection = util.app(req).login.get_connection(ctxt, session["id"])
    return util.json_response({
        "session": {"id": session["id"], "username": session["username"],
                    "client_id": session["client_id"],
                    "seat": session["seat"], "state": session["state"],
                    "created_at": util.iso(session["created_at"]),
                    "expires_at": util.iso(session["expires_at"])},
        "desktop": {"id": desktop["id"], "name": desktop["name"],
                    "state": desktop["state"],
                    "address": desktop["address"]},
        "connection": connection,
    })


def console_file(req):
    """The session's client file: .vv for remote-viewer, .rdp for RDP.

    It carries a one-time console password or token for some protocols,
    so it is served only with the session token and never cached.
    """
    session = _authorized_session(req, req.urlvars["session_id"])
    result = util.app(req).conductor.get_connection_file(
        util.context(req), session["id"])
    response = webob.Response(status=200, charset="UTF-8")
    response.content_type = result["media_type"]
    response.text = result["content"]
    response.headers["Content-Disposition"] = (
        'attachment; filename="%s"' % result["filename"])
    response.headers["Cache-Control"] = "no-store"
    return response


def logout(req):
    session = _authorized_session(req, req.urlvars["session_id"])
    # One database transaction here; the release action (a reboot, a
    # rebuild) is the conductor's, asked by a cast: no wait on the bus.
    app = util.app(req)
    app.login.logout(util.context(req), session["id"], "logout",
                     release=app.conductor.release_desktop)
    # The lean path forgets its token at once (other API processes check
    # the session again when they write its heartbeats).
    app.beats.session_closed(session["id"])
    return util.empty_response()


def heartbeat(req):
    """A thin client says it is alive (and who uses it, how busily).

    The user is taken only from a session the client proves with its
    session token, never from the body: an anonymous heartbeat cannot
    claim that someone is working.
    """
    app = util.app(req)
    body = util.read_json(req, heartbeat_schema(req))
    _client_context(req)
    session = None
    if body.get("session_id"):
        # Checked in the heartbeat's own transaction: one round trip.
        token = req.headers.get(client_auth.HEADER)
        session = (body["session_id"],
                   client_auth.token_hash(token)
                   if token and len(token) <= 256 else None)
    values = {"last_address": (req.remote_addr or "")[:64] or None,
              "last_user": None,
              "input_events": body.get("input_events")}
    if body.get("seat"):
        values["seat"] = body["seat"]
    health = body.get("health")
    if health is not None:
        values["health"] = health
        failures = health.get("connection_failures") or 0
        if failures >= app.conf.client_session.faulty_after_failures:
            values["fault_reason"] = (
                "%d connections failed in a row: %s" % (
                    failures, health.get("last_connection_error") or
                    "no error reported"))[:1024]
    if session is not None and body.get("viewer") is not None:
        values.update(session_state.viewer_values(body["viewer"],
                                                  timeutils.utcnow()))
    db.thin_client_heartbeat(
        util.context(req), body["client_id"], values,
        register=app.conf.client_session.register_unknown_clients,
        session=session)
    return heartbeat_answer(req, app.conf)


def heartbeat_schema(req):
    """The heartbeat's schema at the request's version."""
    if microversion.at_least(req, microversion.HEARTBEAT_VIEWER):
        return schema.heartbeat_v1_2
    if microversion.at_least(req, microversion.HEARTBEAT_SEAT):
        return schema.heartbeat_v1_1
    return schema.heartbeat


def heartbeat_answer(req, conf):
    """204 before version 1.1; from 1.1 on, the interval to follow."""
    if not microversion.at_least(req, microversion.HEARTBEAT_INTERVAL):
        return util.empty_response()
    return util.json_response({
        "heartbeat_interval": conf.client_session.heartbeat_interval,
        "offline_after": client_session_conf.offline_after(conf),
    })


def fault(req):
    """The thin client reports its session's desktop faulty.

    The desktop is quarantined and the session closed: the user's next
    login gets a healthy desktop.
    """
    session = _authorized_session(req, req.urlvars["session_id"])
    body = util.read_json(req, schema.fault)
    desktop = util.app(req).conductor.report_fault(
        util.context(req), session["id"], body.get("reason"))
    return util.json_response(
        {"desktop": {"id": desktop["id"], "name": desktop["name"],
                     "state": desktop["state"]}}, status=202)
