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

"""Native SPICE through Nova's ``spice-direct`` console (microversion 2.99).

The compute driver asks Nova for a spice-direct console and exchanges its
token, through the admin console-auth-token API, for the host, port and
TLS port of the desktop's SPICE server. The thin client gets those details
and, as a download, a remote-viewer (virt-viewer) ``.vv`` file.

On the Nova side: ``[spice] enabled = true`` and
``[spice] spice_direct_proxy_base_url`` on the API nodes, SPICE (with TLS)
on the compute nodes, and in production a native SPICE proxy in front of
them; the ``[nova]`` user needs the admin console-auth-token API.
"""

from vdi_broker.compute import base as compute_base
from vdi_broker.consoles import base
from vdi_broker import exception

MEDIA_TYPE = "application/x-virt-viewer"
CONSOLE_TYPE = compute_base.SPICE_DIRECT


def _escape(value):
    """A value for a GKeyFile (.vv) line: no line breaks can get in."""
    value = str(value)
    value = (value.replace("\\", "\\\\").replace("\n", "\\n")
             .replace("\r", "\\r").replace("\t", "\\t"))
    value = "".join(c for c in value if c >= " " and c != "\x7f")
    if value.startswith(" "):
        value = "\\s" + value[1:]
    return value


class SpiceDirectConsole(base.ConsoleDriver):
    protocol = "spice"
    compute_console = CONSOLE_TYPE

    def __init__(self, conf, compute):
        super().__init__(conf, compute)
        self._ca = None

    @property
    def _opts(self):
        return self.conf.spice_direct

    def get_connection(self, desktop):
        console = self.compute.get_console(desktop["server_id"],
                                           CONSOLE_TYPE)
        tls_port = console.get("tls_port")
        if self._opts.require_tls and not tls_port:
            raise exception.ConsoleUnavailable(
                console_type=CONSOLE_TYPE, server=desktop["server_id"],
                reason="the console has no TLS port and [spice_direct] "
                       "require_tls is set")
        connection = {
            "protocol": self.protocol,
            "type": CONSOLE_TYPE,
            "host": console["host"],
            "port": None if self._opts.require_tls else console.get("port"),
            "tls_port": tls_port,
        }
        if console.get("password"):
            connection["password"] = console["password"]
        return connection

    def _read_ca(self, desktop):
        if self._ca is None:
            try:
                with open(self._opts.ca_file) as f:
                    self._ca = f.read().strip()
            except OSError as e:
                raise exception.ConsoleUnavailable(
                    console_type=CONSOLE_TYPE, server=desktop["server_id"],
                    reason="cannot read [spice_direct] ca_file: %s"
                           % e.strerror) from None
        return self._ca

    def _title(self, desktop):
        pool = desktop.get("pool") or {}
        name = desktop.get("name") or desktop.get("id")
        if pool.get("name"):
            return "%s - %s" % (pool["name"], name)
        return name

    def connection_file(self, desktop, connection):
        """A remote-viewer ``.vv`` file for ``connection``."""
        lines = ["[virt-viewer]", "type=spice",
                 "host=%s" % _escape(connection["host"])]
        if connection.get("port"):
            lines.append("port=%d" % int(connection["port"]))
        if connection.get("tls_port"):
            lines.append("tls-port=%d" % int(connection["tls_port"]))
        if connection.get("password"):
            lines.append("password=%s" % _escape(connection["password"]))
        lines.append("title=%s" % _escape(self._title(desktop)))
        lines.append("delete-this-file=1")
        lines.append("fullscreen=%d" % (1 if self._opts.fullscreen else 0))
        if connection.get("tls_port"):
            if self._opts.secure_channels:
                lines.append("secure-channels=%s"
                             % ";".join(self._opts.secure_channels))
            if self._opts.ca_file:
                lines.append("ca=%s" % _escape(self._read_ca(desktop)))
            if self._opts.host_subject:
                lines.append("host-subject=%s"
                             % _escape(self._opts.host_subject))
        return MEDIA_TYPE, "\n".join(lines) + "\n"
