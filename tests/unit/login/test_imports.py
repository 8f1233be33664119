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

"""The API over RPC loads neither the conductor nor a compute driver."""

import subprocess
import sys

from tests import base

CHECK = """
import sys
from vdi_broker.api import deploy
from vdi_broker.api.handlers import client
from vdi_broker.login import service
loaded = sorted(m for m in sys.modules if m in (
    'vdi_broker.conductor.manager', 'vdi_broker.conductor.desktop_actions',
    'vdi_broker.compute.nova', 'vdi_broker.compute.fake'))
print(','.join(loaded))
"""


class TestApiImports(base.TestCase):

    def test_api_imports_no_conductor_manager_nor_compute(self):
        out = subprocess.run([sys.executable, "-c", CHECK], check=True,
                             stdout=subprocess.PIPE, text=True,
                             timeout=60).stdout.strip()
        self.assertEqual("", out)
