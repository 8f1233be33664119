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

"""vdi-broker-status: upgrade and deployment checks (oslo.upgradecheck).

    vdi-broker-status --config-file /etc/vdi-broker/vdi-broker.conf \
        upgrade check

Each check says what it found and what to do; the command exits 0 when
everything passed, 1 with warnings, 2 with failures.
"""

import sys

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from keystoneclient.v3 import client as ks_client
from keystonemiddleware import auth_token
from oslo_policy import policy as oslo_policy
from oslo_upgradecheck import common_checks
from oslo_upgradecheck import upgradecheck

from vdi_broker.cmd import init_backend  # noqa: F401  (threading first)
from vdi_broker import compute
from vdi_broker.compute import base as compute_base
from vdi_broker.compute import registry
from vdi_broker import conductor
from vdi_broker import conf as vdi_conf
from vdi_broker.conf import opts
from vdi_broker import context as vdi_context
from vdi_broker.db import migration
from vdi_broker.db.sqlalchemy import engine as db_engine
from vdi_broker import exception
from vdi_broker.i18n import _
from vdi_broker import identity
from vdi_broker import policy
from vdi_broker import version

Code = upgradecheck.Code
Result = upgradecheck.Result

# Bounded waits: a status check must answer, whatever is down.
RPC_TIMEOUT = 10


def register_keystone_opts(conf):
    """The [keystone_authtoken] options this command reads.

    keystonemiddleware registers most of them at import and the auth
    plugin's only when it first loads; register both here (idempotent).
    """
    for group, options in auth_token.list_opts():
        # A library's own options, re-registered to be read here.
        conf.register_opts(options, group=group)  # noqa: VB301
    ks_loading.register_auth_conf_options(conf, "keystone_authtoken")


def _error(e):
    return getattr(e, "message", None) or str(e) or type(e).__name__


class Checks(upgradecheck.UpgradeCommands):
    """The broker's checks, run by ``vdi-broker-status upgrade check``."""

    def __init__(self, conf=None):
        self.conf = conf or vdi_conf.CONF

    def _check_database(self):
        try:
            db_engine.configure(self.conf)
            current = migration.db_version()
        except Exception as e:
            return Result(Code.FAILURE,
                          "Cannot read the database: %s" % _error(e))
        head = migration.head_revision()
        if current != head:
            return Result(Code.FAILURE,
                          "The schema is at %s, the code needs %s: run "
                          "'vdi-broker-manage db sync'." % (current, head))
        return Result(Code.SUCCESS, "Schema at %s." % head)

    def _check_policy(self):
        try:
            enforcer = policy.init(self.conf)
            enforcer.load_rules(force_reload=True)
            undefined = not enforcer.check_rules(raise_on_violation=False)
        except Exception as e:
            return Result(Code.FAILURE,
                          "The policy file cannot be loaded: %s" % _error(e))
        if undefined:
            return Result(Code.FAILURE,
                          "The policy file refers to undefined rules; see "
                          "'oslopolicy-checker' and the sample policy.")
        if self.conf.api.auth_strategy == "keystone" and \
                not self.conf.api.operator_project_id:
            return Result(Code.WARNING,
                          "[api] operator_project_id is not set: only the "
                          "admin and service roles may use the admin API. "
                          "Set it to the project whose manager, member and "
                          "reader roles are the broker's operators, "
                          "helpdesk and readers.")
        return Result(Code.SUCCESS)

    def _check_keystone(self):
        if self.conf.api.auth_strategy != "keystone":
            return Result(Code.WARNING,
                          "[api] auth_strategy is %s: the admin API does "
                          "not check Keystone tokens." %
                          self.conf.api.auth_strategy)
        group = "keystone_authtoken"
        register_keystone_opts(self.conf)
        options = self.conf[group]
        try:
            auth = ks_loading.load_auth_from_conf_options(self.conf, group)
            if auth is None:
                return Result(Code.FAILURE,
                              "[keystone_authtoken] has no auth_type.")
            # The same TLS settings keystonemiddleware uses.
            session = ks_session.Session(
                auth=auth, timeout=options.http_connect_timeout or 10,
                verify=False if options.insecure else (options.cafile or
                                                       True))
            keystone = ks_client.Client(session=session)
            services = keystone.services.list(
                type=version.SERVICE_TYPE)
            endpoints = (keystone.endpoints.list(service=services[0].id)
                         if services else [])
        except (ks_exc.ClientException, exception.VdiBrokerException,
                ValueError, TypeError) as e:
            return Result(Code.FAILURE,
                          "Keystone does not accept the [keystone_authtoken] "
                          "service user: %s" % _error(e))
        if not services:
            return Result(Code.WARNING,
                          "Keystone answered, but has no service of type "
                          "'%s' (the broker's endpoint) in its catalog." %
                          version.SERVICE_TYPE)
        if not endpoints:
            return Result(Code.WARNING,
                          "The '%s' service has no endpoint in Keystone." %
                          version.SERVICE_TYPE)
        return Result(Code.SUCCESS, "Keystone answered; the '%s' service "
                                    "has %d endpoint(s)." % (
                                        version.SERVICE_TYPE,
                                        len(endpoints)))

    def _check_compute(self):
        try:
            driver = compute.get_driver(self.conf)
            servers = driver.list_servers(tags=[compute_base.BROKER_TAG])
        except Exception as e:
            return Result(Code.FAILURE,
                          "The cloud (%s driver) cannot be used: %s" % (
                              self.conf.compute.driver, _error(e)))
        result = Result(Code.SUCCESS,
                        "The cloud (%s driver) answered; %d broker servers."
                        % (self.conf.compute.driver, len(servers)))
        # The named clouds ([compute] clouds), each asked the same.
        for name in registry.configured(self.conf):
            try:
                driver = compute.clouds(self.conf).get(name).driver
                servers = driver.list_servers(
                    tags=[compute_base.BROKER_TAG])
            except Exception as e:
                return Result(Code.FAILURE,
                              "Cloud %s cannot be used: %s" % (
                                  name, _error(e)))
            result = Result(Code.SUCCESS, "%s Cloud %s answered; %d broker "
                            "servers." % (result.details, name,
                                          len(servers)))
        return result

    def _check_identity(self):
        try:
            driver = identity.get_driver(self.conf)
            try:
                driver.check_health()
            finally:
                driver.close()
        except Exception as e:
            return Result(Code.FAILURE,
                          "The directory (%s driver) cannot be used: %s" % (
                              self.conf.identity.driver,
                              e.kwargs.get("reason", _error(e))
                              if isinstance(e, exception.VdiBrokerException)
                              else _error(e)))
        return Result(Code.SUCCESS, "The directory (%s driver) answered." %
                      self.conf.identity.driver)

    def _check_conductor(self):
        if self.conf.conductor.use_local:
            return Result(Code.SUCCESS,
                          "The conductor runs in the API process "
                          "([conductor] use_local).")
        self.conf.set_override("conductor_timeout", RPC_TIMEOUT, "api")
        try:
            answer = conductor.get_api(self.conf).ping(
                vdi_context.get_admin_context())
        except exception.ConductorUnavailable:
            return Result(Code.FAILURE,
                          "No conductor answered on topic %s within %d s: "
                          "check the message bus ([DEFAULT] transport_url) "
                          "and that vdi-broker-conductor runs." % (
                              self.conf.conductor.topic, RPC_TIMEOUT))
        finally:
            self.conf.clear_override("conductor_timeout", "api")
        return Result(Code.SUCCESS, "Conductor %s answered over the message "
                                    "bus." % answer.get("host"))

    _upgrade_checks = (
        (_("Database schema"), _check_database),
        (_("Policy file"), _check_policy),
        (_("Policy File JSON to YAML Migration"),
         (common_checks.check_policy_json, {"conf": vdi_conf.CONF})),
        (_("Keystone"), _check_keystone),
        (_("Compute"), _check_compute),
        (_("Directory"), _check_identity),
        (_("Conductor and message bus"), _check_conductor),
    )


def main():
    opts.set_lib_defaults()
    oslo_policy.Enforcer(vdi_conf.CONF)  # registers [oslo_policy]
    return upgradecheck.main(vdi_conf.CONF, project="vdi-broker",
                             upgrade_command=Checks(), argv=sys.argv[1:])
