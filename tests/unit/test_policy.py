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

"""vdi_broker.policy: every rule is checked against the operator project."""

from tests import base
from vdi_broker import context
from vdi_broker import exception
from vdi_broker import policy

RULE = "vdi_broker:sessions:delete"


def _ctxt(roles, project_id):
    return context.RequestContext(user_id="u", project_id=project_id,
                                  roles=roles, overwrite=False)


class TestAuthorize(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(group="api", operator_project_id="ops")

    def test_member_of_the_operator_project(self):
        self.assertTrue(policy.authorize(_ctxt(["member"], "ops"), RULE))

    def test_member_of_another_project(self):
        self.assertRaises(exception.PolicyNotAuthorized, policy.authorize,
                          _ctxt(["member"], "elsewhere"), RULE)

    def test_a_target_cannot_name_another_project(self):
        self.assertRaises(exception.PolicyNotAuthorized, policy.authorize,
                          _ctxt(["member"], "elsewhere"), RULE,
                          {"project_id": "elsewhere"})

    def test_without_operator_project_only_admin_and_service(self):
        self.flags(group="api", operator_project_id=None)
        self.assertEqual({}, policy.operator_target(self.conf))
        self.assertRaises(exception.PolicyNotAuthorized, policy.authorize,
                          _ctxt(["manager", "member"], "ops"), RULE)
        self.assertTrue(policy.authorize(_ctxt(["admin"], "any"), RULE))
        self.assertTrue(policy.authorize(
            _ctxt(["service"], "service"),
            "vdi_broker:desktops:action:quarantine"))

    def test_system_scope_is_refused(self):
        ctxt = context.RequestContext(user_id="u", system_scope="all",
                                      roles=["admin"], overwrite=False)
        self.assertRaises(exception.PolicyNotAuthorized, policy.authorize,
                          ctxt, RULE)


class TestHostsAndConsole(base.TestCase):
    """GET /v1/hosts reads; a desktop's console is the operator's."""

    def setUp(self):
        super().setUp()
        self.flags(group="api", operator_project_id="ops")

    def allowed(self, roles, rule):
        try:
            return bool(policy.authorize(_ctxt(roles, "ops"), rule))
        except exception.PolicyNotAuthorized:
            return False

    def test_console_is_for_operators(self):
        rule = "vdi_broker:desktops:console"
        self.assertTrue(self.allowed(["manager"], rule))
        self.assertTrue(self.allowed(["admin"], rule))
        self.assertFalse(self.allowed(["member", "reader"], rule))
        self.assertFalse(self.allowed(["reader"], rule))
        self.assertFalse(self.allowed(["service"], rule))

    def test_hosts_are_for_readers(self):
        rule = "vdi_broker:hosts:list"
        self.assertTrue(self.allowed(["reader"], rule))
        self.assertTrue(self.allowed(["manager"], rule))
        self.assertFalse(self.allowed(["service"], rule))
        self.assertRaises(exception.PolicyNotAuthorized, policy.authorize,
                          _ctxt(["reader"], "elsewhere"), rule)
