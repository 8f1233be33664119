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

"""Unit tests of the allocator chain walk (vdi_broker.allocators.walk)."""

from tests import base
from vdi_broker import allocators
from vdi_broker.allocators import base as allocator_base
from vdi_broker.allocators import bound
from vdi_broker.allocators import pool as pool_allocator
from vdi_broker import exception
from vdi_broker.identity import base as identity_base

NO_MATCH = {"groups": ["nobody-is-in-this-group"]}


def record(name, priority=100, plugin="pool", rules=None, enabled=True,
           is_default=False, pool_id=None):
    return {"id": "id-" + name, "name": name, "priority": priority,
            "plugin": plugin, "pool_id": pool_id or "pool-" + name,
            "rules": rules or {}, "options": {}, "enabled": enabled,
            "is_default": is_default}


def request(seat=None, groups=("agents",)):
    principal = identity_base.Principal(username="amy", groups=groups)
    return allocator_base.AllocationRequest(principal=principal,
                                            client_id="tc-1", seat=seat)


class TestPlugins(base.TestCase):

    def test_builtin_plugins_by_entry_point(self):
        self.assertTrue({"user", "seat", "client", "pool"} <=
                        set(allocators.plugin_names()))
        self.assertIs(bound.UserAllocator, allocators.get_plugin("user"))
        self.assertIs(bound.SeatAllocator, allocators.get_plugin("seat"))
        self.assertIs(bound.ClientAllocator,
                      allocators.get_plugin("client"))
        self.assertIs(pool_allocator.PoolAllocator,
                      allocators.get_plugin("pool"))

    def test_unknown_plugin(self):
        self.assertRaises(exception.InvalidPlugin, allocators.get_plugin,
                          "no-such-plugin")


class TestWalk(base.TestCase):

    def walk(self, records, req=None):
        return allocators.walk(self.conf, records, req or request())

    def test_priority_order(self):
        records = [record("late", priority=50),
                   record("early", priority=10, rules=NO_MATCH),
                   record("middle", priority=20)]
        chosen, decision, trace = self.walk(records)
        self.assertEqual("middle", chosen["name"])
        self.assertEqual("pool-middle", decision.pool)
        self.assertEqual(["early", "middle"],
                         [s["allocator"] for s in trace])
        self.assertEqual("no match", trace[0]["result"])
        self.assertTrue(trace[1]["result"].startswith("selected: "))

    def test_ties_broken_by_name(self):
        records = [record("beta", priority=10), record("alpha", priority=10)]
        chosen, _decision, trace = self.walk(records)
        self.assertEqual("alpha", chosen["name"])
        self.assertEqual(["alpha"], [s["allocator"] for s in trace])

    def test_disabled_skipped(self):
        records = [record("off", priority=1, enabled=False),
                   record("on", priority=2)]
        chosen, _decision, trace = self.walk(records)
        self.assertEqual("on", chosen["name"])
        self.assertEqual("skipped: disabled", trace[0]["result"])
        self.assertEqual([], trace[0]["rules"])

    def test_default_is_last_whatever_its_priority(self):
        records = [record("fallback", priority=0, is_default=True),
                   record("agents", priority=500)]
        chosen, _decision, trace = self.walk(records)
        self.assertEqual("agents", chosen["name"])
        self.assertEqual(["agents"], [s["allocator"] for s in trace])

    def test_default_ignores_its_rules(self):
        records = [record("fallback", priority=0, is_default=True,
                          rules=NO_MATCH),
                   record("agents", priority=5, rules=NO_MATCH)]
        chosen, decision, trace = self.walk(records)
        self.assertEqual("fallback", chosen["name"])
        self.assertEqual("pool-fallback", decision.pool)
        self.assertEqual(["agents", "fallback"],
                         [s["allocator"] for s in trace])
        self.assertTrue(trace[1]["default"])
        self.assertEqual([{"criterion": "*", "matched": True,
                           "detail": "default allocator"}],
                         trace[1]["rules"])

    def test_disabled_default_is_skipped(self):
        records = [record("fallback", is_default=True, enabled=False),
                   record("agents", rules=NO_MATCH)]
        chosen, decision, trace = self.walk(records)
        self.assertIsNone(chosen)
        self.assertIsNone(decision)
        self.assertEqual(["no match", "skipped: disabled"],
                         [s["result"] for s in trace])

    def test_unknown_plugin_skipped_with_trace(self):
        records = [record("broken", priority=1, plugin="no-such-plugin"),
                   record("agents", priority=2)]
        chosen, _decision, trace = self.walk(records)
        self.assertEqual("agents", chosen["name"])
        self.assertEqual("broken", trace[0]["allocator"])
        self.assertEqual("no-such-plugin", trace[0]["plugin"])
        self.assertEqual("skipped: plugin no-such-plugin is not installed",
                         trace[0]["result"])

    def test_seat_allocator_without_seat_falls_through(self):
        records = [record("seats", priority=1, plugin="seat"),
                   record("agents", priority=2)]
        chosen, decision, trace = self.walk(records)
        self.assertEqual("agents", chosen["name"])
        self.assertIsNone(decision.binding_kind)
        self.assertEqual("not applicable: the login names no seat",
                         trace[0]["result"])
        # With a seat it serves the login, bound to the seat.
        chosen, decision, trace = self.walk(records, request(seat="S-1"))
        self.assertEqual("seats", chosen["name"])
        self.assertEqual(("seat", "S-1"),
                         (decision.binding_kind, decision.binding_key))
        self.assertEqual("pool-seats", decision.pool)
        self.assertEqual(1, len(trace))

    def test_binding_decisions(self):
        for plugin, key in (("user", "amy"), ("client", "tc-1"),
                            ("seat", "S-9")):
            _chosen, decision, trace = self.walk(
                [record(plugin, plugin=plugin)], request(seat="S-9"))
            self.assertEqual((plugin, key),
                             (decision.binding_kind, decision.binding_key))
            self.assertEqual("%s binding %s" % (plugin, key),
                             decision.reason)
            self.assertEqual("selected: %s binding %s" % (plugin, key),
                             trace[0]["result"])
        _chosen, decision, _trace = self.walk([record("float")])
        self.assertIsNone(decision.binding_kind)
        self.assertIsNone(decision.binding_key)
        self.assertEqual("floating desktop from the pool", decision.reason)

    def test_nothing_matches(self):
        records = [record("a", rules=NO_MATCH), record("b", rules=NO_MATCH)]
        chosen, decision, trace = self.walk(records)
        self.assertIsNone(chosen)
        self.assertIsNone(decision)
        self.assertEqual(["no match", "no match"],
                         [s["result"] for s in trace])

    def test_empty_chain(self):
        self.assertEqual((None, None, []), self.walk([]))

    def test_trace_content(self):
        records = [record("vip", priority=5,
                          rules={"groups": ["vip-agents"]}),
                   record("agents", priority=10,
                          rules={"groups": ["agents"]})]
        _chosen, _decision, trace = self.walk(records)
        self.assertEqual(
            {"allocator": "vip", "id": "id-vip", "priority": 5,
             "plugin": "pool", "default": False,
             "rules": [{"criterion": "groups", "matched": False,
                        "detail": "not a member of any of vip-agents"}],
             "result": "no match"}, trace[0])
        self.assertEqual(
            {"allocator": "agents", "id": "id-agents", "priority": 10,
             "plugin": "pool", "default": False,
             "rules": [{"criterion": "groups", "matched": True,
                        "detail": "member of agents"}],
             "result": "selected: floating desktop from the pool"},
            trace[1])

    def test_enabled_defaults_to_true(self):
        rec = record("agents")
        del rec["enabled"]
        del rec["is_default"]
        chosen, _decision, _trace = self.walk([rec])
        self.assertEqual("agents", chosen["name"])
