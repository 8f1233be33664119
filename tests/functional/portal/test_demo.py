"""The demo's data fills the portal's pages (tools/run-demo.sh)."""

import os
import re

import requests

from tests import base
from tests.fixtures import api_server
from tests.fixtures import broker as broker_fixture
from tests.fixtures import portal as portal_fixture
from vdi_broker.demo import setup as demo_setup


class TestDemoData(base.TestCase):

    def test_every_page_has_rows(self):
        broker = broker_fixture.use_broker(self)
        demo_setup.setup(broker.ctxt, os.path.join(broker.tmp, "demo.json"),
                         21, "demo-Passw0rd")
        broker.fill_pools(passes=40)
        api = self.useFixture(api_server.ApiServer(broker))
        portal = self.useFixture(portal_fixture.PortalServer(self, api.url))
        http = requests.Session()
        form = http.get(portal.url + "/signin").text
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          form).group(1)
        http.post(portal.url + "/signin", data={"csrf_token": token,
                                                "persona": "reader"})
        for path in ("/", "/pools", "/desktops", "/thin-clients", "/seats",
                     "/allocators", "/events"):
            page = http.get(portal.url + path)
            self.assertEqual(200, page.status_code, path)
            rows = re.findall(r"<tr[ >]", page.text.split("<tbody>")[1])
            self.assertGreater(len(rows), 2, path)
            self.assertNotIn("No ", page.text.split("<tbody>")[1][:200])
        clients = http.get(portal.url + "/thin-clients?status=faulty").text
        self.assertIn("display cable loose", clients)
