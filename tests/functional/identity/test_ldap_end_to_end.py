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

"""Thin clients log in through the API against a real slapd (R7).

The whole path: the API, the ``ldap`` identity driver against a throwaway
slapd, the allocator chain on groups and OUs from the directory, the
claim. Moving a user to another group in the directory is all it takes
for the next login to get the other allocator's desktop (R7 step 6).
"""

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import slapd
from tests.functional.identity import ldap_base

POOLS = [
    {"name": "supervisor-desktops", "min_ready": 2, "max_size": 4},
    {"name": "nantong-agents", "min_ready": 3, "max_size": 6},
    {"name": "everyone", "min_ready": 2, "max_size": 4},
]

ALLOCATORS = [
    # Nested group: carol is in supervisors directly, dave is not.
    {"name": "supervisors", "priority": 10, "plugin": "user",
     "pool": "supervisor-desktops", "rules": {"groups": ["supervisors"]}},
    # OU subtree of the site, from the DN.
    {"name": "nantong", "priority": 20, "plugin": "pool",
     "pool": "nantong-agents", "rules": {"ou": ["nantong"]}},
    {"name": "everyone", "priority": 100, "plugin": "pool",
     "pool": "everyone", "is_default": True},
]


class TestLdapLoginThroughTheApi(ldap_base.ClassSlapdMixin, base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self, flags={
            ("identity", "driver"): "ldap",
            ("ldap", "urls"): [self.slapd.url],
            ("ldap", "use_tls"): False,
            ("ldap", "bind_dn"): slapd.SERVICE_DN,
            ("ldap", "bind_password"): slapd.SERVICE_PASSWORD,
            ("ldap", "user_base"): slapd.USER_BASE,
            ("ldap", "group_base"): slapd.GROUP_BASE,
        })
        self.addCleanup(self.broker.broker_app.identity.close)
        self.broker.setup_call_centre(default=False, pools=POOLS,
                                      allocators=ALLOCATORS)
        self.broker.fill_pools()

    def _move_dave(self, change):
        ldif = "dn: %s\nchangetype: modify\n%s: member\nmember: %s\n"
        self.slapd.ldapmodify(ldif % (slapd.group_dn("supervisors"), change,
                                      slapd.user_dn("dave")))

    def test_groups_and_ous_from_the_directory_pick_the_allocator(self):
        resp = self.broker.login("carol", password="carol-Pa55")
        self.assertEqual("supervisors", resp.json["allocator"]["name"])
        self.assertEqual("user", resp.json["binding"]["kind"])
        resp = self.broker.login("dave", password="dave-Pa55")
        self.assertEqual("nantong", resp.json["allocator"]["name"])
        resp = self.broker.login("amy", password="amy-Pa55")
        self.assertEqual("everyone", resp.json["allocator"]["name"])

    def test_wrong_password_and_unknown_user_alike(self):
        wrong = self.broker.login("dave", password="nope", status=401)
        unknown = self.broker.login("nobody", password="nope", status=401)
        self.assertEqual(wrong.json["error"]["message"],
                         unknown.json["error"]["message"])

    def test_moving_a_user_in_the_directory_moves_the_desktop(self):
        first = self.broker.login("dave", password="dave-Pa55")
        self.assertEqual("nantong", first.json["allocator"]["name"])
        self.broker.logout(first)

        # The directory, not the broker, changes.
        self._move_dave("add")
        self.addCleanup(self._move_dave, "delete")
        second = self.broker.login("dave", password="dave-Pa55",
                                   client_id="tc-0002")
        self.assertEqual("supervisors", second.json["allocator"]["name"])
        self.assertEqual(self.broker.pools["supervisor-desktops"]["id"],
                         second.json["pool"]["id"])
        self.assertNotEqual(first.json["desktop"]["id"],
                            second.json["desktop"]["id"])

    def test_explain_reads_the_directory_without_a_password(self):
        resp = self.broker.app.post_json("/v1/allocators/explain",
                                         {"username": "carol"})
        explain = resp.json["explain"]
        self.assertEqual("supervisors", explain["outcome"]["allocator"])
        self.assertIn("supervisors",
                      explain["request"]["principal"]["groups"])
        resp = self.broker.app.post_json("/v1/allocators/explain",
                                         {"username": "nobody"}, status=404)
        self.assertEqual(404, resp.json["error"]["code"])
