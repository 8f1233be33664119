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

"""A tiny stand-in for the broker's API, for the OSC plugin's unit tests.

A WSGI app on 127.0.0.1 (wsgiref, in a thread) that records every request
and answers with what the test set up for its method and path. The
client under test talks to it over real HTTP through keystoneauth, so
the URL, query, headers and body a command sends are checked as sent.
"""

import io
import json
import threading
import urllib.parse
from unittest import mock
from wsgiref import simple_server

import fixtures
from keystoneauth1 import session as ks_session

from vdi_broker.osc import client as vdi_client


def _decoded(raw):
    """A JSON body decoded, any other (a CSV shift plan) as text."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8")


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, fmt, *args):
        pass


class StubBroker(fixtures.Fixture):
    """``reply(method, path, status, body)`` then look at ``requests``."""

    def __init__(self, prefix=""):
        super().__init__()
        self.prefix = prefix
        self.requests = []
        self.replies = {}

    def reply(self, method, path, status=200, body=None, headers=None):
        """Answer ``method path`` (a callable ``body`` gets the request)."""
        self.replies[(method, path)] = (status, body, headers or {})

    def _app(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        request = {
            "method": environ["REQUEST_METHOD"],
            "path": environ["PATH_INFO"],
            "query": dict(urllib.parse.parse_qsl(
                environ.get("QUERY_STRING", ""))),
            "headers": {k[5:].replace("_", "-").title(): v
                        for k, v in environ.items()
                        if k.startswith("HTTP_")},
            "body": _decoded(raw),
        }
        self.requests.append(request)
        status, body, headers = self.replies.get(
            (request["method"], request["path"]),
            (404, {"error": {"code": 404, "title": "Not Found",
                             "message": "stub: no reply for %s %s" % (
                                 request["method"], request["path"]),
                             "request_id": "req-stub"}}, {}))
        if callable(body):
            body = body(request)
        if isinstance(body, (dict, list)):
            payload = json.dumps(body).encode()
            headers = dict(headers, **{"Content-Type": "application/json"})
        else:
            payload = (body or "").encode()
        reason = {200: "OK", 201: "Created", 202: "Accepted",
                  204: "No Content"}.get(status, "Error")
        start_response("%d %s" % (status, reason), list(headers.items()))
        return [payload] if status != 204 else []

    def _setUp(self):
        self.server = simple_server.make_server(
            "127.0.0.1", 0, self._app, handler_class=_QuietHandler)
        self.url = "http://127.0.0.1:%d%s" % (self.server.server_address[1],
                                              self.prefix)
        thread = threading.Thread(target=self.server.serve_forever,
                                  kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)

    def client(self, timeout=10):
        return vdi_client.Client(ks_session.Session(), endpoint=self.url,
                                 timeout=timeout)


def run_command(command_class, argv, client):
    """Parse ``argv`` and run the command as OSC would; (result, stdout)."""
    app = mock.Mock()
    app.client_manager.vdi = client
    app.stdout = io.StringIO()
    command = command_class(app, None)
    parser = command.get_parser("openstack vdi")
    parsed_args = parser.parse_args(argv)
    return command.take_action(parsed_args), app.stdout.getvalue()
