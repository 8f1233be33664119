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

"""Quarantine and desktop actions end to end with the Nova driver.

The broker of the API tests, its compute driver the real Nova driver
(python-novaclient over HTTP) talking to the Nova emulator: the lock with
its reason is seen on the server in Nova, bound users move to a healthy
desktop, the next login gets one.
"""

import logging

import fixtures

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import nova_emulator as emu
from tests.functional.compute import base as compute_test_base
from vdi_broker.compute import nova
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models


class NovaBroker(broker_fixture.Broker):
    """The API tests' broker on the Nova emulator."""

    def __init__(self, conf, emulator, nova_options=None, **kwargs):
        super().__init__(conf, **kwargs)
        self.emulator = emulator
        # [nova] overrides of the driver's own configuration.
        self.nova_options = dict(nova_options or {})

    def make_compute(self):
        self.cloud = None
        # The call centre's flavor, image and network, in the emulator.
        defaults = broker_fixture.POOL_DEFAULTS
        with self.emulator.lock:
            self.emulator.flavors["201"] = {
                "id": "201", "name": defaults["flavor"], "vcpus": 1,
                "ram": 1024, "disk": 10}
            self.emulator.images.add(defaults["image"])
            for network in defaults["networks"]:
                self.emulator.networks[network] = network
        return nova.NovaComputeDriver(
            compute_test_base.make_conf(self.emulator, **self.nova_options))


class NovaQuarantineTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.emulator = self.useFixture(emu.NovaEmulator())
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        # The emulator restarts a server before the next pass can see it
        # leave ACTIVE: count ACTIVE after a release as restarted at once.
        self.flags(group="pool_manager", release_settle_time=0)
        self.broker = self.useFixture(NovaBroker(self.conf, self.emulator))
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt

    def server(self, desktop_id):
        desktop = db.desktop_get(self.ctxt, desktop_id)
        return self.emulator.servers[desktop["server_id"]]

    def lock_requests(self):
        return [r for r in self.emulator.requests if r["kind"] == "lock"]

    def test_operator_quarantine_locks_the_server_in_nova(self):
        login = self.broker.login("amy")
        desktop_id = login.json["desktop"]["id"]
        resp = self.app.post_json(
            "/v1/desktops/%s/action" % desktop_id,
            {"quarantine": {"reason": "keyboard dead"}}, status=202)
        self.assertEqual(models.QUARANTINED, resp.json["desktop"]["state"])
        server = self.server(desktop_id)
        self.assertTrue(server["locked"])
        self.assertIn("keyboard dead", server["locked_reason"])
        # locked_reason needs 2.73; the driver sends its pinned 2.96.
        self.assertGreaterEqual(self.lock_requests()[-1]["microversion"],
                                (2, 73))
        again = self.broker.login("amy")
        self.assertNotEqual(desktop_id, again.json["desktop"]["id"])

        resp = self.app.post_json("/v1/desktops/%s/action" % desktop_id,
                                  {"unquarantine": {}}, status=202)
        self.assertFalse(self.server(desktop_id)["locked"])
        self.assertEqual(models.RELEASING, resp.json["desktop"]["state"])
        self.broker.fill_pools()
        self.assertEqual(models.READY,
                         db.desktop_get(self.ctxt, desktop_id)["state"])

    def test_thin_client_fault_report(self):
        login = self.broker.login("bob", client_id="tc-nt-7")
        desktop_id = login.json["desktop"]["id"]
        self.app.post_json(
            self.broker.session_url(login) + "/fault",
            {"reason": "no picture"}, status=202,
            headers={"X-Session-Token": login.json["session"]["token"]})
        server = self.server(desktop_id)
        self.assertTrue(server["locked"])
        self.assertIn("no picture", server["locked_reason"])
        self.assertEqual("client:tc-nt-7", db.desktop_get(
            self.ctxt, desktop_id)["faulted_by"])
        again = self.broker.login("bob", client_id="tc-nt-7")
        self.assertNotEqual(desktop_id, again.json["desktop"]["id"])

    def test_health_check_moves_bound_user(self):
        login = self.broker.login("vera")
        old = login.json["desktop"]["id"]
        self.emulator.set_server_status(self.server(old)["id"], "SHUTOFF")
        report = self.broker.manager.health_check(self.ctxt)
        self.assertEqual(1, report["quarantined"])
        desktop = db.desktop_get(self.ctxt, old)
        self.assertEqual((models.QUARANTINED, "health-check"),
                         (desktop["state"], desktop["faulted_by"]))
        self.assertIn("SHUTOFF", self.server(old)["locked_reason"])
        binding = db.binding_find(self.ctxt, "user", "vera")
        self.assertNotEqual(old, binding["desktop_id"])
        moves = db.event_list(self.ctxt, {"action": "binding.move"})
        self.assertEqual(old, moves[0]["detail"]["from_desktop"])
        again = self.broker.login("vera")
        self.assertEqual(binding["desktop_id"], again.json["desktop"]["id"])
        self.assertTrue(again.json["reused"])

    def test_actions_with_a_non_admin_nova_user(self):
        # Nova refuses a locked server's actions to non-admins: the broker
        # unlocks before it reboots or deletes a quarantined server.
        self.emulator.admin = False
        desktop = db.desktop_list(self.ctxt, {"state": models.READY})[0]
        url = "/v1/desktops/%s/action" % desktop["id"]
        self.app.post_json(url, {"quarantine": {"reason": "x"}})
        self.app.post_json(url, {"reboot": {"hard": True}}, status=202)
        self.assertTrue(self.server(desktop["id"])["locked"])
        reboots = [r for r in self.emulator.requests
                   if r["kind"] == "reboot"]
        self.assertEqual(1, len(reboots))
        self.app.post_json(url, {"replace": {}}, status=202)
        self.assertTrue(self.emulator.servers[desktop["server_id"]]
                        ["deleted"])

    def test_rebuild_and_replace(self):
        desktop = db.desktop_list(self.ctxt, {"state": models.READY})[0]
        url = "/v1/desktops/%s/action" % desktop["id"]
        self.app.post_json(url, {"rebuild": {}}, status=202)
        rebuilds = [r for r in self.emulator.requests
                    if r["kind"] == "rebuild"]
        self.assertEqual(1, len(rebuilds))
        self.broker.fill_pools()
        self.app.post_json(url, {"replace": {}}, status=202)
        self.assertTrue(self.emulator.servers[desktop["server_id"]]
                        ["deleted"])
