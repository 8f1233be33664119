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

"""One HTTP connection pool speaking the thin-client API.

Every call is bounded by a connect and a read timeout and never retried
here: a retry would hide the very errors a load test is looking for.
Failures are classified into a short *kind* (``http 503``, ``timeout``,
``connection``) so that the report can count them.

It speaks through urllib3's connection pool directly: the simulator runs on
the broker's own cores in the benchmarks, and requests' sessions cost
about twice the CPU per call for nothing a thin client needs.

The reference thin client (``vdi_broker.thinclient``) speaks through the
same class: it adds a CA file for HTTPS, the ``Retry-After`` of an answer
and the text of the console file.
"""

import json
import time

import urllib3
from urllib3 import exceptions as urllib3_exc

SESSIONS = "/v1/client/sessions"
RETRY_AFTER = "Retry-After"
HEARTBEAT = "/v1/client/heartbeat"
TOKEN_HEADER = "X-Session-Token"  # nosec B105: a header name
# The heartbeat's viewer is API 1.2's.
VIEWER_VERSION = {"OpenStack-API-Version": "vdi 1.2"}


class Outcome:
    """What one call gave: kind ("ok" or an error kind), time, body.

    ``body`` is the parsed JSON document, ``text`` the body of any other
    answer when the call asked for it (a console file), ``retry_after``
    the seconds of a ``Retry-After`` header (429, 503), else None.
    """

    __slots__ = ("op", "kind", "status", "started", "elapsed", "body",
                 "text", "retry_after")

    def __init__(self, op, kind, status, started, elapsed, body=None,
                 text=None, retry_after=None):
        self.op = op
        self.kind = kind
        self.status = status
        self.started = started
        self.elapsed = elapsed
        self.body = body
        self.text = text
        self.retry_after = retry_after

    @property
    def ok(self):
        return self.kind == "ok"


def classify(error):
    """A short name for a failed call's exception."""
    # A certificate the CA file does not vouch for, or a TLS handshake
    # with something that does not speak TLS.
    if isinstance(error, urllib3_exc.SSLError):
        return "tls"
    # urllib3's NewConnectionError (refused, unreachable) is also a
    # ConnectTimeoutError: ask for it first.
    if isinstance(error, (urllib3_exc.NewConnectionError,
                          urllib3_exc.ProtocolError, ConnectionError)):
        return "connection"
    if isinstance(error, urllib3_exc.TimeoutError):
        return "timeout"
    return type(error).__name__


def parse_retry_after(value):
    """Seconds from a Retry-After header (the broker sends seconds)."""
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return None


class BrokerClient:
    """The thin-client API of one broker, for many threads at once.

    ``concurrency`` sizes the connection pool (one kept-alive connection
    per worker thread); ``timeout`` is (connect, read) seconds.
    """

    def __init__(self, url, concurrency=16, timeout=(3.0, 30.0),
                 ca_file=None):
        self.url = url.rstrip("/")
        # HTTPS is verified either way: against ca_file, else the
        # system's trusted CAs.
        tls = {"ca_certs": ca_file} if ca_file else {}
        self.http = urllib3.PoolManager(
            num_pools=1, maxsize=max(concurrency, 1), block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
            **tls)
        # Set once the broker answered 404 to a heartbeat: it has no
        # heartbeat API, so the simulated clients stop sending them.
        self.heartbeat_supported = None

    def close(self):
        self.http.clear()

    def _call(self, op, method, path, expect, document=None, headers=None,
              want_text=False):
        started = time.monotonic()
        headers = dict(headers or {})
        body = None
        if document is not None:
            body = json.dumps(document).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            r = self.http.request(method, self.url + path, body=body,
                                  headers=headers)
        except (urllib3_exc.HTTPError, OSError) as e:
            return Outcome(op, classify(e), None, started,
                           time.monotonic() - started)
        elapsed = time.monotonic() - started
        body = text = retry_after = None
        if r.headers.get("Content-Type", "").startswith("application/json"):
            try:
                body = json.loads(r.data)
            except ValueError:
                body = None
        elif want_text:
            text = r.data.decode("utf-8", "replace")
        if r.status in (429, 503):
            retry_after = parse_retry_after(r.headers.get(RETRY_AFTER))
        kind = "ok" if r.status in expect else "http %d" % r.status
        return Outcome(op, kind, r.status, started, elapsed, body, text,
                       retry_after)

    def login(self, username, password, client_id, seat=None):
        body = {"username": username, "password": password,
                "client_id": client_id}
        if seat:
            body["seat"] = seat
        return self._call("login", "POST", SESSIONS, (201,), document=body)

    def show(self, session):
        return self._call("show", "GET", "%s/%s" % (SESSIONS, session["id"]),
                          (200,), headers={TOKEN_HEADER: session["token"]})

    def console_file(self, session, expect=(200, 404)):
        # 404: the pool's protocol has no client file; not an error to
        # the simulator. The file's text is in the outcome's ``text``.
        return self._call("console-file", "GET",
                          "%s/%s/console-file" % (SESSIONS, session["id"]),
                          expect, headers={TOKEN_HEADER: session["token"]},
                          want_text=True)

    def logout(self, session):
        return self._call("logout", "DELETE",
                          "%s/%s" % (SESSIONS, session["id"]), (204,),
                          headers={TOKEN_HEADER: session["token"]})

    def fault(self, session, reason=None):
        """Report the session's desktop faulty (202: quarantined)."""
        body = {"reason": reason} if reason else {}
        return self._call("fault", "POST",
                          "%s/%s/fault" % (SESSIONS, session["id"]), (202,),
                          document=body,
                          headers={TOKEN_HEADER: session["token"]})

    def heartbeat(self, client_id, session=None, input_events=0,
                  detect_support=True, viewer=None):
        """Send a heartbeat; None when the broker has no heartbeat API.

        ``detect_support``: the first 404 or 405 means the broker has no
        heartbeat API and no more are sent. Without it (the day mode, whose
        thin clients may be unknown to a broker that does not register
        them) a 404 is an error like any other. ``viewer``: the session's
        viewer, ``{"connected": bool}`` (API 1.2, asked for with it).
        """
        if detect_support and self.heartbeat_supported is False:
            return None
        body = {"client_id": client_id, "input_events": input_events}
        headers = {}
        if session:
            body["session_id"] = session["id"]
            headers[TOKEN_HEADER] = session["token"]
            if viewer is not None:
                body["viewer"] = viewer
                headers.update(VIEWER_VERSION)
        outcome = self._call("heartbeat", "POST", HEARTBEAT,
                             (200, 201, 202, 204), document=body,
                             headers=headers)
        if detect_support and outcome.status in (404, 405) and \
                not self.heartbeat_supported:
            self.heartbeat_supported = False
            return None
        if outcome.ok:
            self.heartbeat_supported = True
        return outcome
