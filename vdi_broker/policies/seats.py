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

PREFIX = "vdi_broker:seats:%s"

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "list", check_str=base.RULE_READER,
        description="List seats.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/seats"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "show", check_str=base.RULE_READER,
        description="Show a seat.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/seats/{seat_id}"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "create", check_str=base.RULE_OPERATOR,
        description="Create a seat.", scope_types=["project"],
        operations=[{"method": "POST", "path": "/v1/seats"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "update", check_str=base.RULE_OPERATOR,
        description="Update a seat.", scope_types=["project"],
        operations=[{"method": "PATCH",
                     "path": "/v1/seats/{seat_id}"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "delete", check_str=base.RULE_OPERATOR,
        description="Delete a seat.", scope_types=["project"],
        operations=[{"method": "DELETE",
                     "path": "/v1/seats/{seat_id}"}]),
]


def list_rules():
    return rules
