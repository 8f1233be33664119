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

"""Every console type on the fake cloud, and pools it cannot serve (409).

The all-in-one default (the ``fake`` compute driver) is what new users
and the tests see first: a spice-direct pool logs in and its console file
is a remote-viewer ``.vv`` pointing at the host and port the fake cloud
reports; noVNC and SPICE HTML5 pools get a proxy URL. A pool whose
console type the configured compute driver cannot open is refused.
"""

import configparser
import logging

import fixtures

from tests import base
from tests.fixtures import broker as broker_fixture
from vdi_broker.compute import fake
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

TOKEN = "X-Session-Token"


def pools(console_type):
    return [{"name": "desks", "min_ready": 2, "max_size": 2,
             "release_action": "keep", "console_type": console_type}]


ALLOCATORS = [{"name": "everyone", "priority": 10, "plugin": "pool",
               "pool": "desks", "is_default": True}]


def parse_vv(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return dict(parser["virt-viewer"])


class FakeConsoleLoginTest(base.TestCase):

    def start(self, console_type, **flags):
        self.broker = broker_fixture.use_broker(self, flags={
            ("fake_compute", name): value for name, value in flags.items()})
        self.broker.setup_call_centre(default=False,
                                      pools=pools(console_type),
                                      allocators=ALLOCATORS)
        self.broker.fill_pools()
        self.app = self.broker.app

    def server_of(self, resp):
        desktop = db.desktop_get(self.broker.ctxt,
                                 resp.json["desktop"]["id"])
        return self.broker.cloud.servers[desktop["server_id"]]

    def test_spice_direct_login_and_vv_file(self):
        self.start("spice-direct", console_host="spice.example.test",
                   console_port_base=6100)
        resp = self.broker.login("amy")
        port = 6100 + self.server_of(resp)["console_port"]
        self.assertEqual({"protocol": "spice", "type": "spice-direct",
                          "host": "spice.example.test", "port": port,
                          "tls_port": None}, resp.json["connection"])
        got = self.app.get(self.broker.session_url(resp) + "/console-file",
                           headers={TOKEN: resp.json["session"]["token"]})
        self.assertEqual("application/x-virt-viewer", got.content_type)
        self.assertIn('filename="%s.vv"' % resp.json["desktop"]["name"],
                      got.headers["Content-Disposition"])
        vv = parse_vv(got.text)
        self.assertEqual(("spice", "spice.example.test", str(port)),
                         (vv["type"], vv["host"], vv["port"]))
        self.assertEqual("desks - %s" % resp.json["desktop"]["name"],
                         vv["title"])
        self.assertNotIn("tls-port", vv)

    def test_each_desktop_has_its_own_port(self):
        self.start("spice-direct")
        amy = self.broker.login("amy")
        bob = self.broker.login("bob", client_id="tc-bob")
        ports = {r.json["connection"]["port"] for r in (amy, bob)}
        self.assertEqual({5900, 5901}, ports)
        self.assertEqual("127.0.0.1", amy.json["connection"]["host"])

    def _url_console(self, console_type, url):
        self.start(console_type)
        resp = self.broker.login("amy")
        connection = resp.json["connection"]
        self.assertEqual((console_type, console_type),
                         (connection["protocol"], connection["type"]))
        self.assertTrue(connection["url"].startswith(url), connection)
        # No client file for a browser console.
        self.app.get(self.broker.session_url(resp) + "/console-file",
                     headers={TOKEN: resp.json["session"]["token"]},
                     status=404)

    def test_novnc(self):
        self._url_console("novnc",
                          "http://127.0.0.1:6080/vnc_lite.html?path=")

    def test_spice_html5(self):
        self._url_console("spice-html5",
                          "http://127.0.0.1:6082/spice_auto.html?token=")

    def test_rdp_needs_only_the_address(self):
        self.start("rdp")
        resp = self.broker.login("amy")
        desktop = db.desktop_get(self.broker.ctxt,
                                 resp.json["desktop"]["id"])
        self.assertEqual(("rdp", desktop["address"], 3389),
                         (resp.json["connection"]["protocol"],
                          resp.json["connection"]["host"],
                          resp.json["connection"]["port"]))
        self.assertEqual(0, self.broker.cloud.requests["console"])


class ExplodingConsoleDriver(fake.FakeComputeDriver):
    """A compute driver whose console call fails with a bug."""

    def get_console(self, server_id, console_type):
        raise RuntimeError("console backend broke, token=s3cr3t-t0ken")


class ExplodingConsoleBroker(broker_fixture.Broker):
    def make_compute(self):
        self.cloud = fake.FakeCloud()
        return ExplodingConsoleDriver(self.conf, cloud=self.cloud)


class UnexpectedConsoleErrorTest(base.TestCase):
    """The issue's first symptom: a console driver's bug was a 500."""

    def test_driver_bug_undoes_the_claims(self):
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        broker = self.useFixture(ExplodingConsoleBroker(self.conf))
        broker.setup_call_centre(default=False, pools=pools("spice-direct"),
                                 allocators=ALLOCATORS)
        broker.fill_pools()
        resp = broker.login("amy", status=503)
        error = broker_fixture.assert_error(self, resp, 503)
        self.assertEqual("15", resp.headers["Retry-After"])
        # Both desktops tried, both back in the pool.
        self.assertEqual(2, error["details"]["tries"])
        self.assertEqual([models.READY] * 2,
                         [d["state"] for d in db.desktop_list(broker.ctxt)])
        sessions = db.session_list(broker.ctxt)
        self.assertEqual(["closed"] * 2, [s["state"] for s in sessions])
        events = db.event_list(broker.ctxt, {"action": "login"})
        self.assertEqual(["failure"] * 2, [e["result"] for e in events])
        for text in [e["message"] for e in events] + [error["message"]]:
            self.assertIn("unexpected RuntimeError", text)
            self.assertNotIn("s3cr3t", text)


class UnsupportedConsoleTypeTest(base.TestCase):
    """Pools the configured compute driver cannot serve: 409."""

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self, flags={
            ("compute", "driver"): "nova",
            ("nova", "console_api_version"): "2.96"})
        self.app = self.broker.app

    def test_create_refused(self):
        resp = self.broker.create_pool("spice", console_type="spice-direct",
                                       status=409)
        error = broker_fixture.assert_error(self, resp, 409, "Conflict")
        self.assertIn("nova compute driver", error["message"])
        self.assertIn("console_api_version 2.99", error["message"])
        self.assertEqual([], db.pool_list(self.broker.ctxt))

    def test_update_refused(self):
        pool = self.broker.create_pool("vnc", console_type="novnc").json
        resp = self.app.patch_json(
            "/v1/pools/%s" % pool["pool"]["id"],
            {"console_type": "spice-direct"}, status=409)
        broker_fixture.assert_error(self, resp, 409)
        self.assertEqual("novnc", db.pool_get(
            self.broker.ctxt, pool["pool"]["id"])["console_type"])

    def test_consoles_without_the_compute_driver_are_fine(self):
        for console_type in ("rdp", "fake", "novnc", "spice-html5"):
            self.broker.create_pool(console_type, console_type=console_type)

    def test_unknown_console_type_stays_400(self):
        resp = self.broker.create_pool("x", console_type="telnet",
                                       status=400)
        broker_fixture.assert_error(self, resp, 400)
