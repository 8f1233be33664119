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

"""Pure parts of the reconciler and the desktop actions (no DB, no cloud)."""

import datetime
from unittest import mock

import testtools

from vdi_broker.api.schemas import desktops as schema
from vdi_broker.api import util
from vdi_broker.compute import base as compute_base
from vdi_broker.conductor import desktop_actions
from vdi_broker.conductor import reconciler
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception


def _server(status=compute_base.ACTIVE, **kw):
    kw.setdefault("id", "s-%s" % status)
    kw.setdefault("name", "srv")
    return compute_base.Server(status=status, **kw)


class TestServerPool(testtools.TestCase):

    def test_metadata_first_then_tag(self):
        self.assertEqual("p1", reconciler.server_pool(_server(
            metadata={compute_base.META_POOL: "p1"},
            tags=[compute_base.POOL_TAG_PREFIX + "p2"])))
        self.assertEqual("p2", reconciler.server_pool(_server(
            tags=[compute_base.BROKER_TAG,
                  compute_base.POOL_TAG_PREFIX + "p2"])))
        self.assertIsNone(reconciler.server_pool(_server(
            tags=[compute_base.BROKER_TAG])))

    def test_fault_reason(self):
        self.assertEqual("server s-ERROR is ERROR: disk gone",
                         reconciler._fault_reason(_server(
                             compute_base.ERROR, fault="disk gone")))
        self.assertEqual(1000, len(reconciler._fault_reason(_server(
            compute_base.ERROR, fault="x" * 2000))))


class TestAdoptable(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.compute = mock.Mock()
        self.compute.get_server.side_effect = lambda sid: self.servers[sid]
        manager = mock.Mock(compute=self.compute)
        self.reconciler = reconciler.Reconciler(manager)

    def _run(self, pool, desktops, servers):
        self.servers = {s.id: s for s in servers}
        return self.reconciler._adoptable(pool, desktops, servers, {})

    def test_room_below_min_ready_and_max_size(self):
        pool = {"id": "p", "enabled": True, "min_ready": 3, "max_size": 4}
        desktops = [{"pool_id": "p", "state": models.READY},
                    {"pool_id": "p", "state": models.ASSIGNED},
                    {"pool_id": "p", "state": models.QUARANTINED},
                    {"pool_id": "other", "state": models.READY}]
        servers = [_server(compute_base.BUILD, id="b"),
                   _server(compute_base.ACTIVE, id="a"),
                   _server(compute_base.ERROR, id="e")]
        rows, extra = self._run(pool, desktops, servers)
        # Live 3 of max 4: one more; the ACTIVE one first.
        self.assertEqual(["a"], [r["server_id"] for r in rows])
        self.assertEqual(["b", "e"], sorted(s.id for s in extra))
        self.assertTrue(rows[0]["id"])

    def test_disabled_pool_wants_nothing(self):
        pool = {"id": "p", "enabled": False, "min_ready": 3, "max_size": 4}
        rows, extra = self._run(pool, [], [_server(id="a")])
        self.assertEqual(([], ["a"]), (rows, [s.id for s in extra]))
        self.compute.get_server.assert_not_called()

    def test_gone_since_the_listing_is_skipped(self):
        pool = {"id": "p", "enabled": True, "min_ready": 3, "max_size": 4}
        self.compute.get_server.side_effect = exception.ServerNotFound(
            server="a")
        rows, extra = self.reconciler._adoptable(pool, [],
                                                 [_server(id="a")], {})
        self.assertEqual(([], []), (rows, extra))


class TestViewsAndSchema(testtools.TestCase):

    def test_public_view(self):
        now = datetime.datetime(2026, 11, 26, 6, 0, 0)
        view = desktop_actions.public_view({
            "id": "d", "name": "n", "state": models.QUARANTINED,
            "faulted_at": now, "created_at": now, "fault_reason": "x",
            "previous_state": models.READY})
        self.assertEqual("2026-11-26T06:00:00Z", view["faulted_at"])
        self.assertIsNone(view["updated_at"])
        self.assertNotIn("previous_state", view)
        # The fields of the API's desktop (an action answers with it).
        from vdi_broker.api import openapi  # noqa: H306 (import cycle)
        self.assertEqual(set(openapi.DESKTOP["properties"]), set(view))

    def test_schema_takes_exactly_one_known_action(self):
        for body in ({"reboot": {}}, {"reboot": {"hard": True}},
                     {"move": {"user": "amy"}}, {"unquarantine": {}},
                     {"unquarantine": {"action": "delete"}},
                     {"quarantine": {"reason": "dead"}}):
            util.validate(body, schema.action)
        for body in ({}, {"reboot": {}, "rebuild": {}}, {"shutdown": {}},
                     {"move": {}}, {"quarantine": {"why": "x"}},
                     {"unquarantine": {"action": "explode"}}):
            self.assertRaises(exception.Invalid, util.validate, body,
                              schema.action)
        self.assertEqual(set(desktop_actions.ACTIONS),
                         set(schema.action["properties"]))
