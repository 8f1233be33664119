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

"""vdi-broker-status upgrade check, against real parts."""

import logging
import uuid

import fixtures
from keystoneauth1 import loading as ks_loading
import oslo_messaging as messaging
from oslo_upgradecheck import upgradecheck

from tests import base
from tests.fixtures import database
from tests.functional import test_rpc
from vdi_broker.cmd import status
from vdi_broker.compute import fake
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker.conf import clouds as clouds_conf
from vdi_broker import rpc
from vdi_broker import service

Code = upgradecheck.Code


class StatusTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.users = self.useFixture(fixtures.TempDir()).join("users.json")
        with open(self.users, "w") as f:
            f.write('{"users": []}')
        self.flags(group="static_identity", users_file=self.users)
        self.flags(group="conductor", use_local=True)
        self.flags(group="api", auth_strategy="noauth")
        messaging.TransportURL.parse(self.conf, "fake:/")

    def results(self):
        checks = status.Checks(self.conf)
        return {name: check(checks) if callable(check) else None
                for name, check in checks._upgrade_checks
                if callable(check)}

    def database(self, migrate=True):
        db = self.useFixture(database.Database("sqlite", migrate=migrate))
        self.flags(group="database", connection=db.url)


class TestStatus(StatusTestCase):

    def test_healthy_all_in_one(self):
        self.database()
        results = self.results()
        self.assertEqual(Code.SUCCESS, results["Database schema"].code)
        self.assertEqual(Code.SUCCESS, results["Policy file"].code)
        self.assertEqual(Code.SUCCESS, results["Compute"].code)
        self.assertEqual(Code.SUCCESS, results["Directory"].code)
        self.assertEqual(Code.SUCCESS,
                         results["Conductor and message bus"].code)
        # noauth is worth a warning.
        self.assertEqual(Code.WARNING, results["Keystone"].code)

    def test_each_named_cloud_is_asked(self):
        self.database()
        self.flags(group="compute", clouds=["east", "west"])
        for name in ("east", "west"):
            group = clouds_conf.register_cloud(self.conf, name)
            self.flags(group=group, driver="fake")
            self.addCleanup(fake.named_cloud(group).reset)
        result = self.results()["Compute"]
        self.assertEqual(Code.SUCCESS, result.code)
        self.assertIn("Cloud east answered", result.details)
        self.assertIn("Cloud west answered", result.details)
        fake.named_cloud("cloud:west").down = "west is unplugged"
        result = self.results()["Compute"]
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn("Cloud west cannot be used", result.details)
        self.assertIn("west is unplugged", result.details)

    def test_keystone_unreachable(self):
        self.database()
        self.flags(group="api", auth_strategy="keystone")
        # The password plugin's options, as keystoneauth registers them
        # at load time (unregistered again after the test).
        status.register_keystone_opts(self.conf)
        self.conf_fixture.register_opts(
            ks_loading.get_auth_plugin_conf_options("password"),
            group="keystone_authtoken")
        self.flags(group="keystone_authtoken", auth_type="password",
                   http_connect_timeout=2,
                   auth_url="http://127.0.0.1:1/identity",
                   username="vdi_broker", password="secret-pw")
        result = self.results()["Keystone"]
        self.assertEqual(Code.FAILURE, result.code)
        self.assertNotIn("secret-pw", result.details)

    def test_policy_without_operator_project(self):
        # The personas need an operator project: without one only admin
        # and service get in, which an upgrade check says.
        self.database()
        self.flags(group="api", auth_strategy="keystone")
        result = self.results()["Policy file"]
        self.assertEqual(Code.WARNING, result.code)
        self.assertIn("operator_project_id", result.details)
        self.flags(group="api", operator_project_id="8a9b1a6c0e3f")
        self.assertEqual(Code.SUCCESS, self.results()["Policy file"].code)

    def test_schema_behind(self):
        self.database(migrate=False)
        result = self.results()["Database schema"]
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn("vdi-broker-manage db sync", result.details)

    def test_directory_unreachable(self):
        self.database()
        self.flags(group="identity", driver="ldap")
        self.flags(group="ldap", urls=["ldap://127.0.0.1:1"],
                   use_tls=False, connect_timeout=1.0,
                   bind_dn="cn=svc,dc=example", bind_password="secret-pw",
                   user_base="dc=example", group_base="dc=example")
        result = self.results()["Directory"]
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn("127.0.0.1:1", result.details)
        self.assertNotIn("secret-pw", result.details)


class TestStatusOverRabbit(StatusTestCase):

    def setUp(self):
        super().setUp()
        if not test_rpc._rabbit_reachable():
            if database.required():
                self.fail("RabbitMQ is not reachable")
            self.skipTest("RabbitMQ is not reachable")
        self.database()
        rpc.cleanup()
        self.addCleanup(rpc.cleanup)
        self.flags(transport_url=test_rpc.RABBIT_URL)
        self.flags(group="conductor", use_local=False,
                   topic="vdi-status-%s" % uuid.uuid4().hex[:12])
        self.useFixture(fixtures.MonkeyPatch(
            "vdi_broker.cmd.status.RPC_TIMEOUT", 1))

    def test_conductor_answers(self):
        svc = service.ConductorService(
            self.conf, conductor_manager.ConductorManager(self.conf),
            host="status-test")
        svc.start()
        self.addCleanup(svc.stop)
        result = self.results()["Conductor and message bus"]
        self.assertEqual(Code.SUCCESS, result.code)
        self.assertIn("status-test", result.details)

    def test_no_conductor(self):
        result = self.results()["Conductor and message bus"]
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn("No conductor answered", result.details)
