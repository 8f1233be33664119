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

"""The kiosk flow's test bench: Xvfb, a broker over HTTP, vdi-broker-tc.

Each test gets a private X display (Xvfb), the broker's whole WSGI
application with the in-process conductor and the fake cloud, served over
real HTTP (tests/fixtures/api_server.py), a spice-direct pool whose
desktops' SPICE ports are those of a :class:`SpiceListener`, and the thin
client as a process on the display, driven with xdotool like a keyboard.
Screenshots go to :func:`thinclient.artefact_dir` (``$VDI_TEST_ARTIFACTS``).
"""

import os
import shutil

import fixtures
import sqlalchemy as sa

from tests import base
from tests.fixtures import api_server
from tests.fixtures import broker as broker_fixture
from tests.fixtures import thinclient
from tests.fixtures import xvfb
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker.guest_agent import protocol

CLIENT_ID = "tc-test-01"
PASSWORD = broker_fixture.PASSWORD
VIEWER = {"remote-viewer": "virt-viewer"}
RDP_CLIENT = {"xfreerdp": "freerdp2-x11"}

DESKS = {"name": "desks", "min_ready": 2, "max_size": 3,
         "release_action": "keep", "console_type": "spice-direct"}
EVERYONE = {"name": "everyone", "priority": 10, "plugin": "pool",
            "pool": "desks", "is_default": True}


def require_tk():
    try:
        import tkinter  # noqa: F401
    except ImportError:
        xvfb.require({"python3-tk (tkinter)": "python3-tk"})


class ThinClientTestCase(base.TestCase):
    """Set up with :meth:`start_broker`, then :meth:`start_client`."""

    language = "en"

    def setUp(self):
        super().setUp()
        require_tk()
        self.display = self.useFixture(xvfb.Xvfb())
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.locale_dir = thinclient.compile_catalogues(
            os.path.join(self.tmp, "locale"))
        self.artefacts = thinclient.artefact_dir(self)
        self.shots = []

    def start_broker(self, pools=(DESKS,), allocators=(EVERYONE,),
                     listen=True, mode="hold", flags=None, rdp=False):
        """The broker; ``flags``: {(group, option): value} overrides.

        With ``rdp``, the desktops' addresses are 127.0.0.n and the RDP
        port is the listener's first port: the first desktop's RDP
        server is the listener.
        """
        self.spice = self.useFixture(thinclient.SpiceListener(
            count=sum(p["max_size"] for p in pools), mode=mode))
        if listen:
            self.spice.listen_all()
        flags = dict(flags or {})
        # The thin client follows the broker's interval: a short one, so
        # that the tests see heartbeats soon.
        flags.setdefault(("client_session", "heartbeat_interval"), 1)
        flags[("fake_compute", "console_host")] = "127.0.0.1"
        flags[("fake_compute", "console_port_base")] = self.spice.base
        if rdp:
            flags[("fake_compute", "address_range")] = "127.0.0.0/29"
            flags[("rdp", "port")] = self.spice.base
        self.broker = broker_fixture.use_broker(self, flags=flags)
        self.broker.setup_call_centre(default=False, pools=list(pools),
                                      allocators=list(allocators))
        self.broker.fill_pools()
        self.server = self.useFixture(api_server.ApiServer(self.broker))
        self.broker.app.post_json("/v1/thin-clients",
                                  {"client_id": CLIENT_ID,
                                   "seat": "SH-2F-001"})
        return self.broker

    def config(self, url=None, seat="SH-2F-001", options=None):
        """A configuration file; ``options``: {(section, option): value}."""
        sections = {
            "broker": {"url": url or self.server.url,
                       "connect_timeout": 2, "read_timeout": 10},
            "client": {"client_id": CLIENT_ID, "seat": seat,
                       "language": self.language,
                       "locale_dir": self.locale_dir},
            "viewer": {"connect_timeout": 10, "kiosk": True},
            "heartbeat": {"interval": 1, "min_interval": 1},
            "session": {"poll_interval": 1},
            # Any end of a connected viewer is the session's end (the
            # tests end viewers quickly); failures are those to connect.
            "faults": {"max_failures": 2, "window": 120, "quick_exit": 0,
                       "retry_delay": 0.2},
        }
        for (section, option), value in (options or {}).items():
            sections.setdefault(section, {})[option] = value
        path = os.path.join(self.tmp, "tc-%d.conf" % len(os.listdir(
            self.tmp)))
        return thinclient.write_config(path, **sections)

    def start_client(self, config_file=None, **config):
        tc = self.useFixture(thinclient.ThinClientProcess(
            self.display, config_file or self.config(**config)))
        tc.showing("login")
        return tc

    def stop_client(self, tc):
        tc.stop()

    # -- the keyboard ---------------------------------------------------------

    def type_login(self, username, password, clear=False):
        """Type into the login window; ``clear``: after a failed login.

        After a failure the focus is in the password entry and the user
        name is still there: go back and delete it first.
        """
        x = self.display.xdotool
        if clear:
            x("key", "shift+Tab", "End")
            x("key", "--repeat", "24", "--delay", "5", "BackSpace")
        x("type", "--delay", "15", username)
        x("key", "Tab")
        x("type", "--delay", "15", password)
        x("key", "Return")

    def login(self, tc, username, password=PASSWORD, expect=None,
              clear=False, timeout=30):
        mark = tc.mark()
        self.type_login(username, password, clear=clear)
        if expect:
            tc.showing(expect, after=mark, timeout=timeout)
        return mark

    def screenshot(self, name):
        """The screen, as ``<artefacts>/<language>-<name>.png``."""
        path = os.path.join(self.artefacts,
                            "%s-%s.png" % (self.language, name))
        self.display.screenshot(path)
        self.shots.append(path)
        self.assertGreater(os.path.getsize(path), 1000, path)
        return path

    # -- the broker's records -------------------------------------------------

    def active_session(self, username):
        sessions = [s for s in db.session_list(self.broker.ctxt)
                    if s["username"] == username and s["state"] == "active"]
        self.assertEqual(1, len(sessions), sessions)
        return sessions[0]

    def console_port(self, desktop_id):
        desktop = db.desktop_get(self.broker.ctxt, desktop_id)
        server = self.broker.cloud.servers[desktop["server_id"]]
        return self.spice.base + server["console_port"]

    def thin_client(self):
        return db.thin_client_get(self.broker.ctxt, CLIENT_ID)

    def move_session(self, session_id, to_desktop_id, username):
        """Give the session another desktop by editing the database.

        The quickest way to change a session's desktop under the thin
        client. The broker moves sessions itself by the five-minute rule
        (conductor/agents.py): :class:`~tests.functional.thinclient.
        test_session_moves.FiveMinuteRuleTest` has the thin client follow
        that move, with the agents played by :meth:`agents_register`.
        """
        with self.broker.database.engine.begin() as conn:
            conn.execute(sa.update(models.Desktop)
                         .where(models.Desktop.id == to_desktop_id)
                         .values(state=models.ASSIGNED,
                                 assigned_user=username))
            conn.execute(sa.update(models.ClientSession)
                         .where(models.ClientSession.id == session_id)
                         .values(desktop_id=to_desktop_id))

    # -- the guest agents (played through the API) ----------------------------

    def agents_register(self):
        """Register the guest agent of every desktop that has a server.

        Needs ``[agent] broker_url`` (any URL: the test is the agent):
        the broker then puts each new server's agent secret in its
        metadata. Returns the desktops registered.
        """
        registered = []
        for desktop in db.desktop_list(self.broker.ctxt):
            if not desktop["server_id"]:
                continue
            self.broker.app.post_json(
                "/v1/agent/register",
                {"desktop_id": desktop["id"], "version": "1", "os": "Linux",
                 "hostname": desktop["name"]},
                headers={protocol.SECRET_HEADER: self._agent_secret(
                    desktop)}, status=200)
            registered.append(desktop)
        return registered

    def agents_report(self, desktops, connection_state="connected"):
        """Each desktop's agent reports: alive, its display running."""
        for desktop in desktops:
            self.broker.app.post_json(
                "/v1/agent/report",
                {"desktop_id": desktop["id"], "display": "running",
                 "connection_state": connection_state, "idle_seconds": 0},
                headers={protocol.SECRET_HEADER: self._agent_secret(
                    desktop)}, status=200)

    def _agent_secret(self, desktop):
        server = self.broker.cloud.servers[desktop["server_id"]]
        return server["metadata"][protocol.META_SECRET]


def viewer_installed():
    xvfb.require(VIEWER)
    return shutil.which("remote-viewer")
