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

"""Personas of the admin API (consistent and secure RBAC).

The broker's records (pools, allocators, desktops, sessions, ...) belong
to the deployment, not to the project of whoever calls. As Nova and
Placement do for a project's resources, the personas are the standard
Keystone roles *in one project*: the operator project,
``[api] operator_project_id``. :func:`vdi_broker.policy.authorize` puts
that project into every target as ``project_id``, so
``project_id:%(project_id)s`` holds only for a token scoped to it. A
member or reader of any other project is refused; with no operator
project configured, only ``admin`` and ``service`` pass.

=========  ===============================  ================================
persona    role                             may
=========  ===============================  ================================
admin      ``admin`` (any project)          everything
operator   ``manager`` of the op. project   run the call centre: seats, thin
                                            clients, schedules, pool sizes,
                                            every desktop action
helpdesk   ``member`` of the op. project    help one user: bindings, force a
                                            logout, reboot or quarantine a
                                            desktop
reader     ``reader`` of the op. project    read everything
service    ``service`` (any project)        read desktops, quarantine one
=========  ===============================  ================================

**Site-scoped personas.** A user who also has a role named ``[api]
site_role_prefix`` + a site (``vdi_site_shanghai``) is limited to that
site (several such roles: several sites): the ``site_scope`` rule
compares the target's ``site`` with the sites of the credentials
(vdi_broker.policy adds ``sites`` and ``site_scoped`` to them). The
sessions, desktops (their pool's site), seats, thin clients and pools
put their site in the target; their lists show the persona's sites'
records only and a single record of another site answers 403. Every
other resource has no site in its target, which ``site_scope`` refuses
to a site-scoped persona. Admin and service are never site-scoped.

Creating and deleting pools and changing the allocator chain stay with
``admin``: they decide what the cloud boots and who gets which desktop.
Each persona includes the ones below it; the check strings name the
roles explicitly instead of relying on Keystone's implied roles
(``manager`` implies ``member`` implies ``reader``), which deployments
bootstrapped before the ``manager`` role existed may lack.
"""

from oslo_policy import policy

RULE_ADMIN = "rule:admin"
RULE_OPERATOR = "rule:operator"
RULE_HELPDESK = "rule:helpdesk"
RULE_READER = "rule:reader"
RULE_SERVICE = "rule:service"

# The target's project: the operator project (vdi_broker.policy).
_IN_OPERATOR_PROJECT = "project_id:%(project_id)s"
# The persona's sites, if a site role limits it (vdi_broker.policy).
_IN_SITE = "rule:site_scope"

rules = [
    policy.RuleDefault(
        "admin", "role:admin",
        description="An administrator of the cloud (the admin role in any "
                    "project)."),
    policy.RuleDefault(
        "site_scope", "site_scoped:False or sites:%(site)s",
        description="The target is of one of the persona's sites, or no "
                    "site role ([api] site_role_prefix) limits the "
                    "persona. A target without a site passes only the "
                    "latter."),
    policy.RuleDefault(
        "operator",
        "rule:admin or (role:manager and %s and %s)" % (
            _IN_OPERATOR_PROJECT, _IN_SITE),
        description="An operator of the broker: the manager role in the "
                    "operator project ([api] operator_project_id)."),
    policy.RuleDefault(
        "helpdesk",
        "rule:operator or (role:member and %s and %s)" % (
            _IN_OPERATOR_PROJECT, _IN_SITE),
        description="The helpdesk: the member role in the operator "
                    "project."),
    policy.RuleDefault(
        "reader",
        "rule:helpdesk or (role:reader and %s and %s)" % (
            _IN_OPERATOR_PROJECT, _IN_SITE),
        description="May look but not change anything: the reader role in "
                    "the operator project."),
    policy.RuleDefault(
        "service", "role:service",
        description="Another OpenStack service (the service role), such "
                    "as a monitoring service that quarantines desktops."),
]


def list_rules():
    return rules
