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

"""TLS to the directory: StartTLS and LDAPS with certificate checking."""

from tests.functional.identity import ldap_base
from vdi_broker import exception


class LdapTlsTest(ldap_base.SlapdTestCase):

    def tls_driver(self, url, ca_file, **overrides):
        return self.make_driver(urls=[url], use_tls=True, ca_file=ca_file,
                                **overrides)

    def test_certificate_checking_is_on_by_default(self):
        conf = ldap_base.make_conf(self)
        self.assertTrue(conf.ldap.use_tls)
        self.assertEqual("demand", conf.ldap.tls_req_cert)

    def test_starttls_with_the_right_ca(self):
        driver = self.tls_driver(self.slapd.url, self.slapd.tls["ca_file"])
        p = driver.authenticate("amy", "amy-Pa55")
        self.assertEqual("amy", p.username)
        for pool in (driver._service_pool, driver._auth_pool):
            pc = pool._take_idle()
            self.assertTrue(pc.conn.tls_started)
            self.assertEqual("TLSv1.3", pc.conn.socket.version())

    def test_starttls_by_host_name(self):
        driver = self.tls_driver(
            self.slapd.url.replace("127.0.0.1", "localhost"),
            self.slapd.tls["ca_file"])
        self.assertEqual("amy",
                         driver.authenticate("amy", "amy-Pa55").username)

    def test_ldaps_with_the_right_ca(self):
        driver = self.tls_driver(self.slapd.ldaps_url,
                                 self.slapd.tls["ca_file"])
        self.assertEqual("amy",
                         driver.authenticate("amy", "amy-Pa55").username)
        pc = driver._auth_pool._take_idle()
        self.assertIsNotNone(pc.conn.socket.getpeercert())

    def test_wrong_ca_is_refused(self):
        for url in (self.slapd.url, self.slapd.ldaps_url):
            driver = self.tls_driver(url, self.slapd.tls["wrong_ca_file"])
            err = self.assertRaises(exception.IdentityUnavailable,
                                    driver.authenticate, "amy", "amy-Pa55")
            self.assertIn("CERTIFICATE_VERIFY_FAILED", err.kwargs["reason"],
                          url)
            self.assertEqual(503, err.code)

    def test_host_name_must_match_the_certificate(self):
        driver = self.tls_driver(self.slapd.ldaps_wrong_name_url,
                                 self.slapd.tls["ca_file"])
        err = self.assertRaises(exception.IdentityUnavailable,
                                driver.authenticate, "amy", "amy-Pa55")
        self.assertIn("127.0.0.2", err.kwargs["reason"])
        self.assertIn("TLS", err.kwargs["reason"])

    def test_system_store_does_not_trust_a_private_ca(self):
        driver = self.tls_driver(self.slapd.ldaps_url, None)
        self.assertRaises(exception.IdentityUnavailable,
                          driver.authenticate, "amy", "amy-Pa55")

    def test_never_skips_checking(self):
        driver = self.tls_driver(self.slapd.ldaps_url,
                                 self.slapd.tls["wrong_ca_file"],
                                 tls_req_cert="never")
        self.assertEqual("amy",
                         driver.authenticate("amy", "amy-Pa55").username)
