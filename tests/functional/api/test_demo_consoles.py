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

"""The demo's call centre on the fake cloud: a VIP agent gets a .vv file.

``vdi-broker-manage demo setup`` data (vdi_broker/demo/setup.py) in the
API tests' broker: the VIP pool is native SPICE (spice-direct), the
others RDP, and each pool's console type is one the fake cloud serves.
"""

import configparser
import os

from tests import base
from tests.fixtures import broker as broker_fixture
from vdi_broker import consoles
from vdi_broker.db import api as db
from vdi_broker.demo import setup as demo_setup

PASSWORD = "demo-Passw0rd"


class DemoConsolesTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        users_file = os.path.join(self.broker.tmp, "demo-users.json")
        # 21 agents: agent0000 and agent0020 are VIPs.
        demo_setup.setup(self.broker.ctxt, users_file, 21, PASSWORD)
        self.broker.flags(group="static_identity", users_file=users_file)
        self.app = self.broker.build()

    def test_every_demo_pool_is_served_by_the_fake_cloud(self):
        pools = db.pool_list(self.broker.ctxt)
        self.assertIn("spice-direct", {p["console_type"] for p in pools})
        for pool in pools:
            consoles.check_supported(pool["console_type"], self.conf)

    def test_vip_agent_gets_a_vv_file(self):
        # A few upkeep passes boot VIP desktops (at once on this cloud).
        vip = db.pool_get(self.broker.ctxt, "vip-desktops")["id"]
        for _ in range(5):
            self.broker.manager.pool_upkeep(self.broker.ctxt)
            if self.broker.ready_counts()[vip]:
                break
        resp = self.broker.login("agent0020", password=PASSWORD)
        self.assertEqual(("vip-desktops", "spice"),
                         (resp.json["pool"]["name"],
                          resp.json["connection"]["protocol"]))
        got = self.app.get(
            self.broker.session_url(resp) + "/console-file",
            headers={"X-Session-Token": resp.json["session"]["token"]})
        self.assertEqual("application/x-virt-viewer", got.content_type)
        vv = configparser.ConfigParser(interpolation=None)
        vv.read_string(got.text)
        self.assertEqual(
            ("spice", "127.0.0.1", str(resp.json["connection"]["port"])),
            (vv["virt-viewer"]["type"], vv["virt-viewer"]["host"],
             vv["virt-viewer"]["port"]))
        # A Shanghai agent's desktop stays RDP.
        rdp = self.broker.login("agent0002", password=PASSWORD,
                                client_id="tc-2")
        self.assertEqual("rdp", rdp.json["connection"]["protocol"])
