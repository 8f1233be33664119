from oslo_policy import policy

from vdi_broker.policies import base

PREFIX = "vdi_broker:hosts:%s"

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "list", check_str=base.RULE_READER,
        description="List the compute hosts with their desktops, boots "
                    "and capacity.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/hosts"}]),
]


def list_rules():
    return rules
