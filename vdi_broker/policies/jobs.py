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

PREFIX = "vdi_broker:jobs:%s"

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "list", check_str=base.RULE_READER,
        description="List guest jobs.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/jobs"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "show", check_str=base.RULE_READER,
        description="Show a guest job and its results per desktop.",
        scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/jobs/{job_id}"},
                    {"method": "GET", "path": "/v1/jobs/{job_id}/targets"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "create", check_str=base.RULE_OPERATOR,
        description="Schedule a guest job (commands, states, software, "
                    "files, local passwords, data recovery, messages on "
                    "desktops).", scope_types=["project"],
        operations=[{"method": "POST", "path": "/v1/jobs"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "cancel", check_str=base.RULE_OPERATOR,
        description="Cancel a guest job.", scope_types=["project"],
        operations=[{"method": "POST", "path": "/v1/jobs/{job_id}/cancel"}]),
]


def list_rules():
    return rules
