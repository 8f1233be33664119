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

"""Unit tests of the ldap identity driver (ldap3 MOCK_SYNC, no network)."""

import os

import fixtures
import ldap3
from ldap3.operation import search as ldap3_search
from ldap3.utils.asn1 import encode
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from vdi_broker.conf import ldap as ldap_conf
from vdi_broker import exception
from vdi_broker.identity import ldap as ldap_driver
from vdi_broker.identity import ttl_cache

BASE = "dc=example,dc=com"
GROUPS = "ou=groups," + BASE
SERVICE = "cn=svc,ou=services," + BASE


def user(uid, site="shanghai", dept="hotel"):
    return "uid=%s,ou=%s,ou=%s,%s" % (uid, dept, site, BASE)


def group(cn):
    return "cn=%s,%s" % (cn, GROUPS)


# dn -> attributes (memberOf filled in by hand: MOCK_SYNC has no overlay).
ENTRIES = {
    SERVICE: {"objectClass": ["person"], "cn": "svc", "sn": "svc",
              "userPassword": "svc-pw"},
    user("amy"): {"objectClass": ["inetOrgPerson"], "uid": "amy",
                  "cn": "Amy Wang", "sn": "Wang", "userPassword": "amy-pw",
                  "departmentNumber": "hotel", "title": "agent",
                  "employeeType": "fulltime",
                  "memberOf": [group("sh-hotel")]},
    user("bob", dept="flight"): {
        "objectClass": ["inetOrgPerson"], "uid": "bob", "cn": "Bob Li",
        "sn": "Li", "userPassword": "bob-pw", "memberOf": []},
    group("sh-hotel"): {"objectClass": ["groupOfNames"], "cn": "sh-hotel",
                        "member": [user("amy")],
                        "memberOf": [group("shanghai")]},
    group("shanghai"): {"objectClass": ["groupOfNames"], "cn": "shanghai",
                        "member": [group("sh-hotel")],
                        "memberOf": [group("everyone")]},
    group("everyone"): {"objectClass": ["groupOfNames"], "cn": "everyone",
                        "member": [group("shanghai")]},
}


def make_conf(test, **overrides):
    conf = cfg.ConfigOpts()
    ldap_conf.register_opts(conf)
    fixture = test.useFixture(config_fixture.Config(conf))
    conf([], default_config_files=[], default_config_dirs=[])
    options = dict(urls=["ldap://ldap1.example.com", "ldap://ldap2"],
                   use_tls=False, bind_dn=SERVICE, bind_password="svc-pw",
                   user_base=BASE, group_base=GROUPS)
    options.update(overrides)
    fixture.config(group="ldap", **options)
    return conf


class MockDirectoryTest(testtools.TestCase):
    """The driver's logic on an ldap3 MOCK_SYNC directory."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        self.opened = []

    def driver(self, **overrides):
        driver = ldap_driver.LdapIdentityDriver(make_conf(self, **overrides))
        self.addCleanup(driver.close)
        self.useFixture(fixtures.MockPatchObject(
            driver, "_open", self.fake_open))
        return driver

    def fake_open(self, server, kind):
        self.opened.append((server.url, kind))
        conn = ldap3.Connection(ldap3.Server("mock"),
                                client_strategy=ldap3.MOCK_SYNC,
                                raise_exceptions=False)
        for dn, attrs in ENTRIES.items():
            conn.strategy.add_entry(dn, attrs)
        conn.open()
        if kind == "service":
            conn.rebind(SERVICE, "svc-pw")
        return ldap_driver._Conn(conn, server)

    def test_login_memberof_mode(self):
        p = self.driver().authenticate("amy", "amy-pw")
        self.assertEqual(user("amy"), p.dn)
        self.assertEqual(("sh-hotel", "shanghai", "everyone"), p.groups)
        self.assertEqual((group("sh-hotel"), group("shanghai"),
                          group("everyone")), p.group_dns)
        self.assertEqual(["hotel", "shanghai"], p.ou_path)
        self.assertEqual({"department": ("hotel",), "title": ("agent",),
                          "employee_type": ("fulltime",)}, p.attributes)
        self.assertEqual("Amy Wang", p.display_name)

    def test_login_member_mode(self):
        p = self.driver(group_mode="member").authenticate("amy", "amy-pw")
        self.assertEqual({"sh-hotel", "shanghai", "everyone"}, set(p.groups))

    def test_depth_bound(self):
        p = self.driver(group_nesting_depth=1).authenticate("amy", "amy-pw")
        self.assertEqual(("sh-hotel", "shanghai"), p.groups)

    def test_group_mode_none(self):
        p = self.driver(group_mode="none").authenticate("amy", "amy-pw")
        self.assertEqual((), p.groups)

    def test_wrong_password_and_unknown_user_alike(self):
        driver = self.driver()
        e1 = self.assertRaises(exception.LoginFailed,
                               driver.authenticate, "amy", "bad")
        e2 = self.assertRaises(exception.LoginFailed,
                               driver.authenticate, "zed", "bad")
        self.assertEqual(str(e1), str(e2))

    def test_wildcard_username_does_not_match(self):
        driver = self.driver()
        for name in ("*", "a*", "amy)(uid=*", "*)(|(objectClass=*"):
            self.assertRaises(exception.LoginFailed,
                              driver.authenticate, name, "amy-pw")

    def test_filters_are_escaped(self):
        driver = self.driver(group_mode="member")
        sent = []
        original = driver._find_user

        def spy(conn, username):
            try:
                return original(conn, username)
            finally:
                # ldap3's own record of the request it sent.
                sent.append(conn.request["filter"])

        self.useFixture(fixtures.MockPatchObject(driver, "_find_user", spy))
        self.assertRaises(exception.LoginFailed, driver.authenticate,
                          "x*)(uid=\\00(", "pw")
        self.assertEqual("(&(objectClass=inetOrgPerson)"
                         "(uid=x\\2a\\29\\28uid=\\5c00\\28))", sent[0])

    def test_in_chain_filter(self):
        driver = self.driver(group_mode="ad_in_chain",
                             group_filter="objectClass=group",
                             group_member_attribute="member")
        sent = []

        def send(conn, request, base):
            sent.append((base, encode(request)))
            return [(group("g(1)"), {"cn": ["g(1)"]})]

        self.useFixture(fixtures.MockPatchObject(driver, "_send_search",
                                                 send))
        conn = self.fake_open(driver._servers[0], "service").conn
        groups = driver._groups(conn, "CN=O'Neil\\, Sean,OU=x,DC=corp", {})
        self.assertEqual([(group("g(1)"), "g(1)")], groups)
        # What conn.search() sends for this filter text.
        flt = ("(&(objectClass=group)(member:1.2.840.113556.1.4.1941"
               ":=CN=O'Neil\\5c, Sean,OU=x,DC=corp))")
        expected = ldap3_search.search_operation(
            GROUPS, flt, ldap3.SUBTREE, ldap3.DEREF_ALWAYS, ["cn"], 0,
            driver._time_limit, False, True, True, check_names=True)
        self.assertEqual((GROUPS, encode(expected)), sent[0])

    def test_group_cache(self):
        driver = self.driver()
        driver.authenticate("amy", "amy-pw")
        self.assertEqual(3, len(driver.group_cache))
        misses = driver.group_cache.misses
        driver.authenticate("amy", "amy-pw")
        self.assertEqual(misses, driver.group_cache.misses)
        self.assertEqual(3, driver.group_cache.hits)

    def test_connections_pooled_per_purpose(self):
        driver = self.driver()
        for _i in range(3):
            driver.authenticate("amy", "amy-pw")
        self.assertEqual([("ldap://ldap1.example.com", "service"),
                          ("ldap://ldap1.example.com", "authentication")],
                         self.opened)

    def test_invalid_configured_filter_is_a_503_with_reason(self):
        driver = self.driver(user_filter="(objectClass=person")
        err = self.assertRaises(exception.IdentityUnavailable,
                                driver.authenticate, "amy", "amy-pw")
        self.assertIn("LDAP request failed", err.kwargs["reason"])

    def test_lookup(self):
        p = self.driver().lookup("amy")
        self.assertEqual(user("amy"), p.dn)
        self.assertRaises(exception.NotFound, self.driver().lookup, "zed")


class DriverLogicTest(testtools.TestCase):
    """Validation, failover bookkeeping and helpers, with no directory."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())

    def driver(self, **overrides):
        driver = ldap_driver.LdapIdentityDriver(make_conf(self, **overrides))
        self.addCleanup(driver.close)
        return driver

    def test_bad_input_never_reaches_the_directory(self):
        driver = self.driver()
        self.useFixture(fixtures.MockPatchObject(
            driver, "_open", side_effect=AssertionError("contacted")))
        for username, password in [("amy", ""), ("amy", None),
                                   ("", "pw"), (None, "pw"),
                                   ("a" * 257, "pw"), ("am\x00y", "pw"),
                                   ("amy", "x" * 5000), ("amy", b"pw")]:
            self.assertRaises(exception.LoginFailed,
                              driver.authenticate, username, password)

    def test_all_servers_failed_means_immediate_503(self):
        driver = self.driver(server_dead_retry=60)
        for server in driver._servers:
            driver._mark_failed(server, "connection refused")
        self.useFixture(fixtures.MockPatchObject(
            driver, "_open", side_effect=AssertionError("contacted")))
        err = self.assertRaises(exception.IdentityUnavailable,
                                driver.authenticate, "amy", "pw")
        self.assertIn("ldap://ldap1.example.com: connection refused",
                      err.kwargs["reason"])
        # Server names are logged, not sent to thin clients.
        self.assertNotIn("ldap1.example.com", str(err))
        self.assertGreaterEqual(int(err.headers["Retry-After"]), 59)

    def test_failed_server_is_probed_by_one_request(self):
        driver = self.driver(server_dead_retry=0)
        driver._mark_failed(driver._servers[0], "boom")
        first = driver._candidates()
        self.assertEqual(driver._servers, first)
        # The probe is claimed: the next caller skips server 0.
        self.assertEqual(driver._servers[1:], driver._candidates())
        driver._mark_ok(driver._servers[0])
        self.assertEqual(driver._servers, driver._candidates())

    def test_failover_in_connect(self):
        driver = self.driver()
        tried = []

        def fake_open(server, kind):
            tried.append(server.url)
            if server is driver._servers[0]:
                raise ldap_driver._ServerError("timed out", timeout=True)
            return "conn"

        self.useFixture(fixtures.MockPatchObject(driver, "_open",
                                                 fake_open))
        self.assertEqual("conn", driver._connect("service"))
        self.assertEqual("conn", driver._connect("service"))
        self.assertEqual(["ldap://ldap1.example.com", "ldap://ldap2",
                          "ldap://ldap2"], tried)

    def test_never_binds_on_a_closed_connection(self):
        # ldap3 would reopen it without StartTLS.
        conn = ldap3.Connection(ldap3.Server("mock"),
                                client_strategy=ldap3.MOCK_SYNC)
        self.assertTrue(conn.closed)
        self.assertRaises(ldap_driver._ServerError,
                          ldap_driver.LdapIdentityDriver._simple_bind,
                          conn, "uid=amy," + BASE, "pw")
        self.assertIsNone(conn.password)

    def test_invalid_url(self):
        self.assertRaises(exception.Invalid, self.driver,
                          urls=["http://ldap"])

    def test_tls_settings(self):
        ca_file = os.path.join(self.useFixture(fixtures.TempDir()).path,
                               "ca.pem")
        with open(ca_file, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\n")
        driver = self.driver(urls=["ldap://a", "ldaps://b"], use_tls=True,
                             ca_file=ca_file)
        plain, ldaps = driver._servers
        self.assertTrue(plain.starttls)
        self.assertFalse(ldaps.starttls)
        self.assertTrue(ldaps.ldap_server.ssl)
        tls = ldaps.ldap_server.tls
        self.assertEqual(2, tls.validate)  # ssl.CERT_REQUIRED
        self.assertEqual(ca_file, tls.ca_certs_file)

    def test_missing_ca_file_is_a_clear_error(self):
        err = self.assertRaises(exception.Invalid, self.driver,
                                ca_file="/nonexistent/ca.pem")
        self.assertIn("ca_file", str(err))

    def test_describe(self):
        inner = ldap3.core.exceptions.LDAPSocketOpenError(
            "('socket ssl wrapping error: [SSL] bad cert',)")
        self.assertEqual("[SSL] bad cert", ldap_driver._describe(inner))
        wrapped = ldap3.core.exceptions.LDAPSocketOpenError(
            "unable to open socket",
            [(ConnectionRefusedError("[Errno 111] refused"), ("h", 1))])
        self.assertEqual("[Errno 111] refused",
                         ldap_driver._describe(wrapped))

    def test_refusal_reasons(self):
        def reason(code, message=""):
            return ldap_driver._refusal_reason(
                {"result": code, "message": message})

        self.assertEqual("wrong_password", reason(49))
        self.assertEqual("account_refused", reason(53))
        self.assertEqual("account_refused", reason(50))
        ad = ("80090308: LdapErr: DSID-0C09044E, comment: "
              "AcceptSecurityContext error, data %s, v4563")
        for data, expected in (("52e", "wrong_password"),
                               ("775", "account_locked"),
                               ("533", "account_disabled"),
                               ("701", "account_disabled"),
                               ("532", "password_expired"),
                               ("773", "password_expired"),
                               ("530", "account_refused"),
                               ("999", "account_refused")):
            self.assertEqual(expected, reason(49, ad % data), data)

    def test_bases_are_sent_clean(self):
        # ldap3 refuses a search base with spaces around "=".
        driver = self.driver(user_base="DC = Example, DC = com",
                             group_base="")
        self.assertEqual("dc=Example,dc=com", driver._user_base)
        self.assertEqual("", driver._group_base)
        err = self.assertRaises(exception.Invalid, self.driver,
                                user_base="dc=example,,dc=com")
        self.assertIn("user_base", str(err))

    def test_dn_helpers(self):
        driver = self.driver(group_name_attribute="cn")
        self.assertEqual("O'Neil, Sean", driver._group_name(
            "CN=O'Neil\\, Sean,OU=x", {}))
        self.assertEqual("a,b", driver._group_name("cn=a\\2cb,o=x", {}))
        self.assertEqual("uid=a,o=x", driver._group_name("uid=a,o=x", {}))
        driver = self.driver(group_base="OU=Groups,DC=corp")
        self.assertTrue(driver._in_group_base("cn=x, OU = groups,dc=CORP"))
        self.assertTrue(driver._in_group_base("cn=x,ou=groups,dc=corp"))
        self.assertFalse(driver._in_group_base("cn=x,ou=other,dc=corp"))
        self.assertFalse(driver._in_group_base("cn=x,ou=xgroups,dc=corp"))


class TTLCacheTest(testtools.TestCase):

    def test_expiry_and_size(self):
        now = [0.0]
        cache = ttl_cache.TTLCache(10, 2, clock=lambda: now[0])
        cache.put("a", 1)
        cache.put("b", None)
        self.assertEqual(1, cache.get("a"))
        self.assertIsNone(cache.get("b"))
        cache.put("c", 3)
        self.assertIs(ttl_cache.MISSING, cache.get("a"))
        now[0] = 11
        self.assertIs(ttl_cache.MISSING, cache.get("c"))

    def test_disabled(self):
        cache = ttl_cache.TTLCache(0, 2)
        cache.put("a", 1)
        self.assertIs(ttl_cache.MISSING, cache.get("a"))


class LdapOptsTest(testtools.TestCase):

    def test_list_opts(self):
        opts = ldap_conf.list_opts()
        (group, options), = opts.items()
        self.assertEqual("ldap", group.name)
        by_name = {o.name: o for o in options}
        self.assertTrue(by_name["bind_password"].secret)
        for name in ("urls", "bind_dn", "user_base", "user_filter",
                     "user_name_attribute", "group_mode", "group_base",
                     "use_tls", "ca_file", "connect_timeout",
                     "receive_timeout", "pool_size", "group_cache_ttl",
                     "group_nesting_depth"):
            self.assertIn(name, by_name)

    def test_secure_defaults(self):
        conf = make_conf(self)
        conf.clear_override("use_tls", "ldap")
        self.assertTrue(conf.ldap.use_tls)
        self.assertEqual("demand", conf.ldap.tls_req_cert)
