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

"""An in-memory guest executor for the all-in-one mode and tests.

Nothing runs anywhere: every call is recorded (:data:`CALLS`, shared by
the process, password values replaced) and answered at once, ``ok``
with an output that names the operation, but for the desktops listed in
``[fake_executor] fail_targets`` (failed) and ``unreachable_targets``
(failed with a timeout, as a silent agent). The same inputs always give
the same results.
"""

import threading
import time

from vdi_broker.executors import base

# Every call of every fake executor of the process, oldest first:
# {"operation", "targets": [desktop ids], "args": {...}}.
CALLS = []
_LOCK = threading.Lock()


def reset():
    with _LOCK:
        del CALLS[:]


def calls(operation=None):
    with _LOCK:
        return [dict(c) for c in CALLS
                if operation is None or c["operation"] == operation]


class FakeExecutor(base.Executor):
    name = "fake"

    def _run(self, operation, targets, timeout, args, describe):
        options = self.conf.fake_executor
        with _LOCK:
            CALLS.append({"operation": operation,
                          "targets": [t["id"] for t in targets],
                          "args": args})
        if options.delay:
            time.sleep(min(options.delay, timeout))
        fail = set(options.fail_targets)
        silent = set(options.unreachable_targets)
        results = {}
        for target in targets:
            names = {target["id"], target["name"]}
            if names & silent:
                results[target["id"]] = base.failed(
                    "no answer from %s within %d s" % (target["name"],
                                                       timeout))
            elif names & fail:
                results[target["id"]] = base.failed(
                    "%s failed on %s (fake)" % (operation, target["name"]),
                    output="fake: %s failed" % describe)
            else:
                results[target["id"]] = base.ok(
                    "fake: %s on %s" % (describe, target["name"]))
        return results

    def run_command(self, targets, command, timeout):
        return self._run("run_command", targets, timeout,
                         {"command": command}, "ran %r" % command)

    def apply_state(self, targets, state, pillar, timeout):
        return self._run("apply_state", targets, timeout,
                         {"state": state, "pillar": pillar},
                         "applied state %s" % state)

    def push_file(self, targets, path, contents, mode, timeout):
        return self._run("push_file", targets, timeout,
                         {"path": path, "size": len(contents),
                          "mode": mode},
                         "wrote %d characters to %s" % (len(contents),
                                                        path))

    def send_message(self, targets, message, seconds, timeout):
        return self._run("send_message", targets, timeout,
                         {"message": message, "seconds": seconds},
                         "showed a message for %d s" % seconds)

    def install_software(self, targets, package, version, timeout):
        return self._run("install_software", targets, timeout,
                         {"package": package, "version": version},
                         "installed %s %s" % (package, version or "latest"))

    def set_password(self, targets, username, password, timeout):
        # The password itself is never recorded, only that one was given.
        return self._run("set_password", targets, timeout,
                         {"username": username,
                          "password_given": bool(password)},
                         "changed the password of %s" % username)

    def recover_data(self, targets, paths, destination, timeout):
        return self._run("recover_data", targets, timeout,
                         {"paths": list(paths), "destination": destination},
                         "copied %d paths to %s" % (len(paths),
                                                    destination))
