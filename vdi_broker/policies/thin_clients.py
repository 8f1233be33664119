from oslo_policy import policy

from vdi_broker.policies import base

PREFIX = "vdi_broker:thin_clients:%s"

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "list", check_str=base.RULE_READER,
        description="List thin clients.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/thin-clients"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "show", check_str=base.RULE_READER,
        description="Show a thin client.", scope_types=["project"],
        operations=[{"method": "GET",
                     "path": "/v1/thin-clients/{thin_client_id}"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "create", check_str=base.RULE_OPERATOR,
        description="Create a thin client.", scope_types=["project"],
        operations=[{"method": "POST", "path": "/v1/thin-clients"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "update", check_str=base.RULE_OPERATOR,
        description="Update a thin client.", scope_types=["project"],
        operations=[{"method": "PATCH",
                     "path": "/v1/thin-clients/{thin_client_id}"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "delete", check_str=base.RULE_OPERATOR,
        description="Delete a thin client.", scope_types=["project"],
        operations=[{"method": "DELETE",
                     "path": "/v1/thin-clients/{thin_client_id}"}]),
]


def list_rules():
    return rules
