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

"""The requests built once per thread, against a real slapd.

The driver's user search (built once per thread, only the name's value
set per login) finds what ldap3's ``conn.search()`` with the escaped filter
text finds, for names special to filters, to DNs and beyond ASCII; binds
with ASCII and non-ASCII passwords work as before; logins on many threads
each get their own user.
"""

import base64
import sys
import threading

from ldap3.utils.conv import escape_filter_chars

from tests.fixtures import slapd
from tests.functional.identity import ldap_base
from vdi_broker import exception

OU = "ou=hotel,ou=shanghai," + slapd.SUFFIX
# uid -> password of the users this class adds.
ODD_USERS = {
    "zoë": "zoë-Pa55",
    "张伟": "密码-Pa55",
    "a(b)c": "abc-Pa55",
    "back\\slash": "back-Pa55",
    "star*": "star-Pa55",
    "semi;colon,comma+plus": "semi-Pa55",
    "eq=sign~=": "eq-Pa55",
    "nbsp": "pass word-Pa55",
}
# Looked up in both ways: the users, other spellings of them, patterns
# that must stay literal, and names nobody has.
LOOKUPS = list(ODD_USERS) + [
    "ZOË", " zoë ", "\u3000zoë", "zo*", "*", "(", ")", "\\", "a\\28b\\29c",
    "star", "star\\2a", "张*", "amy", "o'neil*", "o'neil", "nobody",
    "eq=sign", "back\\5cslash"]


def _ldif_value(name, value):
    return "%s:: %s" % (name, base64.b64encode(value.encode()).decode())


class PrebuiltRequestsTest(ldap_base.SlapdTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        entries = []
        for uid, password in ODD_USERS.items():
            dn = "uid=%s,%s" % (slapd.escape_dn_value(uid), OU)
            entries.append("\n".join([
                _ldif_value("dn", dn), "objectClass: inetOrgPerson",
                _ldif_value("uid", uid), _ldif_value("cn", uid),
                _ldif_value("sn", uid),
                _ldif_value("userPassword", password)]) + "\n")
        cls.slapd.ldapadd("\n".join(entries))

    def test_same_entries_as_ldap3_search(self):
        driver = self.make_driver()
        found = set()
        with driver._service_pool.connection() as pc:
            for name in LOOKUPS:
                flt = "(&%s(%s=%s))" % (driver._user_filter, "uid",
                                        escape_filter_chars(name))
                plain = driver._search(pc.conn, driver._user_base, flt,
                                       driver._user_scope,
                                       driver._user_attributes,
                                       size_limit=2)
                entry = driver._find_user(pc.conn, name)
                self.assertEqual(plain[0] if plain else None, entry, name)
                if entry:
                    found.add(entry[1]["uid"][0])
        self.assertEqual(set(ODD_USERS) | {"amy", "o'neil*"}, found)

    def test_odd_users_log_in(self):
        driver = self.make_driver()
        for uid, password in ODD_USERS.items():
            p = driver.authenticate(uid, password)
            self.assertEqual(uid, p.username)
            self.assertRaises(exception.LoginFailed, driver.authenticate,
                              uid, password + "x")
        # The case and spaces the directory ignores in uid.
        self.assertEqual("zoë", driver.authenticate(" ZOË ",
                                                    "zoë-Pa55").username)

    def test_non_ascii_password_is_still_saslprepped(self):
        # SASLprep maps a no-break space to a space (RFC 4013): what
        # ldap3 always sent for such a password.
        driver = self.make_driver()
        p = driver.authenticate("nbsp", "pass\xa0word-Pa55")
        self.assertEqual("nbsp", p.username)

    def test_password_saslprep_refuses_is_a_failed_login(self):
        # It was a 503 (and an error in the log) for a known user and a
        # 401 for an unknown one.
        driver = self.make_driver()
        for username in ("amy", "zoë", "nobody"):
            err = self.assertRaises(exception.LoginFailed,
                                    driver.authenticate, username,
                                    "amy-Pa55\ue000")
            self.assertEqual("invalid_password", err.kwargs["reason"])
        self.assertEqual("amy",
                         driver.authenticate("amy", "amy-Pa55").username)

    def test_each_thread_gets_its_own_user(self):
        driver = self.make_driver(pool_size=4)
        users = ["amy", "bob", "carol", "dave", "zoë", "张伟"]
        passwords = dict(ODD_USERS)
        passwords.update((uid, slapd.USERS[uid][3]) for uid in users[:4])
        wrong = []

        def logins(offset):
            for n in range(60):
                uid = users[(offset + n) % len(users)]
                try:
                    p = driver.authenticate(uid, passwords[uid])
                except Exception as e:  # report, do not hang the join
                    wrong.append((uid, repr(e)))
                    continue
                if p.username != uid:
                    wrong.append((uid, p.username))

        # Switch threads as often as possible: a request shared between
        # threads would be changed by one while another sends it.
        self.addCleanup(sys.setswitchinterval, sys.getswitchinterval())
        sys.setswitchinterval(1e-6)
        threads = [threading.Thread(target=logins, args=(i,))
                   for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([], wrong)
