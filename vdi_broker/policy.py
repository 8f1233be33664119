#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

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


def operator_target(conf):
    """What every rule is checked against: the operator project.

    The broker's records belong to the deployment; the personas are
    bound to the project named by ``[api] operator_project_id``
    (vdi_broker.policies.base). Without one the target has no
    ``project_id`` and every project-bound check fails: only admin and
    service pass.
    """
    project_id = conf.api.operator_project_id
    return {"project_id": project_id} if project_id else {}


def authorize(context, action, target=None):
    """Raise PolicyNotAuthorized unless ``context`` may do ``action``.

    ``target`` may add attributes of the resource; its ``project_id`` is
    always the operator project's.
    """
    enforcer = init()
    target = dict(target or {})
    target.pop("project_id", None)
    target.update(operator_target(enforcer.conf))
    try:
        return enforcer.authorize(action, target, context,
                                  do_raise=True,
                                  exc=exception.PolicyNotAuthorized,
                                  action=action)
    except policy.InvalidScope:
        raise exception.PolicyNotAuthorized(action=action)
