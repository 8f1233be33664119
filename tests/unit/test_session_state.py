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

"""The combining rule of a session's connection state (both ends)."""

import datetime

import testtools

from vdi_broker.api import beats
from vdi_broker import session_state
from vdi_broker import states

NOW = datetime.datetime(2026, 12, 3, 12, 0, 0)
AGENT_SILENT = 90
CLIENT_SILENT = 180
C, D = states.CONNECTED, states.DISCONNECTED
RDP, SPICE = "rdp", "spice-direct"


def ago(seconds):
    return NOW - datetime.timedelta(seconds=seconds)


def end(state, since, at):
    return session_state.End(state, ago(since) if since is not None
                             else None, ago(at) if at is not None else None)


def combine(agent, viewer, console=RDP):
    return session_state.combine(agent, viewer, console, NOW, AGENT_SILENT,
                                 CLIENT_SILENT)


class CombineTest(testtools.TestCase):

    def assertState(self, expected, got):
        state, since, source = expected
        self.assertEqual(session_state.Combined(
            state, ago(since) if since is not None else None, source), got)

    def test_no_end_said_anything(self):
        self.assertState((None, None, None), combine(None, None))
        self.assertState((None, None, None), combine(
            end(None, None, 10), end(None, None, None)))

    def test_without_the_thin_client_the_agent_as_before(self):
        # Fresh or silent: its last word (1.0 and 1.1 thin clients).
        self.assertState((D, 100, "agent"), combine(end(D, 100, 10), None))
        self.assertState((D, 500, "agent"), combine(end(D, 500, 400),
                                                    end(None, None, None)))
        self.assertState((C, 500, "agent"), combine(end(C, 500, 400), None,
                                                    SPICE))

    def test_thin_client_alone_decides(self):
        # A pool without guest agent.
        self.assertState((D, 40, "thin_client"),
                         combine(None, end(D, 40, 5)))
        self.assertState((C, 400, "thin_client"),
                         combine(None, end(C, 400, 5)))
        # The agent fell silent (a hung desktop): the thin client decides.
        self.assertState((C, 400, "thin_client"),
                         combine(end(D, 300, 91), end(C, 400, 5)))

    def test_silent_thin_client_is_disconnected(self):
        # It crashed while connected: disconnected since last heard.
        self.assertState((D, 181, "thin_client"),
                         combine(None, end(C, 900, 181)))
        # Its viewer had dropped before it fell silent: since the drop.
        self.assertState((D, 500, "thin_client"),
                         combine(None, end(D, 500, 181)))
        # Just within the offline time: still its word.
        self.assertState((C, 900, "thin_client"),
                         combine(None, end(C, 900, 180)))
        # Offline detection turned off: never silent.
        self.assertEqual(
            (C, ago(900), "thin_client"),
            session_state.combine(None, end(C, 900, 5000), RDP, NOW,
                                  AGENT_SILENT, 0))

    def test_both_agree(self):
        self.assertState((D, 100, "agent"),
                         combine(end(D, 100, 10), end(D, 60, 5)))
        self.assertState((D, 60, "thin_client"),
                         combine(end(D, 100, 10), end(D, 60, 5), SPICE))

    def test_rdp_conflict_the_fresh_agent_wins(self):
        # The viewer thinks it is connected; the RDP server has no client.
        self.assertState((D, 100, "agent"),
                         combine(end(D, 100, 10), end(C, 400, 5)))
        # The user went on from another device: not logged off.
        self.assertState((C, 30, "agent"),
                         combine(end(C, 30, 10), end(D, 400, 5)))
        # ...and even against a silent thin client.
        self.assertState((C, 30, "agent"),
                         combine(end(C, 30, 10), end(C, 400, 500)))
        # At the limit of silence the agent still counts.
        self.assertState((C, 30, "agent"),
                         combine(end(C, 30, 90), end(D, 400, 5)))

    def test_hypervisor_console_conflict_the_thin_client_wins(self):
        # A SPICE console: Windows says "connected" for any logged-on
        # console session, whoever watches it.
        self.assertState((D, 40, "thin_client"),
                         combine(end(C, 3000, 10), end(D, 40, 5), SPICE))
        # The Linux agent watches a port no SPICE viewer uses.
        self.assertState((C, 400, "thin_client"),
                         combine(end(D, 3000, 10), end(C, 400, 5), SPICE))

    def test_agent_decides_only_inside_the_guest(self):
        self.assertTrue(session_state.agent_decides("rdp"))
        for console in ("spice-direct", "spice-html5", "novnc", "fake",
                        None):
            self.assertFalse(session_state.agent_decides(console))


class KeptAtExpiryTest(testtools.TestCase):

    def kept(self, agent, viewer, console=RDP):
        return session_state.kept_at_expiry(agent, viewer, console, NOW,
                                            AGENT_SILENT, CLIENT_SILENT)

    def test_the_agent_s_fresh_connected_keeps_as_before(self):
        self.assertEqual("agent", self.kept(end(C, 500, 10), None))
        # Even where the thin client decides and says disconnected: the
        # policy (expiry_when_connected), not the rule, ends it.
        self.assertEqual("agent", self.kept(end(C, 500, 10),
                                            end(D, 40, 5), SPICE))
        # A silent agent's last word keeps nothing.
        self.assertIsNone(self.kept(end(C, 500, 91), None))
        self.assertIsNone(self.kept(end(D, 500, 10), None))

    def test_the_thin_client_keeps_where_it_decides(self):
        # SPICE: the Linux agent watches a port no viewer uses.
        self.assertEqual("thin_client", self.kept(end(D, 3000, 10),
                                                  end(C, 400, 5), SPICE))
        # No agent, or a silent one: the thin client alone.
        self.assertEqual("thin_client", self.kept(None, end(C, 400, 5)))
        self.assertEqual("thin_client", self.kept(end(D, 3000, 91),
                                                  end(C, 400, 5)))
        # RDP: the fresh agent decides.
        self.assertIsNone(self.kept(end(D, 100, 10), end(C, 400, 5)))

    def test_a_silent_or_disconnected_thin_client_keeps_nothing(self):
        self.assertIsNone(self.kept(None, end(C, 400, 181), SPICE))
        self.assertIsNone(self.kept(end(D, 3000, 10), end(C, 400, 181),
                                    SPICE))
        self.assertIsNone(self.kept(None, end(D, 40, 5), SPICE))
        self.assertIsNone(self.kept(None, None, SPICE))


class ViewerValuesTest(testtools.TestCase):

    def test_counted_back_from_the_arrival(self):
        self.assertEqual(
            {"viewer_state": D, "viewer_since": ago(75)},
            session_state.viewer_values({"connected": False,
                                         "seconds": 75}, NOW))
        self.assertEqual(
            {"viewer_state": C, "viewer_since": None},
            session_state.viewer_values({"connected": True}, NOW))
        self.assertEqual(
            {"viewer_state": C, "viewer_since": None},
            session_state.viewer_values({"connected": True, "seconds": 0},
                                        NOW))


class MergeTest(testtools.TestCase):
    """Buffered heartbeats keep the start of the viewer's state."""

    def beat(self, at, state=None, since=None, session="s-1"):
        item = {"client_id": "tc-1", "now": ago(at), "session_id": session,
                "input_at": None}
        if state:
            item.update(viewer_state=state, viewer_since=since)
        return item

    def test_unchanged_state_keeps_the_first_heartbeat_s_start(self):
        merged = beats.merge_heartbeats(self.beat(20, D), self.beat(10, D))
        self.assertEqual((D, ago(20)), (merged["viewer_state"],
                                        merged["viewer_since"]))
        merged = beats.merge_heartbeats(self.beat(20, D, ago(95)),
                                        self.beat(10, D))
        self.assertEqual(ago(95), merged["viewer_since"])

    def test_a_new_state_or_a_told_start_wins(self):
        merged = beats.merge_heartbeats(self.beat(20, D), self.beat(10, C))
        self.assertEqual((C, None), (merged["viewer_state"],
                                     merged["viewer_since"]))
        merged = beats.merge_heartbeats(self.beat(20, D),
                                        self.beat(10, D, ago(12)))
        self.assertEqual(ago(12), merged["viewer_since"])

    def test_a_heartbeat_without_viewer_keeps_the_session_s(self):
        merged = beats.merge_heartbeats(self.beat(20, D), self.beat(10))
        self.assertEqual((D, ago(20), ago(10)), (
            merged["viewer_state"], merged["viewer_since"], merged["now"]))
        # Another session's viewer is not carried over.
        merged = beats.merge_heartbeats(self.beat(20, D),
                                        self.beat(10, session="s-2"))
        self.assertNotIn("viewer_state", merged)
