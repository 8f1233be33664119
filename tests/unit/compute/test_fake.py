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

"""Unit tests of the fake compute driver (an in-memory cloud)."""

import time

from tests import base
from vdi_broker.compute import base as compute_base
from vdi_broker.compute import fake
from vdi_broker import exception


def spec(name="vdi-test-1", tags=None, **kw):
    return compute_base.ServerSpec(
        name=name, flavor="m1.desktop", image="win11",
        networks=["net-1"], metadata={"vdi_pool": "p1"},
        tags=tags if tags is not None else ["vdi-broker", "vdi-pool-p1"],
        **kw)


class TestFakeCompute(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(group="fake_compute", boot_time=0, failure_rate=0.0,
                   address_range="10.9.0.0/29", hosts=["h1", "h2"])
        self.clock = [1000.0]
        self.cloud = fake.FakeCloud(clock=lambda: self.clock[0])
        self.driver = fake.FakeComputeDriver(self.conf, cloud=self.cloud)

    def test_boot_takes_boot_time(self):
        self.flags(group="fake_compute", boot_time=30)
        server = self.driver.create_server(spec())
        self.assertEqual(compute_base.BUILD, server.status)
        self.clock[0] += 29.9
        self.assertEqual(compute_base.BUILD,
                         self.driver.get_server(server.id).status)
        self.clock[0] += 0.1
        self.assertEqual(compute_base.ACTIVE,
                         self.driver.get_server(server.id).status)

    def test_zero_boot_time_is_active_at_once(self):
        server = self.driver.create_server(spec())
        self.assertEqual(compute_base.ACTIVE, server.status)

    def test_server_record(self):
        server = self.driver.create_server(spec())
        self.assertEqual("vdi-test-1", server.name)
        self.assertEqual({"vdi_pool": "p1"}, server.metadata)
        self.assertEqual(["vdi-broker", "vdi-pool-p1"], server.tags)
        self.assertEqual("10.9.0.1", server.address)
        self.assertEqual("h1", server.host)
        self.assertIsNone(server.fault)
        second = self.driver.create_server(spec("vdi-test-2"))
        self.assertEqual("10.9.0.2", second.address)
        self.assertEqual("h2", second.host)
        self.assertNotEqual(server.id, second.id)
        self.assertEqual([("create", "vdi-test-1"), ("create", "vdi-test-2")],
                         self.cloud.calls)

    def test_views_are_copies(self):
        server = self.driver.create_server(spec())
        server.metadata["x"] = "y"
        server.tags.append("z")
        again = self.driver.get_server(server.id)
        self.assertNotIn("x", again.metadata)
        self.assertNotIn("z", again.tags)

    def test_failure_rate_one(self):
        self.flags(group="fake_compute", failure_rate=1.0, boot_time=5)
        server = self.driver.create_server(spec())
        self.assertEqual(compute_base.BUILD, server.status)
        self.clock[0] += 5
        server = self.driver.get_server(server.id)
        self.assertEqual(compute_base.ERROR, server.status)
        self.assertIn("failure_rate", server.fault)

    def test_single_address_range(self):
        # A /32 (and a /31) has its addresses as a list in Python 3.11,
        # not an iterator: the fake cloud gave none (TypeError).
        self.flags(group="fake_compute", address_range="127.0.0.1/32")
        self.assertEqual("127.0.0.1",
                         self.driver.create_server(spec("one")).address)
        self.assertRaises(exception.ComputeError, self.driver.create_server,
                          spec("two"))

    def test_failure_rate_share(self):
        self.flags(group="fake_compute", failure_rate=0.5,
                   address_range="10.9.0.0/22")
        self.driver._rng.seed(42)
        statuses = [self.driver.create_server(spec("s%d" % i)).status
                    for i in range(400)]
        failed = statuses.count(compute_base.ERROR)
        self.assertTrue(140 < failed < 260, failed)
        self.assertEqual(400, failed + statuses.count(compute_base.ACTIVE))

    def test_list_servers_tags_filter(self):
        a = self.driver.create_server(spec("a", tags=["vdi-broker",
                                                      "vdi-pool-p1"]))
        b = self.driver.create_server(spec("b", tags=["vdi-broker",
                                                      "vdi-pool-p2"]))
        c = self.driver.create_server(spec("c", tags=[]))
        ids = lambda servers: sorted(s.id for s in servers)  # noqa: E731
        self.assertEqual(sorted([a.id, b.id, c.id]),
                         ids(self.driver.list_servers()))
        self.assertEqual(sorted([a.id, b.id]),
                         ids(self.driver.list_servers(tags=["vdi-broker"])))
        self.assertEqual([a.id], ids(self.driver.list_servers(
            tags=["vdi-broker", "vdi-pool-p1"])))
        self.assertEqual([], ids(self.driver.list_servers(
            tags=["vdi-pool-p1", "vdi-pool-p2"])))

    def test_reboot(self):
        self.flags(group="fake_compute", boot_time=10)
        server = self.driver.create_server(spec())
        self.clock[0] += 10
        self.driver.reboot_server(server.id)
        self.assertEqual(compute_base.REBOOT,
                         self.driver.get_server(server.id).status)
        self.clock[0] += 5  # a reboot takes half the boot time
        self.assertEqual(compute_base.ACTIVE,
                         self.driver.get_server(server.id).status)
        self.assertIn(("reboot", server.id), self.cloud.calls)

    def test_reboot_recovers_an_error_server(self):
        self.flags(group="fake_compute", failure_rate=1.0)
        server = self.driver.create_server(spec())
        self.assertEqual(compute_base.ERROR,
                         self.driver.get_server(server.id).status)
        self.driver.reboot_server(server.id, hard=True)
        # As in Nova, the first look after the request shows the reboot,
        # however quick it is.
        self.assertEqual(compute_base.REBOOT,
                         self.driver.get_server(server.id).status)
        server = self.driver.get_server(server.id)
        self.assertEqual(compute_base.ACTIVE, server.status)
        self.assertIsNone(server.fault)

    def test_rebuild(self):
        self.flags(group="fake_compute", boot_time=10)
        server = self.driver.create_server(spec())
        self.clock[0] += 10
        self.driver.rebuild_server(server.id, "win11-v2")
        self.assertEqual(compute_base.REBUILD,
                         self.driver.get_server(server.id).status)
        self.assertEqual("win11-v2", self.cloud.servers[server.id]["image"])
        self.clock[0] += 9.9
        self.assertEqual(compute_base.REBUILD,
                         self.driver.get_server(server.id).status)
        self.clock[0] += 0.1
        self.assertEqual(compute_base.ACTIVE,
                         self.driver.get_server(server.id).status)
        self.assertIn(("rebuild", server.id), self.cloud.calls)

    def test_delete(self):
        server = self.driver.create_server(spec())
        self.driver.delete_server(server.id)
        self.assertRaises(exception.ServerNotFound, self.driver.get_server,
                          server.id)
        self.assertEqual([], self.driver.list_servers())
        # Deleting again is not an error.
        self.driver.delete_server(server.id)
        self.assertEqual(2, self.cloud.calls.count(("delete", server.id)))

    def test_missing_server(self):
        for call in (self.driver.get_server, self.driver.reboot_server,
                     lambda sid: self.driver.rebuild_server(sid, "img"),
                     lambda sid: self.driver.lock_server(sid, "why"),
                     self.driver.unlock_server):
            self.assertRaises(exception.ServerNotFound, call, "no-such-id")

    def test_lock_unlock(self):
        server = self.driver.create_server(spec())
        self.driver.lock_server(server.id, "in use by amy")
        self.assertEqual("in use by amy",
                         self.cloud.servers[server.id]["locked"])
        self.driver.unlock_server(server.id)
        self.assertIsNone(self.cloud.servers[server.id]["locked"])

    def test_clouds_are_separate_and_shared(self):
        other = fake.FakeComputeDriver(self.conf, cloud=fake.FakeCloud())
        server = self.driver.create_server(spec())
        self.assertRaises(exception.ServerNotFound, other.get_server,
                          server.id)
        # Two drivers on one cloud see the same servers.
        same = fake.FakeComputeDriver(self.conf, cloud=self.cloud)
        self.assertEqual(server.id, same.get_server(server.id).id)
        self.cloud.reset()
        self.assertEqual([], same.list_servers())
        self.assertEqual([], self.cloud.calls)

    def test_default_cloud_is_process_wide(self):
        one = fake.FakeComputeDriver(self.conf)
        two = fake.FakeComputeDriver(self.conf)
        self.assertIs(fake.CLOUD, one.cloud)
        self.assertIs(one.cloud, two.cloud)

    def test_boot_time_steered_at_run_time_and_per_host(self):
        self.flags(group="fake_compute", boot_time=30)
        self.cloud.boot_time = 5
        self.cloud.host_boot_time = {"h2": 50}
        first = self.driver.create_server(spec(name="a"))     # h1
        second = self.driver.create_server(spec(name="b"))    # h2
        self.clock[0] += 5
        self.assertEqual(compute_base.ACTIVE,
                         self.driver.get_server(first.id).status)
        self.assertEqual(compute_base.BUILD,
                         self.driver.get_server(second.id).status)
        # A reboot takes half of the boot time of its host.
        self.driver.reboot_server(first.id)
        self.assertEqual({"h1": 1, "h2": 1}, dict(self.cloud.booting()))
        self.clock[0] += 2.5
        self.assertEqual({"h2": 1}, dict(self.cloud.booting()))

    def test_high_water_marks(self):
        self.flags(group="fake_compute", boot_time=10)
        servers = [self.driver.create_server(spec(name="s%d" % i))
                   for i in range(3)]
        self.assertEqual(3, self.cloud.booting_high_water)
        self.assertEqual({"h1": 2, "h2": 1},
                         dict(self.cloud.host_high_water))
        self.clock[0] += 10
        self.driver.reboot_server(servers[0].id)
        self.driver.rebuild_server(servers[1].id, "win11")
        self.assertEqual(3, self.cloud.booting_high_water)
        self.assertEqual(2, sum(self.cloud.booting().values()))

    def test_host_load(self):
        self.assertIsNone(self.driver.get_host_load())
        self.cloud.host_load = {"h1": 0.95}
        self.assertEqual({"h1": 0.95}, self.driver.get_host_load())


class TestFakeConsoles(base.TestCase):
    """Every console type, as Nova gives them (compute driver side)."""

    def setUp(self):
        super().setUp()
        self.flags(group="fake_compute", boot_time=0)
        self.cloud = fake.FakeCloud()
        self.driver = fake.FakeComputeDriver(self.conf, cloud=self.cloud)
        self.server = self.driver.create_server(spec())

    def test_spice_direct(self):
        self.flags(group="fake_compute", console_host="spice.test",
                   console_port_base=7000)
        console = self.driver.get_console(self.server.id, "spice-direct")
        self.assertEqual(("spice-direct", "spice.test", 7000, None),
                         (console["type"], console["host"], console["port"],
                          console["tls_port"]))
        self.assertTrue(console["url"].startswith(
            "http://spice.test:13002/nova?token="))
        self.assertEqual(1, self.cloud.requests["console"])

    def test_a_port_per_live_server(self):
        second = self.driver.create_server(spec(name="vdi-test-2"))
        ports = [self.driver.get_console(s.id, "spice-direct")["port"]
                 for s in (self.server, second)]
        self.assertEqual([5900, 5901], ports)
        # A deleted server's port goes to the next server.
        self.driver.delete_server(self.server.id)
        third = self.driver.create_server(spec(name="vdi-test-3"))
        self.assertEqual(5900, self.driver.get_console(
            third.id, "spice-direct")["port"])
        self.cloud.reset()
        fourth = self.driver.create_server(spec(name="vdi-test-4"))
        self.assertEqual(5900, self.driver.get_console(
            fourth.id, "spice-direct")["port"])

    def test_url_consoles_with_fresh_tokens(self):
        for console_type, start in (
                ("novnc", "http://127.0.0.1:6080/vnc_lite.html?path="
                          "%3Ftoken%3D"),
                ("spice-html5", "http://127.0.0.1:6082/spice_auto.html?"
                                "token=")):
            one = self.driver.get_console(self.server.id, console_type)
            two = self.driver.get_console(self.server.id, console_type)
            self.assertEqual({"type", "url"}, set(one))
            self.assertTrue(one["url"].startswith(start), one)
            self.assertNotEqual(one["url"], two["url"])

    def test_ipv6_console_host(self):
        self.flags(group="fake_compute", console_host="fd00::5")
        console = self.driver.get_console(self.server.id, "spice-direct")
        self.assertEqual("fd00::5", console["host"])
        self.assertTrue(console["url"].startswith("http://[fd00::5]:13002/"))

    def test_no_console_before_active(self):
        self.flags(group="fake_compute", boot_time=30)
        server = self.driver.create_server(spec(name="vdi-test-2"))
        e = self.assertRaises(exception.ConsoleNotReady,
                              self.driver.get_console, server.id, "novnc")
        self.assertIn("BUILD", e.message)

    def test_missing_server_and_unknown_type(self):
        self.assertRaises(exception.ServerNotFound, self.driver.get_console,
                          "no-such-id", "spice-direct")
        self.assertRaises(exception.Invalid, self.driver.get_console,
                          self.server.id, "telnet")

    def test_console_types(self):
        self.assertEqual({"spice-direct", "spice-html5", "novnc"},
                         fake.FakeComputeDriver.console_types(self.conf))
        self.assertIsNone(fake.FakeComputeDriver.console_refusal(
            self.conf, "spice-direct"))


class TestFakeComputeRealClock(base.TestCase):

    def test_boot_time_in_real_time(self):
        self.flags(group="fake_compute", boot_time=0.2)
        driver = fake.FakeComputeDriver(self.conf, cloud=fake.FakeCloud())
        server = driver.create_server(spec())
        self.assertEqual(compute_base.BUILD, server.status)
        time.sleep(0.25)
        self.assertEqual(compute_base.ACTIVE,
                         driver.get_server(server.id).status)
