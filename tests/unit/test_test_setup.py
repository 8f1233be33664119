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

"""The README's test command prepares a fresh machine by itself.

tools/run-tests.sh runs tools/test-setup.sh before tox, .ci/run runs
exactly the README's command, and the Debian packages test-setup.sh
installs are bindep.txt's "test" profile, no more and no less (mysqlclient
could not build on a fresh machine: libmariadb-dev and pkg-config were
installed by nothing bindep knew of, and the README's command did not run
the set-up).
"""

import os
import re
import shlex

import testtools

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def _read(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as f:
        return f.read()


def bindep_packages(profile, platform):
    """Packages bindep.txt lists for a profile on a platform (dpkg/rpm)."""
    found = set()
    for line in _read('bindep.txt').splitlines():
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r'(\S+)(?:\s+\[([^\]]*)\])?', line)
        name, selector = match.group(1), (match.group(2) or '').split()
        platforms = [s for s in selector if s.startswith('platform:')]
        profiles = [s for s in selector if not s.startswith('platform:')]
        if platforms and 'platform:%s' % platform not in platforms:
            continue
        if profiles and profile not in profiles:
            continue
        found.add(name)
    return found


def test_setup_packages():
    """Every package tools/test-setup.sh may apt-get install."""
    script = _read('tools/test-setup.sh')
    found = set()
    array = re.search(r'BUILD_PACKAGES=\(([^)]*)\)', script)
    found.update(array.group(1).split())
    for line in script.splitlines():
        match = re.match(r'\s*apt_install\s+(.*)$', line)
        if match:
            found.update(w for w in shlex.split(match.group(1))
                         if not w.startswith(('$', '-')))
    return found


def readme_test_command():
    readme = _read('README.rst')
    section = readme.split('Run the test suite', 1)[1]
    match = re.search(r'::\n\n((?:    .*\n)+)', section)
    return match.group(1).strip()


class TestSetupTestCase(testtools.TestCase):

    def test_bindep_lists_what_test_setup_installs(self):
        self.assertEqual(sorted(bindep_packages('test', 'dpkg')),
                         sorted(test_setup_packages()))

    def test_build_packages_for_mysqlclient(self):
        packages = bindep_packages('compile', 'dpkg')
        for name in ('gcc', 'python3-dev', 'libmariadb-dev', 'pkg-config'):
            self.assertIn(name, packages)

    def test_readme_command_runs_the_setup_first(self):
        command = readme_test_command()
        self.assertEqual('tools/run-tests.sh', command)
        script = _read('tools/run-tests.sh')
        setup = script.index('bash tools/test-setup.sh')
        tox = script.index('exec "$BOOTSTRAP/bin/tox"')
        self.assertLess(setup, tox)
        # tox comes from a virtualenv: Debian 12 refuses a system pip
        # install (PEP 668), and python3-venv is among the packages.
        self.assertIn('python3 -m venv', script)
        self.assertIn('python3-venv', test_setup_packages())

    def test_ci_runs_exactly_the_readme_command(self):
        ci = _read('.ci/run')
        command = readme_test_command()
        lines = [line.strip() for line in ci.splitlines()
                 if not line.lstrip().startswith(('#', 'echo'))]
        self.assertIn('%s 2>&1 | tee "$TOX_LOG"' % command, lines)
        # ... and then the integration suite with the same tox.
        self.assertIn('VDI_TEST_SKIP_SETUP=1 %s -e integration 2>&1 |'
                      % command, lines)
