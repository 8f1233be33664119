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

"""Desktop actions and fault reports over a real RabbitMQ (RPC 1.3)."""

import oslo_messaging as messaging

from tests.functional import test_rpc
from vdi_broker.conductor import rpcapi
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import rpc


class TestDesktopActionsOverRabbit(test_rpc.RpcTestCase):

    def setUp(self):
        super().setUp()
        # Several actions in a row: on a loaded test machine one may take
        # longer than the 2 s the 503 tests of test_rpc need.
        self.broker.flags(group="api", conductor_timeout=20)
        self.app = self.broker.build()
        self.broker.create_pool("sh-agents", min_ready=2, max_size=4,
                                release_action="keep")
        self.broker.create_allocator(
            "shanghai-agents", pool="sh-agents", priority=10,
            rules={"ou": ["shanghai"]})
        self.wait_for_pools()
        self.ctxt = self.broker.ctxt

    def test_actions_and_fault_report(self):
        login = self.broker.login("amy")
        headers = {"X-Session-Token": login.json["session"]["token"]}
        resp = self.app.post_json(self.broker.session_url(login) + "/fault",
                                  {"reason": "frozen"}, headers=headers,
                                  status=202)
        desktop_id = resp.json["desktop"]["id"]
        self.assertEqual(models.QUARANTINED, resp.json["desktop"]["state"])
        # The caller's identity crosses the bus with the context.
        ready = db.desktop_list(self.ctxt, {"state": models.READY})[0]
        resp = self.app.post_json(
            "/v1/desktops/%s/action" % ready["id"],
            {"quarantine": {"reason": "probe"}},
            headers={"X-Roles": "service", "X-User-Id": "monitoring",
                     "X-Project-Id": "p"}, status=202)
        self.assertEqual("monitoring", resp.json["desktop"]["faulted_by"])
        # Broker errors cross it too: 409 for a wrong state.
        resp = self.app.post_json("/v1/desktops/%s/action" % ready["id"],
                                  {"reboot": {}}, status=202)
        self.assertEqual(models.QUARANTINED, resp.json["desktop"]["state"])
        resp = self.app.post_json("/v1/desktops/%s/action" % desktop_id,
                                  {"move": {"user": "sam"}}, status=409)
        self.assertEqual(409, resp.json["error"]["code"])
        for desktop in (desktop_id, ready["id"]):
            resp = self.app.post_json("/v1/desktops/%s/action" % desktop,
                                      {"unquarantine": {}}, status=202)
            self.assertEqual(models.READY, resp.json["desktop"]["state"])

    def test_old_clients_keep_working(self):
        """A client pinned to 1.2 (an API not yet upgraded) still works."""
        target = messaging.Target(topic=self.conf.conductor.topic,
                                  version="1.2")
        client = rpc.get_client(self.conf, target, version_cap="1.2",
                                timeout=10)
        api = rpcapi.ConductorAPI(self.conf)
        api.client = client
        ctxt = vdi_context.get_admin_context()
        self.assertIn("host", api.ping(ctxt))
        # The new calls need 1.3: the pinned client refuses to send them.
        self.assertRaises(messaging.RPCVersionCapError, api.desktop_action,
                          ctxt, "any", "reboot", {})
