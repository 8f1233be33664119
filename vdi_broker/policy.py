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


def credential_sites(context, conf):
    """The sites a context is limited to (lower-case; empty: none).

    From the Keystone roles named ``[api] site_role_prefix`` + site
    (``vdi_site_shanghai``): the site-scoped personas
    (vdi_broker.policies.base).
    """
    prefix = (conf.api.site_role_prefix or "").lower()
    if not prefix:
        return []
    return sorted({role.lower()[len(prefix):]
                   for role in (getattr(context, "roles", None) or ())
                   if role.lower().startswith(prefix) and
                   len(role) > len(prefix)})


def _credentials(context, conf):
    """The context's policy values, with its sites.

    ``sites`` (a list) and ``site_scoped`` (whether there are any) are
    what the ``site_scope`` rule checks (vdi_broker.policies.base).
    """
    creds = context.to_policy_values()
    sites = credential_sites(context, conf)
    creds["sites"] = sites
    creds["site_scoped"] = bool(sites)
    return creds


def _target(enforcer, target):
    target = dict(target or {})
    target.pop("project_id", None)
    target.update(operator_target(enforcer.conf))
    if isinstance(target.get("site"), str):
        target["site"] = target["site"].lower()
    return target


def authorize(context, action, target=None):
    """Raise PolicyNotAuthorized unless ``context`` may do ``action``.

    ``target`` may add attributes of the resource; its ``project_id`` is
    always the operator project's. A resource of a site gives its
    ``site`` (None: of no site): the site-scoped personas may act on
    their sites' only. A target without ``site`` is no site's resource,
    refused to them.
    """
    enforcer = init()
    try:
        return enforcer.authorize(action, _target(enforcer, target),
                                  _credentials(context, enforcer.conf),
                                  do_raise=True,
                                  exc=exception.PolicyNotAuthorized,
                                  action=action)
    except policy.InvalidScope:
        raise exception.PolicyNotAuthorized(action=action)


#: A site no record has: a list is everyone's when its rule passes for it.
ANY_SITE = "\x00any-site"


def site_filter(context, action):
    """Authorize a list of site resources; the sites it may show.

    None: every record (the rule passes whatever the site, as for the
    personas that no site limits); else the (lower-case) sites whose
    records the list may show: those of the context's sites the rule
    passes for. Raises PolicyNotAuthorized when there are none.
    """
    try:
        authorize(context, action, {"site": ANY_SITE})
        return None
    except exception.PolicyNotAuthorized:
        enforcer = init()
        sites = []
        for site in credential_sites(context, enforcer.conf):
            try:
                authorize(context, action, {"site": site})
            except exception.PolicyNotAuthorized:
                continue
            sites.append(site)
        if not sites:
            raise
        return sites


def authorize_list(context, action, filters):
    """Authorize a list of site resources; its filters for the persona.

    A site-scoped persona's list gets the ``sites`` filter (db: the
    record's site, or a desktop's pool's, is one of them).
    """
    sites = site_filter(context, action)
    if sites is None:
        return filters
    return dict(filters or {}, sites=sites)


def authorize_sites(context, action, sites_of):
    """Authorize an action on a record of a site (or records of several).

    ``sites_of``: a callable returning the site(s) of the record (its
    current and, for an update that moves it, its new one), asked only
    when a site limits the persona: a persona of another site gets 403.
    Everyone else is authorized as by :func:`authorize`, before the
    record is read.
    """
    if site_filter(context, action) is None:
        return
    for site in sites_of():
        authorize(context, action, {"site": site})


def authorize_record(context, action, get, site_of=None, also=()):
    """Authorize ``action`` on one record; return the record.

    ``get``: reads the record (raises its NotFound); ``site_of``: the
    record's site from it (default: its ``site``); ``also``: more sites
    the action needs (an update's new site). The record is read
    once; for a persona no site limits, after the authorization (403
    before 404, as for :func:`authorize`).
    """
    site_of = site_of or (lambda record: record["site"])
    found = []

    def sites():
        found.append(get())
        return [site_of(found[0])] + list(also)

    authorize_sites(context, action, sites)
    return found[0] if found else get()
