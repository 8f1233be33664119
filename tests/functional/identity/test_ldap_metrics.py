# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The LDAP driver's operations in the Prometheus metrics (real slapd).

Each directory operation of identity/ldap.py is timed and counted once,
failover included, by operation and result.
"""

import prometheus_client as prom

from tests.functional.identity import ldap_base
from vdi_broker import exception

CALLS = "vdi_ldap_request_duration_seconds_count"


def value(operation, result):
    return prom.REGISTRY.get_sample_value(
        CALLS, {"operation": operation, "result": result}) or 0.0


class LdapMetricsTest(ldap_base.SlapdTestCase):

    def test_login_operations(self):
        driver = self.make_driver()
        before = {op: value(op, "ok")
                  for op in ("find_user", "bind", "groups")}
        driver.authenticate("carol", "carol-Pa55")
        self.assertEqual({"find_user": 1, "bind": 1, "groups": 1},
                         {op: value(op, "ok") - before[op]
                          for op in before})
        # A wrong password is an answer of the directory, not an error.
        self.assertRaises(exception.LoginFailed, driver.authenticate,
                          "carol", "wrong-Pa55")
        self.assertEqual(2, value("bind", "ok") - before["bind"])
        self.assertEqual(1, value("groups", "ok") - before["groups"])

    def test_unreachable_directory(self):
        before = value("find_user", "unavailable")
        health = value("health", "unavailable")
        driver = self.make_driver(urls=[ldap_base.dead_url()],
                                  server_dead_retry=30)
        self.assertRaises(exception.IdentityUnavailable,
                          driver.authenticate, "amy", "amy-Pa55")
        self.assertRaises(exception.IdentityUnavailable,
                          driver.check_health)
        self.assertEqual(1, value("find_user", "unavailable") - before)
        self.assertEqual(1, value("health", "unavailable") - health)
