from oslo_policy import policy

from vdi_broker.policies import base

PREFIX = "vdi_broker:bindings:%s"

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "list", check_str=base.RULE_READER,
        description="List bindings.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/bindings"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "show", check_str=base.RULE_READER,
        description="Show a binding.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/bindings/{binding_id}"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "create", check_str=base.RULE_HELPDESK,
        description="Bind a ready desktop to a user, seat or thin client.",
        scope_types=["project"],
        operations=[{"method": "POST", "path": "/v1/bindings"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "update", check_str=base.RULE_HELPDESK,
        description="Move a binding to another desktop of its pool.",
        scope_types=["project"],
        operations=[{"method": "PATCH",
                     "path": "/v1/bindings/{binding_id}"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "delete", check_str=base.RULE_HELPDESK,
        description="Remove a binding; the desktop is released.",
        scope_types=["project"],
        operations=[{"method": "DELETE",
                     "path": "/v1/bindings/{binding_id}"}]),
]


def list_rules():
    return rules
