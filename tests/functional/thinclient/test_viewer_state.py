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

"""The heartbeats say whether the real viewer is connected (API 1.2).

vdi-broker-tc starts remote-viewer on a spice-direct desktop of the fake
cloud; while remote-viewer holds its connection to the SPICE listener the
heartbeats (at version 1.2) say "connected" and the broker records it on
the session. When the desktop's display goes away under a viewer that
does not quit (no kiosk), the next heartbeats say "disconnected" and the
broker records since when.
"""

from tests.functional.thinclient import harness
from vdi_broker.db import api as db
from vdi_broker import states

HEARTBEAT = "/v1/client/heartbeat"


class ViewerStateTest(harness.ThinClientTestCase):

    def setUp(self):
        super().setUp()
        harness.viewer_installed()

    def test_the_heartbeats_carry_the_viewer_state(self):
        broker = self.start_broker()
        # Not in kiosk mode: remote-viewer stays after losing its display,
        # and the thin client waits 20 s before it stops it.
        tc = self.start_client(options={("viewer", "kiosk"): False,
                                        ("viewer", "connect_timeout"): 20})
        self.login(tc, "amy", expect="viewer")
        session = self.active_session("amy")
        mark = tc.mark()
        tc.wait_for(r"Heartbeat sent: session %s, .*, viewer connected "
                    r"for \d+ s$" % session["id"], after=mark)
        beat = self.server.requests.wait_for(1, path=HEARTBEAT)[-1]
        self.assertEqual(("vdi 1.2", 200), (beat.version, beat.status))
        record = db.session_get(broker.ctxt, session["id"])
        self.assertEqual(states.CONNECTED, record["viewer_state"])
        self.assertIsNotNone(record["viewer_since"])
        self.assertIsNotNone(record["viewer_at"])

        # The desktop's display goes away: the viewer loses its connection.
        self.spice.close(self.console_port(session["desktop_id"]))
        mark = tc.mark()
        tc.wait_for(r"Heartbeat sent: session %s, .*, viewer disconnected "
                    r"for \d+ s$" % session["id"], after=mark, timeout=15)
        dropped = db.session_get(broker.ctxt, session["id"])
        self.assertEqual(states.DISCONNECTED, dropped["viewer_state"])
        # Since the drop: after it was connected, not before its report.
        self.assertGreater(dropped["viewer_since"], record["viewer_since"])
        self.assertLessEqual(dropped["viewer_since"], dropped["viewer_at"])
