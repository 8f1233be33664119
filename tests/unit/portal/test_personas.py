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

"""What the portal shows each persona is what the default policy allows."""

from tests import base
from vdi_broker import context
from vdi_broker import exception
from vdi_broker import policy
from vdi_broker.portal import personas

# Each capability of the portal and the policy rules it needs.
RULES = {
    "pool:update": ["vdi_broker:pools:update"],
    "schedule:write": ["vdi_broker:schedules:create",
                       "vdi_broker:schedules:update",
                       "vdi_broker:schedules:delete"],
    "allocator:write": ["vdi_broker:allocators:update"],
    "allocator:reorder": ["vdi_broker:allocators:reorder"],
    "allocator:explain": ["vdi_broker:allocators:explain"],
    "binding:write": ["vdi_broker:bindings:update"],
    "session:delete": ["vdi_broker:sessions:delete"],
    "desktop:reboot": ["vdi_broker:desktops:action:reboot"],
    "desktop:quarantine": ["vdi_broker:desktops:action:quarantine"],
    "desktop:rebuild": ["vdi_broker:desktops:action:rebuild"],
    "desktop:replace": ["vdi_broker:desktops:action:replace"],
    "desktop:unquarantine": ["vdi_broker:desktops:action:unquarantine"],
    "desktop:console": ["vdi_broker:desktops:console"],
    "seat:write": ["vdi_broker:seats:create", "vdi_broker:seats:update",
                   "vdi_broker:seats:delete"],
    "thin_client:write": ["vdi_broker:thin_clients:create",
                          "vdi_broker:thin_clients:update",
                          "vdi_broker:thin_clients:delete"],
    "job:create": ["vdi_broker:jobs:create"],
    "job:cancel": ["vdi_broker:jobs:cancel"],
    "alert:acknowledge": ["vdi_broker:alerts:acknowledge"],
    "rollout:create": ["vdi_broker:rollouts:create"],
    "rollout:pause": ["vdi_broker:rollouts:pause"],
    "rollout:resume": ["vdi_broker:rollouts:resume"],
    "rollout:rollback": ["vdi_broker:rollouts:rollback"],
    "window:create": ["vdi_broker:maintenance_windows:create"],
    "window:delete": ["vdi_broker:maintenance_windows:delete"],
}


def _allowed(roles, rule):
    ctxt = context.RequestContext(user_id="u", project_id="ops",
                                  roles=roles, overwrite=False)
    try:
        return bool(policy.authorize(ctxt, rule))
    except exception.PolicyNotAuthorized:
        return False


class TestPersonas(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(group="api", operator_project_id="ops")

    def test_every_capability_is_mapped(self):
        self.assertEqual(set(personas.NEEDS), set(RULES))

    def test_buttons_follow_the_default_policy(self):
        for persona in personas.PERSONAS:
            roles = personas.ROLES[persona]
            for capability, rules in RULES.items():
                for rule in rules:
                    self.assertEqual(
                        _allowed(roles, rule),
                        personas.can(persona, capability),
                        "%s %s %s" % (persona, capability, rule))

    def test_persona_from_roles(self):
        self.assertEqual("admin", personas.from_roles(["reader", "admin"]))
        self.assertEqual("operator", personas.from_roles(["Manager"]))
        self.assertEqual("helpdesk", personas.from_roles(["member"]))
        self.assertEqual("reader", personas.from_roles(["reader"]))
        self.assertIsNone(personas.from_roles(["service"]))
        self.assertIsNone(personas.from_roles([]))
        self.assertFalse(personas.can(None, "desktop:reboot"))
