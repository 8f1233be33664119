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

"""The thin client downloads a connection file for its session."""

from tests import base
from tests.fixtures import broker as broker_fixture
from vdi_broker.db import api as db

TOKEN = "X-Session-Token"


class TestConsoleFile(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.app = self.broker.app

    def test_rdp_file_for_the_session(self):
        resp = self.broker.login("amy")
        url = self.broker.session_url(resp) + "/console-file"
        desktop = db.desktop_get(self.broker.ctxt,
                                 resp.json["desktop"]["id"])
        got = self.app.get(url, headers={
            TOKEN: resp.json["session"]["token"]})
        self.assertEqual("application/x-rdp", got.content_type)
        self.assertIn("full address:s:%s:3389" % desktop["address"],
                      got.text)
        self.assertEqual("no-store", got.headers["Cache-Control"])
        self.assertIn('filename="%s.rdp"' % desktop["name"],
                      got.headers["Content-Disposition"])

    def test_needs_the_session_token(self):
        resp = self.broker.login("amy")
        url = self.broker.session_url(resp) + "/console-file"
        got = self.app.get(url, status=401)
        self.assertEqual(401, got.json["error"]["code"])
        got = self.app.get(url, headers={TOKEN: "not-the-token"},
                           status=401)
        self.assertEqual(401, got.json["error"]["code"])

    def test_protocol_without_a_file_is_404(self):
        resp = self.broker.login("amy")
        # The pool's console type is read at request time.
        db.pool_update(self.broker.ctxt, resp.json["pool"]["id"],
                       {"console_type": "fake"})
        url = self.broker.session_url(resp) + "/console-file"
        got = self.app.get(url, headers={
            TOKEN: resp.json["session"]["token"]}, status=404)
        self.assertEqual(404, got.json["error"]["code"])
