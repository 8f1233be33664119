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

"""Browser consoles served by Nova's own proxies: SPICE HTML5 and noVNC.

The thin client gets a URL (with a one-time token) to open in a browser
or web view; nothing else is needed on its side. Nova must have the
console enabled (``[spice] enabled`` and ``html5proxy_base_url`` with
nova-spicehtml5proxy, or ``[vnc] enabled`` and ``novncproxy_base_url``
with nova-novncproxy).
"""

from vdi_broker.compute import base as compute_base
from vdi_broker.consoles import base


class NovaUrlConsole(base.ConsoleDriver):
    """A console whose connection is a URL from Nova's remote-consoles API."""

    #: Nova's console type.
    console_type = None
    browser = True

    def get_connection(self, desktop):
        console = self.compute.get_console(desktop["server_id"],
                                           self.console_type)
        return {"protocol": self.protocol, "type": self.console_type,
                "url": console["url"]}


class SpiceHtml5Console(NovaUrlConsole):
    protocol = "spice-html5"
    console_type = compute_console = compute_base.SPICE_HTML5


class NoVNCConsole(NovaUrlConsole):
    protocol = "novnc"
    console_type = compute_console = compute_base.NOVNC
