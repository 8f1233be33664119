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
