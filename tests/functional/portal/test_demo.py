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

"""The demo's data fills the portal's pages (tools/run-demo.sh)."""

import os
import re

import requests

from tests import base
from tests.fixtures import api_server
from tests.fixtures import broker as broker_fixture
from tests.fixtures import portal as portal_fixture
from vdi_broker.demo import setup as demo_setup
from vdi_broker.demo import shift


class TestDemoData(base.TestCase):

    def test_every_page_has_rows(self):
        # The fake cloud as tools/run-demo.sh configures it.
        broker = broker_fixture.use_broker(self, flags={
            ("fake_compute", "hosts"): ["cn-sh-01", "cn-sh-02", "cn-nt-01",
                                        "cn-nt-02"],
            ("fake_compute", "capacity_memory_mb"): (21 * 2 + 64) * 8192,
            ("fake_compute", "capacity_vcpus"): (21 * 2 + 64) * 4})
        demo_setup.setup(broker.ctxt, os.path.join(broker.tmp, "demo.json"),
                         21, "demo-Passw0rd")
        broker.fill_pools(passes=40)
        api = self.useFixture(api_server.ApiServer(broker))
        # The shift's heartbeats (vdi-broker-shift-demo).
        self.assertGreater(shift.heartbeats(shift.Broker(api.url)), 10)
        portal = self.useFixture(portal_fixture.PortalServer(self, api.url))
        http = requests.Session()
        form = http.get(portal.url + "/signin").text
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          form).group(1)
        http.post(portal.url + "/signin", data={"csrf_token": token,
                                                "persona": "reader"})
        for path in ("/", "/pools", "/desktops", "/hosts", "/thin-clients",
                     "/seats", "/allocators", "/events"):
            page = http.get(portal.url + path)
            self.assertEqual(200, page.status_code, path)
            rows = re.findall(r"<tr[ >]", page.text.split("<tbody>")[1])
            self.assertGreater(len(rows), 2, path)
            self.assertNotIn("No ", page.text.split("<tbody>")[1][:200])
        clients = http.get(portal.url + "/thin-clients?status=faulty").text
        self.assertIn("display cable loose", clients)
        for status in ("online", "offline"):
            page = http.get(portal.url + "/thin-clients?status=" + status)
            rows = re.findall(r"<tr[ >]", page.text.split("<tbody>")[1])
            self.assertGreater(len(rows), 1, status)
            self.assertIn("badge-" + status, page.text)
        # The maintenance page: a job to run now, one later.
        jobs = http.get(portal.url + "/jobs").text
        self.assertIn("training-room inventory", jobs)
        self.assertIn("shift change notice", jobs)
        hosts = http.get(portal.url + "/hosts").text
        for name in ("cn-sh-01", "cn-nt-02"):
            self.assertIn('data-host="%s"' % name, hosts)
        self.assertIn("<meter", hosts)
        # The training room's desktops open in the browser.
        pool = broker.app.get("/v1/pools/training-room").json["pool"]
        training = broker.app.get("/v1/desktops", params={
            "pool_id": pool["id"]}).json["desktops"]
        desktop = http.get(portal.url + "/desktops/" + training[0]["id"])
        self.assertIn("spice-html5", desktop.text)
