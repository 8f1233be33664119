# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The version document leads to the OpenAPI document and the docs."""

import configparser
import os
import urllib.parse

from tests import base
from tests.fixtures import broker as broker_fixture

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))


class VersionLinksTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.app = self.broker.app

    def _links(self, path, key):
        body = self.app.get(path, headers={"X-Roles": "nobody"}).json
        version = body[key][0] if key == "versions" else body[key]
        return {link["rel"]: link for link in version["links"]}

    def test_root_and_v1_link_the_openapi_document(self):
        for path, key in (("/", "versions"), ("/v1", "version")):
            links = self._links(path, key)
            self.assertEqual("http://localhost/v1", links["self"]["href"])
            desc = links["service-desc"]
            self.assertEqual("http://localhost/v1/openapi.json",
                             desc["href"])
            self.assertTrue(desc["type"].startswith(
                "application/vnd.oai.openapi+json"), desc)
            # The link works, without a token.
            document = self.app.get(
                urllib.parse.urlsplit(desc["href"]).path,
                headers={"X-Roles": "nobody"}).json
            self.assertEqual(desc["type"].split("version=")[1],
                             document["openapi"])

    def test_root_links_the_documentation(self):
        parser = configparser.ConfigParser()
        parser.read(os.path.join(ROOT, "setup.cfg"))
        home = parser["metadata"]["home_page"]
        doc = self._links("/", "versions")["service-doc"]
        self.assertEqual(home + "api-ref/", doc["href"])
        self.assertEqual("text/html", doc["type"])
