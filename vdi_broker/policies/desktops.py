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

from oslo_policy import policy

from vdi_broker.policies import base

PREFIX = "vdi_broker:desktops:%s"

ACTION_PATH = "/v1/desktops/{desktop_id}/action"

# Desktop actions (POST /v1/desktops/{desktop_id}/action): who may run
# each. The helpdesk reboots a hung desktop and quarantines a faulty one
# (its user's binding moves to a healthy desktop); quarantine is also
# open to the service role, so that monitoring can take a desktop out of
# service. What deletes, rebuilds or hands a desktop to someone else is
# the operator's.
ACTIONS = {
    "reboot": (base.RULE_HELPDESK, "Reboot a desktop's server."),
    "rebuild": (base.RULE_OPERATOR,
                "Rebuild a desktop's server from its pool's image."),
    "replace": (base.RULE_OPERATOR,
                "Replace a desktop: its binding moves to a ready desktop "
                "of the pool, the desktop is deleted."),
    "move": (base.RULE_OPERATOR,
             "Give a user-bound desktop to another user."),
    "quarantine": (base.RULE_HELPDESK + " or " + base.RULE_SERVICE,
                   "Take a desktop out of service for a fault (its server "
                   "is locked, its binding moves)."),
    "unquarantine": (base.RULE_OPERATOR,
                     "Put a quarantined desktop back in service."),
}

# Monitoring (the service role) finds the desktops it reports on.
READ = base.RULE_READER + " or " + base.RULE_SERVICE

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "list", check_str=READ,
        description="List desktops.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/desktops"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "show", check_str=READ,
        description="Show a desktop.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/desktops/{desktop_id}"}]),
] + [
    policy.DocumentedRuleDefault(
        name=PREFIX % ("action:" + name), check_str=check,
        description=description, scope_types=["project"],
        operations=[{"method": "POST", "path": ACTION_PATH}])
    for name, (check, description) in ACTIONS.items()
] + [
    # A console URL shows (and drives) the agent's screen: the operator's.
    policy.DocumentedRuleDefault(
        name=PREFIX % "console", check_str=base.RULE_OPERATOR,
        description="Open a desktop's browser console (spice-html5 or "
                    "noVNC): a URL with a one-time token.",
        scope_types=["project"],
        operations=[{"method": "POST",
                     "path": "/v1/desktops/{desktop_id}/console"}]),
]


def list_rules():
    return rules
