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

"""The broker's commands start without eventlet and its warnings.

oslo.service requires eventlet, so pip installs it; tox and
tools/run-demo.sh remove it again (tools/remove-eventlet.py). tox sets
VDI_BROKER_REQUIRE_NO_EVENTLET=1, so there these tests fail when eventlet
is installed; in another virtualenv that has it they are skipped.
"""

import importlib.util
import os
import subprocess
import sys

import testtools

ENTRY_MODULES = ('vdi_broker.cmd.api', 'vdi_broker.cmd.conductor',
                 'vdi_broker.cmd.manage', 'vdi_broker.cmd.status',
                 'vdi_broker.demo.shift')


class NoEventletTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if (importlib.util.find_spec('eventlet') is not None and
                os.environ.get('VDI_BROKER_REQUIRE_NO_EVENTLET') != '1'):
            self.skipTest('eventlet is installed in this environment '
                          '(tools/remove-eventlet.py removes it)')

    def test_eventlet_is_not_installed(self):
        self.assertIsNone(importlib.util.find_spec('eventlet'),
                          'eventlet is installed: run '
                          'tools/remove-eventlet.py with this python')

    def test_commands_import_without_warnings(self):
        code = ('import sys\n'
                'for name in %r:\n'
                '    __import__(name)\n'
                'assert "eventlet" not in sys.modules, "eventlet imported"\n'
                % (ENTRY_MODULES,))
        # Python's default warning filters, as a user's shell has them.
        env = {k: v for k, v in os.environ.items()
               if k != 'PYTHONWARNINGS'}
        proc = subprocess.run([sys.executable, '-c', code], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=120)
        stderr = proc.stderr.decode(errors='replace')
        self.assertEqual(0, proc.returncode, stderr)
        self.assertNotIn('EventletDeprecationWarning', stderr)
        self.assertEqual('', stderr)


class ThreadingBackendTestCase(testtools.TestCase):
    """Every entry point runs oslo.service's threading backend."""

    def _backend_after_import(self, module):
        code = ('import %s\n'
                'from oslo_service import backend\n'
                'print(backend.get_backend_type().value)\n' % module)
        proc = subprocess.run([sys.executable, '-c', code],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=120)
        self.assertEqual(0, proc.returncode,
                         proc.stderr.decode(errors='replace'))
        return proc.stdout.decode().strip()

    def test_wsgi_package(self):
        # uWSGI and gunicorn import vdi_broker.wsgi.api, whose package
        # imports the API (and oslo.messaging) before init_application.
        self.assertEqual('threading',
                         self._backend_after_import('vdi_broker.wsgi'))

    def test_commands(self):
        for module in ENTRY_MODULES[:4]:
            self.assertEqual('threading', self._backend_after_import(module),
                             module)
