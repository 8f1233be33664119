from oslo_policy import policy

from vdi_broker.policies import base

PREFIX = "vdi_broker:desktops:%s"

ACTION_PATH = "/v1/desktops/{desktop_id}/action"

# Desktop actions (POST /v1/desktops/{desktop_id}/action): who may run
# each. Quarantine is also open to the service role, so that monitoring
# can take a desktop out of service.
ACTIONS = {
    "reboot": (base.RULE_ADMIN, "Reboot a desktop's server."),
    "rebuild": (base.RULE_ADMIN,
                "Rebuild a desktop's server from its pool's image."),
    "replace": (base.RULE_ADMIN,
                "Replace a desktop: its binding moves to a ready desktop "
                "of the pool, the desktop is deleted."),
    "move": (base.RULE_ADMIN,
             "Give a user-bound desktop to another user."),
    "quarantine": (base.RULE_SERVICE,
                   "Take a desktop out of service for a fault (its server "
                   "is locked, its binding moves)."),
    "unquarantine": (base.RULE_ADMIN,
                     "Put a quarantined desktop back in service."),
}

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % "list", check_str=base.RULE_READER,
        description="List desktops.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/desktops"}]),
    policy.DocumentedRuleDefault(
        name=PREFIX % "show", check_str=base.RULE_READER,
        description="Show a desktop.", scope_types=["project"],
        operations=[{"method": "GET", "path": "/v1/desktops/{desktop_id}"}]),
] + [
    policy.DocumentedRuleDefault(
        name=PREFIX % ("action:" + name), check_str=check,
        description=description, scope_types=["project"],
        operations=[{"method": "POST", "path": ACTION_PATH}])
    for name, (check, description) in ACTIONS.items()
]


def list_rules():
    return rules
