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

"""The requests the ldap driver builds once per thread (no network).

The user search and the simple bind are built once per thread by ldap3 and
only their values change per login. These tests compare, byte for byte, the
BER encoding of what the driver sends with what ldap3's own
``conn.search()`` and ``conn.bind()`` send for the same login, on an ldap3
MOCK_SYNC connection.
"""

import string
import threading

import fixtures
import ldap3
from ldap3.protocol.sasl.sasl import validate_simple_password
from ldap3.utils.asn1 import encode
from ldap3.utils.conv import escape_filter_chars
import testtools

from tests.unit.identity import test_ldap_unit
from vdi_broker import exception
from vdi_broker.identity import ldap as ldap_driver

BASE = test_ldap_unit.BASE

# Names special to filters, to DNs, to ldap3's filter parser ("=", "~=",
# ":=", spaces it strips) and beyond ASCII.
ODD_NAMES = [
    "amy", "*", "a*", "(", ")", "\\", "\\2a", "a\\28b", "x*)(uid=\\00(",
    "amy)(|(uid=*", "o'neil*", "a=b", "a~=b", "a>=b", "a<=b", "a:=b",
    "a:dn:=b", "=", "~", " amy", "amy ", "  a  b  ", "\u3000amy\u3000",
    "\xa0amy", "amy\u200b", "José", "zoë", "ZOË", "张伟", "Ωμέγα",
    "\U0001f600", "a" * 256, "semi;colon,comma+plus\"quote<>#",
]


# Group DNs as directories write them: case, spaces, escapes, non-ASCII,
# multi-valued RDNs; some exist in test_ldap_unit.ENTRIES; ldap3 refuses
# spaces around "=" before sending anything.
GROUP_DNS = [
    test_ldap_unit.group("sh-hotel"), test_ldap_unit.group("shanghai"),
    "CN=SH-Hotel, OU=Groups, DC=example, DC=com",
    "cn = everyone , ou=groups,dc=example,dc=com",
    "cn=O'Neil\\, Sean,ou=groups,dc=example,dc=com",
    "cn=a\\2Cb,ou=groups,dc=example,dc=com",
    "cn=zoë,ou=groups,dc=example,dc=com",
    "cn=g(1)*,ou=groups,dc=example,dc=com",
    "cn=x+sn=y,ou=groups,dc=example,dc=com", "cn=nobody,ou=groups," + BASE]


def outcome(function, *args):
    """What function returns, or the class of the ldap3 error it raises."""
    try:
        return function(*args)
    except ldap3.core.exceptions.LDAPException as e:
        return type(e)


def mock_connection():
    conn = ldap3.Connection(ldap3.Server("mock"),
                            client_strategy=ldap3.MOCK_SYNC,
                            raise_exceptions=False)
    conn.strategy.add_entry(BASE, {"objectClass": ["domain"],
                                   "dc": "example"})
    for dn, attrs in test_ldap_unit.ENTRIES.items():
        conn.strategy.add_entry(dn, attrs)
    conn.open()
    return conn


class RecordedSends:
    """The BER encoding of each request sent on conn, in order."""

    def __init__(self, test, conn):
        self.sent = []
        real = conn.send

        def send(message_type, request, controls=None):
            self.sent.append((message_type, encode(request)))
            return real(message_type, request, controls)

        test.useFixture(fixtures.MockPatchObject(conn, "send", send))

    def pop(self):
        sent, self.sent = self.sent, []
        return sent


class PrebuiltRequestTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())

    def driver(self, **overrides):
        driver = ldap_driver.LdapIdentityDriver(
            test_ldap_unit.make_conf(self, **overrides))
        self.addCleanup(driver.close)
        return driver

    def plain_search(self, driver, conn, username):
        # What _find_user sent before: conn.search() with the filter text.
        flt = "(&%s(%s=%s))" % (driver._user_filter,
                                driver.opts.user_name_attribute,
                                escape_filter_chars(username))
        return driver._search(conn, driver._user_base, flt,
                              driver._user_scope, driver._user_attributes,
                              size_limit=2)

    def assert_user_search_as_ldap3(self, **overrides):
        driver = self.driver(**overrides)
        conn = mock_connection()
        sends = RecordedSends(self, conn)
        for name in ODD_NAMES:
            found = driver._find_user(conn, name)
            prebuilt = sends.pop()
            plain = self.plain_search(driver, conn, name)
            self.assertEqual(sends.pop(), prebuilt, name)
            self.assertEqual(plain[0] if plain else None, found, name)
        # Not vacuous: the mock directory answers the prebuilt search.
        self.assertEqual(test_ldap_unit.user("amy"),
                         driver._find_user(conn, " amy ")[0])

    def test_user_search_sends_what_ldap3_sends(self):
        self.assert_user_search_as_ldap3()

    # One configuration per test: make_conf's overrides outlive it within
    # a test (oslo.config shares a registered group's options).
    def test_user_search_other_filter_base_and_scope(self):
        self.assert_user_search_as_ldap3(
            user_filter="(|(objectClass=inetOrgPerson)(objectClass=user))",
            user_base="OU=hotel, ou=shanghai," + BASE, user_scope="one")

    def test_user_search_without_filter(self):
        self.assert_user_search_as_ldap3(user_filter="")

    def test_user_search_nested_filter_other_attributes(self):
        self.assert_user_search_as_ldap3(
            user_filter="(&(objectClass=inetOrgPerson)(!(cn=disabled*)))",
            group_mode="member", user_attribute_map={"site": "l"},
            user_display_name_attribute="displayName")

    def test_bind_sends_what_ldap3_sends(self):
        conn = mock_connection()
        sends = RecordedSends(self, conn)
        dn = test_ldap_unit.user("amy")
        for password in ("amy-pw", "wrong", " spaces ", "pässwörd",
                         "pass\xa0word", "soft\xadhyphen", "Ω≈ç√∫",
                         string.printable[:95]):
            ok = ldap_driver.LdapIdentityDriver._simple_bind(
                conn, dn, password)
            prebuilt = sends.pop()
            conn.authentication = ldap3.SIMPLE
            conn.user = dn
            conn.password = password
            self.assertEqual(conn.bind(read_server_info=False), ok)
            conn.password = None
            self.assertEqual(sends.pop(), prebuilt, password)
        self.assertTrue(ldap_driver.LdapIdentityDriver._simple_bind(
            conn, dn, "amy-pw"))

    def test_bind_keeps_no_password(self):
        conn = mock_connection()
        for password in ("amy-pw", "wrong-pw"):
            ldap_driver.LdapIdentityDriver._simple_bind(
                conn, test_ldap_unit.user("amy"), password)
            request = ldap_driver._BIND_REQUESTS.request
            self.assertNotIn(password.encode(), encode(request))
            # ldap3 keeps its copy of the last request on the connection.
            self.assertIsNone(conn.request)
            self.assertIsNone(conn.password)

    def test_printable_ascii_password_as_ldap3_prepares_it(self):
        samples = list(string.printable[:95]) + [
            string.printable[:95], "amy-Pa55", " ", "~!@#$%^&*()_+`-=",
            "é", "pass\xa0word", "ﬁ", "Ⅸ", "ｆｕｌｌ", "a\u200bb"]
        for password in samples:
            self.assertEqual(validate_simple_password(password),
                             ldap_driver._prepared_password(password),
                             repr(password))

    def assert_group_read_as_ldap3(self, **overrides):
        driver = self.driver(**overrides)
        conn = mock_connection()
        sends = RecordedSends(self, conn)
        names = [driver.opts.group_name_attribute,
                 driver.opts.user_memberof_attribute]
        for dn in GROUP_DNS:
            driver.group_cache.clear()
            info = outcome(driver._memberof_info, conn, dn)
            prebuilt = sends.pop()
            plain = outcome(
                driver._search, conn, dn,
                driver._group_filter or "(objectClass=*)", ldap3.BASE, names)
            self.assertEqual(sends.pop(), prebuilt, dn)
            if isinstance(plain, list):
                plain = plain and (driver._group_name(*plain[0]), tuple(
                    plain[0][1].get("memberof", ()))) or None
            self.assertEqual(plain, info, dn)
        # Not vacuous: the mock directory answers the prebuilt read.
        self.assertEqual(("shanghai", (test_ldap_unit.group("everyone"),)),
                         driver._memberof_info(
                             conn, test_ldap_unit.group("shanghai")))

    def test_group_read_sends_what_ldap3_sends(self):
        self.assert_group_read_as_ldap3()

    def test_group_read_without_group_filter(self):
        self.assert_group_read_as_ldap3(group_filter="",
                                        group_name_attribute="CN")

    def assert_member_search_as_ldap3(self, mode, **overrides):
        driver = self.driver(group_mode=mode, **overrides)
        conn = mock_connection()
        sends = RecordedSends(self, conn)
        rule = ":%s:" % ldap_driver.MATCHING_RULE_IN_CHAIN if (
            mode == "ad_in_chain") else ""
        dns = GROUP_DNS + [test_ldap_unit.user("amy"), " " + BASE + " "]
        for dn in dns:
            found = outcome(driver._member_search, conn, dn, bool(rule))
            prebuilt = sends.pop()
            flt = "(&%s(%s%s=%s))" % (
                driver._group_filter, driver.opts.group_member_attribute,
                rule, escape_filter_chars(dn))
            plain = outcome(driver._search, conn, driver._group_base, flt,
                            driver._group_scope,
                            [driver.opts.group_name_attribute])
            self.assertEqual(sends.pop(), prebuilt, dn)
            if isinstance(plain, list):
                plain = [(g, driver._group_name(g, a)) for g, a in plain]
            self.assertEqual(plain, found, dn)
        return driver, conn

    def test_member_search_sends_what_ldap3_sends(self):
        driver, conn = self.assert_member_search_as_ldap3("member")
        # Not vacuous: the mock directory answers the prebuilt search.
        self.assertEqual(
            [(test_ldap_unit.group("sh-hotel"), "sh-hotel")],
            driver._member_search(conn, test_ldap_unit.user("amy")))

    def test_in_chain_search_sends_what_ldap3_sends(self):
        self.assert_member_search_as_ldap3(
            "ad_in_chain", group_filter="(objectClass=group)",
            group_scope="one")

    def test_requests_are_per_thread(self):
        driver = self.driver()
        conn = mock_connection()

        def request():
            driver._find_user(conn, "amy")
            return driver._requests.user

        mine = request()
        self.assertIs(mine, request())
        other = []
        thread = threading.Thread(target=lambda: other.append(request()))
        thread.start()
        thread.join()
        self.assertIsNot(mine, other[0])


class PasswordPreparationTest(testtools.TestCase):
    """SASLprep of the password comes before the directory is asked."""

    # The mock directory of test_ldap_unit, without its tests.
    driver = test_ldap_unit.MockDirectoryTest.driver
    fake_open = test_ldap_unit.MockDirectoryTest.fake_open

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        self.opened = []

    def test_prepared_for_known_and_unknown_users_alike(self):
        driver = self.driver()
        prepared = []
        original = ldap_driver._prepared_password

        def spy(password):
            prepared.append(password)
            return original(password)

        self.useFixture(fixtures.MockPatchObject(
            ldap_driver, "_prepared_password", spy))
        for username in ("amy", "zed"):
            del prepared[:]
            self.assertRaises(exception.LoginFailed, driver.authenticate,
                              username, "pässwörd-\xa0" * 100)
            # The supplied password first (for an unknown user too), then
            # what the bind sends: the prepared bytes or the dummy's.
            self.assertEqual("pässwörd-\xa0" * 100, prepared[0], username)
            self.assertEqual(2, len(prepared), username)
        self.assertEqual(test_ldap_unit.user("amy"),
                         driver.authenticate("amy", "amy-pw").dn)

    def test_password_saslprep_refuses_is_a_failed_login(self):
        driver = self.driver()
        self.useFixture(fixtures.MockPatchObject(
            driver, "_open", side_effect=AssertionError("contacted")))
        for username in ("amy", "zed"):
            # Private use, a non-character, a bidi mix: refused by SASLprep.
            for password in ("pw\ue000", "pw\ufffe", "\u05d0abc"):
                err = self.assertRaises(exception.LoginFailed,
                                        driver.authenticate, username,
                                        password)
                self.assertEqual("invalid_password", err.kwargs["reason"])
