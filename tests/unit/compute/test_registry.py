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

"""Several clouds: the registry, its [cloud:NAME] groups, cloud health."""

import io
import os
import time

import fixtures
from oslo_config import cfg
import testtools

from vdi_broker import compute
from vdi_broker.compute import fake
from vdi_broker.compute import nova
from vdi_broker.compute import registry
from vdi_broker.conf import clouds as clouds_conf
from vdi_broker.conf import compute as compute_conf
from vdi_broker.conf import nova as nova_conf
from vdi_broker import exception

CONFIG = """
[compute]
driver = fake
clouds = east, west

[cloud:east]
driver = nova
auth_type = password
auth_url = http://keystone.east:5000/v3
username = vdi
password = east-secret
project_name = service
region_name = RegionEast
timeout = 7
console_api_version = 2.96
max_concurrent_builds = 20

[cloud:west]
driver = fake
capacity_memory_mb = 65536
host_zones = w-1:az1, w-2:az2
hosts = w-1, w-2
down_after_failures = 2
down_retry_interval = 0.1
"""


def _conf(test, text=CONFIG):
    conf = cfg.ConfigOpts()
    compute_conf.register_opts(conf)
    nova_conf.register_opts(conf)
    clouds_conf.register_opts(conf)
    path = os.path.join(test.useFixture(fixtures.TempDir()).path,
                        "vdi-broker.conf")
    with io.open(path, "w") as f:
        f.write(text)
    conf(["--config-file", path], project="vdi-broker-test",
         default_config_files=[], default_config_dirs=[])
    return conf


class TestRegistry(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = _conf(self)
        self.clouds = compute.clouds(self.conf)

    def test_each_cloud_has_its_group_and_driver(self):
        self.assertEqual([None, "east", "west"], self.clouds.names())
        self.assertTrue(self.clouds.several)
        east = self.clouds.get("east").driver
        self.assertIsInstance(east, nova.NovaComputeDriver)
        self.assertEqual("cloud:east", east.group)
        self.assertEqual("RegionEast", self.conf["cloud:east"].region_name)
        self.assertEqual(7, self.conf["cloud:east"].timeout)
        # keystoneauth1's defaults of the broker, as in [nova].
        self.assertEqual("compute", self.conf["cloud:east"].service_type)
        self.assertEqual(20, self.clouds.max_builds("east"))
        self.assertEqual(0, self.clouds.max_builds(None))
        west = self.clouds.get("west").driver
        self.assertIsInstance(west, fake.FakeComputeDriver)
        self.assertIs(fake.named_cloud("cloud:west"), west.cloud)
        self.assertIsNot(fake.CLOUD, west.cloud)
        # The default cloud: [compute] driver, as before.
        self.assertIsInstance(self.clouds.get(None).driver,
                              fake.FakeComputeDriver)
        self.assertIs(self.clouds.get("east"), self.clouds.get("east"))

    def test_unknown_cloud(self):
        e = self.assertRaises(exception.CloudUnknown, self.clouds.get,
                              "mars")
        self.assertIn("Unknown cloud mars", str(e))
        self.assertIn("east, west", str(e))
        self.assertEqual(400, e.code)

    def test_pool_cloud(self):
        self.assertIsNone(registry.cloud_of(self.conf, {"cloud": None}))
        self.assertEqual("east",
                         registry.cloud_of(self.conf, {"cloud": "east"}))
        # Without [compute] clouds a pool's cloud is a label only.
        plain = _conf(self, "[compute]\ndriver = fake\n")
        self.assertIsNone(registry.cloud_of(plain, {"cloud": "east"}))
        self.assertFalse(compute.clouds(plain).several)

    def test_console_refusal_per_cloud(self):
        self.assertIsNone(compute.console_refusal(self.conf,
                                                  "spice-direct"))
        self.assertIsNone(compute.console_refusal(self.conf,
                                                  "spice-direct", "west"))
        refusal = compute.console_refusal(self.conf, "spice-direct", "east")
        self.assertIn("[cloud:east] console_api_version", refusal)

    def test_fake_zone_capacity(self):
        west = self.clouds.get("west")
        total = west.get_capacity()["total"]["providers"]
        self.assertEqual(2, total)
        zone = west.get_capacity(availability_zone="az2")
        self.assertEqual(["w-2"], [p["name"] for p in zone["providers"]])
        spec = fake.base.ServerSpec(name="s", flavor="f", image="i",
                                    availability_zone="az1",
                                    tags=["vdi-pool-p"])
        self.assertEqual("w-1", west.create_server(spec).host)


class TestHealth(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = _conf(self)
        self.clouds = compute.clouds(self.conf)
        self.west = self.clouds.get("west")
        self.addCleanup(self.west.cloud.reset)

    def test_down_after_failures_then_fail_fast_then_back(self):
        self.west.cloud.down = "west is unplugged"
        for _ in range(2):
            self.assertRaises(exception.ComputeUnavailable,
                              self.west.list_servers)
        health = self.clouds.health("west")
        self.assertTrue(health.down)
        self.assertIn("cloud west unavailable since", health.reason())
        self.assertIn("west is unplugged", health.reason())
        before = self.west.cloud.requests["list"]
        # Down: calls fail at once, without asking the cloud.
        self.west.cloud.down = None
        e = self.assertRaises(exception.ComputeUnavailable,
                              self.west.list_servers)
        self.assertIn("cloud west unavailable", str(e))
        self.assertEqual(before, self.west.cloud.requests["list"])
        # No probe before the retry interval; then one finds it back.
        self.assertIsNone(self.west.probe("list_servers"))
        time.sleep(0.15)
        self.west.probe("list_servers").join(5)
        self.assertFalse(health.down)
        self.assertEqual([], self.west.list_servers())
        # Only one probe per retry interval.
        self.west.cloud.down = "again"
        for _ in range(2):
            self.assertRaises(exception.ComputeUnavailable,
                              self.west.list_servers)
        time.sleep(0.15)
        self.west.probe("list_servers").join(5)
        self.assertTrue(health.down)
        self.assertIsNone(self.west.probe("list_servers"))

    def test_a_refusal_is_an_answer(self):
        self.west.cloud.down = "unplugged"
        self.assertRaises(exception.ComputeUnavailable,
                          self.west.get_server, "x")
        self.west.cloud.down = None
        self.assertRaises(exception.ServerNotFound, self.west.get_server,
                          "x")
        self.assertEqual(0, self.clouds.health("west").failures)

    def test_thin_clients_get_the_reason_without_the_error(self):
        self.west.cloud.down = ("ConnectFailure: http://10.0.0.9:8774/: "
                                "ConnectionResetError(104)")
        for _ in range(2):
            self.assertRaises(exception.ComputeUnavailable,
                              self.west.list_servers)
        reason = self.clouds.health("west").reason()
        self.assertIn("ConnectionResetError(104)", reason)
        # The pool's status_reason (operators) keeps it all; the 503 of
        # an exhausted pool (thin clients) says which cloud, since when.
        details = exception.PoolExhausted(
            pool="west-agents", status="cloud_down", status_reason=reason,
            ready=0).details()
        self.assertRegex(details["status_reason"],
                         r"^cloud west unavailable since \S+ UTC$")
        self.assertEqual("room for 0", exception.PoolExhausted(
            pool="p", status="no_capacity",
            status_reason="room for 0").details()["status_reason"])

    def test_default_cloud_never_goes_down_unless_asked(self):
        default = self.clouds.get(None)
        default.cloud.down = "unplugged"
        self.addCleanup(default.cloud.reset)
        for _ in range(10):
            self.assertRaises(exception.ComputeUnavailable,
                              default.list_servers)
        self.assertFalse(default.health.down)
        self.assertEqual(10, default.health.errors)


class TestSampleOptions(testtools.TestCase):

    def test_list_opts(self):
        groups = {getattr(g, "name", g): opts
                  for g, opts in clouds_conf.list_opts().items()}
        names = {o.dest for o in groups["cloud:NAME"]}
        for name in ("driver", "auth_type", "region_name", "timeout",
                     "api_version", "max_concurrent_builds",
                     "down_after_failures", "host_zones"):
            self.assertIn(name, names)
        self.assertFalse(any(o.required for o in groups["cloud:NAME"]))
