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

"""Unit tests of the one DN parser (vdi_broker/identity/dn.py)."""

import testtools

from vdi_broker.identity import base
from vdi_broker.identity import dn

EAST = "OU=Sales\\, East,DC=example,DC=com"


class ParseTest(testtools.TestCase):

    def test_escaped_comma_is_part_of_the_value(self):
        self.assertEqual(((("ou", "Sales, East"),), (("dc", "example"),),
                          (("dc", "com"),)), dn.parse(EAST))
        # The same value escaped in hex.
        self.assertEqual(dn.parse(EAST),
                         dn.parse("ou=Sales\\2C East,dc=example,dc=com"))

    def test_spaces_around_separators_are_ignored(self):
        self.assertEqual(((("ou", "Sales"),), (("dc", "example"),)),
                         dn.parse("ou = Sales , dc=example"))

    def test_multi_valued_rdn(self):
        self.assertEqual(((("cn", "Amy"), ("sn", "Wu")), (("dc", "x"),)),
                         dn.parse("cn=Amy+sn=Wu,dc=x"))

    def test_utf8_escapes(self):
        self.assertEqual("M\u00fcller",
                         dn.leaf_value("cn=M\\C3\\BCller,dc=x", "cn"))

    def test_not_a_dn(self):
        for text in ("sales", "", None, "ou=a,,dc=b",
                     "ou=Sales, East,dc=x"):
            self.assertIsNone(dn.parse(text), text)
            self.assertFalse(dn.is_dn(text), text)
        self.assertTrue(dn.is_dn(EAST))


class CompareTest(testtools.TestCase):

    def test_case_spaces_and_escapes_do_not_count(self):
        same = [EAST,
                "ou=sales\\, east,dc=example,dc=com",
                "OU = Sales\\2c East , DC = Example , DC = COM",
                "ou=SALES\\,  EAST,dc=example,dc=com"]
        keys = {dn.normalize(d) for d in same}
        self.assertEqual({"ou=sales\\, east,dc=example,dc=com"}, keys)
        for other in same:
            self.assertTrue(dn.equal(EAST, other), other)

    def test_different_dns(self):
        self.assertFalse(dn.equal(EAST, "ou=Sales,ou=East,dc=example,"
                                        "dc=com"))
        self.assertFalse(dn.equal("cn=a,dc=x", "cn=b,dc=x"))

    def test_multi_valued_rdn_in_any_order(self):
        self.assertTrue(dn.equal("cn=Amy+sn=Wu,dc=x", "SN=wu + CN=amy,dc=x"))

    def test_texts_that_are_no_dn(self):
        self.assertEqual("sales agents", dn.normalize(" Sales  Agents "))
        self.assertTrue(dn.equal("Sales", "SALES"))

    def test_in_subtree(self):
        user = "uid=amy,OU=Sales\\, East,DC=example,DC=com"
        self.assertTrue(dn.in_subtree(user, "ou = sales\\, east, "
                                            "dc=EXAMPLE,dc=com"))
        self.assertTrue(dn.in_subtree(user, "dc=example,dc=com"))
        self.assertTrue(dn.in_subtree(user, user.upper()))
        self.assertTrue(dn.in_subtree(user, ""))
        # Not a suffix by RDN, although one by text.
        self.assertFalse(dn.in_subtree(user, "ou=East,dc=example,dc=com"))
        self.assertFalse(dn.in_subtree("cn=x,ou=xgroups,dc=corp",
                                       "ou=groups,dc=corp"))
        self.assertFalse(dn.in_subtree("dc=com", "dc=example,dc=com"))
        self.assertFalse(dn.in_subtree("garbage", "dc=com"))

    def test_values_and_leaf(self):
        user = "uid=amy,OU=Sales\\, East,ou=Shanghai,DC=example,DC=com"
        self.assertEqual(["Sales, East", "Shanghai"], dn.values(user, "OU"))
        self.assertEqual(["Sales, East", "Shanghai"],
                         base.Principal(username="amy", dn=user).ou_path)
        self.assertEqual("amy", dn.leaf_value(user, "UID"))
        self.assertIsNone(dn.leaf_value(user, "cn"))
        self.assertEqual([], dn.values("not a dn", "ou"))
        self.assertEqual([], base.Principal(username="x").ou_path)

    def test_canonical(self):
        self.assertEqual("ou=Groups,dc=Example,dc=COM",
                         dn.canonical("OU = Groups , DC=Example,DC=COM"))
        self.assertEqual("ou=Sales\\, East,dc=x",
                         dn.canonical("ou = Sales\\2C East, dc=x"))
        self.assertEqual("", dn.canonical(" "))
        self.assertRaises(ValueError, dn.canonical, "ou=a,,dc=x")

    def test_fold(self):
        self.assertEqual(dn.fold("Sales, East"), dn.fold(" sales,  EAST"))
