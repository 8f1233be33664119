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

"""The login's allocator chain decision (login/chain.py): pure."""

import copy

from tests import base
from vdi_broker import exception
from vdi_broker.login import chain


def record(name, priority=100, plugin="pool", rules=None, pool_id="p1",
           is_default=False):
    return {"id": "id-" + name, "name": name, "priority": priority,
            "plugin": plugin, "pool_id": pool_id, "rules": rules or {},
            "options": {}, "enabled": True, "is_default": is_default}


def pool(pool_id="p1", name="agents", enabled=True):
    return {"id": pool_id, "name": name, "enabled": enabled,
            "status": "available"}


def login(seat=None, groups=("agents",)):
    return {"principal": {"username": "amy", "groups": list(groups)},
            "client_id": "tc-1", "seat": seat}


def inputs(allocators, pools=None, seat=None, client=None):
    return {"seat": seat, "client": client, "allocators": allocators,
            "pools": pools if pools is not None else [pool()]}


class TestDecide(base.TestCase):

    def test_same_inputs_same_outcome_nothing_changed(self):
        given = inputs([record("vip", 10, "user",
                               rules={"groups": ["vip"]}, pool_id="p2"),
                        record("agents", 20)],
                       pools=[pool(), pool("p2", "vip-desktops")],
                       seat={"name": "s1", "tags": ["floor-3"],
                             "site": "sh"})
        frozen = copy.deepcopy(given)
        request = chain.request_for(login(seat="s1"), given)
        first = chain.decide(self.conf, given, request)
        second = chain.decide(self.conf, given, request)
        self.assertEqual(frozen, given)
        self.assertEqual(first, second)
        self.assertEqual("agents", first.record["name"])
        self.assertEqual("p1", first.pool["id"])
        self.assertEqual(["no match", "selected: floating desktop from "
                          "the pool"],
                         [step["result"] for step in first.trace])
        self.assertIsNone(chain.refusal(first, "amy"))
        self.assertEqual({"pool_id": "p1", "binding_kind": None,
                          "binding_key": None, "allocator_id": "id-agents",
                          "allocator_name": "agents",
                          # The agent's site and where it came from.
                          "site": {"site": "sh", "source": "seat",
                                   "pool_site": None, "role": "only"}},
                         chain.claim_decision(first))

    def test_request_takes_seat_tags_and_site(self):
        request = chain.request_for(
            login(seat="s1"),
            inputs([], seat={"tags": ["t"], "site": None},
                   client={"site": "nantong"}))
        self.assertEqual(("t",), request.seat_tags)
        self.assertEqual("nantong", request.site)

    def test_user_binding_decision(self):
        outcome = chain.decide(
            self.conf, inputs([record("mine", plugin="user")]),
            chain.request_for(login(), inputs([])))
        self.assertEqual(("user", "amy"),
                         (outcome.decision.binding_kind,
                          outcome.decision.binding_key))


class TestRefusal(base.TestCase):

    def outcome(self, allocators, pools=None):
        given = inputs(allocators, pools)
        return chain.decide(self.conf, given,
                            chain.request_for(login(), given))

    def test_no_allocator(self):
        outcome = self.outcome([record("vip", rules={"groups": ["vip"]})])
        reason, error = chain.refusal(outcome, "amy")
        self.assertEqual(chain.NO_ALLOCATOR, reason)
        self.assertIsInstance(error, exception.NoAllocatorMatches)
        self.assertEqual([{"allocator": "vip", "result": "no match"}],
                         error.details()["tried"])

    def test_pool_disabled(self):
        outcome = self.outcome([record("agents")],
                               [pool(enabled=False)])
        reason, error = chain.refusal(outcome, "amy")
        self.assertEqual(chain.POOL_DISABLED, reason)
        self.assertIsInstance(error, exception.PoolExhausted)
        self.assertEqual("disabled", error.details()["status"])

    def test_pool_missing(self):
        outcome = self.outcome([record("agents", pool_id="gone")])
        reason, error = chain.refusal(outcome, "amy")
        self.assertEqual(chain.NO_POOL, reason)
        self.assertEqual(503, error.code)
