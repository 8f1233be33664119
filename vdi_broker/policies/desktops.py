from oslo_policy import policy

from vdi_broker.policies import base

PREFIX = "vdi_broker:desktops:%s"

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "list", check_str=base.RULE_READER,
        description="List desktops.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/desktops"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "show", check_str=base.RULE_READER,
        description="Show a desktop.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/desktops/{desktop_id}"}]),
]


def list_rules():
    return rules
