"""The ``fake`` console: connection details that point nowhere."""

from vdi_broker.consoles import base


class FakeConsole(base.ConsoleDriver):
    protocol = "fake"

    def get_connection(self, desktop):
        return {"protocol": self.protocol,
                "host": desktop.get("address") or "fake-desktop.invalid",
                "port": 5900,
                "desktop_name": desktop["name"]}
