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

"""Personas, and what the portal offers each of them.

The API decides (its policy, vdi_broker/policies): the portal only hides
what the default policy would refuse, so that a persona does not see
buttons it cannot use. A deployment that changes the policy may refuse
what is shown; the portal then shows the API's 403.
"""

ADMIN = "admin"
OPERATOR = "operator"
HELPDESK = "helpdesk"
READER = "reader"

# Highest first; each includes the ones after it.
PERSONAS = (ADMIN, OPERATOR, HELPDESK, READER)

# The Keystone roles of each persona in the operator project (what the
# all-in-one mode sends as X-Roles).
ROLES = {
    ADMIN: ["admin", "manager", "member", "reader"],
    OPERATOR: ["manager", "member", "reader"],
    HELPDESK: ["member", "reader"],
    READER: ["reader"],
}

# What a capability needs, per the default policy
# (doc/source/configuration/policy.rst).
NEEDS = {
    "pool:update": OPERATOR,
    "schedule:write": OPERATOR,
    "allocator:write": ADMIN,
    "allocator:reorder": ADMIN,
    "allocator:explain": READER,
    "binding:write": HELPDESK,
    "session:delete": HELPDESK,
    "desktop:reboot": HELPDESK,
    "desktop:quarantine": HELPDESK,
    "desktop:rebuild": OPERATOR,
    "desktop:replace": OPERATOR,
    "desktop:unquarantine": OPERATOR,
    "desktop:console": OPERATOR,
    "seat:write": OPERATOR,
    "thin_client:write": OPERATOR,
    "job:create": OPERATOR,
    "job:cancel": OPERATOR,
    "alert:acknowledge": OPERATOR,
    "rollout:create": OPERATOR,
    "rollout:pause": OPERATOR,
    "rollout:resume": OPERATOR,
    "rollout:rollback": OPERATOR,
    "window:create": OPERATOR,
    "window:delete": OPERATOR,
}


def from_roles(roles):
    """The persona of a token's roles, None when it has none of them."""
    roles = {r.lower() for r in roles or ()}
    if "admin" in roles:
        return ADMIN
    if "manager" in roles:
        return OPERATOR
    if "member" in roles:
        return HELPDESK
    if "reader" in roles:
        return READER
    return None


def can(persona, capability):
    """Whether the default policy lets ``persona`` do ``capability``."""
    if persona not in PERSONAS:
        return False
    needed = NEEDS[capability]
    return PERSONAS.index(persona) <= PERSONAS.index(needed)
