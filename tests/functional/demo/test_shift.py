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

"""The shift's checks see every session, page after page.

The API pages its lists ([api] max_limit, 1000 by default); a shift of
2000 agents counted only the first 1000 sessions in its checks.
"""

import contextlib
import io

from tests import base
from tests.fixtures import api_server
from tests.fixtures import broker as broker_fixture
from vdi_broker.demo import shift


class ShiftChecksTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(
            self, flags={("api", "max_limit"): 2})
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.server = self.useFixture(api_server.ApiServer(self.broker))

    def test_every_active_session_is_counted(self):
        names = [u["username"] for u in self.broker.users][:5]
        first = {name: self.broker.login(name, client_id="tc-%d" % i).json
                 for i, name in enumerate(names)}
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            passed = shift.summarize(shift.Broker(self.server.url), names,
                                     first, {}, [0.01] * len(names), {})
        out = out.getvalue()
        self.assertTrue(passed, out)
        self.assertIn("active sessions: 5 on 5 desktops", out)
        self.assertIn("PASS  no desktop held by two people (0 desktops "
                      "with two users)", out)
        self.assertIn("PASS  bound users back on their own desktop "
                      "(0 of 0)", out)
