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

"""tools/run-demo.sh, the README's first command, run for real.

With the broker of this environment (VDI_DEMO_VENV), a free port and a
temporary state directory: a short shift passes both checks; a port that
another program holds, or an API that cannot start, stop the script at
once with a message instead of running the shift against someone else.
"""

import os
import socket
import subprocess
import sys
import time

import fixtures
import testtools

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
SCRIPT = os.path.join(ROOT, 'tools', 'run-demo.sh')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class RunDemoTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(600, gentle=True))
        self.state = self.useFixture(fixtures.TempDir()).path

    def run_demo(self, port, timeout, **env):
        env = dict(os.environ, VDI_DEMO_PORT=str(port),
                   VDI_DEMO_STATE=self.state, VDI_DEMO_VENV=sys.prefix,
                   VDI_DEMO_EXIT='1',
                   VDI_DEMO_PORTAL_PORT=str(free_port()), **env)
        start = time.monotonic()
        proc = subprocess.run(['bash', SCRIPT], env=env,
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)
        return (proc.returncode, proc.stdout.decode(errors='replace'),
                proc.stderr.decode(errors='replace'),
                time.monotonic() - start)

    def test_port_taken_by_another_program(self):
        with socket.socket() as other:
            other.bind(('127.0.0.1', 0))
            other.listen()
            port = other.getsockname()[1]
            rc, out, err, took = self.run_demo(port, timeout=60)
        self.assertEqual(1, rc, out + err)
        self.assertIn('port %d on 127.0.0.1 is already in use' % port, err)
        self.assertLess(took, 30)
        # Nothing was installed, written or started.
        self.assertEqual([], os.listdir(self.state))

    def test_api_that_does_not_start(self):
        # An invalid port: the API exits at start-up.
        rc, out, err, took = self.run_demo(70000, timeout=120,
                                           VDI_DEMO_AGENTS='10')
        self.assertEqual(1, rc, out + err)
        self.assertIn('vdi-broker-api exited before it served on port '
                      '70000', err)
        self.assertIn('bind_port', err)
        self.assertNotIn('Morning shift', out)

    def test_short_shift_passes_both_checks(self):
        rc, out, err, _took = self.run_demo(free_port(), timeout=540,
                                            VDI_DEMO_AGENTS='40')
        self.assertEqual(0, rc, out + err)
        self.assertIn('40 agents served, 0 refused', out)
        self.assertIn('PASS  no desktop held by two people', out)
        self.assertIn('PASS  bound users back on their own desktop', out)
        self.assertNotIn('FAIL', out)
        progress = [line for line in out.splitlines()
                    if line.startswith('  ready desktops:')]
        self.assertTrue(progress, out)
        self.assertEqual(len(progress), len(set(progress)), out)
        # No warnings (eventlet's or others) on the way.
        self.assertEqual('', err)
