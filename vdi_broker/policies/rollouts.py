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

PREFIX = "vdi_broker:rollouts:%s"
WINDOWS = "vdi_broker:maintenance_windows:%s"

_ACTION = {"method": "POST", "path": "/v1/rollouts/{rollout_id}/action"}

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "list", check_str=base.RULE_READER,
        description="List image roll-outs (of a pool, or all).",
        scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/rollouts"},
                    {"method": "GET",
                     "path": "/v1/pools/{pool_id}/rollouts"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "show", check_str=base.RULE_READER,
        description="Show an image roll-out, its progress and the desktops "
                    "it rebuilt.", scope_types=["project"],
        operations=[
            {"method": "GET", "path": "/v1/rollouts/{rollout_id}"},
            {"method": "GET", "path": "/v1/rollouts/{rollout_id}/desktops"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "create", check_str=base.RULE_OPERATOR,
        description="Roll a pool out to a new image.",
        scope_types=["project"],
        operations=[{"method": "POST",
                     "path": "/v1/pools/{pool_id}/rollouts"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "pause", check_str=base.RULE_OPERATOR,
        description="Pause an image roll-out.", scope_types=["project"],
        operations=[_ACTION]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "resume", check_str=base.RULE_OPERATOR,
        description="Resume a paused image roll-out.",
        scope_types=["project"], operations=[_ACTION]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "rollback", check_str=base.RULE_OPERATOR,
        description="Roll a pool back to the image it had before a "
                    "roll-out.", scope_types=["project"],
        operations=[_ACTION]),
    policy.DocumentedRuleDefault(
        name=WINDOWS % "list", check_str=base.RULE_READER,
        description="List maintenance windows.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/maintenance-windows"}]),
    policy.DocumentedRuleDefault(
        name=WINDOWS % "show", check_str=base.RULE_READER,
        description="Show a maintenance window.", scope_types=["project"],
        operations=[{"method": "GET",
                     "path": "/v1/maintenance-windows/{window_id}"}]),
    policy.DocumentedRuleDefault(
        name=WINDOWS % "create", check_str=base.RULE_OPERATOR,
        description="Create a maintenance window of a pool or a site "
                    "(one that drains refuses new logins while open).",
        scope_types=["project"],
        operations=[{"method": "POST", "path": "/v1/maintenance-windows"}]),
    policy.DocumentedRuleDefault(
        name=WINDOWS % "delete", check_str=base.RULE_OPERATOR,
        description="Delete a maintenance window.", scope_types=["project"],
        operations=[{"method": "DELETE",
                     "path": "/v1/maintenance-windows/{window_id}"}]),
]


def list_rules():
    return rules
