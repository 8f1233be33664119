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

"""The lean path of the heartbeats and the agent reports.

``POST /v1/client/heartbeat`` and ``POST /v1/agent/report`` are the
API's busiest calls: 10,000 thin clients and 10,000 desktops every 30 s
are 667 requests a second. Through the whole middleware stack (request
id, health check, microversion, fault wrapper, CORS, proxy headers, size
limit, router, JSON schema) and a transaction each, they took about a
core and a half of CPU (``benchmarks/agent_reports.py``). This layer,
outside the stack, answers the ordinary request itself:

* the body is read within the same size limits (``[oslo_middleware]
  max_request_body_size``, ``[agent] max_body``) and checked by a
  hand-written test that accepts only bodies the JSON schema accepts
  (and is ten times faster than jsonschema);
* the thin client, the session token (its SHA-256) or the agent secret
  must be one the full path accepted within ``[beats] auth_cache_time``
  (:mod:`vdi_broker.api.beats`), and a report must respect ``[agent]
  min_report_interval`` (else a 429 of its own);
* the write goes to a buffer written every ``[beats] flush_interval``
  seconds (:mod:`vdi_broker.api.write_behind`);
* the answer carries the request id and the API version as the stack's
  would.

Everything else goes through the whole stack, unchanged: a body that
does not pass the quick test (the schema then gives its 400), a
credential not remembered (the database decides, and a success is
remembered), a browser's CORS request, a chunked body, another method,
a full buffer, a failed write at once. The errors are therefore exactly
the stack's.
"""

import io
import json
import random
import re
import uuid

import microversion_parse
from oslo_middleware import http_proxy_to_wsgi
from oslo_utils import timeutils
import webob

from vdi_broker.api import client_auth
from vdi_broker.api import fault
from vdi_broker.api import microversion
from vdi_broker.conf import client_session as client_session_conf
from vdi_broker import exception
from vdi_broker.guest_agent import protocol
from vdi_broker import session_state
from vdi_broker import states

HEARTBEAT_PATH = "/v1/client/heartbeat"
REPORT_PATH = "/v1/agent/report"
REQUEST_ID_HEADER = "x-openstack-request-id"

# -- the quick body checks: True only for bodies the schemas accept --------

# The schemas' text pattern (^[^\x00-\x1f\x7f]+$), matched whole: stricter
# than the schema's "$", which also matches before a final new line.
_TEXT = re.compile(r"[^\x00-\x1f\x7f]+")
_DESKTOP_ID = re.compile(r"[0-9a-fA-F-]{1,36}")
_HEARTBEAT_KEYS = frozenset(("client_id", "session_id", "input_events",
                             "health"))
_HEALTH_KEYS = frozenset(("display", "network", "last_connection_error",
                          "connection_failures"))
_REPORT_KEYS = frozenset(("desktop_id", "connection_state", "display",
                          "username", "idle_seconds", "cpu_percent",
                          "memory_percent", "disk_free_mb"))


def _text(value, longest):
    return (type(value) is str and len(value) <= longest and
            _TEXT.fullmatch(value) is not None)


def _int(value, lowest, highest):
    return type(value) is int and lowest <= value <= highest


def _health_ok(health):
    if type(health) is not dict or not _HEALTH_KEYS.issuperset(health):
        return False
    for key in ("display", "network"):
        if key in health and not _text(health[key], 64):
            return False
    error = health.get("last_connection_error")
    if error is not None and not _text(error, 255):
        return False
    return ("connection_failures" not in health or
            _int(health["connection_failures"], 0, 1000000))


def _viewer_ok(viewer):
    if type(viewer) is not dict or \
            type(viewer.get("connected")) is not bool:
        return False
    if len(viewer) == 1:
        return True
    return len(viewer) == 2 and "seconds" in viewer and \
        _int(viewer["seconds"], 0, 31536000)


def heartbeat_ok(body, seat=False, viewer=False):
    """Whether ``body`` certainly passes the heartbeat's JSON schema.

    ``seat``: the version's schema takes a seat (1.1 and later);
    ``viewer``: a viewer (1.2 and later).
    """
    if type(body) is not dict or "client_id" not in body:
        return False
    if not _HEARTBEAT_KEYS.issuperset(body):
        for key in body:
            if key in _HEARTBEAT_KEYS:
                continue
            if key == "seat" and seat:
                if not _text(body["seat"], 255):
                    return False
            elif key != "viewer" or not viewer or \
                    not _viewer_ok(body["viewer"]):
                return False
    if not _text(body["client_id"], 255):
        return False
    if "session_id" in body and not _text(body["session_id"], 255):
        return False
    if "input_events" in body and \
            not _int(body["input_events"], 0, 2147483647):
        return False
    return "health" not in body or _health_ok(body["health"])


def _percent(value):
    return value is None or (type(value) in (int, float) and
                             0 <= value <= 100)


def report_ok(body):
    """Whether ``body`` certainly passes the agent report's JSON schema."""
    if type(body) is not dict or "desktop_id" not in body or \
            not _REPORT_KEYS.issuperset(body):
        return False
    desktop_id = body["desktop_id"]
    if type(desktop_id) is not str or \
            _DESKTOP_ID.fullmatch(desktop_id) is None:
        return False
    get = body.get
    if get("connection_state") not in (None,) + states.CONNECTION_STATES:
        return False
    if get("display") not in (None,) + states.DISPLAY_STATES:
        return False
    username = get("username")
    if username is not None and not _text(username, 255):
        return False
    idle = get("idle_seconds")
    if idle is not None and not _int(idle, 0, 31536000):
        return False
    disk = get("disk_free_mb")
    if disk is not None and not _int(disk, 0, 2 ** 31 - 1):
        return False
    return _percent(get("cpu_percent")) and _percent(get("memory_percent"))


REPORT_FIELDS = ("connection_state", "display", "username", "idle_seconds",
                 "cpu_percent", "memory_percent", "disk_free_mb")


def new_request_id():
    """A request id as oslo.middleware's (req-<UUID 4>), without a syscall.

    uuid4() reads os.urandom, a system call per request that costs more
    than the rest of the lean path on a loaded VM; a request id needs
    to be unique, not secret (``random`` is reseeded in forked workers).
    """
    return "req-" + str(uuid.UUID(int=random.getrandbits(128), version=4))


class LeanPaths:
    """WSGI middleware, outermost: the two busy calls' ordinary case."""

    def __init__(self, application, broker_app, conf):
        self.application = application
        self.beats = broker_app.beats
        self.conf = conf
        # Registers [oslo_middleware] enable_proxy_headers_parsing.
        self._proxy = http_proxy_to_wsgi.HTTPProxyToWSGI(None, conf)
        self._versions = microversion.VERSIONS
        # The versions whose heartbeat may carry a viewer.
        self._viewer_versions = frozenset(
            v for v in self._versions if tuple(map(int, v.split("."))) >=
            microversion.HEARTBEAT_VIEWER)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        if path == HEARTBEAT_PATH:
            lean = self._heartbeat
        elif path == REPORT_PATH:
            lean = self._report
        else:
            return self.application(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST" or \
                "HTTP_ORIGIN" in environ or \
                "HTTP_TRANSFER_ENCODING" in environ or \
                not self.conf.beats.lean_path:
            return self.application(environ, start_response)
        return lean(environ, start_response)

    # -- helpers -------------------------------------------------------------

    def _body(self, environ, limit):
        """The JSON document of the request, or None (the full path)."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= limit:
            return None
        content_type = environ.get("CONTENT_TYPE")
        if content_type and \
                content_type.split(";", 1)[0].strip() != "application/json":
            return None
        raw = environ["wsgi.input"].read(length)
        # The full path reads it again if it must.
        environ["wsgi.input"] = io.BytesIO(raw)
        if len(raw) != length or b"\\u" in raw:
            # (An escape may be a lone surrogate: the full path's
            # read_json refuses those.)
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError is one too
            return None

    def _version(self, environ):
        """The version served (a string), or None (the full path)."""
        asked = environ.get("HTTP_OPENSTACK_API_VERSION")
        if asked is None:
            return microversion.MIN_VERSION
        try:
            served = microversion_parse.extract_version(
                {"openstack-api-version": asked}, microversion.SERVICE_TYPE,
                self._versions)
        except (ValueError, TypeError):
            return None
        return "%d.%d" % (served[0], served[1])

    def _address(self, environ):
        """The caller's address, as the proxy-headers middleware sees it."""
        if self.conf.oslo_middleware.enable_proxy_headers_parsing and (
                "HTTP_FORWARDED" in environ or
                "HTTP_X_FORWARDED_FOR" in environ):
            copy = dict(environ)
            self._proxy.process_request(webob.Request(copy))
            return copy.get("REMOTE_ADDR")
        return environ.get("REMOTE_ADDR")

    @staticmethod
    def _headers(version, request_id):
        return [(microversion.HEADER, "%s %s" % (microversion.SERVICE_TYPE,
                                                 version)),
                ("Vary", microversion.HEADER),
                (REQUEST_ID_HEADER, request_id)]

    def _full(self, environ, start_response, status, learn):
        """The whole stack; ``learn()`` when it answers one of ``status``."""
        def start(answer, headers, exc_info=None):
            if answer[:3] in status:
                learn()
            return start_response(answer, headers, exc_info)
        return self.application(environ, start)

    # -- the heartbeat -------------------------------------------------------

    def _heartbeat(self, environ, start_response):
        conf = self.conf
        body = self._body(environ,
                          conf.oslo_middleware.max_request_body_size)
        version = self._version(environ) if body is not None else None
        if version is None or not conf.api.client_api_enabled:
            return self.application(environ, start_response)
        answer = self._heartbeat_answer(version)
        if not heartbeat_ok(body, seat=answer is not None and
                            answer[1] is not None,
                            viewer=version in self._viewer_versions):
            return self.application(environ, start_response)
        if answer is None:
            return self.application(environ, start_response)
        now = timeutils.utcnow()
        client_id = body["client_id"]
        session_id = body.get("session_id")
        token_hash = None
        if session_id is not None:
            token = environ.get("HTTP_X_SESSION_TOKEN")
            if token and len(token) <= 256:
                token_hash = client_auth.token_hash(token)
        beats = self.beats

        def learn():
            beats.client_checked(client_id, session_id, token_hash)

        if beats.clients.get(client_id, now) is None:
            return self._full(environ, start_response, ("204", "200"),
                              learn)
        if session_id is not None:
            known = beats.sessions.get(session_id, now)
            if token_hash is None or known is None or \
                    known[0] != (token_hash, client_id):
                return self._full(environ, start_response, ("204", "200"),
                                  learn)
        events = body.get("input_events")
        address = self._address(environ)
        item = {"client_id": client_id, "now": now,
                "address": (address or "")[:64] or None,
                "session_id": session_id, "input_events": events,
                "input_at": now if events and session_id else None}
        if "seat" in body:
            item["seat"] = body["seat"]
        viewer = body.get("viewer")
        if viewer is not None and session_id is not None:
            item.update(session_state.viewer_values(viewer, now))
        health = body.get("health")
        if health is not None:
            item["health"] = health
            item["fault_reason"] = None
            failures = health.get("connection_failures") or 0
            if failures >= conf.client_session.faulty_after_failures:
                item["fault_reason"] = (
                    "%d connections failed in a row: %s" % (
                        failures, health.get("last_connection_error") or
                        "no error reported"))[:1024]
            item["status"] = "faulty" if item["fault_reason"] else "online"
        try:
            taken = beats.heartbeat(item)
        except Exception:
            # Written at once and failed: the full path writes it again
            # and answers the error (a 503 while the database is down).
            taken = False
        if not taken:
            return self.application(environ, start_response)
        status, document = answer
        return self._answer(environ, start_response, version, status,
                            document)

    def _heartbeat_answer(self, version):
        """(status, JSON document or None) of a heartbeat at ``version``.

        None: a version whose answer this path does not give (the full
        path gives it).
        """
        major, minor = (int(p) for p in version.split("."))
        if (major, minor) < microversion.HEARTBEAT_INTERVAL:
            return "204 No Content", None
        # As handlers/client.heartbeat_answer: the interval to follow.
        conf = self.conf
        return "200 OK", {
            "heartbeat_interval": conf.client_session.heartbeat_interval,
            "offline_after": client_session_conf.offline_after(conf)}

    # -- the agent's report --------------------------------------------------

    def _report(self, environ, start_response):
        conf = self.conf
        body = self._body(environ, min(
            conf.agent.max_body,
            conf.oslo_middleware.max_request_body_size))
        version = self._version(environ) if body is not None else None
        secret = environ.get("HTTP_" + protocol.SECRET_HEADER.upper()
                             .replace("-", "_"))
        if version is None or not secret or len(secret) > 256 or \
                not report_ok(body):
            return self.application(environ, start_response)
        now = timeutils.utcnow()
        desktop_id = body["desktop_id"]
        digest = protocol.secret_hash(secret)
        beats = self.beats
        known = beats.agents.get(desktop_id, now)
        if known is None or known[0] != digest:
            def learn():
                beats.agent_checked(desktop_id, digest, now)
            return self._full(environ, start_response, ("200",), learn)
        min_interval = conf.agent.min_report_interval
        last = known[2]
        if min_interval and last is not None:
            waited = (now - last).total_seconds()
            if waited < min_interval:
                return self._too_soon(environ, start_response, version,
                                      desktop_id, min_interval - waited)
        item = {k: body.get(k) for k in REPORT_FIELDS}
        item.update(desktop_id=desktop_id, secret_hash=digest, now=now,
                    since=now, count=1)
        try:
            taken = beats.report(item)
        except Exception:
            taken = False
        if not taken:
            return self.application(environ, start_response)
        known[2] = now
        return self._answer(
            environ, start_response, version, "200 OK",
            {"report_interval": conf.agent.report_interval})

    def _too_soon(self, environ, start_response, version, desktop_id, wait):
        request_id = new_request_id()
        environ["openstack.request_id"] = request_id
        e = exception.AgentReportTooSoon(
            desktop=desktop_id, retry_after=max(1, int(wait + 0.999)))
        response = fault.error_response(
            webob.Request(environ), e.code, e.title, e.message, e.details(),
            e.headers)
        for name, value in self._headers(version, request_id):
            response.headers.add(name, value)
        return response(environ, start_response)

    def _answer(self, environ, start_response, version, status, document):
        request_id = new_request_id()
        headers = self._headers(version, request_id)
        if document is None:
            start_response(status, headers)
            return [b""]
        data = json.dumps(document).encode("utf-8")
        headers.append(("Content-Type", "application/json"))
        headers.append(("Content-Length", str(len(data))))
        start_response(status, headers)
        return [data]
