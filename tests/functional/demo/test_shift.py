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

    def test_chart_of_active_agents_against_the_plan(self):
        from oslo_utils import timeutils

        from vdi_broker.db import api as db
        from vdi_broker.demo import setup as demo_setup
        from vdi_broker.monitoring import shift_plan

        self.flags(group="client_session", register_unknown_clients=True)
        db.department_create(self.broker.ctxt, {
            "name": "hotel", "priority": 1,
            "rules": {"groups": ["hotel-agents"]}})
        today = timeutils.utcnow().date()
        text = "date,slot_start,department,site,expected\n" + "".join(
            "%s,%02d:%02d,hotel,shanghai,4\n" % (today, m // 60, m % 60)
            for m in range(0, 24 * 60, 30))
        db.shift_plan_import(self.broker.ctxt, shift_plan.to_utc(
            shift_plan.parse(text), "UTC"))
        client = shift.Broker(self.server.url)
        for i, name in enumerate(("amy", "sam")):
            answer = self.broker.login(name, client_id="tc-%d" % i).json
            client.heartbeat(answer["session"]["client_id"],
                             answer["session"], input_events=i)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            shift.chart(client, width=8)
        self.assertIn("hotel    shanghai  ##......   1 of   4 planned "
                      "(1 idle, 0 offline)", out.getvalue())
        # The demo's own plan: each team expects nine in ten agents (17
        # of 40 demo agents are hotel agents at Shanghai).
        plan = demo_setup.plan_csv(40, [today])
        self.assertIn("%s,00:30,hotel,shanghai,15" % today, plan)
        # The new insurance team, nobody of which is in the directory,
        # expects nine in ten of its 12 agents too.
        self.assertIn("%s,00:30,insurance,nantong,10" % today, plan)
        self.assertEqual(1 + 48 * 4, len(plan.splitlines()))
