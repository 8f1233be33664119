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

"""The broker, its API over HTTP and the portal in front of it."""

from tests import base
from tests.fixtures import api_server
from tests.fixtures import broker as broker_fixture
from tests.fixtures import portal as portal_fixture


class PortalTestCase(base.TestCase):
    """A filled call centre behind the API, the portal on loopback."""

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.api = self.useFixture(api_server.ApiServer(self.broker))
        self.portal = self.useFixture(
            portal_fixture.PortalServer(self, self.api.url))

    def api_get(self, path, **params):
        return self.broker.app.get(path, params=params).json
