# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The conductor's own /metrics ([conductor] metrics_bind_port).

A ConductorService (RPC server on the in-process fake transport, periodic
pool manager) with its exporter on a free port of 127.0.0.1, scraped over
HTTP like Prometheus would.
"""

import json
import socket

import urllib3

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import prometheus
from vdi_broker import metrics
from vdi_broker import service


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ConductorExporterTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.port = free_port()
        self.flags(group="conductor", metrics_bind_port=self.port,
                   metrics_bind_host="127.0.0.1")
        self.service = service.ConductorService(self.conf,
                                                self.broker.manager,
                                                host="test-conductor")
        self.service.start()
        self.addCleanup(self.service.stop)
        self.http = urllib3.PoolManager(retries=False, timeout=10)
        self.url = "http://127.0.0.1:%d" % self.port

    def test_scrape(self):
        metrics.nova_retry("show")
        resp = self.http.request("GET", self.url + "/metrics")
        self.assertEqual(200, resp.status)
        self.assertTrue(resp.headers["Content-Type"].startswith(
            "text/plain"))
        found = prometheus.samples(resp.data.decode("utf-8"))
        self.assertGreaterEqual(prometheus.sample(
            found, "vdi_nova_retries_total", operation="show"), 1)
        # The database's gauges are the API's, not the conductor's.
        self.assertEqual({}, prometheus.series(found, "vdi_pool_desktops"))

    def test_errors_and_access(self):
        resp = self.http.request("GET", self.url + "/other")
        self.assertEqual(404, resp.status)
        self.assertEqual(404, json.loads(resp.data)["error"]["code"])
        resp = self.http.request("POST", self.url + "/metrics")
        self.assertEqual(405, resp.status)
        self.assertEqual("GET", resp.headers["Allow"])
        self.flags(group="api", metrics_bearer_token="t0ken")
        resp = self.http.request("GET", self.url + "/metrics")
        self.assertEqual(401, resp.status)
        self.assertIn("Bearer", resp.headers["WWW-Authenticate"])
        resp = self.http.request("GET", self.url + "/metrics",
                                 headers={"Authorization": "Bearer t0ken"})
        self.assertEqual(200, resp.status)
        self.flags(group="api", metrics_allowed_networks=["10.0.0.0/8"])
        resp = self.http.request("GET", self.url + "/metrics",
                                 headers={"Authorization": "Bearer t0ken"})
        self.assertEqual(403, resp.status)

    def test_stopped_with_the_service(self):
        self.service.stop()
        self.assertRaises(urllib3.exceptions.HTTPError, self.http.request,
                          "GET", self.url + "/metrics")
