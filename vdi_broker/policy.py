"""Policy enforcement for the admin API (oslo.policy, policy in code)."""

import threading

from oslo_config import cfg
from oslo_policy import policy

from vdi_broker import exception
from vdi_broker import policies

_ENFORCER = None
_LOCK = threading.Lock()


def init(conf=None):
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is None:
            _ENFORCER = policy.Enforcer(conf or cfg.CONF)
            _ENFORCER.register_defaults(policies.list_rules())
            _ENFORCER.load_rules()
    return _ENFORCER


def reset():
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is not None:
            _ENFORCER.clear()
        _ENFORCER = None


def get_enforcer():
    """For the oslopolicy-* tools (the oslo.policy.enforcer entry point)."""
    cfg.CONF([], project="vdi-broker")
    return init()


def authorize(context, action, target=None):
    """Raise PolicyNotAuthorized unless ``context`` may do ``action``."""
    enforcer = init()
    try:
        return enforcer.authorize(action, target or {}, context,
                                  do_raise=True,
                                  exc=exception.PolicyNotAuthorized,
                                  action=action)
    except policy.InvalidScope:
        raise exception.PolicyNotAuthorized(action=action)
