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

DEPARTMENTS = "vdi_broker:departments:%s"
SHIFT_PLANS = "vdi_broker:shift_plans:%s"
AGENTS = "vdi_broker:agents:%s"
ALERTS = "vdi_broker:alerts:%s"


def _rule(name, check, description, method, path):
    return policy.DocumentedRuleDefault(
        name=name, check_str=check, description=description,
        scope_types=["project"],
        operations=[{"method": method, "path": path}])


rules = [
    _rule(DEPARTMENTS % "list", base.RULE_READER, "List departments.",
          "GET", "/v1/departments"),
    _rule(DEPARTMENTS % "show", base.RULE_READER, "Show a department.",
          "GET", "/v1/departments/{department_id}"),
    _rule(DEPARTMENTS % "create", base.RULE_OPERATOR,
          "Create a department.", "POST", "/v1/departments"),
    _rule(DEPARTMENTS % "update", base.RULE_OPERATOR,
          "Update a department.", "PATCH",
          "/v1/departments/{department_id}"),
    _rule(DEPARTMENTS % "delete", base.RULE_OPERATOR,
          "Delete a department and its shift plan.", "DELETE",
          "/v1/departments/{department_id}"),
    _rule(SHIFT_PLANS % "list", base.RULE_READER,
          "List or export (text/csv) shift-plan slots.", "GET",
          "/v1/shift-plans"),
    policy.DocumentedRuleDefault(
        name=SHIFT_PLANS % "import", check_str=base.RULE_OPERATOR,
        description=("Import a shift plan (CSV): its days replace the "
                     "stored ones."),
        scope_types=["project"],
        operations=[{"method": "PUT", "path": "/v1/shift-plans"},
                    {"method": "POST", "path": "/v1/shift-plans"}]),
    _rule(AGENTS % "list", base.RULE_READER,
          "Active, idle and offline agents now, against the plan.", "GET",
          "/v1/agents"),
    _rule(AGENTS % "history", base.RULE_READER,
          "One-minute history of the agent counts.", "GET",
          "/v1/agents/history"),
    _rule(ALERTS % "list", base.RULE_READER, "List alerts.", "GET",
          "/v1/alerts"),
    _rule(ALERTS % "show", base.RULE_READER, "Show an alert.", "GET",
          "/v1/alerts/{alert_id}"),
    _rule(ALERTS % "acknowledge", base.RULE_OPERATOR,
          "Acknowledge an alert.", "POST",
          "/v1/alerts/{alert_id}/acknowledge"),
]


def list_rules():
    return rules
