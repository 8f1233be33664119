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

"""Base classes for the broker's tests."""

import fixtures
from oslo_config import fixture as config_fixture
from oslo_log import log as logging
import testtools

from vdi_broker import conf as vdi_conf
from vdi_broker.conf import opts
from vdi_broker import policy

_LOGGING_REGISTERED = False


def _register_logging():
    global _LOGGING_REGISTERED
    if not _LOGGING_REGISTERED:
        logging.register_options(vdi_conf.CONF)
        _LOGGING_REGISTERED = True


class TestCase(testtools.TestCase):
    """Test case with the broker's global configuration isolated.

    oslo.messaging registers some options only on the global CONF, so the
    tests use it too and the config fixture resets it after each test.
    """

    def setUp(self):
        super().setUp()
        _register_logging()
        self.useFixture(fixtures.Timeout(300, gentle=True))
        self.conf_fixture = self.useFixture(
            config_fixture.Config(vdi_conf.CONF))
        self.conf = vdi_conf.CONF
        opts.set_lib_defaults()
        self.conf([], project="vdi-broker", default_config_files=[],
                  default_config_dirs=[])
        # Tests never reach a real cloud or directory unless they say so.
        self.flags(group="compute", driver="fake")
        self.flags(group="identity", driver="static")
        self.addCleanup(policy.reset)

    def flags(self, group=None, **kw):
        for name, value in kw.items():
            self.conf.set_override(name, value, group)
