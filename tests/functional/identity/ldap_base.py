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

"""Shared set-up of the LDAP functional tests: one slapd per test class."""

import logging
import socket
import threading

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from tests.fixtures import slapd
from vdi_broker.conf import ldap as ldap_conf
from vdi_broker.conf import login_throttle as throttle_conf
from vdi_broker.identity import ldap as ldap_driver


def make_conf(test, **ldap_overrides):
    """A fresh ConfigOpts with [ldap] and [login_throttle] registered."""
    conf = cfg.ConfigOpts()
    ldap_conf.register_opts(conf)
    throttle_conf.register_opts(conf)
    fixture = test.useFixture(config_fixture.Config(conf))
    conf([], project="vdi-broker-test", default_config_files=[],
         default_config_dirs=[])
    fixture.config(group="ldap", **ldap_overrides)
    return conf


class ClassSlapdMixin:
    """One slapd with the call-centre data for the whole test class."""

    slapd = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.slapd = slapd.SlapdFixture()
        cls.slapd.setUp()
        cls.addClassCleanup(cls.slapd.cleanUp)


class SlapdTestCase(ClassSlapdMixin, testtools.TestCase):
    """Starts one slapd with the call-centre data for the whole class."""

    def setUp(self):
        super().setUp()
        # Keep the driver's warnings (failovers) out of the test output.
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))

    def ldap_options(self, **overrides):
        options = dict(
            urls=[self.slapd.url], use_tls=False,
            bind_dn=slapd.SERVICE_DN, bind_password=slapd.SERVICE_PASSWORD,
            user_base=slapd.USER_BASE, group_base=slapd.GROUP_BASE,
            connect_timeout=1.0, receive_timeout=1.0, server_dead_retry=0.5,
            pool_size=4, pool_wait_timeout=2.0)
        options.update(overrides)
        return options

    def make_driver(self, **overrides):
        self.conf = make_conf(self, **self.ldap_options(**overrides))
        driver = ldap_driver.LdapIdentityDriver(self.conf)
        self.addCleanup(driver.close)
        return driver


class HungServer:
    """A TCP server that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = "ldap://127.0.0.1:%d" % self.port
        self.accepted = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(conn)  # keep it open, never read/write

    def close(self):
        self._stop = True
        self.thread.join(2)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def dead_url():
    """A URL where nothing listens: connections are refused at once."""
    return "ldap://127.0.0.1:%d" % slapd.free_port()
