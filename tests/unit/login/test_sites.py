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

"""Site preference of the allocator chain (login/sites.py): pure."""

import copy
import datetime

from tests import base
from vdi_broker.allocators import rules
from vdi_broker import exception
from vdi_broker.login import chain
from vdi_broker.login import sites


def record(rules=None, plugin="pool", pool_id="p-sh"):
    return {"id": "id-agents", "name": "agents", "priority": 10,
            "plugin": plugin, "pool_id": pool_id, "rules": rules or {},
            "options": {}, "enabled": True, "is_default": False}


def pool(pool_id, site, enabled=True, drain_until=None):
    return {"id": pool_id, "name": pool_id.replace("p-", "pool-"),
            "site": site, "enabled": enabled, "status": "available",
            "drain_until": drain_until}


POOLS = [pool("p-sh", "shanghai"), pool("p-bj", "beijing"),
         pool("p-gz", "guangzhou")]


def decide(allocator, seat_site=None, client_site=None, pools=POOLS,
           bindings=None, seat="s1", now=None):
    given = {"seat": {"name": seat, "tags": [], "site": seat_site}
             if seat else None,
             "client": {"client_id": "tc-1", "site": client_site},
             "allocators": [allocator], "pools": pools,
             "bindings": bindings or {}}
    frozen = copy.deepcopy(given)
    login = {"principal": {"username": "amy", "groups": []},
             "client_id": "tc-1", "seat": seat}
    outcome = chain.decide(None, given, chain.request_for(login, given),
                           now=now)
    # Pure: the inputs are left as they were.
    assert given == frozen
    return outcome


def names(outcome):
    return [(c["pool"]["name"], c["role"])
            for c in chain.candidates(outcome)]


class TestAgentSite(base.TestCase):

    def test_seat_first_then_thin_client(self):
        self.assertEqual(("sh", "seat"), sites.agent_site(
            {"site": "sh"}, {"site": "bj"}))
        self.assertEqual(("bj", "thin_client"), sites.agent_site(
            {"site": None}, {"site": "bj"}))
        self.assertEqual((None, None), sites.agent_site(None, None))

    def test_request_records_the_source(self):
        outcome = decide(record(), client_site="beijing")
        self.assertEqual("thin_client",
                         chain.claim_decision(outcome)["site"]["source"])


class TestPlace(base.TestCase):

    def test_not_site_aware_keeps_its_one_pool(self):
        outcome = decide(record(pool_id="p-bj"), seat_site="shanghai")
        self.assertEqual([("pool-bj", sites.ONLY)], names(outcome))
        self.assertIsNone(chain.refusal(outcome, "amy"))

    def test_same_site_pool_wins_whatever_the_order(self):
        allocator = record({"pools": ["p-sh", "p-gz"]}, pool_id="p-bj")
        outcome = decide(allocator, seat_site="Guangzhou")
        self.assertEqual([("pool-gz", sites.SAME_SITE)], names(outcome))
        self.assertEqual("p-gz", outcome.pool["id"])
        site = chain.claim_decision(outcome)["site"]
        self.assertEqual({"site": "Guangzhou", "source": "seat",
                          "pool_site": "guangzhou",
                          "role": sites.SAME_SITE}, site)

    def test_no_fallback_refuses(self):
        allocator = record({"pools": ["p-bj"]})
        outcome = decide(allocator, seat_site="nantong")
        reason, error = chain.refusal(outcome, "amy")
        self.assertEqual(chain.SITE_NO_POOL, reason)
        self.assertIsInstance(error, exception.SiteUnavailable)
        self.assertEqual(503, error.code)
        self.assertEqual("site_no_pool", error.details()["code"])
        self.assertIn("no pool of the agent's site nantong", str(error))
        self.assertIn("allows no fallback", str(error))

    def test_fallback_true_in_listed_order(self):
        allocator = record({"pools": ["p-gz", "p-bj"],
                            "site_fallback": True})
        outcome = decide(allocator, seat_site="nantong")
        self.assertEqual([("pool-sh", sites.FALLBACK),
                          ("pool-gz", sites.FALLBACK),
                          ("pool-bj", sites.FALLBACK)], names(outcome))
        site = chain.claim_decision(outcome)["site"]
        self.assertEqual(sites.FALLBACK, site["role"])
        self.assertIn("fallback to pool pool-sh of site shanghai: no pool "
                      "of the agent's site nantong", site["fallback"])

    def test_fallback_list_orders_and_limits_sites(self):
        allocator = record({"pools": ["p-bj", "p-gz"],
                            "site_fallback": ["guangzhou", "beijing"]})
        outcome = decide(allocator, seat_site="shanghai")
        self.assertEqual([("pool-sh", sites.SAME_SITE),
                          ("pool-gz", sites.FALLBACK),
                          ("pool-bj", sites.FALLBACK)], names(outcome))
        allocator["rules"]["site_fallback"] = ["guangzhou"]
        outcome = decide(allocator, seat_site="shanghai")
        self.assertEqual([("pool-sh", sites.SAME_SITE),
                          ("pool-gz", sites.FALLBACK)], names(outcome))

    def test_disabled_same_site_pool_falls_back_with_reason(self):
        pools = [pool("p-sh", "shanghai", enabled=False),
                 pool("p-bj", "beijing")]
        allocator = record({"pools": ["p-bj"], "site_fallback": True})
        outcome = decide(allocator, seat_site="shanghai", pools=pools)
        self.assertEqual([("pool-bj", sites.FALLBACK)], names(outcome))
        self.assertIn("pool-sh disabled",
                      chain.claim_decision(outcome)["site"]["fallback"])

    def test_draining_same_site_pool_without_fallback_is_its_refusal(self):
        now = datetime.datetime(2026, 1, 1, 12)
        pools = [pool("p-sh", "shanghai",
                      drain_until=now + datetime.timedelta(hours=1)),
                 pool("p-bj", "beijing")]
        allocator = record({"pools": ["p-bj"]})
        outcome = decide(allocator, seat_site="shanghai", pools=pools,
                         now=now)
        self.assertEqual(chain.POOL_DRAINING,
                         chain.refusal(outcome, "amy", now=now)[0])

    def test_bound_desktop_stays_in_its_site(self):
        allocator = record({"pools": ["p-bj"]}, plugin="user")
        bindings = {("user", "amy"): {"kind": "user", "key": "amy",
                                      "pool_id": "p-bj"}}
        outcome = decide(allocator, seat_site="shanghai", bindings=bindings)
        self.assertEqual([("pool-bj", sites.BOUND)], names(outcome))
        self.assertIsNone(chain.refusal(outcome, "amy"))
        # The same login without a binding: a new one in its own site.
        outcome = decide(allocator, seat_site="shanghai")
        self.assertEqual([("pool-sh", sites.SAME_SITE)], names(outcome))

    def test_unknown_site_takes_the_rule_order(self):
        allocator = record({"pools": ["p-bj"]})
        outcome = decide(allocator, seat=None)
        self.assertEqual([("pool-sh", sites.NO_SITE),
                          ("pool-bj", sites.NO_SITE)], names(outcome))
        self.assertIsNone(chain.refusal(outcome, "amy"))
        self.assertNotIn("site", chain.claim_decision(outcome))

    def test_explanation_in_the_trace(self):
        allocator = record({"pools": ["p-bj"], "site_fallback": True})
        outcome = decide(allocator, seat_site="beijing")
        site = outcome.trace[-1]["site"]
        self.assertEqual(["pool-bj", "pool-sh"],
                         [c["pool"] for c in site["candidates"]])
        self.assertEqual("seat", site["site_source"])


class TestExhaustedNote(base.TestCase):

    def test_says_why_the_pool_cannot_refill(self):
        empty = dict(pool("p-sh", "shanghai"), cloud="east")
        self.assertEqual("pool pool-sh has no ready desktop",
                         sites.exhausted_note(dict(empty, status="active")))
        self.assertEqual(
            "pool pool-sh has no ready desktop (cloud_down: cloud east "
            "does not answer)",
            sites.exhausted_note(dict(empty, status="cloud_down")))
        self.assertEqual(
            "pool pool-sh has no ready desktop (cloud_down: cloud "
            "default does not answer)",
            sites.exhausted_note(dict(empty, status="cloud_down",
                                      cloud=None)))
        self.assertEqual(
            "pool pool-sh has no ready desktop (no_capacity)",
            sites.exhausted_note(dict(empty, status="no_capacity")))


class TestRuleValidation(base.TestCase):

    def test_valid(self):
        rules.validate({"sites": ["sh"], "pools": ["a", "b"],
                        "site_fallback": ["bj", "gz"]})
        rules.validate({"pools": ["a"], "site_fallback": False})

    def test_clear_messages(self):
        for bad, text in (
                ({"site_fallback": "yes"}, "site_fallback: must be true, "
                 "false or a non-empty list of distinct site names"),
                ({"site_fallback": []}, "site_fallback: must be"),
                ({"site_fallback": ["bj", "bj"]}, "site_fallback: must be"),
                ({"pools": []}, "pools: must be a non-empty list"),
                ({"pools": ["a", 3]}, "pools: must be")):
            err = self.assertRaises(exception.InvalidRules, rules.validate,
                                    bad)
            self.assertIn(text, str(err))
