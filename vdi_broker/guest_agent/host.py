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

"""What the agent reports about its desktop, behind small functions.

:func:`probe` returns one report's fields. Each field has one small
function per platform; a field the platform cannot tell is None (the
broker then judges without it).

Linux (the implementation here):

* display: the remote display service listens on its TCP port (xrdp's
  3389 by default; ``--display-port``), from ``/proc/net/tcp{,6}``;
* connection: an ESTABLISHED connection to that port (a thin client's
  viewer is connected);
* logged-on user and idle seconds: ``loginctl`` (systemd-logind: the
  active graphical or remote session, its ``IdleHint`` and
  ``IdleSinceHint``), else ``who`` (user only);
* CPU: ``/proc/stat`` between two reports; memory: ``/proc/meminfo``
  (MemAvailable against MemTotal); disk free: ``shutil.disk_usage``.

Windows: :mod:`vdi_broker.guest_agent.windows` (ctypes against
wtsapi32, kernel32 and user32), imported on Windows only; if its DLLs
cannot be loaded, only the free disk is reported. Other platforms: only
the free disk.
"""

import logging
import os
import shutil
import subprocess
import sys
import time

LOG = logging.getLogger(__name__)
COMMAND_TIMEOUT = 3.0
# /proc/net/tcp states.
_LISTEN = "0A"
_ESTABLISHED = "01"


def _run(argv):
    """A command's output, or None (missing, failed, too slow)."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True,
                                timeout=COMMAND_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout


# -- Linux ------------------------------------------------------------------

def _tcp_states(port, proc_root="/proc"):
    """The states of the local sockets on ``port`` (IPv4 and IPv6)."""
    found = set()
    for name in ("tcp", "tcp6"):
        try:
            with open(os.path.join(proc_root, "net", name)) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4:
                continue
            local, state = fields[1], fields[3]
            try:
                local_port = int(local.rsplit(":", 1)[1], 16)
            except (IndexError, ValueError):
                continue
            if local_port == port:
                found.add(state)
    return found


def linux_display(port, proc_root="/proc"):
    """(display, connection_state) from the display port's sockets."""
    found = _tcp_states(port, proc_root)
    display = "running" if _LISTEN in found else "stopped"
    connection = "connected" if _ESTABLISHED in found else "disconnected"
    return display, connection


def _loginctl_sessions():
    out = _run(["loginctl", "list-sessions", "--no-legend"])
    if out is None:
        return None
    sessions = []
    for line in out.splitlines():
        fields = line.split()
        if fields:
            sessions.append(fields[0])
    return sessions


def _loginctl_show(session_id):
    out = _run(["loginctl", "show-session", session_id, "-p", "Name",
                "-p", "Type", "-p", "Remote", "-p", "State", "-p",
                "Class", "-p", "IdleHint", "-p", "IdleSinceHint"])
    if out is None:
        return None
    return dict(line.split("=", 1) for line in out.splitlines()
                if "=" in line)


def linux_user(now=None):
    """(logged-on user, idle seconds) of the desktop's user session."""
    now = time.time() if now is None else now
    sessions = _loginctl_sessions()
    if sessions:
        best = None
        for session_id in sessions:
            info = _loginctl_show(session_id)
            if not info or info.get("Class") != "user":
                continue
            if info.get("Type") in ("x11", "wayland") or \
                    info.get("Remote") == "yes":
                if best is None or info.get("State") == "active":
                    best = info
        if best is not None:
            idle = 0
            if best.get("IdleHint") == "yes":
                try:
                    since = int(best.get("IdleSinceHint") or 0) / 1e6
                except ValueError:
                    since = 0
                idle = max(0, int(now - since)) if since else None
            return best.get("Name") or None, idle
    out = _run(["who"])
    if out:
        first = out.splitlines()[0].split()
        if first:
            return first[0], None
    return None, None


class CpuSampler:
    """CPU busy percent between two calls, from /proc/stat."""

    def __init__(self, proc_root="/proc"):
        self.path = os.path.join(proc_root, "stat")
        self.last = None

    def _read(self):
        try:
            with open(self.path) as f:
                fields = f.readline().split()[1:]
        except OSError:
            return None
        values = [int(v) for v in fields]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values), idle

    def percent(self):
        now = self._read()
        last, self.last = self.last, now
        if now is None or last is None:
            return None
        total = now[0] - last[0]
        if total <= 0:
            return None
        return round(100.0 * (total - (now[1] - last[1])) / total, 1)


def linux_memory_percent(proc_root="/proc"):
    values = {}
    try:
        with open(os.path.join(proc_root, "meminfo")) as f:
            for line in f:
                name, _, rest = line.partition(":")
                values[name] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return None
    total = values.get("MemTotal")
    available = values.get("MemAvailable")
    if not total or available is None:
        return None
    return round(100.0 * (total - available) / total, 1)


def disk_free_mb(path=None):
    path = path or ("C:\\" if sys.platform == "win32" else "/")
    try:
        return shutil.disk_usage(path).free // (1024 * 1024)
    except OSError:
        return None


# -- the report ---------------------------------------------------------------

class Host:
    """One desktop's probes; ``probe()`` gives a report's fields."""

    def __init__(self, display_port=3389, proc_root="/proc",
                 platform=sys.platform):
        self.display_port = display_port
        self.proc_root = proc_root
        self.platform = platform
        self.cpu = CpuSampler(proc_root)
        self._windows = None

    def windows(self):
        """The Windows probes (loaded once), or None if they cannot be."""
        if self._windows is None:
            try:
                # Imported here: Linux never loads it.
                from vdi_broker.guest_agent import windows
                self._windows = windows.WindowsProbes()
            except (AttributeError, OSError) as e:
                LOG.error("The Windows probes cannot be loaded (%s): only "
                          "the free disk is reported", e)
                self._windows = False
        return self._windows or None

    def probe(self):
        if self.platform.startswith("linux"):
            display, connection = linux_display(self.display_port,
                                                self.proc_root)
            username, idle = linux_user()
            return {"display": display, "connection_state": connection,
                    "username": username, "idle_seconds": idle,
                    "cpu_percent": self.cpu.percent(),
                    "memory_percent": linux_memory_percent(self.proc_root),
                    "disk_free_mb": disk_free_mb()}
        if self.platform == "win32" and self.windows() is not None:
            return self._windows.probe()
        # Others: see the module's documentation.
        return {"display": None, "connection_state": None,
                "username": None, "idle_seconds": None,
                "cpu_percent": None, "memory_percent": None,
                "disk_free_mb": disk_free_mb()}
