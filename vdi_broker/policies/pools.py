from oslo_policy import policy

from vdi_broker.policies import base

PREFIX = "vdi_broker:pools:%s"

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "list", check_str=base.RULE_READER,
        description="List pools.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/pools"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "show", check_str=base.RULE_READER,
        description="Show a pool with its desktop counts.",
        scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/pools/{pool_id}"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "create", check_str=base.RULE_ADMIN,
        description="Create a pool.", scope_types=["project"],
        operations=[{"method": "POST", "path": "/v1/pools"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "update", check_str=base.RULE_OPERATOR,
        description="Update a pool.", scope_types=["project"],
        operations=[{"method": "PATCH", "path": "/v1/pools/{pool_id}"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "delete", check_str=base.RULE_ADMIN,
        description="Delete an empty pool.", scope_types=["project"],
        operations=[{"method": "DELETE", "path": "/v1/pools/{pool_id}"}]),
]


def list_rules():
    return rules
