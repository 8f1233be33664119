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

"""The thin client's HTTP calls: Retry-After, console file, TLS, heartbeat."""

import json

from tests import base
from tests.fixtures import http_server
from vdi_broker.thinclient import api
from vdi_broker.thinclient import config as config_mod


class Recorder:
    """A WSGI app answering from a table and remembering the requests."""

    def __init__(self, answers):
        self.answers = answers
        self.requests = []

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        self.requests.append((environ["REQUEST_METHOD"],
                              environ["PATH_INFO"],
                              environ.get("HTTP_X_SESSION_TOKEN"),
                              json.loads(body) if body else None))
        status, headers, data = self.answers[environ["PATH_INFO"]]
        start_response(status, headers + [("Content-Length",
                                           str(len(data)))])
        return [data]


ERROR = json.dumps({"error": {"code": 503, "message": "busy",
                              "details": {"pool": "p", "ready": 0,
                                          "building": 1}}}).encode()
VV = b"[virt-viewer]\ntype=spice\nhost=h\nport=5900\n"
SESSION = {"id": "s-1", "token": "t0ken"}


class ThinClientAPITest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.app = Recorder({
            "/v1/client/sessions": ("503 Service Unavailable",
                                    [("Content-Type", "application/json"),
                                     ("Retry-After", "15")], ERROR),
            "/v1/client/sessions/s-1/console-file": (
                "200 OK", [("Content-Type", "application/x-virt-viewer")],
                VV),
            "/v1/client/sessions/s-1/fault": (
                "202 Accepted", [("Content-Type", "application/json")],
                b'{"desktop": {"state": "quarantined"}}'),
            "/v1/client/heartbeat": ("204 No Content", [], b""),
        })
        self.server = self.useFixture(http_server.WSGIServer(self.app))
        self.api = self.client(self.server.url)

    def client(self, url, **values):
        cfg = config_mod.Config(broker_url=url, connect_timeout=2,
                                read_timeout=5, **values)
        client = api.ThinClientAPI(cfg)
        self.addCleanup(client.close)
        return client

    def test_retry_after_and_details_of_a_refused_login(self):
        outcome = self.api.login("amy", "pw", "tc-1", "SH-1")
        self.assertEqual((503, 15, "http 503"),
                         (outcome.status, outcome.retry_after, outcome.kind))
        self.assertEqual(1, outcome.body["error"]["details"]["building"])
        self.assertEqual({"username": "amy", "password": "pw",
                          "client_id": "tc-1", "seat": "SH-1"},
                         self.app.requests[0][3])

    def test_console_file_text(self):
        outcome = self.api.console_file(SESSION, expect=(200,))
        self.assertTrue(outcome.ok)
        self.assertEqual(VV.decode(), outcome.text)
        self.assertEqual("t0ken", self.app.requests[0][2])

    def test_fault(self):
        outcome = self.api.fault(SESSION, "the viewer could not connect")
        self.assertEqual(202, outcome.status)
        self.assertEqual(("POST", "/v1/client/sessions/s-1/fault", "t0ken",
                          {"reason": "the viewer could not connect"}),
                         self.app.requests[0])

    def test_heartbeats(self):
        self.assertTrue(self.api.heartbeat("tc-1").ok)
        self.assertTrue(self.api.heartbeat("tc-1", SESSION, 7).ok)
        self.assertTrue(self.api.heartbeat(
            "tc-1", health={"connection_failures": 1}).ok)
        # Not measured: no count at all, rather than a zero.
        self.assertEqual({"client_id": "tc-1"}, self.app.requests[0][3])
        self.assertEqual(({"client_id": "tc-1", "session_id": "s-1",
                           "input_events": 7}, "t0ken"),
                         (self.app.requests[1][3], self.app.requests[1][2]))
        self.assertEqual({"client_id": "tc-1",
                          "health": {"connection_failures": 1}},
                         self.app.requests[2][3])

    def test_tls_to_a_server_that_does_not_speak_it(self):
        client = self.client(self.server.url.replace("http:", "https:"))
        outcome = client.heartbeat("tc-1")
        self.assertEqual(("tls", None), (outcome.kind, outcome.status))
        self.assertEqual([], self.app.requests)

    def test_a_missing_ca_file_is_a_tls_error(self):
        client = self.client(self.server.url.replace("http:", "https:"),
                             ca_file="/nonexistent/ca.pem")
        outcome = client.login("amy", "pw", "tc-1")
        self.assertFalse(outcome.ok)
        self.assertIsNone(outcome.status)


class OlderBroker:
    """A broker serving 1.0 only: 406 to a 1.1 request, else 204."""

    def __init__(self, max_version="1.0"):
        self.max_version = max_version
        self.asked = []
        self.bodies = []

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        asked = environ.get("HTTP_OPENSTACK_API_VERSION")
        self.asked.append(asked)
        self.bodies.append(json.loads(body) if body else None)
        if asked and asked.split()[-1] > self.max_version:
            data = b'{"error": {"code": 406}}'
            start_response("406 Not Acceptable", [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data)))])
            return [data]
        if asked in ("vdi 1.1", "vdi 1.2"):
            data = b'{"heartbeat_interval": 20, "offline_after": 300}'
            start_response("200 OK", [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data)))])
            return [data]
        start_response("204 No Content", [])
        return [b""]


class HeartbeatVersionTest(base.TestCase):

    def client(self, app):
        server = self.useFixture(http_server.WSGIServer(app))
        client = api.ThinClientAPI(config_mod.Config(
            broker_url=server.url, connect_timeout=2, read_timeout=5))
        self.addCleanup(client.close)
        return client

    def test_version_1_1_says_the_interval(self):
        broker = OlderBroker(max_version="1.1")
        outcome = self.client(broker).heartbeat("tc-1")
        self.assertEqual((True, 200), (outcome.ok, outcome.status))
        self.assertEqual(20, outcome.body["heartbeat_interval"])
        # 1.2 refused, 1.1 at once.
        self.assertEqual(["vdi 1.2", "vdi 1.1"], broker.asked)

    def test_the_viewer_goes_at_1_2_with_a_session_only(self):
        session = {"id": "s-1", "token": "t"}
        viewer = {"connected": True, "seconds": 12}
        broker = OlderBroker(max_version="1.2")
        client = self.client(broker)
        self.assertEqual(200, client.heartbeat(
            "tc-1", session=session, seat="SH-1", viewer=viewer).status)
        self.assertEqual(["vdi 1.2"], broker.asked)
        self.assertEqual({"client_id": "tc-1", "session_id": "s-1",
                          "seat": "SH-1", "viewer": viewer},
                         broker.bodies[-1])
        # No session: no viewer.
        client.heartbeat("tc-1", viewer=viewer)
        self.assertNotIn("viewer", broker.bodies[-1])
        # A 1.1 broker: the same heartbeat again at 1.1 without the
        # viewer, and the next ones at 1.1 until 1.2 is asked again.
        broker = OlderBroker(max_version="1.1")
        client = self.client(broker)
        self.assertEqual(200, client.heartbeat(
            "tc-1", session=session, seat="SH-1", viewer=viewer).status)
        self.assertEqual(["vdi 1.2", "vdi 1.1"], broker.asked)
        self.assertEqual([viewer, None], [b.get("viewer")
                                          for b in broker.bodies])
        self.assertEqual("SH-1", broker.bodies[-1]["seat"])
        for _ in range(api.REPROBE_AFTER):
            client.heartbeat("tc-1", session=session, viewer=viewer)
        self.assertEqual(["vdi 1.2"] + ["vdi 1.1"] * (
            api.REPROBE_AFTER + 1), broker.asked)
        broker.max_version = "1.2"
        client.heartbeat("tc-1", session=session, viewer=viewer)
        self.assertEqual("vdi 1.2", broker.asked[-1])
        self.assertEqual(viewer, broker.bodies[-1]["viewer"])

    def test_the_seat_goes_at_1_1_only(self):
        broker = OlderBroker(max_version="1.1")
        client = self.client(broker)
        self.assertEqual(200, client.heartbeat("tc-1", seat="SH-1").status)
        self.assertEqual({"client_id": "tc-1", "seat": "SH-1"},
                         broker.bodies[-1])
        # A 1.0 broker: the same heartbeat again without the seat (its
        # schema has none).
        broker = OlderBroker()
        client = self.client(broker)
        self.assertEqual(204, client.heartbeat("tc-1", seat="SH-1").status)
        self.assertEqual([{"client_id": "tc-1", "seat": "SH-1"}] * 2 +
                         [{"client_id": "tc-1"}], broker.bodies)
        self.assertEqual(204, client.heartbeat("tc-1", seat="SH-1").status)
        self.assertEqual({"client_id": "tc-1"}, broker.bodies[-1])

    def test_an_older_broker_gets_1_0_and_is_asked_again_later(self):
        broker = OlderBroker()
        client = self.client(broker)
        outcome = client.heartbeat("tc-1")
        self.assertEqual((True, 204), (outcome.ok, outcome.status))
        # Refused, then again at once at 1.1, then without the header.
        self.assertEqual(["vdi 1.2", "vdi 1.1", None], broker.asked)
        for _ in range(api.REPROBE_AFTER):
            self.assertTrue(client.heartbeat("tc-1").ok)
        self.assertEqual(["vdi 1.2", "vdi 1.1"] +
                         [None] * (api.REPROBE_AFTER + 1), broker.asked)
        # The broker was upgraded meanwhile.
        broker.max_version = "1.1"
        self.assertEqual(200, client.heartbeat("tc-1").status)
        self.assertEqual("vdi 1.1", broker.asked[-1])
