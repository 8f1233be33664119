"""Personas of the admin API (consistent and secure RBAC).

reader < member < admin, plus a ``service`` role for other services. The
broker's resources belong to the deployment, not to a project, so the
personas check roles only; ``scope_types`` stays ``['project']`` as the
RBAC goal asks.
"""

from oslo_policy import policy

RULE_ADMIN = "rule:admin"
RULE_MEMBER = "rule:member"
RULE_READER = "rule:reader"
RULE_SERVICE = "rule:service"

ADMIN = "role:admin"
SERVICE = "role:service"
MEMBER = "role:member or " + ADMIN
READER = "role:reader or " + MEMBER

rules = [
    policy.RuleDefault("admin", ADMIN,
                       description="An administrator of the broker."),
    policy.RuleDefault("service", SERVICE + " or " + ADMIN,
                       description="Another OpenStack service, or an "
                                   "administrator."),
    policy.RuleDefault("member", MEMBER,
                       description="An operator (helpdesk): may manage "
                                   "bindings and sessions."),
    policy.RuleDefault("reader", READER + " or " + SERVICE,
                       description="May look but not change anything."),
]


def list_rules():
    return rules
