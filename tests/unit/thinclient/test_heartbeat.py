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

"""Heartbeats: the counted input, also when a heartbeat fails."""

from tests import base
from vdi_broker.loadgen import client as loadgen_client
from vdi_broker.thinclient import config as config_mod
from vdi_broker.thinclient import heartbeat


class FakeAPI:
    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.sent = []

    def heartbeat(self, client_id, session=None, input_events=None):
        self.sent.append((client_id, session and session["id"],
                          input_events))
        status = self.statuses.pop(0)
        kind = "ok" if status == 204 else (
            "http %d" % status if status else "connection")
        return loadgen_client.Outcome("heartbeat", kind, status, 0, 0)


class FakeCounter:
    def __init__(self, counts):
        self.counts = list(counts)

    def take(self):
        return self.counts.pop(0)


class HeartbeatTest(base.TestCase):

    def beat(self, statuses, counts, session=None):
        api = FakeAPI(statuses)
        results = []
        hb = heartbeat.Heartbeat(
            api, config_mod.Config(broker_url="http://vdi",
                                   client_id="tc-1"),
            FakeCounter(counts) if counts is not None else None,
            lambda: session, on_result=results.append)
        for _ in statuses:
            hb.send()
        return api.sent, results

    def test_counts_of_a_failed_heartbeat_go_with_the_next(self):
        sent, results = self.beat([None, 503, 204, 204], [3, 4, 5, 0])
        self.assertEqual([3, 7, 12, 0], [s[2] for s in sent])
        self.assertEqual([False, False, True, True],
                         [r.ok for r in results])

    def test_unmeasured_input_is_sent_as_none(self):
        sent, _results = self.beat([204, 204], None)
        self.assertEqual([("tc-1", None, None)] * 2, sent)

    def test_the_session_goes_along(self):
        sent, _results = self.beat([204], [1],
                                   session={"id": "s-1", "token": "t"})
        self.assertEqual([("tc-1", "s-1", 1)], sent)

    def test_a_404_does_not_stop_the_heartbeats(self):
        sent, results = self.beat([404, 404, 204], [0, 0, 0])
        self.assertEqual(3, len(sent))
        self.assertTrue(results[-1].ok)
