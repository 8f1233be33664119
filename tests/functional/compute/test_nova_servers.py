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

"""The Nova driver's server lifecycle against the emulator, over HTTP."""

import time

from tests.fixtures import nova_emulator as emu
from tests.functional.compute import base as test_base
from vdi_broker.compute import base
from vdi_broker import exception


def spec(name="desk-1", pool="pool-a", **kwargs):
    metadata = kwargs.pop("metadata", {base.META_POOL: pool})
    kwargs.setdefault("flavor", "vdi.small")
    kwargs.setdefault("image", emu.DEFAULT_IMAGE)
    return base.ServerSpec(name=name, metadata=metadata, **kwargs)


class ServerLifecycleTest(test_base.NovaTestCase):

    def test_create_names_broker_and_pool(self):
        server = self.driver.create_server(spec(
            metadata={base.META_POOL: "pool-a", base.META_DESKTOP: "d-1"},
            tags=["team-x"], availability_zone="nova",
            networks=[emu.DEFAULT_NETWORK]))
        self.assertEqual(base.BUILD, server.status)
        record = self.emulator.servers[server.id]
        self.assertEqual(["team-x", base.BROKER_TAG, "vdi-pool-pool-a"],
                         record["tags"])
        self.assertEqual({base.META_POOL: "pool-a",
                          base.META_DESKTOP: "d-1",
                          base.META_BROKER: base.BROKER_TAG},
                         record["metadata"])
        self.assertEqual("101", record["flavor"]["id"])
        self.assertEqual([emu.DEFAULT_NETWORK], record["networks"])
        self.assertEqual("nova", record["availability_zone"])
        self.assertEqual(record["tags"], server.tags)
        create = [r for r in self.emulator.requests
                  if r["kind"] == "create"]
        self.assertEqual([(2, 96)], [r["microversion"] for r in create])

    def test_create_pool_from_tag(self):
        server = self.driver.create_server(spec(
            metadata={}, tags=[base.POOL_TAG_PREFIX + "pool-b"],
            flavor="102", networks="none"))
        record = self.emulator.servers[server.id]
        self.assertEqual("pool-b", record["metadata"][base.META_POOL])
        self.assertIn(base.BROKER_TAG, record["tags"])
        self.assertEqual("none", record["networks"])

    def test_create_without_pool_is_refused_before_any_call(self):
        self.assertRaises(exception.Invalid, self.driver.create_server,
                          spec(metadata={}))
        self.assertRaises(exception.Invalid, self.driver.create_server,
                          spec(pool="a/b"))
        self.assertEqual([], self.emulator.requests)

    def test_unknown_flavor(self):
        self.assertRaises(exception.Invalid, self.driver.create_server,
                          spec(flavor="no-such-flavor"))

    def test_unknown_image_is_a_compute_error(self):
        e = self.assertRaises(exception.ComputeError,
                              self.driver.create_server,
                              spec(image="no-such-image"))
        self.assertIn("400", e.message)
        self.assertEqual(1, self.emulator.calls("create"))

    def test_get_vanished_server(self):
        server = self.driver.create_server(spec())
        self.emulator.delete_out_of_band(server.id)
        self.assertRaises(exception.ServerNotFound, self.driver.get_server,
                          server.id)
        # Deleting a server that is gone already is not an error.
        self.driver.delete_server(server.id)

    def test_delete(self):
        server = self.driver.create_server(spec())
        self.driver.delete_server(server.id)
        self.assertTrue(self.emulator.servers[server.id]["deleted"])
        self.assertEqual([], self.driver.list_servers())

    def test_reboot_rebuild_lock(self):
        server = self.driver.create_server(spec())
        self.driver.wait_for_server(server.id)
        self.driver.reboot_server(server.id)
        self.driver.reboot_server(server.id, hard=True)
        self.driver.rebuild_server(server.id, emu.OTHER_IMAGE)
        self.driver.lock_server(server.id, "pool maintenance")
        record = self.emulator.servers[server.id]
        self.assertEqual(emu.OTHER_IMAGE, record["image"])
        self.assertTrue(record["locked"])
        self.assertEqual("pool maintenance", record["locked_reason"])
        # Rebuild keeps the broker's tags and metadata.
        shown = self.driver.get_server(server.id)
        self.assertIn(base.BROKER_TAG, shown.tags)
        self.assertEqual("pool-a", shown.metadata[base.META_POOL])
        self.driver.unlock_server(server.id)
        self.assertFalse(self.emulator.servers[server.id]["locked"])
        kinds = [r["kind"] for r in self.emulator.requests]
        for kind in ("reboot", "rebuild", "lock", "unlock"):
            self.assertEqual(1 if kind != "reboot" else 2, kinds.count(kind))

    def test_reboot_while_building_is_a_conflict(self):
        self.emulator.boot_time = 10
        server = self.driver.create_server(spec())
        e = self.assertRaises(exception.ComputeError,
                              self.driver.reboot_server, server.id)
        self.assertIn("409", e.message)

    def test_actions_on_vanished_server(self):
        server = self.driver.create_server(spec())
        self.emulator.delete_out_of_band(server.id)
        for call in (lambda: self.driver.reboot_server(server.id),
                     lambda: self.driver.rebuild_server(server.id,
                                                        emu.OTHER_IMAGE),
                     lambda: self.driver.lock_server(server.id, "x")):
            self.assertRaises(exception.ServerNotFound, call)


class BootTest(test_base.NovaTestCase):
    boot_time = 0.3

    def test_build_then_active(self):
        server = self.driver.create_server(spec())
        self.assertEqual(base.BUILD, self.driver.get_server(server.id).status)
        active = self.driver.wait_for_server(server.id)
        self.assertEqual(base.ACTIVE, active.status)
        self.assertEqual("compute-1", active.host)
        self.assertTrue(active.address.startswith("10.0."))

    def test_no_valid_host_fault(self):
        self.emulator.inject_fault("create", no_valid_host=True)
        server = self.driver.create_server(spec())
        e = self.assertRaises(exception.NoValidHost,
                              self.driver.wait_for_server, server.id)
        self.assertIn("No valid host", e.message)
        shown = self.driver.get_server(server.id)
        self.assertEqual(base.ERROR, shown.status)
        self.assertIn("No valid host", shown.fault)

    def test_no_room_left_is_no_valid_host(self):
        # vdi.large: 4 vCPU, 8 GiB. compute-2 has 6 vCPU; compute-1 64 at
        # 4.0 over-commit but only 63.5 GiB of memory: 7 + 0 servers fit
        # in memory on compute-1, then 4 more on compute-2 (memory 1.5x).
        servers = [self.driver.create_server(spec(name="d%d" % i,
                                                  flavor="vdi.large"))
                   for i in range(9)]
        errors = [s for s in self.emulator.live_servers()
                  if s["pending"] and s["pending"][1] == "ERROR"]
        self.assertEqual(1, len(errors))
        failed = errors[0]["id"]
        self.assertRaises(exception.NoValidHost, self.driver.wait_for_server,
                          failed)
        self.assertEqual(base.ACTIVE, self.driver.wait_for_server(
            servers[0].id).status)

    def test_build_timeout(self):
        self.emulator.boot_time = 30
        server = self.driver.create_server(spec())
        start = time.monotonic()
        self.assertRaises(exception.BuildTimeout,
                          self.driver.wait_for_server, server.id,
                          timeout=0.2)
        self.assertLess(time.monotonic() - start, 2)

    def test_error_without_no_valid_host(self):
        server = self.driver.create_server(spec())
        self.emulator.set_server_status(server.id, "ERROR",
                                        fault="Build of instance aborted")
        e = self.assertRaises(exception.BuildFailed,
                              self.driver.wait_for_server, server.id)
        self.assertNotIsInstance(e, exception.NoValidHost)
        self.assertIn("aborted", e.message)


class ListTest(test_base.NovaTestCase):
    emulator_kwargs = {"max_limit": 3}

    def test_list_by_tags_pages_through_everything(self):
        self.conf.set_override("list_page_size", 2, group="nova")
        pool_a = [self.driver.create_server(spec(name="a%d" % i)).id
                  for i in range(7)]
        pool_b = [self.driver.create_server(spec(name="b%d" % i,
                                                 pool="pool-b")).id
                  for i in range(2)]
        self.emulator.delete_out_of_band(pool_a[3])
        listed = self.driver.list_servers(
            tags=[base.BROKER_TAG, base.POOL_TAG_PREFIX + "pool-a"])
        self.assertEqual(sorted(set(pool_a) - {pool_a[3]}),
                         sorted(s.id for s in listed))
        lists = [r for r in self.emulator.requests if r["kind"] == "list"]
        # 6 servers, 2 a page, then an empty page.
        self.assertEqual(4, len(lists))
        self.assertEqual(["2"], lists[0]["query"]["limit"])
        self.assertNotIn("marker", lists[0]["query"])
        self.assertIn("marker", lists[1]["query"])
        self.assertEqual(["vdi-broker,vdi-pool-pool-a"],
                         lists[0]["query"]["tags"])
        everything = self.driver.list_servers()
        self.assertEqual(8, len(everything))
        self.assertEqual(set(pool_a + pool_b) - {pool_a[3]},
                         {s.id for s in everything})

    def test_server_page_smaller_than_asked(self):
        # The cloud's max_limit (3) is below the page size asked (200):
        # the listing must still be complete.
        ids = {self.driver.create_server(spec(name="a%d" % i)).id
               for i in range(5)}
        self.assertEqual(ids, {s.id for s in self.driver.list_servers(
            tags=[base.BROKER_TAG])})

    def test_list_converts_servers(self):
        server = self.driver.create_server(spec())
        listed = self.driver.list_servers(tags=[base.BROKER_TAG])
        self.assertEqual(1, len(listed))
        self.assertEqual(server.id, listed[0].id)
        self.assertEqual(base.ACTIVE, listed[0].status)
        self.assertEqual("pool-a", listed[0].metadata[base.META_POOL])

    def test_invalid_tag_filter(self):
        self.assertRaises(exception.Invalid, self.driver.list_servers,
                          tags=["a,b"])
