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

"""Behind a reverse proxy, X-Forwarded-* make the links right."""

from oslo_middleware import cors
from oslo_middleware import http_proxy_to_wsgi

from tests import base
from tests.fixtures import broker as broker_fixture


class TestProxyHeaders(base.TestCase):

    def setUp(self):
        super().setUp()
        # The middleware registers its option only when the application
        # is built, after the fixture sets it: register it first, or the
        # test depends on an earlier one in the same process.
        self.conf_fixture.register_opts(http_proxy_to_wsgi.OPTS,
                                        group="oslo_middleware")

    def test_location_follows_forwarded_headers(self):
        broker = broker_fixture.use_broker(self, flags={
            ("oslo_middleware", "enable_proxy_headers_parsing"): True})
        resp = broker.app.post_json(
            "/v1/pools", dict(broker_fixture.POOL_DEFAULTS, name="p1"),
            headers={"X-Forwarded-Proto": "https",
                     "X-Forwarded-Host": "vdi.example.com"},
            status=201)
        self.assertTrue(resp.headers["Location"].startswith(
            "https://vdi.example.com/v1/pools/"), resp.headers["Location"])

    def test_ignored_unless_enabled(self):
        broker = broker_fixture.use_broker(self)
        resp = broker.app.post_json(
            "/v1/pools", dict(broker_fixture.POOL_DEFAULTS, name="p1"),
            headers={"X-Forwarded-Proto": "https",
                     "X-Forwarded-Host": "evil.example.com"},
            status=201)
        self.assertNotIn("evil.example.com", resp.headers["Location"])

    def _heartbeat_address(self, flags=None):
        broker = broker_fixture.use_broker(self, flags=flags)
        broker.app.post_json("/v1/thin-clients", {"client_id": "tc-1"})
        broker.app.post_json(
            "/v1/client/heartbeat", {"client_id": "tc-1"},
            headers={"X-Forwarded-For": "10.20.30.40"},
            extra_environ={"REMOTE_ADDR": "10.0.0.1"}, status=204)
        return broker.app.get("/v1/thin-clients/tc-1").json[
            "thin_client"]["last_address"]

    def test_heartbeat_address_behind_a_proxy(self):
        self.assertEqual("10.20.30.40", self._heartbeat_address({
            ("oslo_middleware", "enable_proxy_headers_parsing"): True}))

    def test_heartbeat_address_without_proxy_parsing(self):
        self.assertEqual("10.0.0.1", self._heartbeat_address())


class TestCORS(base.TestCase):
    """CORS headers for a browser's origin, none without an Origin.

    (api/deploy.py lets requests without an Origin header go around the
    CORS middleware.)
    """

    ORIGIN = "https://portal.example.com"

    def setUp(self):
        super().setUp()
        self.conf_fixture.register_opts(cors.OPTS, group="cors")
        self.broker = broker_fixture.use_broker(self, flags={
            ("cors", "allowed_origin"): [self.ORIGIN]})

    def test_allowed_origin(self):
        resp = self.broker.app.get("/v1/pools",
                                   headers={"Origin": self.ORIGIN})
        self.assertEqual(self.ORIGIN,
                         resp.headers["Access-Control-Allow-Origin"])
        self.assertIn("Origin", ",".join(resp.headers.getall("Vary")))

    def test_other_origin(self):
        resp = self.broker.app.get("/v1/pools",
                                   headers={"Origin": "http://evil.example"})
        self.assertNotIn("Access-Control-Allow-Origin", resp.headers)

    def test_no_origin(self):
        resp = self.broker.app.get("/v1/pools")
        self.assertNotIn("Access-Control-Allow-Origin", resp.headers)
