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

"""The ``fake`` console: connection details that point nowhere."""

from vdi_broker.consoles import base


class FakeConsole(base.ConsoleDriver):
    protocol = "fake"

    def get_connection(self, desktop):
        return {"protocol": self.protocol,
                "host": desktop.get("address") or "fake-desktop.invalid",
                "port": 5900,
                "desktop_name": desktop["name"]}
