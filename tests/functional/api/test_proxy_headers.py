"""Behind a reverse proxy, X-Forwarded-* make the links right."""

from tests import base
from tests.fixtures import broker as broker_fixture


class TestProxyHeaders(base.TestCase):

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
