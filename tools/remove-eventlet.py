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

"""Uninstall eventlet from the running interpreter's environment.

``pipdeptree -r -p eventlet`` in a clean install of requirements.txt:

    eventlet
    └── oslo.service [requires: eventlet>=0.27.0]
        └── oslo.messaging [requires: oslo.service>=1.24.0]

oslo.service (ours, and oslo.messaging's) requires eventlet, although the
broker runs oslo.service's threading backend and never uses it. When
eventlet is importable, futurist and oslo.utils import it at start-up and
every command prints eventlet's deprecation warning. pip cannot leave out
a dependency's requirement, so tox (commands_pre) and tools/run-demo.sh
remove it after installing: run this with the environment's python.
"""

import importlib.util
import subprocess
import sys


def main():
    if importlib.util.find_spec("eventlet") is None:
        return 0
    return subprocess.call([sys.executable, "-m", "pip", "uninstall",
                            "--yes", "--quiet", "eventlet"])


if __name__ == "__main__":
    sys.exit(main())
