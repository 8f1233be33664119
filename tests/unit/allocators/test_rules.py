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

"""Unit tests of the allocator rules engine (allocators/rules.py)."""

import testtools

from vdi_broker.allocators import base
from vdi_broker.allocators import rules
from vdi_broker import exception
from vdi_broker.identity import base as identity_base

BASE = "dc=example,dc=com"


def make_request(username="amy",
                 dn="uid=amy,ou=Hotel,ou=Shanghai," + BASE,
                 groups=("Hotel-Agents", "shanghai-staff"),
                 group_dns=("cn=Hotel-Agents,ou=groups," + BASE,),
                 attributes=None, client_id="tc-00:1a:2b:3c",
                 seat="SH-3F-017", seat_tags=("Training-Room",),
                 site="Shanghai"):
    principal = identity_base.Principal(
        username=username, dn=dn, groups=tuple(groups),
        group_dns=tuple(group_dns),
        attributes=attributes if attributes is not None else {
            "department": ("Hotel",), "employeeType": ("agent", "vip")})
    return base.AllocationRequest(principal=principal, client_id=client_id,
                                  seat=seat, seat_tags=tuple(seat_tags),
                                  site=site)


class RulesTestCase(testtools.TestCase):

    def check(self, doc, request=None):
        rules.validate(doc)
        return rules.evaluate(doc, request or make_request())

    def assertMatches(self, doc, request=None):
        matched, results = self.check(doc, request)
        self.assertTrue(matched, [r.to_dict() for r in results])
        return results

    def assertNoMatch(self, doc, request=None):
        matched, results = self.check(doc, request)
        self.assertFalse(matched, [r.to_dict() for r in results])
        return results


class TestGroups(RulesTestCase):

    def test_by_common_name_case_insensitive(self):
        results = self.assertMatches({"groups": ["hotel-agents"]})
        self.assertEqual("groups", results[0].criterion)
        self.assertIn("hotel-agents", results[0].detail)
        self.assertMatches({"groups": ["SHANGHAI-STAFF"]})

    def test_by_dn_case_and_space_insensitive(self):
        self.assertMatches(
            {"groups": ["CN=hotel-agents, OU=Groups, DC=Example,DC=com"]})

    def test_any_of_several(self):
        self.assertMatches({"groups": ["flight-agents", "Hotel-Agents"]})

    def test_not_a_member(self):
        results = self.assertNoMatch({"groups": ["flight-agents"]})
        self.assertIn("not a member", results[0].detail)

    def test_dn_of_another_group(self):
        self.assertNoMatch({"groups": ["cn=flight-agents,ou=groups," +
                                       BASE]})

    def test_user_without_groups(self):
        self.assertNoMatch({"groups": ["hotel-agents"]},
                           make_request(groups=(), group_dns=()))


class TestOU(RulesTestCase):

    def test_subtree_by_dn(self):
        self.assertMatches({"ou": ["ou=shanghai," + BASE]})
        self.assertMatches({"ou": ["OU=Hotel, OU=Shanghai, DC=example, "
                                   "DC=com"]})

    def test_subtree_by_dn_elsewhere(self):
        results = self.assertNoMatch({"ou": ["ou=nantong," + BASE]})
        self.assertIn("is not under", results[0].detail)

    def test_dn_prefix_of_another_ou_does_not_match(self):
        # ou=hotel must not match ou=superhotel.
        self.assertNoMatch(
            {"ou": ["ou=hotel,ou=shanghai," + BASE]},
            make_request(dn="uid=amy,ou=superhotel,ou=shanghai," + BASE))

    def test_the_ou_itself_is_not_a_user_under_it(self):
        self.assertNoMatch({"ou": ["ou=shanghai," + BASE]},
                           make_request(dn="ou=shanghai," + BASE))

    def test_by_name_anywhere_in_the_path(self):
        self.assertMatches({"ou": ["hotel"]})
        self.assertMatches({"ou": ["SHANGHAI"]})
        results = self.assertNoMatch({"ou": ["flight"]})
        self.assertIn("uid=amy", results[0].detail)

    def test_name_is_not_a_substring_match(self):
        self.assertNoMatch({"ou": ["hot"]})

    def test_user_without_dn(self):
        results = self.assertNoMatch({"ou": ["hotel"]},
                                     make_request(dn=""))
        self.assertIn("DN -", results[0].detail)


class TestDNMatching(RulesTestCase):
    """Rules compare DNs as LDAP does: case, spaces, escapes (defect 8)."""

    SALES = make_request(dn="uid=ann,OU=sales,DC=example,DC=com",
                         group_dns=("CN=Sales Agents,OU=Groups,"
                                    "DC=example,DC=com",))
    EAST = make_request(dn="uid=ann,OU=Sales\\, East,DC=example,DC=com",
                        group_dns=("cn=Sales\\2C East,ou=groups,"
                                   "dc=example,dc=com",))

    def test_spaces_around_the_equals_sign(self):
        self.assertMatches({"ou": ["ou = Sales"]}, self.SALES)
        self.assertMatches({"ou": ["ou = Sales , dc = Example, dc=COM"]},
                           self.SALES)
        self.assertMatches(
            {"groups": ["cn = sales agents , ou = groups, dc=example, "
                        "dc=com"]}, self.SALES)
        self.assertNoMatch({"ou": ["ou = Sales"]})

    def test_escaped_comma(self):
        self.assertMatches({"ou": ["OU=Sales\\, East,DC=example,DC=com"]},
                           self.EAST)
        self.assertMatches({"ou": ["ou=sales\\2c east,dc=example,dc=com"]},
                           self.EAST)
        self.assertMatches({"ou": ["Sales, East"]}, self.EAST)
        self.assertMatches({"ou": ["ou=SALES\\, EAST"]}, self.EAST)
        self.assertMatches(
            {"groups": ["CN=Sales\\, East,OU=Groups,DC=example,DC=com"]},
            self.EAST)
        # Neither half of the value is an OU of its own.
        self.assertNoMatch({"ou": ["East"]}, self.EAST)
        self.assertNoMatch({"ou": ["ou=East,dc=example,dc=com"]}, self.EAST)
        # Nor is the escaped OU an OU "Sales" with an OU "East" above it.
        self.assertNoMatch(
            {"ou": ["OU=Sales\\, East,DC=example,DC=com"]},
            make_request(dn="uid=ann,ou=Sales,ou=East,dc=example,dc=com"))

    def test_invalid_dn_is_refused_at_validation(self):
        err = self.assertRaises(exception.InvalidRules, rules.validate,
                                {"ou": ["ou=Sales, East,dc=example"]})
        self.assertIn("ou/0", str(err))
        self.assertIn("not a valid DN", str(err))


class TestAttributes(RulesTestCase):

    def test_one_value_is_enough(self):
        self.assertMatches({"attributes": {"employeeType": ["vip"]}})
        self.assertMatches({"attributes": {"department": ["sales",
                                                          "hotel"]}})

    def test_names_and_values_case_insensitive(self):
        self.assertMatches({"attributes": {"DEPARTMENT": ["HOTEL"]}})

    def test_all_named_attributes_must_match(self):
        results = self.assertNoMatch({"attributes": {
            "department": ["hotel"], "employeeType": ["contractor"]}})
        self.assertIn("employeeType=agent|vip not in contractor",
                      results[0].detail)

    def test_missing_attribute(self):
        results = self.assertNoMatch({"attributes": {"title": ["lead"]}})
        self.assertIn("(none)", results[0].detail)


class TestSeatsClientsTagsSites(RulesTestCase):

    def test_seat_patterns(self):
        self.assertMatches({"seats": ["SH-3F-*"]})
        self.assertMatches({"seats": ["sh-3f-01?"]})
        self.assertMatches({"seats": ["NT-*", "SH-3F-[0-9][0-9]7"]})
        self.assertNoMatch({"seats": ["SH-4F-*"]})

    def test_no_seat_matches_no_seat_pattern(self):
        results = self.assertNoMatch({"seats": ["*"]},
                                     make_request(seat=None))
        self.assertIn("(none)", results[0].detail)

    def test_client_patterns(self):
        self.assertMatches({"clients": ["tc-00:1A:*"]})
        self.assertNoMatch({"clients": ["tc-00:1b:*"]})

    def test_seat_tags(self):
        self.assertMatches({"seat_tags": ["training-room"]})
        self.assertMatches({"seat_tags": ["quiet", "TRAINING-ROOM"]})
        self.assertNoMatch({"seat_tags": ["quiet"]})
        self.assertNoMatch({"seat_tags": ["training-room"]},
                           make_request(seat_tags=()))

    def test_sites(self):
        self.assertMatches({"sites": ["shanghai"]})
        self.assertNoMatch({"sites": ["nantong"]})
        results = self.assertNoMatch({"sites": ["shanghai"]},
                                     make_request(site=None))
        self.assertIn("(unknown)", results[0].detail)


class TestCombination(RulesTestCase):

    doc = {"groups": ["hotel-agents"], "sites": ["nantong"]}

    def test_all_is_the_default(self):
        results = self.assertNoMatch(self.doc)
        self.assertEqual([("groups", True), ("sites", False)],
                         [(r.criterion, r.matched) for r in results])

    def test_match_all(self):
        self.assertNoMatch(dict(self.doc, match="all"))
        self.assertMatches({"match": "all", "groups": ["hotel-agents"],
                            "sites": ["shanghai"], "seats": ["SH-*"],
                            "ou": ["hotel"], "clients": ["tc-*"],
                            "seat_tags": ["training-room"],
                            "attributes": {"department": ["hotel"]}})

    def test_match_any(self):
        self.assertMatches(dict(self.doc, match="any"))
        self.assertNoMatch({"match": "any", "groups": ["flight-agents"],
                            "sites": ["nantong"]})

    def test_every_criterion_is_explained(self):
        matched, results = self.check(
            {"match": "any", "sites": ["nantong"], "groups": ["x"],
             "ou": ["y"], "attributes": {"a": ["b"]}, "seats": ["s"],
             "seat_tags": ["t"], "clients": ["c"]})
        self.assertFalse(matched)
        # In the fixed criterion order, whatever the document's order.
        self.assertEqual(list(rules.CRITERIA),
                         [r.criterion for r in results])
        for r in results:
            self.assertEqual({"criterion", "matched", "detail"},
                             set(r.to_dict()))
            self.assertTrue(r.detail)

    def test_empty_rules_match_everybody(self):
        for doc in ({}, None, {"match": "any"}, {"match": "all"}):
            matched, results = rules.evaluate(doc, make_request())
            self.assertTrue(matched, doc)
            self.assertEqual(1, len(results))
            self.assertEqual("*", results[0].criterion)
            self.assertIn("matches everybody", results[0].detail)


class TestValidation(testtools.TestCase):

    def assertInvalid(self, doc, *fragments):
        e = self.assertRaises(exception.InvalidRules, rules.validate, doc)
        for fragment in fragments:
            self.assertIn(fragment, str(e))
        return e

    def test_valid_documents(self):
        rules.validate({})
        rules.validate({"match": "any", "groups": ["a"], "ou": ["b"],
                        "attributes": {"department": ["x", "y"]},
                        "seats": ["S*"], "seat_tags": ["t"],
                        "clients": ["c*"], "sites": ["s"]})

    def test_unknown_criterion(self):
        self.assertInvalid({"group": ["a"]}, "rules", "group")

    def test_bad_match(self):
        self.assertInvalid({"match": "some"}, "match")

    def test_not_a_list(self):
        self.assertInvalid({"groups": "sales"}, "groups")

    def test_empty_string(self):
        self.assertInvalid({"seats": [""]}, "seats/0")

    def test_not_strings(self):
        self.assertInvalid({"sites": [1]}, "sites/0")

    def test_attribute_values_must_be_a_list(self):
        self.assertInvalid({"attributes": {"department": "sales"}},
                           "attributes/department")

    def test_not_an_object(self):
        self.assertInvalid(["groups"], "rules")

    def test_too_long(self):
        self.assertInvalid({"groups": ["x" * 1025]}, "groups/0")
