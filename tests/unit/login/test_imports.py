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
