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

"""Two clouds at once: the real cloud and the Nova emulator (issue 19).

The broker has ``[compute] clouds = real,emu``: ``[cloud:real]`` is the
real OpenStack of tools/real-openstack.sh, ``[cloud:emu]`` a Nova emulator
(tests/fixtures/nova_emulator.py, behind a proxy: tests/fixtures/
clouds.py). Site shanghai's pool lives in the real cloud (spice-direct
consoles from Nova), site nantong's in the emulator (RDP). Both fill and
refill, each agent gets a desktop of their site's cloud; then the
emulator is stopped (its API refuses connections): the real cloud's pool
keeps serving and refilling, the emulator's pool reports ``cloud_down``
and, once its ready desktops are gone, its agents get a 503 that says so.
"""

import logging

import fixtures

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import clouds as cloud_fixtures
from tests.fixtures import nova_emulator
from tests.integration import cloud as cloud_fixture
from vdi_broker.compute import base as compute_base
from vdi_broker.conf import clouds as clouds_conf
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

REAL, EMU = "real", "emu"
# Real boots take 1.5-3 s; a loaded machine is slower.
FILL_TIMEOUT = 120
POLL = 0.5

SEATS = {"SH-1": "shanghai", "SH-2": "shanghai", "SH-3": "shanghai",
         "NT-1": "nantong", "NT-2": "nantong", "NT-3": "nantong"}


class TestRealAndEmulatedClouds(base.TestCase):

    def setUp(self):
        # Before the base class's timeout: this may start the cloud.
        self.cloud = cloud_fixture.ensure_cloud()
        super().setUp()
        self.flags(group="compute", clouds=[REAL, EMU])
        self.flags(group="conductor", capacity_cache_time=0)
        self.emu = self.useFixture(cloud_fixtures.EmulatedCloud(
            self.conf_fixture, EMU, timeout=2.0))
        group = clouds_conf.register_cloud(self.conf, REAL)
        self.cloud.configure(self.conf_fixture, group=group)
        self.conf_fixture.config(group=group, driver="nova",
                                 down_after_failures=2)
        self.broker = broker_fixture.use_broker(self)
        self.logger = self.useFixture(
            fixtures.FakeLogger(level=logging.INFO))
        self.ctxt = self.broker.ctxt
        self.manager = self.broker.manager
        self.real = self.manager.clouds.get(REAL)
        pools = [
            {"name": "sh-real", "site": "shanghai", "cloud": REAL,
             "flavor": self.cloud.flavor, "image": self.cloud.image_id,
             "networks": self.cloud.networks,
             "console_type": "spice-direct", "release_action": "keep",
             "min_ready": 1, "max_size": 3,
             "metadata": {cloud_fixture.TEST_META: "1"}},
            {"name": "nt-emu", "site": "nantong", "cloud": EMU,
             "flavor": "vdi.small", "image": nova_emulator.DEFAULT_IMAGE,
             "networks": [nova_emulator.DEFAULT_NETWORK],
             "console_type": "rdp", "release_action": "keep",
             "min_ready": 1, "max_size": 3}]
        self.pools, _ = self.broker.setup_call_centre(
            default=False, pools=pools, allocators=[
                {"name": "agents", "plugin": "pool", "pool": "sh-real",
                 "priority": 10, "rules": {"pools": ["nt-emu"],
                                           "site_fallback": False}}])
        # After the broker's cleanups are registered, so it runs first.
        self.addCleanup(cloud_fixture.delete_pool_servers, self.real,
                        self.pools["sh-real"]["id"])
        for name, site in SEATS.items():
            db.seat_create(self.ctxt, {"name": name, "site": site})

    # -- helpers -------------------------------------------------------------

    def pool(self, name):
        return db.pool_get(self.ctxt, self.pools[name]["id"])

    def ready(self, name):
        pool_id = self.pools[name]["id"]
        return db.pool_desktop_counts(self.ctxt, [pool_id]).get(
            pool_id, {}).get(models.READY, 0)

    def upkeep_until(self, what, done, timeout=FILL_TIMEOUT):
        cloud_fixture.upkeep_until(
            self, what, done, timeout=timeout, poll=POLL,
            describe=lambda: "pools %s" % [
                (p["name"], p["status"], p["status_reason"])
                for p in db.pool_list(self.ctxt)])

    def both_ready(self):
        return self.ready("sh-real") >= 1 and self.ready("nt-emu") >= 1

    def login(self, username, seat, status=201):
        return self.broker.login(username, seat=seat, status=status,
                                 client_id="tc-%s" % seat)

    def real_servers(self):
        return {s.id for s in self.real.list_servers(
            tags=cloud_fixture.pool_tags(self.pools["sh-real"]["id"]))}

    # -- the test ------------------------------------------------------------

    def test_each_site_in_its_cloud_and_the_emulator_stopped(self):
        self.upkeep_until("both pools filled", self.both_ready)
        # Each pool's servers are in its own cloud.
        (real_desktop,) = db.desktop_list(
            self.ctxt, {"pool_id": self.pools["sh-real"]["id"]})
        self.assertEqual({real_desktop["server_id"]}, self.real_servers())
        server = self.real.get_server(real_desktop["server_id"])
        self.assertEqual(compute_base.ACTIVE, server.status)
        (emu_server,) = self.emu.servers()
        self.assertEqual(self.pools["nt-emu"]["id"],
                         emu_server["metadata"]["vdi_pool"])

        # A login of each site gets a desktop of its site's cloud; the
        # shanghai one a spice-direct console of the real Nova.
        amy = self.login("amy", "SH-1")
        self.assertEqual("sh-real", amy.json["pool"]["name"])
        self.assertEqual(real_desktop["id"], amy.json["desktop"]["id"])
        connection = amy.json["connection"]
        self.assertEqual(("spice-direct", cloud_fixture.FAKE_SPICE_HOST,
                          cloud_fixture.FAKE_SPICE_PORT),
                         (connection["type"], connection["host"],
                          connection["port"]))
        bob = self.login("bob", "NT-1")
        self.assertEqual("nt-emu", bob.json["pool"]["name"])
        self.assertEqual(emu_server["id"], bob.json["desktop"]["server_id"])
        self.assertEqual("rdp", bob.json["connection"]["protocol"])

        # Both refill, each from its own cloud.
        self.upkeep_until("both pools refilled", self.both_ready)
        self.assertEqual(2, len(self.real_servers()))
        self.assertEqual(2, len(self.emu.servers()))

        # The emulator stops: connections to it are refused.
        self.emu.emulator.stop()
        # Its ready desktop still serves (RDP: no Nova call at login).
        nina = self.login("nina", "NT-2")
        self.assertEqual("nt-emu", nina.json["pool"]["name"])
        # The real cloud's too, with a console from the real Nova.
        sam = self.login("sam", "SH-2")
        self.assertEqual("sh-real", sam.json["pool"]["name"])
        self.assertEqual(cloud_fixture.FAKE_SPICE_HOST,
                         sam.json["connection"]["host"])
        # The pool manager finds the emulator down (its pool cannot
        # refill) and refills the real cloud's pool meanwhile.
        self.upkeep_until("nt-emu cloud_down and sh-real refilled", lambda: (
            self.pool("nt-emu")["status"] == "cloud_down" and
            self.ready("sh-real") >= 1))
        self.assertIn("cloud emu unavailable",
                      self.pool("nt-emu")["status_reason"])
        self.assertTrue(self.manager.clouds.health(EMU).down)
        self.assertFalse(self.manager.clouds.health(REAL).down)
        self.assertEqual("active", self.pool("sh-real")["status"])
        self.assertEqual(3, len(self.real_servers()))

        # Shanghai keeps being served from the real cloud ...
        vera = self.login("vera", "SH-3")
        self.assertEqual("sh-real", vera.json["pool"]["name"])
        self.assertEqual(cloud_fixture.FAKE_SPICE_HOST,
                         vera.json["connection"]["host"])
        # ... while nantong's agents, their pool empty, get a 503 that
        # says the pool's cloud is down (no fallback by rule).
        resp = self.login("carl", "NT-3", status=503)
        error = broker_fixture.assert_error(self, resp, 503)
        self.assertEqual(("nt-emu", "cloud_down"),
                         (error["details"]["pool"],
                          error["details"]["status"]))
        self.assertIn("cloud emu unavailable",
                      error["details"]["status_reason"])
        # Every shanghai desktop is a server of the real cloud.
        desktops = db.desktop_list(
            self.ctxt, {"pool_id": self.pools["sh-real"]["id"]})
        self.assertEqual({d["server_id"] for d in desktops},
                         self.real_servers())
