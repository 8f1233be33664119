"""One HTTP connection pool speaking the thin-client API.

Every call is bounded by a connect and a read timeout and never retried
here: a retry would hide the very errors a load test is looking for.
Failures are classified into a short *kind* (``http 503``, ``timeout``,
``connection``) so that the report can count them.
"""

import time

import requests
from requests import adapters

SESSIONS = "/v1/client/sessions"
HEARTBEAT = "/v1/client/heartbeat"
TOKEN_HEADER = "X-Session-Token"


class Outcome:
    """What one call gave: kind ("ok" or an error kind), time, body."""

    __slots__ = ("op", "kind", "status", "started", "elapsed", "body")

    def __init__(self, op, kind, status, started, elapsed, body=None):
        self.op = op
        self.kind = kind
        self.status = status
        self.started = started
        self.elapsed = elapsed
        self.body = body

    @property
    def ok(self):
        return self.kind == "ok"


def classify(error):
    """A short name for a failed call's exception."""
    if isinstance(error, requests.Timeout):
        return "timeout"
    if isinstance(error, requests.ConnectionError):
        return "connection"
    return type(error).__name__


class BrokerClient:
    """The thin-client API of one broker, for many threads at once.

    ``concurrency`` sizes the connection pool (one kept-alive connection
    per worker thread); ``timeout`` is (connect, read) seconds.
    """

    def __init__(self, url, concurrency=16, timeout=(3.0, 30.0)):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        adapter = adapters.HTTPAdapter(pool_connections=1,
                                       pool_maxsize=max(concurrency, 1),
                                       max_retries=0, pool_block=False)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        # Set once the broker answered 404 to a heartbeat: it has no
        # heartbeat API, so the simulated clients stop sending them.
        self.heartbeat_supported = None

    def close(self):
        self.http.close()

    def _call(self, op, method, path, expect, **kw):
        started = time.monotonic()
        try:
            r = self.http.request(method, self.url + path,
                                  timeout=self.timeout, **kw)
        except requests.RequestException as e:
            return Outcome(op, classify(e), None, started,
                           time.monotonic() - started)
        elapsed = time.monotonic() - started
        body = None
        if r.headers.get("Content-Type", "").startswith("application/json"):
            try:
                body = r.json()
            except ValueError:
                body = None
        kind = "ok" if r.status_code in expect else "http %d" % (
            r.status_code)
        return Outcome(op, kind, r.status_code, started, elapsed, body)

    def login(self, username, password, client_id, seat=None):
        body = {"username": username, "password": password,
                "client_id": client_id}
        if seat:
            body["seat"] = seat
        return self._call("login", "POST", SESSIONS, (201,), json=body)

    def show(self, session):
        return self._call("show", "GET", "%s/%s" % (SESSIONS, session["id"]),
                          (200,), headers={TOKEN_HEADER: session["token"]})

    def console_file(self, session):
        # 404: the pool's protocol has no client file; not an error.
        return self._call("console-file", "GET",
                          "%s/%s/console-file" % (SESSIONS, session["id"]),
                          (200, 404),
                          headers={TOKEN_HEADER: session["token"]})

    def logout(self, session):
        return self._call("logout", "DELETE",
                          "%s/%s" % (SESSIONS, session["id"]), (204,),
                          headers={TOKEN_HEADER: session["token"]})

    def heartbeat(self, client_id, session=None, input_events=0):
        """Send a heartbeat; None when the broker has no heartbeat API."""
        if self.heartbeat_supported is False:
            return None
        body = {"client_id": client_id, "input_events": input_events}
        headers = {}
        if session:
            body["session_id"] = session["id"]
            headers[TOKEN_HEADER] = session["token"]
        outcome = self._call("heartbeat", "POST", HEARTBEAT,
                             (200, 201, 202, 204), json=body,
                             headers=headers)
        if outcome.status in (404, 405) and not self.heartbeat_supported:
            self.heartbeat_supported = False
            return None
        if outcome.ok:
            self.heartbeat_supported = True
        return outcome
