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

"""The broker against a real Nova (tools/real-openstack.sh).

Each test builds a broker on a fresh database (the API fixture's static
users, the in-process conductor) whose Nova driver talks to the real cloud,
makes a pool of the cloud's test image and flavor with spice-direct
consoles and fills it with real servers through the pool manager. Every
server a test made is deleted, and waited for, at its end.
"""

import logging
import time

import fixtures
from oslo_utils import uuidutils

from tests import base
from tests.integration import cloud as cloud_fixture
from vdi_broker.compute import base as compute_base
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker.guest_agent import protocol

TOKEN = "X-Session-Token"

# Nova boots a server of the fake virt driver in 1.5-3 s; a loaded machine
# is slower.
FILL_TIMEOUT = 120
POLL = 0.5


class RealCloudTestCase(base.TestCase):

    release_action = "keep"
    # More options of the broker ((group, name): value) and of the pool.
    broker_flags = {}
    pool_values = {}

    def setUp(self):
        # Before the base class's timeout: this may start the cloud.
        self.cloud = cloud_fixture.ensure_cloud()
        super().setUp()
        self.logger = self.useFixture(
            fixtures.FakeLogger(level=logging.INFO))
        self.broker = self.useFixture(
            cloud_fixture.RealCloudBroker(self.conf, self.cloud,
                                          flags=self.broker_flags))
        self.compute = self.broker.compute
        self.manager = self.broker.manager
        self.ctxt = self.broker.ctxt
        name = "it-%s" % uuidutils.generate_uuid()[:8]
        self.pool = self.broker.create_pool(
            name, flavor=self.cloud.flavor, image=self.cloud.image_id,
            networks=self.cloud.networks, console_type="spice-direct",
            min_ready=2, max_size=3, release_action=self.release_action,
            metadata={cloud_fixture.TEST_META: "1"},
            **self.pool_values).json["pool"]
        # After the broker's cleanups are registered, so it runs first.
        self.addCleanup(cloud_fixture.delete_pool_servers,
                        self.broker.new_compute(), self.pool["id"])
        self.broker.create_allocator(
            "everyone", plugin="pool", pool=name, priority=10,
            is_default=True)

    # -- helpers -------------------------------------------------------------

    def counts(self):
        return db.pool_desktop_counts(self.ctxt, [self.pool["id"]]).get(
            self.pool["id"], {})

    def desktops(self, **filters):
        return db.desktop_list(self.ctxt,
                               dict(filters, pool_id=self.pool["id"]))

    def upkeep_until(self, what, done, timeout=FILL_TIMEOUT):
        """Run the pool manager until ``done()`` is true."""
        cloud_fixture.upkeep_until(
            self, what, done, timeout=timeout, poll=POLL,
            describe=lambda: "desktops %s" % [
                (d["name"], d["state"], d["state_reason"])
                for d in self.desktops()])

    def fill(self):
        """Upkeep until min_ready desktops are ready and none builds."""
        def filled():
            counts = self.counts()
            return (counts.get(models.READY, 0) >= self.pool["min_ready"]
                    and not counts.get(models.BUILDING))
        self.upkeep_until("pool %s filled" % self.pool["name"], filled)
        return self.desktops(state=models.READY)

    def server_ids(self, driver=None):
        driver = driver or self.compute
        return {s.id for s in driver.list_servers(
            tags=cloud_fixture.pool_tags(self.pool["id"]))}

    def wait_until_gone(self, server_id, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                server = self.compute.get_server(server_id)
            except exception.ServerNotFound:
                return
            if time.monotonic() > deadline:
                self.fail("server %s still %s after %d s"
                          % (server_id, server.status, timeout))
            time.sleep(POLL)

    def login(self, username="amy"):
        resp = self.broker.login(username)
        self.assertEqual(self.pool["id"], resp.json["pool"]["id"])
        return resp


class TestPool(RealCloudTestCase):

    def test_pool_fills_with_tagged_servers(self):
        ready = self.fill()
        self.assertEqual(2, len(ready))
        self.assertEqual({models.READY: 2}, self.counts())
        for desktop in ready:
            server = self.compute.get_server(desktop["server_id"])
            self.assertEqual(compute_base.ACTIVE, server.status)
            # The pool manager recorded where Nova put it.
            self.assertEqual(server.host, desktop["host"])
            self.assertTrue(server.host)
            self.assertEqual(desktop["name"], server.name)
            self.assertIn(compute_base.BROKER_TAG, server.tags)
            self.assertIn(compute_base.POOL_TAG_PREFIX + self.pool["id"],
                          server.tags)
            self.assertEqual("1", server.metadata[compute_base.META_BROKER])
            self.assertEqual(self.pool["id"],
                             server.metadata[compute_base.META_POOL])
            self.assertEqual(desktop["id"],
                             server.metadata[compute_base.META_DESKTOP])
            # The pool's own metadata goes along.
            self.assertEqual("1", server.metadata[cloud_fixture.TEST_META])
        self.assertEqual({d["server_id"] for d in ready}, self.server_ids())
        # The pool grew within the capacity Placement reports (R11): the
        # manager read it and the flavor, and found room.
        self.assertGreaterEqual(
            self.compute.get_capacity()["total"]["providers"], 1)
        self.assertTrue(self.compute.get_flavor(self.cloud.flavor))
        self.assertNotIn("capacity unknown", self.logger.output)
        self.assertNotIn("unknown:", self.logger.output)
        self.assertEqual("active", db.pool_get(self.ctxt,
                                               self.pool["id"])["status"])

    def test_pool_beyond_the_cloud_reports_no_capacity(self):
        # A flavor with more memory than the fake hypervisor has.
        nova = self.compute.nova
        flavor = nova.flavors.create(
            "vdi-it-huge-%s" % uuidutils.generate_uuid()[:8],
            ram=64 * 1024 * 1024, vcpus=2, disk=1)
        self.addCleanup(nova.flavors.delete, flavor.id)
        db.pool_update(self.ctxt, self.pool["id"], {"flavor": flavor.name})
        self.manager.pool_upkeep(self.ctxt)
        pool = db.pool_get(self.ctxt, self.pool["id"])
        self.assertEqual("no_capacity", pool["status"])
        self.assertIn("room for 0", pool["status_reason"])
        self.assertEqual({}, self.counts())
        self.assertEqual(set(), self.server_ids())

    def test_servers_found_again_after_restart(self):
        ready = self.fill()
        expected = {d["server_id"] for d in ready}
        # A restarted broker: new driver (new session, no caches) and a new
        # pool manager, on the same database and options.
        driver = self.broker.new_compute()
        manager = conductor_manager.ConductorManager(self.conf,
                                                     compute_driver=driver)
        listed = driver.list_servers(
            tags=cloud_fixture.pool_tags(self.pool["id"]))
        self.assertEqual(expected, {s.id for s in listed})
        for server in listed:
            self.assertEqual(self.pool["id"],
                             server.metadata[compute_base.META_POOL])
        # The new manager takes the pool over as it is: nothing to boot.
        manager.pool_upkeep(self.ctxt)
        self.assertEqual({models.READY: 2}, self.counts())
        self.assertEqual(expected, self.server_ids(driver))


class TestLogin(RealCloudTestCase):

    def test_login_gives_spice_direct_and_console_file(self):
        ready = {d["id"]: d for d in self.fill()}
        resp = self.login()
        desktop = resp.json["desktop"]
        self.assertIn(desktop["id"], ready)
        self.assertEqual(ready[desktop["id"]]["server_id"],
                         desktop["server_id"])
        self.assertEqual(models.ASSIGNED, desktop["state"])
        # Host and ports come from Nova's console-auth-token API for a
        # spice-direct console of the fake virt driver.
        connection = resp.json["connection"]
        self.assertEqual("spice", connection["protocol"])
        self.assertEqual("spice-direct", connection["type"])
        self.assertEqual(cloud_fixture.FAKE_SPICE_HOST, connection["host"])
        self.assertEqual(cloud_fixture.FAKE_SPICE_PORT, connection["port"])
        self.assertEqual(cloud_fixture.FAKE_SPICE_TLS_PORT,
                         connection["tls_port"])

        got = self.broker.app.get(
            self.broker.session_url(resp) + "/console-file",
            headers={TOKEN: resp.json["session"]["token"]})
        self.assertEqual("application/x-virt-viewer", got.content_type)
        self.assertIn('filename="%s.vv"' % desktop["name"],
                      got.headers["Content-Disposition"])
        lines = got.text.splitlines()
        self.assertEqual("[virt-viewer]", lines[0])
        for line in ("type=spice",
                     "host=%s" % cloud_fixture.FAKE_SPICE_HOST,
                     "port=%d" % cloud_fixture.FAKE_SPICE_PORT,
                     "tls-port=%d" % cloud_fixture.FAKE_SPICE_TLS_PORT,
                     "title=%s - %s" % (self.pool["name"],
                                        desktop["name"])):
            self.assertIn(line, lines)


class TestLogoutRebuild(RealCloudTestCase):

    release_action = "rebuild"

    def test_logout_rebuilds_the_server(self):
        self.fill()
        resp = self.login()
        desktop_id = resp.json["desktop"]["id"]
        server_id = resp.json["desktop"]["server_id"]
        self.broker.logout(resp)

        # The logout asked Nova for the rebuild already.
        desktop = db.desktop_get(self.ctxt, desktop_id)
        self.assertEqual(models.RELEASING, desktop["state"])
        self.assertEqual("release:rebuild:issued", desktop["state_reason"])
        actions = [a.action for a in
                   self.compute.nova.instance_action.list(server_id)]
        self.assertIn("rebuild", actions)

        self.upkeep_until(
            "desktop rebuilt",
            lambda: db.desktop_get(self.ctxt, desktop_id)["state"] ==
            models.READY)
        desktop = db.desktop_get(self.ctxt, desktop_id)
        self.assertEqual(server_id, desktop["server_id"])
        self.assertIsNone(desktop["state_reason"])
        server = self.compute.get_server(server_id)
        self.assertEqual(compute_base.ACTIVE, server.status)
        # A rebuilt server is still the broker's.
        self.assertIn(compute_base.POOL_TAG_PREFIX + self.pool["id"],
                      server.tags)
        self.assertEqual(desktop_id,
                         server.metadata[compute_base.META_DESKTOP])
        self.assertEqual({d["server_id"] for d in self.desktops()},
                         self.server_ids())


class TestLogoutDelete(RealCloudTestCase):

    release_action = "delete"

    def test_logout_deletes_the_server_and_the_pool_refills(self):
        self.fill()
        resp = self.login()
        desktop_id = resp.json["desktop"]["id"]
        server_id = resp.json["desktop"]["server_id"]
        self.broker.logout(resp)

        self.assertRaises(exception.DesktopNotFound, db.desktop_get,
                          self.ctxt, desktop_id)
        self.wait_until_gone(server_id)

        ready = self.fill()
        self.assertEqual(2, len(ready))
        self.assertNotIn(server_id, {d["server_id"] for d in ready})
        self.assertEqual({d["server_id"] for d in self.desktops()},
                         self.server_ids())


class TestGuestAgent(RealCloudTestCase):
    """An agent registers with the metadata the broker put on the server.

    Nova's fake virt driver runs no guest, so no agent can run inside the
    server and read its metadata service: the test plays the agent with
    the server's metadata as Nova's API returns it (the ``meta`` the
    metadata service and the config drive would show the guest).
    """

    broker_flags = {("agent", "broker_url"): "http://broker.example:8780",
                    ("agent", "min_report_interval"): 0}
    pool_values = {"readiness_probe": "agent"}

    def test_desktop_ready_once_its_agent_registered(self):
        def active():
            building = self.desktops(state=models.BUILDING)
            return len(building) == 2 and all(d["active_at"]
                                              for d in building)
        self.upkeep_until("servers ACTIVE", active)
        # ACTIVE, but no agent yet: not ready.
        self.manager.pool_upkeep(self.ctxt)
        self.assertEqual(0, self.counts().get(models.READY, 0))
        for desktop in self.desktops(state=models.BUILDING):
            meta = self.compute.get_server(desktop["server_id"]).metadata
            self.assertEqual("http://broker.example:8780",
                             meta[protocol.META_BROKER_URL])
            self.assertEqual(desktop["id"], meta[protocol.META_DESKTOP])
            resp = self.broker.app.post_json(
                "/v1/agent/register",
                {"desktop_id": meta[protocol.META_DESKTOP],
                 "os": "Linux"},
                headers={protocol.SECRET_HEADER:
                         meta[protocol.META_SECRET]})
            self.assertEqual(desktop["id"], resp.json["desktop_id"])
        self.fill()
        ready = self.desktops(state=models.READY)
        self.assertEqual(2, len(ready))
        self.assertTrue(all(db.agent_get(self.ctxt, d["id"])[
            "registered_at"] for d in ready))
