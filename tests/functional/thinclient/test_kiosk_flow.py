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

"""The kiosk flow with the real viewer: login, SPICE, heartbeats, moves.

An agent types at the login window (xdotool), the broker hands out a
spice-direct desktop of the fake cloud, vdi-broker-tc starts the real
remote-viewer with the broker's .vv file, and remote-viewer connects to
the address in it: the SPICE listener on that desktop's port gets the
link header. Keys and clicks typed during the session reach the broker
in the heartbeats. A session moved to another desktop takes the viewer
there; the viewer's end logs out and brings the login window back.
"""

import psutil

from tests.fixtures import thinclient
from tests.fixtures import xvfb
from tests.functional.thinclient import harness
from vdi_broker.db import api as db


def viewer_children(tc, name="remote-viewer"):
    try:
        children = psutil.Process(tc.process.pid).children(recursive=True)
    except psutil.Error:
        return []
    found = []
    for child in children:
        try:
            if name in child.name():
                found.append(child)
        except psutil.Error:
            continue
    return found


class KioskFlowTest(harness.ThinClientTestCase):

    def setUp(self):
        super().setUp()
        harness.viewer_installed()

    def test_login_viewer_heartbeats_move_and_logout(self):
        broker = self.start_broker()
        tc = self.start_client()
        self.screenshot("login")

        self.login(tc, "amy", expect="viewer")
        session = self.active_session("amy")
        port = self.console_port(session["desktop_id"])
        # remote-viewer got the broker's file (through the pipe) and
        # connected to the SPICE port the broker's file names.
        tc.wait_for(r"Starting the viewer: \S*remote-viewer --full-screen "
                    r"--kiosk --kiosk-quit=on-disconnect \S+/console\.vv$")
        tc.wait_for(r"The viewer read its console file")
        self.assertEqual([port], sorted(set(self.spice.links())))
        viewers = viewer_children(tc)
        self.assertEqual(1, len(viewers))
        self.assertIn("--full-screen", viewers[0].cmdline())
        self.screenshot("viewer")

        # The agent types and clicks; the next heartbeats say so.
        mark = tc.mark()
        self.display.xdotool("key", "--delay", "20", "h", "e", "l", "l",
                             "o")
        self.display.xdotool("click", "1")
        line = tc.wait_for(r"Heartbeat sent: session %s, [1-9]\d* input "
                           r"events" % session["id"], after=mark)
        self.assertIn(session["id"], line)
        record = self.thin_client()
        self.assertEqual(("online", "amy"),
                         (record["status"], record["last_user"]))
        # Five keys and a click, over one or two heartbeats.
        self.assertGreater(record["input_events"], 0)

        # The session moves to another desktop: the viewer follows.
        other = next(d for d in db.desktop_list(broker.ctxt)
                     if d["state"] == "ready")
        mark = tc.mark()
        self.move_session(session["id"], other["id"], "amy")
        tc.wait_for(r"moved from desktop %s to %s" % (session["desktop_id"],
                                                      other["id"]),
                    after=mark)
        tc.showing("viewer", after=mark)
        new_port = self.console_port(other["id"])
        self.assertIn(new_port, self.spice.links())
        self.assertEqual(1, len(viewer_children(tc)))

        # The viewer ends (the agent closed it): logout, login window.
        mark = tc.mark()
        for viewer in viewer_children(tc):
            viewer.terminate()
        tc.showing("logged_out", after=mark)
        self.screenshot("logged-out")
        closed = db.session_get(broker.ctxt, session["id"])
        self.assertEqual(("closed", "logout"),
                         (closed["state"], closed["close_reason"]))
        # The heartbeats go on without a session.
        mark = tc.mark()
        tc.wait_for(r"Heartbeat sent: session none", after=mark)
        self.assertIsNone(self.thin_client()["last_user"])

    def test_stopping_the_client_logs_out(self):
        broker = self.start_broker()
        tc = self.start_client()
        self.login(tc, "amy", expect="viewer")
        session = self.active_session("amy")
        # The kiosk session ends (SIGTERM): the agent is logged out.
        self.assertEqual(0, tc.stop())
        closed = db.session_get(broker.ctxt, session["id"])
        self.assertEqual(("closed", "logout"),
                         (closed["state"], closed["close_reason"]))
        self.assertEqual([], viewer_children(tc))

    def test_rdp_pool_opens_xfreerdp(self):
        xvfb.require(harness.RDP_CLIENT)
        pool = dict(harness.DESKS, console_type="rdp", min_ready=1,
                    max_size=1)
        broker = self.start_broker(pools=(pool,), rdp=True)
        tc = self.start_client()
        self.login(tc, "amy", expect="viewer")
        session = self.active_session("amy")
        self.assertEqual("127.0.0.1", db.desktop_get(
            broker.ctxt, session["desktop_id"])["address"])
        tc.wait_for(r"Starting the viewer: \S*xfreerdp /v:127\.0\.0\.1:%d "
                    r"/f \+auto-reconnect$" % self.spice.base)
        # xfreerdp's X.224 connection request reached the desktop's port.
        self.assertEqual([self.spice.base], self.spice.links(
            magic=thinclient.RDP_MAGIC))
        mark = tc.mark()
        for viewer in viewer_children(tc, "xfreerdp"):
            viewer.terminate()
        tc.showing("logged_out", after=mark)

    def test_quarantine_by_operator_ends_the_session(self):
        broker = self.start_broker()
        tc = self.start_client()
        self.login(tc, "amy", expect="viewer")
        session = self.active_session("amy")
        mark = tc.mark()
        broker.app.post_json(
            "/v1/desktops/%s/action" % session["desktop_id"],
            {"quarantine": {"reason": "blue screen"}}, status=202)
        tc.showing("session_ended", after=mark)
        self.screenshot("session-ended")
        self.assertEqual([], viewer_children(tc))


class ViewerFailureTest(harness.ThinClientTestCase):
    """A viewer that cannot connect, or is dropped, becomes a fault."""

    def setUp(self):
        super().setUp()
        harness.viewer_installed()

    def test_viewer_failures_become_a_fault_report(self):
        broker = self.start_broker(mode="close")
        tc = self.start_client(
            options={("viewer", "connect_timeout"): 2})

        # The desktop's SPICE server closes every connection at once.
        mark = self.login(tc, "amy", expect="reconnecting")
        self.screenshot("reconnecting")
        tc.showing("faulted", after=mark, timeout=60)
        self.screenshot("faulted")
        first = db.session_list(broker.ctxt)[0]
        self.assertEqual("closed", first["state"])
        self.assertIn("quarantined", first["close_reason"])
        desktop = db.desktop_get(broker.ctxt, first["desktop_id"])
        self.assertEqual(("quarantined", "client:%s" % harness.CLIENT_ID),
                         (desktop["state"], desktop["faulted_by"]))
        self.assertIn("could not connect", desktop["fault_reason"])
        # The viewer reached the listener (twice), which dropped it.
        port = self.console_port(desktop["id"])
        self.assertEqual([port, port],
                         [c[0] for c in self.spice.connections])
        events = db.event_list(broker.ctxt,
                               {"action": "desktop.quarantine"})
        self.assertEqual([desktop["id"]], [e["target_id"] for e in events])

        # Next login: another desktop, where nothing listens at all.
        for other in range(self.spice.base, self.spice.base + 3):
            self.spice.close(other)
        self.login(tc, "amy", expect="faulted", timeout=60)
        second = self.active_or_last_session("amy", exclude=first["id"])
        self.assertNotEqual(first["desktop_id"], second["desktop_id"])
        self.assertEqual("quarantined", db.desktop_get(
            broker.ctxt, second["desktop_id"])["state"])
        self.assertEqual(2, len(self.spice.connections))
        self.assertEqual([], viewer_children(tc))

        # Four failed connections in a row, on two desktops: the
        # heartbeats carry them, and the broker sets this thin client
        # faulty ([client_session] faulty_after_failures is 3).
        mark = tc.mark()
        tc.wait_for(r"Heartbeat sent: session none, .* 4 failed "
                    r"connections$", after=mark)
        record = self.thin_client()
        self.assertEqual("faulty", record["status"])
        self.assertIn("4 connections failed in a row: the viewer",
                      record["fault_reason"])
        self.assertEqual(4, record["health"]["connection_failures"])

    def active_or_last_session(self, username, exclude):
        sessions = [s for s in db.session_list(self.broker.ctxt)
                    if s["username"] == username and s["id"] != exclude]
        self.assertEqual(1, len(sessions), sessions)
        return sessions[0]
