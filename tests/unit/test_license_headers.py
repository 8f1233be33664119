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

"""Every Python file carries the Apache-2.0 header (hacking H102/H103).

flake8's hacking checks run in ``tox -e pep8``; this test keeps the rule
in the unit suite too, which ``.ci/run`` runs on every change.
"""

import os
import subprocess

import testtools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
NOTICE = 'Licensed under the Apache License, Version 2.0 (the "License")'


class LicenseTest(testtools.TestCase):

    def _tracked(self, *patterns):
        try:
            out = subprocess.run(
                ["git", "-C", ROOT, "ls-files", "--"] + list(patterns),
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True, timeout=30, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            self.skipTest("not a git checkout")
        return [p for p in out.splitlines() if p]

    def test_license_file(self):
        with open(os.path.join(ROOT, "LICENSE")) as f:
            text = f.read()
        self.assertIn("Apache License", text)
        self.assertIn("Version 2.0, January 2004", text)

    def test_every_python_file_has_the_header(self):
        files = self._tracked("*.py", "*.py.mako")
        self.assertGreater(len(files), 100)
        missing = []
        for path in files:
            with open(os.path.join(ROOT, path), encoding="utf-8") as f:
                text = f.read()
            if text.strip() and NOTICE not in text[:2000]:
                missing.append(path)
        self.assertEqual([], missing)
