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

"""The API's modules import on their own, in a fresh interpreter.

A circular import shows only when a module is the first of its cycle to
be imported (``vdi_broker.api.openapi`` before the route table, as a
documentation build or a script would): each one is imported first here,
in a process of its own.
"""

import subprocess
import sys

import testtools

MODULES = (
    "vdi_broker.api.openapi",
    "vdi_broker.api.handlers.root",
    "vdi_broker.api.handlers.openapi",
    "vdi_broker.api.handler",
    "vdi_broker.api.lean",
)


class ImportFirstTest(testtools.TestCase):

    def test_each_module_imports_first(self):
        for module in MODULES:
            result = subprocess.run(
                [sys.executable, "-c", "import %s" % module],
                capture_output=True, text=True, timeout=120)
            self.assertEqual(0, result.returncode,
                             "%s: %s" % (module, result.stderr[-2000:]))
