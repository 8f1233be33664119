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

"""/healthcheck: oslo.middleware's health check, in front of the API.

The API runs with Keystone authentication here: the health check needs
no token (load balancers have none), while the admin API next to it
still does.
"""

import os

import fixtures
from oslo_middleware.healthcheck import opts as healthcheck_opts

from tests import base
from tests.fixtures import broker as broker_fixture


class HealthcheckTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        broker_fixture.keystone_service_user(self)
        self.flags(group="api", auth_strategy="keystone")
        # Nothing here may reach a Keystone.
        self.network = self.useFixture(fixtures.MockPatch(
            "keystoneauth1.session.Session.request",
            side_effect=AssertionError("Keystone was contacted")))
        # The middleware registers its options when it is built; the
        # tests set some before.
        for options in (healthcheck_opts.HEALTHCHECK_OPTS,
                        healthcheck_opts.DISABLE_BY_FILE_OPTS):
            self.conf_fixture.register_opts(options, group="healthcheck")
        self.app = self.broker.build()

    def test_reachable_without_token(self):
        resp = self.app.get("/healthcheck", status=200)
        # No backend configured: nothing to report but the status.
        self.assertEqual("text/plain", resp.content_type)
        self.app.head("/healthcheck", status=204)
        # The admin API beside it still wants a token.
        self.app.get("/v1/pools", status=401)
        self.assertFalse(self.network.mock.called)
        # Its own plain answer, with the request id of every response.
        self.assertTrue(resp.headers["X-OpenStack-Request-ID"].startswith(
            "req-"))

    def test_disable_by_file_takes_the_api_out(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            "healthcheck_disable")
        self.flags(group="healthcheck", backends=["disable_by_file"],
                   disable_by_file_path=path)
        self.app = self.broker.build()
        self.assertEqual("OK", self.app.get("/healthcheck", status=200).text)
        open(path, "w").close()
        resp = self.app.get("/healthcheck", status=503)
        self.assertIn("DISABLED BY FILE", resp.text)
        self.app.head("/healthcheck", status=503)
        os.unlink(path)
        self.app.get("/healthcheck", status=200)

    def test_sources_outside_the_allowed_ranges_get_the_api(self):
        self.flags(group="healthcheck",
                   allowed_source_ranges=["10.0.0.0/8"])
        self.app = self.broker.build()
        self.app.get("/healthcheck", status=200,
                     extra_environ={"REMOTE_ADDR": "10.1.2.3"})
        # The API has no such path, and wants a token first.
        resp = self.app.get("/healthcheck", status=401,
                            extra_environ={"REMOTE_ADDR": "192.0.2.7"})
        self.assertEqual(401, resp.json["error"]["code"])

    def test_no_other_path_skips_authentication(self):
        for path in ("/healthcheck/", "/healthcheck/x", "/v1/healthcheck"):
            resp = self.app.get(path, status=401)
            self.assertEqual(401, resp.json["error"]["code"])
