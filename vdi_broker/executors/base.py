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

"""The guest executor interface.

An executor runs one operation on a set of desktops and returns one
result per desktop. It never raises for a desktop that failed or did
not answer: that desktop's result says so. It raises
:class:`ExecutorUnavailable` only when it could not run anything at all
(its service is down or refuses the broker), which the job runner
treats as a failed attempt of every target of the call.

Every call is bounded: ``timeout`` seconds for the whole call; desktops
that have not answered by then fail with the reason.
"""

import abc

from vdi_broker import exception
from vdi_broker.i18n import _

OK = "ok"
FAILED = "failed"


class ExecutorUnavailable(exception.ServiceUnavailable):
    msg_fmt = _("The guest executor is unavailable: %(reason)s")


class OperationNotSupported(exception.Invalid):
    msg_fmt = _("The %(driver)s executor cannot %(operation)s.")


def ok(output=""):
    return {"state": OK, "output": output or "", "reason": None}


def failed(reason, output=""):
    return {"state": FAILED, "output": output or "", "reason": reason}


def target_view(desktop, pool=None):
    """What an executor knows of a desktop (plain values only)."""
    pool = pool or {}
    return {"id": desktop["id"], "name": desktop["name"],
            "server_id": desktop.get("server_id"),
            "address": desktop.get("address"),
            "pool_id": desktop.get("pool_id"),
            "pool_name": pool.get("name"), "site": pool.get("site"),
            "metadata": dict(pool.get("server_metadata") or {})}


class Executor(metaclass=abc.ABCMeta):
    """Runs operations on desktops.

    ``targets``: a list of :func:`target_view` dicts. Every method returns
    ``{desktop_id: result}`` with one :func:`ok` or :func:`failed` result
    for each target.
    """

    name = None

    def __init__(self, conf):
        self.conf = conf

    @abc.abstractmethod
    def run_command(self, targets, command, timeout):
        """Run a shell command; ok when it exits 0."""

    @abc.abstractmethod
    def apply_state(self, targets, state, pillar, timeout):
        """Apply a named state (configuration) with parameters."""

    @abc.abstractmethod
    def push_file(self, targets, path, contents, mode, timeout):
        """Write ``contents`` (text) to ``path`` on every target."""

    @abc.abstractmethod
    def send_message(self, targets, message, seconds, timeout):
        """Show ``message`` to the logged-in user for ``seconds``."""

    @abc.abstractmethod
    def install_software(self, targets, package, version, timeout):
        """Install (or upgrade to ``version``) a package."""

    @abc.abstractmethod
    def set_password(self, targets, username, password, timeout):
        """Change a local account's password. Never log ``password``."""

    @abc.abstractmethod
    def recover_data(self, targets, paths, destination, timeout):
        """Copy ``paths`` off the desktops to ``destination``."""

    def unsupported(self, operation):
        raise OperationNotSupported(driver=self.name, operation=operation)
