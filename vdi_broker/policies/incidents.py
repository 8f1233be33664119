from oslo_policy import policy

from vdi_broker.policies import base

PREFIX = "vdi_broker:incidents:%s"

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "list", check_str=base.RULE_READER,
        description="List incidents of the five-minute rule (desktop "
                    "faults, how and how fast they were fixed).",
        scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/incidents"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "show", check_str=base.RULE_READER,
        description="Show an incident.", scope_types=["project"],
        operations=[{"method": "GET",
                     "path": "/v1/incidents/{incident_id}"}]),
]


def list_rules():
    return rules
