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

"""The viewer process: remote-viewer for SPICE, xfreerdp for RDP.

**SPICE.** remote-viewer (Debian package ``virt-viewer``) gets the
broker's ``.vv`` file through a named pipe (FIFO) in a private temporary
directory (mode 0700, under ``$XDG_RUNTIME_DIR`` when there is one): the
file, which may hold a one-time console password, never lands on a
disk. The moment remote-viewer has opened the pipe, the thin client
removes it and its directory, then writes the file; remote-viewer is
told not to delete the file itself (``delete-this-file=0``: it would
find it gone). ``/dev/stdin`` would work too, but the broker's file says
``delete-this-file=1`` and remote-viewer would then delete
``/dev/stdin``. Options:
``--full-screen``, and with ``[viewer] kiosk`` ``--kiosk
--kiosk-quit=on-disconnect`` (no menus, and the viewer ends when the
desktop closes the connection).

**RDP.** xfreerdp (``freerdp2-x11``) cannot read its ``.rdp`` file from
a pipe (it seeks), and the broker's ``.rdp`` file holds nothing but the
address and display settings: the thin client passes the session's
connection details instead, ``/v:<host>:<port> /f +auto-reconnect``.
Nothing is written.

**Connected or not.** A viewer that cannot reach its desktop does not
end: remote-viewer shows an error dialog and waits. :meth:`Viewer.
connected` asks the kernel (psutil) whether the viewer process holds an
established TCP connection to the console's port.
"""

import configparser
import errno
import logging
import os
import re
import shutil
# The viewer is a program of its own; it is started without a shell.
import subprocess  # nosec B404
import tempfile
import threading
import time

import psutil

LOG = logging.getLogger(__name__)

SPICE = "spice"
RDP = "rdp"
PROTOCOLS = (SPICE, RDP)
# How long remote-viewer has to open the pipe.
OPEN_TIMEOUT = 15.0
_DELETE_THIS_FILE = re.compile(r"^delete-this-file=.*$", re.MULTILINE)


class ViewerMissing(Exception):
    """The viewer program is not installed."""

    def __init__(self, program):
        super().__init__(program)
        self.program = program


def console_ports(vv_text):
    """The SPICE host and ports (port, tls-port) a ``.vv`` file names."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(vv_text)
    section = parser["virt-viewer"]
    ports = set()
    for key in ("port", "tls-port"):
        if section.get(key, "").strip().isdigit():
            ports.add(int(section[key]))
    return section.get("host", ""), ports


def spice_command(config, path):
    argv = [config.remote_viewer, "--full-screen"]
    if config.kiosk:
        argv += ["--kiosk", "--kiosk-quit=on-disconnect"]
    return argv + list(config.viewer_args) + [path]


def rdp_command(config, connection):
    host = connection["host"]
    if ":" in host:
        host = "[%s]" % host
    argv = [config.rdp_client, "/v:%s:%d" % (host, int(connection["port"])),
            "/f", "+auto-reconnect"]
    return argv + list(config.rdp_args)


def _runtime_dir():
    path = os.environ.get("XDG_RUNTIME_DIR")
    return path if path and os.path.isdir(path) else None


class Viewer:
    """One viewer process for one desktop."""

    def __init__(self, argv, ports, vv_text=None, address=None):
        self.argv = list(argv)
        self.ports = set(ports)
        self.address = address
        self._vv_text = vv_text
        self.process = None
        self._tmpdir = None

    @classmethod
    def for_spice(cls, config, vv_text):
        host, ports = console_ports(vv_text)
        address = "%s:%s" % (host, "/".join(str(p) for p in sorted(ports)))
        # The pipe's path is set when the viewer starts.
        return cls(spice_command(config, "{pipe}"), ports, vv_text, address)

    @classmethod
    def for_rdp(cls, config, connection):
        return cls(rdp_command(config, connection), [connection["port"]],
                   address="%s:%s" % (connection["host"],
                                      connection["port"]))

    def start(self):
        program = shutil.which(self.argv[0])
        if program is None:
            raise ViewerMissing(self.argv[0])
        argv = [program] + self.argv[1:]
        pipe = None
        if self._vv_text is not None:
            self._tmpdir = tempfile.mkdtemp(prefix="vdi-tc-",
                                            dir=_runtime_dir())
            pipe = os.path.join(self._tmpdir, "console.vv")
            os.mkfifo(pipe, 0o600)
            argv = [pipe if a == "{pipe}" else a for a in argv]
        LOG.info("Starting the viewer: %s", " ".join(argv))
        try:
            # The argv is the configured viewer and a path or address:
            # no shell.
            self.process = subprocess.Popen(  # nosec B603
                argv, stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            self._cleanup()
            raise
        if pipe is not None:
            threading.Thread(target=self._feed, args=(pipe,), daemon=True,
                             name="vdi-tc-console-file").start()

    def _feed(self, pipe):
        """Write the console file into the pipe once the viewer opens it."""
        text = _DELETE_THIS_FILE.sub("delete-this-file=0", self._vv_text)
        data = text.encode("utf-8")
        self._vv_text = text = None
        deadline = time.monotonic() + OPEN_TIMEOUT
        fd = None
        try:
            while fd is None:
                try:
                    # Non-blocking: fails with ENXIO until a reader opens.
                    fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
                except OSError as e:
                    if e.errno != errno.ENXIO:
                        raise
                    if self.process.poll() is not None or \
                            time.monotonic() > deadline:
                        LOG.warning("The viewer did not read its console "
                                    "file")
                        return
                    time.sleep(0.02)
            # The viewer has the pipe open: its name can go.
            self._cleanup()
            os.set_blocking(fd, True)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            LOG.info("The viewer read its console file")
        except OSError as e:
            LOG.warning("Could not hand the console file to the viewer: %s",
                        e)
        finally:
            if fd is not None:
                os.close(fd)
            self._cleanup()

    def _cleanup(self):
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def poll(self):
        return self.process.poll()

    def connected(self):
        """True while the viewer holds a connection to the console."""
        try:
            process = psutil.Process(self.process.pid)
            # net_connections since psutil 6, connections before.
            lister = getattr(process, "net_connections", None) or \
                process.connections
            connections = lister(kind="tcp")
        except psutil.Error:
            return False
        return any(c.status == psutil.CONN_ESTABLISHED and c.raddr and
                   c.raddr.port in self.ports for c in connections)

    def stop(self, timeout=5.0):
        """End the viewer (SIGTERM, then SIGKILL); its exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self._cleanup()
        return self.process.returncode
