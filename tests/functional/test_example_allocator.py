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

"""The example allocator plugin from the contributor guide, loaded the
way a deployment loads it: through an installed entry point."""

import configparser
import importlib
import os
import shutil
import sys

import fixtures
import stevedore

from tests import base
from tests.fixtures import database
from vdi_broker import allocators
from vdi_broker.allocators import base as allocator_base
from vdi_broker.compute import fake
from vdi_broker import context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker.identity import base as identity_base
from vdi_broker.login import service as login_service

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "doc",
                       "source", "contributor", "examples",
                       "department-allocator")


class InstalledExample(fixtures.Fixture):
    """The example on sys.path, with a dist-info holding its entry points.

    As ``pip install`` of the example would leave it.
    """

    def _setUp(self):
        site = self.useFixture(fixtures.TempDir()).path
        shutil.copytree(os.path.join(EXAMPLE, "vdi_broker_department"),
                        os.path.join(site, "vdi_broker_department"))
        setup_cfg = configparser.ConfigParser()
        setup_cfg.read(os.path.join(EXAMPLE, "setup.cfg"))
        dist_info = os.path.join(site,
                                 "vdi_broker_department-1.0.0.dist-info")
        os.mkdir(dist_info)
        with open(os.path.join(dist_info, "METADATA"), "w") as f:
            f.write("Metadata-Version: 2.1\nName: vdi-broker-department\n"
                    "Version: 1.0.0\n")
        entry_points = configparser.ConfigParser()
        for group, lines in setup_cfg["options.entry_points"].items():
            entry_points[group] = dict(
                (part.strip() for part in line.split("=", 1))
                for line in lines.strip().splitlines())
        with open(os.path.join(dist_info, "entry_points.txt"), "w") as f:
            entry_points.write(f)
        self.useFixture(fixtures.MonkeyPatch("sys.path", [site] + sys.path))
        # importlib.metadata caches what it found on each path entry, and
        # stevedore the entry points of a namespace once per process (a
        # deployment restarts its services after installing a plugin).
        importlib.invalidate_caches()
        self._forget_entry_points()
        self.addCleanup(self._forget_entry_points)
        self.addCleanup(allocators._plugins.pop, "department", None)
        self.addCleanup(sys.modules.pop, "vdi_broker_department", None)

    @staticmethod
    def _forget_entry_points():
        stevedore.ExtensionManager.ENTRY_POINT_CACHE.pop(
            allocators.NAMESPACE, None)


def _principal(department):
    return identity_base.Principal(
        username="amy", dn="uid=amy,ou=hotel,ou=shanghai,dc=example",
        groups=("agents",), attributes={"department": (department,)})


class TestExampleAllocator(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(InstalledExample())

    def test_listed_and_loaded_by_entry_point(self):
        self.assertIn("department", allocators.plugin_names())
        plugin = allocators.get_plugin("department")
        self.assertTrue(issubclass(plugin, allocator_base.Allocator))
        self.assertEqual("vdi_broker_department", plugin.__module__)

    def test_options_are_validated(self):
        plugin = allocators.get_plugin("department")
        plugin.validate_options({"pools": {"hotel": "hotel-pool"}})
        self.assertRaises(exception.Invalid, plugin.validate_options, {})
        self.assertRaises(exception.Invalid, plugin.validate_options,
                          {"pools": {"hotel": 3}})

    def test_chain_uses_it_and_falls_through(self):
        records = [
            {"id": "1", "name": "by-department", "priority": 10,
             "plugin": "department", "pool_id": None, "rules": {},
             "options": {"pools": {"hotel": "hotel-pool"}},
             "enabled": True, "is_default": False},
            {"id": "2", "name": "fallback", "priority": 99,
             "plugin": "pool", "pool_id": "general", "rules": {},
             "options": {}, "enabled": True, "is_default": True},
        ]
        request = allocator_base.AllocationRequest(_principal("hotel"),
                                                   client_id="tc-1")
        record, decision, trace = allocators.walk(self.conf, records,
                                                  request)
        self.assertEqual("by-department", record["name"])
        self.assertEqual("hotel-pool", decision.pool)

        request = allocator_base.AllocationRequest(_principal("flight"),
                                                   client_id="tc-1")
        record, decision, trace = allocators.walk(self.conf, records,
                                                  request)
        self.assertEqual("fallback", record["name"])
        self.assertEqual("not applicable: no pool for department=flight",
                         trace[0]["result"])

    def test_login_through_the_conductor(self):
        self.useFixture(database.Database("sqlite"))
        ctxt = context.get_admin_context()
        pool = db.pool_create(ctxt, {"name": "hotel-pool", "flavor": "f",
                                     "image": "i", "console_type": "fake"})
        db.desktop_create(ctxt, {"pool_id": pool["id"], "name": "d1",
                                 "state": models.READY,
                                 "address": "198.18.0.9"})
        db.allocator_create(ctxt, {
            "name": "by-department", "priority": 10,
            "plugin": "department",
            "options": {"pools": {"hotel": "hotel-pool"}}})
        logins = login_service.LoginService(
            self.conf, compute=lambda: fake.FakeComputeDriver(
                self.conf, cloud=fake.FakeCloud()))
        result = logins.login(ctxt, {
            "principal": _principal("hotel").to_dict(),
            "client_id": "tc-1", "seat": None,
            "session_id": "5d0f2f55-2c52-4a57-9b1a-3f1c1a9d0e01",
            "token_hash": "0" * 64,
            "expires_at": "2099-01-01T00:00:00"})
        self.assertEqual("hotel-pool", result["pool"]["name"])
        self.assertEqual("by-department", result["allocator"]["name"])
        self.assertEqual("d1", result["desktop"]["name"])
