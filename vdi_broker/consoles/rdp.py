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

"""The ``rdp`` console: the desktop's fixed IP and RDP port.

Windows desktops run their own RDP service; the thin client connects to
the desktop's address directly. A ``.rdp`` file is offered for clients
that open one.
"""

from vdi_broker.consoles import base
from vdi_broker import exception


class RdpConsole(base.ConsoleDriver):
    protocol = "rdp"

    def get_connection(self, desktop):
        if not desktop.get("address"):
            raise exception.ServiceUnavailable(
                reason="desktop %s has no address yet" % desktop["id"])
        return {"protocol": self.protocol, "host": desktop["address"],
                "port": self.conf.rdp.port,
                "desktop_name": desktop["name"]}

    def connection_file(self, desktop, connection):
        lines = [
            "full address:s:%s:%d" % (connection["host"],
                                      connection["port"]),
            "screen mode id:i:2",
            "prompt for credentials:i:0",
            "autoreconnection enabled:i:1",
        ]
        return "application/x-rdp", "\r\n".join(lines) + "\r\n"
