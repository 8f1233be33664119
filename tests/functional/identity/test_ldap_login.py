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

"""The ldap identity driver against a real slapd: logins and principals."""

import concurrent.futures
import logging
import time

import fixtures
import ldap3
from ldap3.operation import search as ldap3_search
from ldap3.utils.asn1 import encode
from ldap3.utils import log as ldap3_log

from tests.fixtures import slapd
from tests.functional.identity import ldap_base
from vdi_broker.allocators import base as allocator_base
from vdi_broker.allocators import rules
from vdi_broker import exception


class LdapLoginTest(ldap_base.SlapdTestCase):

    def test_login_builds_principal(self):
        driver = self.make_driver()
        p = driver.authenticate("carol", "carol-Pa55")
        self.assertEqual("carol", p.username)
        self.assertEqual(slapd.user_dn("carol"), p.dn)
        self.assertEqual("Carol Zhou", p.display_name)
        self.assertEqual(["hotel", "nantong"], p.ou_path)
        self.assertEqual(slapd.EXPECTED_GROUPS["carol"], set(p.groups))
        self.assertEqual({slapd.group_dn(g) for g in p.groups},
                         set(p.group_dns))
        self.assertEqual({"department": ("hotel",),
                          "title": ("supervisor",),
                          "employee_type": ("fulltime",)}, p.attributes)

    def test_any_configured_attribute_is_mapped(self):
        driver = self.make_driver(user_attribute_map={
            "site": "l", "email": "mail", "dept": "departmentNumber",
            "absent": "roomNumber"})
        p = driver.authenticate("bob", "bob-Pa55")
        self.assertEqual({"site": ("shanghai",),
                          "email": ("bob@example.com",),
                          "dept": ("flight",)}, p.attributes)

    def test_login_attribute_is_configurable(self):
        # mail stands in for userPrincipalName (amy@example.com).
        driver = self.make_driver(user_name_attribute="mail")
        p = driver.authenticate("amy@example.com", "amy-Pa55")
        self.assertEqual("amy@example.com", p.username)
        self.assertEqual(slapd.user_dn("amy"), p.dn)
        self.assertRaises(exception.LoginFailed,
                          driver.authenticate, "amy", "amy-Pa55")

    def test_login_name_case_is_canonicalised(self):
        p = self.make_driver().authenticate("AMY", "amy-Pa55")
        self.assertEqual("amy", p.username)

    def test_group_mode_memberof_nested(self):
        driver = self.make_driver(group_mode="memberof")
        for uid in ("amy", "bob", "carol", "dave", "o'neil*", "erin"):
            p = driver.authenticate(uid, slapd.USERS[uid][3])
            self.assertEqual(slapd.EXPECTED_GROUPS[uid], set(p.groups), uid)

    def test_group_mode_member_search_nested(self):
        driver = self.make_driver(group_mode="member")
        for uid in ("amy", "bob", "carol", "dave", "o'neil*", "erin"):
            p = driver.authenticate(uid, slapd.USERS[uid][3])
            self.assertEqual(slapd.EXPECTED_GROUPS[uid], set(p.groups), uid)

    def test_group_mode_ad_in_chain_sends_matching_rule(self):
        # OpenLDAP answers LDAP_MATCHING_RULE_IN_CHAIN with success and no
        # entries (it is an Active Directory feature): the login works, and
        # the filter sent is the in-chain one.
        driver = self.make_driver(group_mode="ad_in_chain")
        sent = []
        original = driver._send_search

        def spy(conn, request, search_base):
            sent.append(encode(request))
            return original(conn, request, search_base)

        self.useFixture(fixtures.MockPatchObject(driver, "_send_search",
                                                 spy))
        p = driver.authenticate("amy", "amy-Pa55")
        self.assertEqual((), p.groups)
        # What conn.search() sends for the in-chain filter text.
        expected = ldap3_search.search_operation(
            slapd.GROUP_BASE, "(&(objectClass=groupOfNames)(member:"
            "1.2.840.113556.1.4.1941:=uid=amy,ou=hotel,"
            "ou=shanghai,dc=example,dc=com))", ldap3.SUBTREE,
            ldap3.DEREF_ALWAYS, ["cn"], 0, driver._time_limit, False, True,
            True, check_names=True)
        self.assertIn(encode(expected), sent)

    def test_nesting_depth_is_bounded(self):
        for mode in ("memberof", "member"):
            driver = self.make_driver(group_mode=mode, group_nesting_depth=2)
            groups = set(driver.authenticate("erin", "erin-Pa55").groups)
            self.assertIn("chain-3", groups, mode)
            self.assertNotIn("chain-4", groups, mode)
            # Direct groups only.
            driver = self.make_driver(group_mode=mode, group_nesting_depth=0)
            groups = set(driver.authenticate("erin", "erin-Pa55").groups)
            self.assertEqual({"sh-hotel-agents", "chain-1", "loop-a"},
                             groups, mode)

    def test_group_cycle_terminates(self):
        driver = self.make_driver(group_nesting_depth=64)
        groups = driver.authenticate("erin", "erin-Pa55").groups
        self.assertEqual(len(groups), len(set(groups)))
        self.assertIn("loop-b", groups)

    def test_group_cache_saves_searches_and_expires(self):
        for mode in ("memberof", "member"):
            driver = self.make_driver(group_mode=mode, group_cache_ttl=1)
            now = [time.monotonic()]
            driver.group_cache._clock = lambda: now[0]
            searches = []
            original = driver._search_result

            def spy(conn, base):
                # Every search answered, the user search included.
                searches.append(base)
                return original(conn, base)

            self.useFixture(fixtures.MockPatchObject(
                driver, "_search_result", spy))
            first = driver.authenticate("erin", "erin-Pa55")
            cold = len(searches)
            del searches[:]
            second = driver.authenticate("erin", "erin-Pa55")
            self.assertEqual(first, second)
            # The user search (and, in member mode, the direct-group
            # search) only: the user's groups are read at every login.
            self.assertEqual(1 if mode == "memberof" else 2, len(searches),
                             mode)
            self.assertGreater(cold, 10)
            now[0] += 1.1
            del searches[:]
            driver.authenticate("erin", "erin-Pa55")
            self.assertEqual(cold, len(searches), mode)

    def test_group_cache_can_be_disabled(self):
        driver = self.make_driver(group_cache_ttl=0)
        driver.authenticate("amy", "amy-Pa55")
        driver.authenticate("amy", "amy-Pa55")
        self.assertEqual(0, len(driver.group_cache))

    def test_directory_change_is_seen_at_next_login(self):
        # R7: change the directory, the next login sees it (a user's
        # direct groups are never cached).
        driver = self.make_driver()
        self.assertNotIn("supervisors",
                         driver.authenticate("dave", "dave-Pa55").groups)
        self.slapd.ldapmodify(
            "dn: %s\nchangetype: modify\nadd: member\nmember: %s\n" % (
                slapd.group_dn("supervisors"), slapd.user_dn("dave")))
        self.addCleanup(self.slapd.ldapmodify,
                        "dn: %s\nchangetype: modify\ndelete: member\n"
                        "member: %s\n" % (slapd.group_dn("supervisors"),
                                          slapd.user_dn("dave")))
        self.assertIn("supervisors",
                      driver.authenticate("dave", "dave-Pa55").groups)

    def test_lookup_without_password(self):
        driver = self.make_driver()
        p = driver.lookup("dave")
        self.assertEqual(slapd.user_dn("dave"), p.dn)
        self.assertEqual(slapd.EXPECTED_GROUPS["dave"], set(p.groups))
        self.assertRaises(exception.NotFound, driver.lookup, "nobody")

    def test_check_health(self):
        self.make_driver().check_health()

    def test_unknown_user_and_wrong_password_look_the_same(self):
        driver = self.make_driver()
        wrong = self.assertRaises(exception.LoginFailed,
                                  driver.authenticate, "amy", "nope")
        unknown = self.assertRaises(exception.LoginFailed,
                                    driver.authenticate, "nobody", "nope")
        self.assertEqual(str(wrong), str(unknown))
        self.assertEqual(wrong.code, unknown.code)
        self.assertEqual(wrong.headers, unknown.headers)
        self.assertEqual(wrong.details(), unknown.details())

    def test_unknown_user_costs_a_bind_too(self):
        driver = self.make_driver()
        binds = []
        original = driver._check_bind

        def spy(conn, dn, password):
            binds.append(dn)
            return original(conn, dn, password)

        self.useFixture(fixtures.MockPatchObject(driver, "_check_bind", spy))
        self.assertRaises(exception.LoginFailed,
                          driver.authenticate, "nobody", "whatever")
        self.assertEqual(1, len(binds))

    def test_empty_password_refused_without_a_bind(self):
        driver = self.make_driver()
        binds = []
        self.useFixture(fixtures.MockPatchObject(
            driver, "_simple_bind", lambda *a: binds.append(a) or True))
        for password in ("", None, b""):
            self.assertRaises(exception.LoginFailed,
                              driver.authenticate, "amy", password)
        self.assertEqual([], binds)

    def test_filter_injection_is_impossible(self):
        driver = self.make_driver()
        attempts = [
            "*", "a*", "*)(uid=*", "amy)(uid=*", "amy)(|(uid=*",
            "*)(objectClass=*", "amy)(&)", "amy\\2a", "amy\x00",
            "(uid=amy)", "amy)(userPassword=*", "*)(|(mail=*)",
            "o'neil\\2a", "o'neil)", "amy))(|(uid=*"]
        for username in attempts:
            for password in ("amy-Pa55", "sean-Pa55", "*"):
                self.assertRaises(exception.LoginFailed,
                                  driver.authenticate, username, password)
        # Characters special to filters are matched literally.
        p = driver.authenticate("o'neil*", "sean-Pa55")
        self.assertEqual(slapd.user_dn("o'neil*"), p.dn)
        self.assertRaises(exception.NotFound, driver.lookup, "*")

    def test_overlong_and_control_character_names_refused(self):
        driver = self.make_driver()
        for username in ("a" * 300, "amy\n", "am\ty", "", "   ", None, 42):
            self.assertRaises(exception.LoginFailed,
                              driver.authenticate, username, "amy-Pa55")

    def test_no_password_or_secret_in_logs(self):
        logger = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        # Even with ldap3's own protocol logging switched on.
        ldap3_log.set_library_log_detail_level(ldap3_log.EXTENDED)
        self.addCleanup(ldap3_log.set_library_log_detail_level,
                        ldap3_log.OFF)
        driver = self.make_driver()
        driver.authenticate("amy", "amy-Pa55")
        self.assertRaises(exception.LoginFailed,
                          driver.authenticate, "amy", "Wr0ng-Secret-77")
        self.assertRaises(exception.LoginFailed,
                          driver.authenticate, "nobody", "Unkn0wn-Secret-88")
        # A wrong service password is logged as an error, without it.
        bad = self.make_driver(bind_password="Bad-Service-Secret-99")
        self.assertRaises(exception.IdentityUnavailable,
                          bad.authenticate, "amy", "amy-Pa55")
        self.conf.log_opt_values(logging.getLogger("conf"), logging.DEBUG)
        output = logger.output
        self.assertIn("cannot bind", output)
        self.assertIn("bind_password", output)
        self.assertIn("BIND", output)  # ldap3's own log lines
        for secret in ("amy-Pa55", "Wr0ng-Secret-77", "Unkn0wn-Secret-88",
                       slapd.SERVICE_PASSWORD, "Bad-Service-Secret-99"):
            self.assertNotIn(secret, output)

    def test_concurrent_logins_share_the_pool(self):
        driver = self.make_driver(pool_size=3)
        users = ["amy", "bob", "carol", "dave", "erin"] * 20

        def login(uid):
            return uid, driver.authenticate(uid, slapd.USERS[uid][3])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(login, users))
        for uid, p in results:
            self.assertEqual(slapd.user_dn(uid), p.dn)
            self.assertEqual(slapd.EXPECTED_GROUPS[uid], set(p.groups))
        self.assertLessEqual(len(driver._service_pool), 3)
        self.assertLessEqual(len(driver._auth_pool), 3)


class LdapEscapedDnTest(ldap_base.SlapdTestCase):
    """DNs with escaped commas, as a directory returns them (defect 8).

    An OU ``Sales, East`` and a group ``Sales, East Agents`` under it;
    the broker is configured with DNs spelled in another case and with
    spaces. The driver's groups, the principal's OU path and an allocator
    rule all agree on what the directory returns.
    """

    OU = "ou=Sales\\, East,dc=example,dc=com"
    GROUP = "cn=Sales\\, East Agents,ou=groups,dc=example,dc=com"
    USER = "uid=ann," + OU

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.slapd.ldapadd("\n".join([
            "dn: %s\nobjectClass: organizationalUnit\nou: Sales, East\n"
            % cls.OU,
            "dn: %s\nobjectClass: inetOrgPerson\nuid: ann\ncn: Ann Sun\n"
            "sn: Sun\nuserPassword: ann-Pa55\n" % cls.USER,
            "dn: %s\nobjectClass: groupOfNames\ncn: Sales, East Agents\n"
            "member: %s\n" % (cls.GROUP, cls.USER)]))

    def test_escaped_dns_end_to_end(self):
        for mode in ("memberof", "member"):
            driver = self.make_driver(
                group_mode=mode, group_base="OU = Groups , DC=Example,DC=COM")
            p = driver.authenticate("ann", "ann-Pa55")
            self.assertEqual(["Sales, East"], p.ou_path, mode)
            self.assertEqual(["Sales, East Agents"], list(p.groups), mode)
            request = allocator_base.AllocationRequest(
                principal=p, client_id="tc-1", seat=None)
            for doc in ({"ou": ["OU = sales\\, east , DC=example,DC=com"]},
                        {"ou": ["ou=SALES\\2C EAST,dc=example,dc=com"]},
                        {"ou": ["ou = Sales\\, East"]},
                        {"groups": ["CN=sales\\, east agents, OU=groups, "
                                    "DC=example, DC=com"]},
                        {"groups": ["SALES, EAST AGENTS"]}):
                rules.validate(doc)
                matched, results = rules.evaluate(doc, request)
                self.assertTrue(matched, (mode, doc, [
                    r.to_dict() for r in results]))
            matched, _results = rules.evaluate({"ou": ["East"]}, request)
            self.assertFalse(matched)
