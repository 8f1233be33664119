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

"""A test case with a Nova emulator and a driver configured to reach it."""

import logging

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from tests.fixtures import nova_emulator
from vdi_broker.compute import nova
from vdi_broker.conf import consoles as consoles_conf
from vdi_broker.conf import nova as nova_conf

# Short enough to keep the suite fast, long enough for a loaded machine.
CLIENT_TIMEOUT = 1.0
HOLD = 2.5


def make_conf(emulator, **overrides):
    """A fresh ConfigOpts with [nova] pointing at ``emulator``."""
    conf = cfg.ConfigOpts()
    nova_conf.register_opts(conf)
    consoles_conf.register_opts(conf)
    emulator.configure(conf)
    values = dict(timeout=CLIENT_TIMEOUT, retries=2, retry_delay=0.01,
                  retry_max_delay=0.05, boot_poll_interval=0.02,
                  boot_timeout=5)
    values.update(overrides)
    for name, value in values.items():
        conf.set_override(name, value, group="nova")
    conf([], project="vdi-broker-test", default_config_files=[],
         default_config_dirs=[])
    return conf


class NovaTestCase(testtools.TestCase):
    boot_time = 0.0
    emulator_kwargs = {}

    def setUp(self):
        super().setUp()
        # Keep the expected warnings (retries) out of the test output.
        self.logger = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.emulator = self.useFixture(nova_emulator.NovaEmulator(
            boot_time=self.boot_time, **self.emulator_kwargs))
        self.conf = make_conf(self.emulator)
        self.useFixture(config_fixture.Config(self.conf))
        self.driver = nova.NovaComputeDriver(self.conf)
