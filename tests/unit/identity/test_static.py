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

"""Unit tests of the static identity driver (users from a JSON file)."""

import json
import os

import fixtures

from tests import base
from vdi_broker import exception
from vdi_broker.identity import static

ITERATIONS = 1000


class TestHashing(base.TestCase):

    def test_hash_and_verify(self):
        encoded = static.hash_password("s3cret", iterations=ITERATIONS)
        algorithm, iterations, salt, digest = encoded.split("$")
        self.assertEqual("pbkdf2_sha256", algorithm)
        self.assertEqual(str(ITERATIONS), iterations)
        self.assertTrue(salt and digest)
        self.assertTrue(static.verify_password("s3cret", encoded))
        self.assertFalse(static.verify_password("s3cret!", encoded))
        self.assertFalse(static.verify_password("", encoded))

    def test_salted(self):
        one = static.hash_password("same", iterations=ITERATIONS)
        two = static.hash_password("same", iterations=ITERATIONS)
        self.assertNotEqual(one, two)
        self.assertTrue(static.verify_password("same", one))
        self.assertTrue(static.verify_password("same", two))

    def test_default_iterations(self):
        encoded = static.hash_password("x", salt=b"0123456789abcdef")
        self.assertEqual(str(static.DEFAULT_ITERATIONS),
                         encoded.split("$")[1])

    def test_unicode_password(self):
        encoded = static.hash_password("密码-Passwört", iterations=ITERATIONS)
        self.assertTrue(static.verify_password("密码-Passwört", encoded))

    def test_malformed_hashes_do_not_verify(self):
        for encoded in ("", "plain", "md5$1$abc$def",
                        "pbkdf2_sha256$x$abc$def",
                        "pbkdf2_sha256$1000$!!!$???",
                        "pbkdf2_sha256$1000$a$b$c"):
            self.assertFalse(static.verify_password("pw", encoded), encoded)


class TestStaticDriver(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.users = [
            {"username": "Amy",
             "password_hash": static.hash_password("amy-pw",
                                                   iterations=ITERATIONS),
             "dn": "uid=amy,ou=hotel,ou=shanghai,dc=example,dc=com",
             "display_name": "Amy Wu",
             "groups": ["hotel-agents"],
             "group_dns": ["cn=hotel-agents,ou=groups,dc=example,dc=com"],
             "attributes": {"department": ["hotel"], "title": "agent"}},
            {"username": "bob",
             "password_hash": static.hash_password("bob-pw",
                                                   iterations=ITERATIONS)},
        ]

    def driver(self, data=None, raw=None):
        path = os.path.join(self.tmp, "users.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(raw if raw is not None else
                    json.dumps(data or {"users": self.users}))
        self.flags(group="static_identity", users_file=path)
        return static.StaticIdentityDriver(self.conf)

    def test_authenticate(self):
        principal = self.driver().authenticate("amy", "amy-pw")
        self.assertEqual("Amy", principal.username)
        self.assertEqual("Amy Wu", principal.display_name)
        self.assertEqual(("hotel-agents",), principal.groups)
        self.assertEqual(("cn=hotel-agents,ou=groups,dc=example,dc=com",),
                         principal.group_dns)
        self.assertEqual({"department": ("hotel",), "title": ("agent",)},
                         principal.attributes)
        self.assertEqual(["hotel", "shanghai"], principal.ou_path)

    def test_username_case_insensitive(self):
        driver = self.driver()
        self.assertEqual("Amy", driver.authenticate("AMY", "amy-pw").username)
        self.assertEqual("bob", driver.authenticate("Bob", "bob-pw").username)

    def test_minimal_entry(self):
        principal = self.driver().authenticate("bob", "bob-pw")
        self.assertEqual("", principal.dn)
        self.assertEqual((), principal.groups)
        self.assertEqual({}, principal.attributes)

    def test_wrong_password_and_unknown_user_look_the_same(self):
        driver = self.driver()
        wrong = self.assertRaises(exception.LoginFailed,
                                  driver.authenticate, "amy", "bob-pw")
        unknown = self.assertRaises(exception.LoginFailed,
                                    driver.authenticate, "nobody", "amy-pw")
        self.assertEqual(str(wrong), str(unknown))
        self.assertEqual(wrong.code, unknown.code)
        # Only the failed-login event tells them apart.
        self.assertEqual("wrong_password", wrong.kwargs["reason"])
        self.assertEqual("unknown_user", unknown.kwargs["reason"])

    def test_empty_password_refused(self):
        driver = self.driver()
        err = self.assertRaises(exception.LoginFailed, driver.authenticate,
                                "amy", "")
        self.assertEqual("invalid_password", err.kwargs["reason"])
        self.assertRaises(exception.LoginFailed, driver.authenticate,
                          "amy", None)

    def test_empty_or_missing_username(self):
        driver = self.driver()
        self.assertRaises(exception.LoginFailed, driver.authenticate,
                          "", "amy-pw")
        self.assertRaises(exception.LoginFailed, driver.authenticate,
                          None, "amy-pw")

    def test_lookup(self):
        driver = self.driver()
        self.assertEqual("Amy", driver.lookup("amy").username)
        self.assertRaises(exception.NotFound, driver.lookup, "nobody")

    def test_no_users_file_configured(self):
        e = self.assertRaises(exception.Invalid,
                              static.StaticIdentityDriver, self.conf)
        self.assertIn("users_file", str(e))

    def test_missing_file(self):
        self.flags(group="static_identity",
                   users_file=os.path.join(self.tmp, "missing.json"))
        e = self.assertRaises(exception.Invalid,
                              static.StaticIdentityDriver, self.conf)
        self.assertIn("missing.json", str(e))

    def test_not_json(self):
        e = self.assertRaises(exception.Invalid, self.driver,
                              raw="users: [amy]")
        self.assertIn("cannot read users file", str(e))

    def test_entry_without_password_hash(self):
        e = self.assertRaises(exception.Invalid, self.driver,
                              {"users": [{"username": "amy"}]})
        self.assertIn("password_hash", str(e))

    def test_entry_without_username(self):
        self.assertRaises(exception.Invalid, self.driver,
                          {"users": [{"password_hash": "x"}]})

    def test_empty_directory(self):
        driver = self.driver({"users": []})
        self.assertRaises(exception.LoginFailed, driver.authenticate,
                          "amy", "amy-pw")

    def test_top_level_not_an_object(self):
        self.assertRaises(exception.Invalid, self.driver, raw="[]")

    def test_password_hash_not_a_string(self):
        self.assertRaises(exception.Invalid, self.driver,
                          {"users": [{"username": "amy",
                                      "password_hash": 5}]})
