from oslo_policy import policy

from vdi_broker.policies import base

PREFIX = "vdi_broker:sessions:%s"

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "list", check_str=base.RULE_READER,
        description="List thin-client sessions.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/sessions"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "show", check_str=base.RULE_READER,
        description="Show a thin-client session.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/sessions/{session_id}"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "delete", check_str=base.RULE_HELPDESK,
        description="Force a session to log out.", scope_types=["project"],
        operations=[{"method": "DELETE",
                     "path": "/v1/sessions/{session_id}"}]),
]


def list_rules():
    return rules
