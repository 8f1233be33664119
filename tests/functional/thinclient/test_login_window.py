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

"""Every answer of the login API, as the login window shows it.

The agent types at the real window (xdotool on Xvfb); the broker gives
each answer for real: a wrong password (401), a locked-out name (429),
a user no allocator serves (403), a seat without a record (404), a pool
with no desktop free (503 with Retry-After), a pool whose desktops cannot
be connected (503), and a broker that is not there, does not answer,
does not speak TLS, or fails (500). Each state is a screenshot in the
artefact directory, in English and in Chinese.
"""

import json
import socket

import testscenarios

from tests.fixtures import http_server
from tests.functional.thinclient import harness
from vdi_broker.compute import base as compute_base
from vdi_broker.db import api as db

load_tests = testscenarios.load_tests_apply_scenarios

# desks: one desktop, taken by another agent during the test; broken:
# desktops whose server is shut off (no console).
POOLS = [dict(harness.DESKS, min_ready=1, max_size=1),
         {"name": "broken", "min_ready": 1, "max_size": 1,
          "release_action": "keep", "console_type": "spice-direct"}]
ALLOCATORS = [
    {"name": "shanghai", "priority": 10, "plugin": "pool", "pool": "desks",
     "rules": {"groups": ["shanghai-staff"]}},
    {"name": "nantong", "priority": 20, "plugin": "pool", "pool": "broken",
     "rules": {"groups": ["nantong-staff"]}},
]


def failing_broker(environ, start_response):
    """A broker whose every answer is the 500 of a bug."""
    body = json.dumps({"error": {"code": 500, "title": "Internal Server "
                                 "Error", "message": "see the logs",
                                 "request_id": "req-1"}}).encode()
    start_response("500 Internal Server Error",
                   [("Content-Type", "application/json"),
                    ("Content-Length", str(len(body)))])
    return [body]


class LoginWindowTest(testscenarios.WithScenarios,
                      harness.ThinClientTestCase):

    scenarios = [("en", {"language": "en"}), ("zh", {"language": "zh"})]

    def test_answers_of_the_broker(self):
        broker = self.start_broker(
            pools=POOLS, allocators=ALLOCATORS,
            flags={("login_throttle", "user_failure_threshold"): 2})
        tc = self.start_client()
        self.screenshot("login")

        self.login(tc, "amy", "not-the-password", expect="wrong_password")
        self.screenshot("wrong-password")

        # Two failures lock the name: the third attempt is a 429.
        self.login(tc, "sam", "wrong", expect="wrong_password", clear=True)
        self.login(tc, "sam", "wrong", expect="wrong_password", clear=True)
        self.login(tc, "sam", "wrong", expect="locked_out", clear=True)
        self.screenshot("locked-out")

        # carl (contractors) matches no allocator.
        self.login(tc, "carl", expect="no_allocator", clear=True)
        self.screenshot("no-allocator")

        # The only desktop of amy's pool goes to vera first.
        broker.login("vera", client_id="tc-other")
        self.login(tc, "amy", expect="pool_busy", clear=True)
        self.screenshot("pool-busy")

        # bob's pool has desktops, but their servers are shut off.
        broken = broker.pools["broken"]["id"]
        for desktop in db.desktop_list(broker.ctxt):
            if desktop["pool_id"] == broken:
                broker.cloud.servers[desktop["server_id"]]["status"] = \
                    compute_base.SHUTOFF
        self.login(tc, "bob", expect="not_connected", clear=True)
        self.screenshot("not-connected")
        # Nothing stays assigned after these refusals.
        self.assertEqual(
            ["vera"], [s["username"] for s in db.session_list(broker.ctxt)
                       if s["state"] == "active"])

    def test_unregistered_seat(self):
        self.start_broker()
        tc = self.start_client(seat="NO-SUCH-SEAT")
        self.login(tc, "amy", expect="seat_unknown")
        self.screenshot("seat-unknown")

    def test_broker_unreachable_silent_not_tls_and_failing(self):
        # Nothing listens.
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        closed = "http://127.0.0.1:%d" % probe.getsockname()[1]
        probe.close()
        # Accepts connections and never answers.
        silent = socket.socket()
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        # Speaks plain HTTP where the client expects TLS.
        plain = self.useFixture(http_server.WSGIServer(failing_broker))
        cases = [
            ("unreachable", closed),
            ("timeout", "http://127.0.0.1:%d" % silent.getsockname()[1]),
            ("tls", plain.url.replace("http://", "https://")),
            ("server_error", plain.url),
        ]
        for key, url in cases:
            tc = self.start_client(self.config(
                url=url, options={("broker", "read_timeout"): 1}))
            self.login(tc, "amy", expect=key)
            self.screenshot(key.replace("_", "-"))
            tc.stop()
