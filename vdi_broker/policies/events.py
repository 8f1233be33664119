from oslo_policy import policy

from vdi_broker.policies import base

PREFIX = "vdi_broker:events:%s"

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "list", check_str=base.RULE_READER,
        description="List audit events (logins, logouts, admin actions).",
        scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/events"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "show", check_str=base.RULE_READER,
        description="Show an audit event.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/events/{event_id}"}]),
]


def list_rules():
    return rules
