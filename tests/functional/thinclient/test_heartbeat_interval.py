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

"""vdi-broker-tc sends its heartbeats at the interval the broker asks for.

The broker's ``[client_session] heartbeat_interval`` is a few seconds, the
thin client's own ``[heartbeat] interval`` a minute. The heartbeats are
counted where the broker received them (the API server's request log,
with the arrival time of each): several within a time in which the
configured interval would allow one, none closer together than the
broker's interval. The thin client sleeps a whole interval after each
answer, so the gaps cannot be shorter however loaded the machine is;
only the time to wait for them grows, and that is bounded generously.
"""

from tests.functional.thinclient import harness
from vdi_broker.db import api as db

HEARTBEAT = "/v1/client/heartbeat"
# The thin client's own interval: far above what is waited for below.
CONFIGURED = 60
# Generous bounds for a loaded machine; a gap of CONFIGURED seconds
# (the thin client not following) exceeds SLOW.
SLOW = 30
# Event.wait's slack: a gap is never shorter than the interval by more.
SLACK = 0.05


class HeartbeatIntervalTest(harness.ThinClientTestCase):

    def start(self, broker_interval, **heartbeat):
        self.start_broker(flags={
            ("client_session", "heartbeat_interval"): broker_interval})
        options = {("heartbeat", "interval"): CONFIGURED,
                   ("heartbeat", "min_interval"): 1}
        options.update({("heartbeat", k): v for k, v in heartbeat.items()})
        return self.start_client(options=options)

    def beats(self, count, interval, after=0):
        """The broker's record of heartbeats after..after+count-1.

        Waited for SLOW seconds more than twice the time they take at
        ``interval``: far less than one CONFIGURED interval per beat.
        """
        found = self.server.requests.wait_for(
            after + count, path=HEARTBEAT,
            timeout=SLOW + 2 * interval * count)[after:]
        for beat in found:
            # Every one asked for 1.2 and got the interval in the answer.
            self.assertEqual(("vdi 1.2", 200), (beat.version, beat.status),
                             found)
        return found

    def assertCadence(self, beats, interval):
        gaps = [b.at - a.at for a, b in zip(beats, beats[1:])]
        for gap in gaps:
            self.assertGreaterEqual(gap, interval - SLACK, gaps)
            self.assertLess(gap, SLOW, gaps)
        return gaps

    def test_the_cadence_follows_the_broker_s_interval(self):
        tc = self.start(2)
        tc.wait_for(r"Heartbeat interval: 2 s \(asked by the broker\)$")
        # Five heartbeats: four intervals of the broker's 2 s, where the
        # configuration's 60 s would have sent one.
        beats = self.beats(5, 2)
        self.assertCadence(beats, 2)
        record = self.thin_client()
        self.assertEqual("online", record["status"])
        self.assertIsNotNone(record["last_seen_at"])

        # The broker's operator changes the interval: the answer to the
        # next heartbeat says it, and the ones after follow.
        mark = tc.mark()
        self.broker.flags(group="client_session", heartbeat_interval=4)
        tc.wait_for(r"Heartbeat interval: 4 s \(asked by the broker\)$",
                    after=mark)
        first = len(self.server.requests.matching(path=HEARTBEAT))
        later = self.beats(3, 4, after=first - 1)
        self.assertCadence(later, 4)

    def test_an_interval_below_the_client_s_minimum_is_raised(self):
        tc = self.start(1, min_interval=3)
        tc.wait_for(r"Heartbeat interval: 3 s \(the broker asks for 1 s, "
                    r"outside \[heartbeat\] min_interval 3 s")
        self.assertCadence(self.beats(4, 3), 3)
        self.assertEqual(0, tc.stop())
        self.assertEqual("online", db.thin_client_get(
            self.broker.ctxt, harness.CLIENT_ID)["status"])


class HeartbeatSeatTest(harness.ThinClientTestCase):
    """The heartbeats name the configured seat; the broker records it."""

    def test_the_heartbeats_carry_the_configured_seat(self):
        self.start_broker()
        # Registered at SH-2F-001; the thin client now stands at SH-TR-01.
        self.assertEqual("SH-2F-001", self.thin_client()["seat"])
        tc = self.start_client(seat="SH-TR-01")
        mark = tc.mark()
        tc.wait_for(r"Heartbeat sent: session none", after=mark)
        beat = self.server.requests.wait_for(1, path=HEARTBEAT)[-1]
        self.assertEqual(("vdi 1.2", 200), (beat.version, beat.status))
        record = self.thin_client()
        self.assertEqual(("SH-TR-01", "online"),
                         (record["seat"], record["status"]))
        # Not an edit of the record: the operator's revision stays.
        self.assertEqual(1, record["revision"])
        self.assertEqual(0, tc.stop())
