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

"""Heartbeats: the counted input, also when a heartbeat fails; the
interval the broker asks for, bounded, and the configured one without."""

import logging

import fixtures

from tests import base
from vdi_broker.loadgen import client as loadgen_client
from vdi_broker.thinclient import config as config_mod
from vdi_broker.thinclient import health as health_mod
from vdi_broker.thinclient import heartbeat


class FakeAPI:
    """Answers from a list: a status, or (200, body) for version 1.1."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.sent = []
        self.health = []
        self.seats = []
        self.viewers = []

    def heartbeat(self, client_id, session=None, input_events=None,
                  health=None, seat=None, viewer=None):
        self.sent.append((client_id, session and session["id"],
                          input_events))
        self.seats.append(seat)
        self.viewers.append(viewer)
        self.health.append(health)
        status = self.statuses.pop(0)
        body = None
        if isinstance(status, tuple):
            status, body = status
        kind = "ok" if status in (200, 204) else (
            "http %d" % status if status else "connection")
        return loadgen_client.Outcome("heartbeat", kind, status, 0, 0,
                                      body=body)


def answer(interval, offline_after=300):
    return (200, {"heartbeat_interval": interval,
                  "offline_after": offline_after})


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

    def test_the_viewer_of_the_session_goes_along(self):
        api = FakeAPI([204, 204])
        sessions = iter([{"id": "s-1", "token": "t", "viewer": {
            "connected": False, "seconds": 75}}, None])
        hb = heartbeat.Heartbeat(
            api, config_mod.Config(broker_url="http://vdi",
                                   client_id="tc-1"),
            None, lambda: next(sessions))
        hb.send()
        hb.send()
        self.assertEqual([{"connected": False, "seconds": 75}, None],
                         api.viewers)

    def test_the_health_goes_along(self):
        api = FakeAPI([204, 204])
        health = health_mod.Health()
        hb = heartbeat.Heartbeat(
            api, config_mod.Config(broker_url="http://vdi",
                                   client_id="tc-1"),
            None, lambda: None, health=health)
        hb.send()
        health.failed("the viewer could not keep a connection to h:5901")
        hb.send()
        self.assertEqual(
            [{"connection_failures": 0, "last_connection_error": None},
             {"connection_failures": 1, "last_connection_error":
              "the viewer could not keep a connection to h:5901"}],
            api.health)

    def test_the_configured_seat_goes_along(self):
        for seat, sent in (("SH-2F-001", "SH-2F-001"), ("", None)):
            api = FakeAPI([204])
            heartbeat.Heartbeat(
                api, config_mod.Config(broker_url="http://vdi",
                                       client_id="tc-1", seat=seat),
                None, lambda: None).send()
            self.assertEqual([sent], api.seats)

    def test_a_404_does_not_stop_the_heartbeats(self):
        sent, results = self.beat([404, 404, 204], [0, 0, 0])
        self.assertEqual(3, len(sent))
        self.assertTrue(results[-1].ok)


class IntervalTest(base.TestCase):
    """The interval of the next heartbeat, after each answer."""

    def intervals(self, statuses, **config):
        config.setdefault("heartbeat_interval", 60.0)
        hb = heartbeat.Heartbeat(
            FakeAPI(statuses),
            config_mod.Config(broker_url="http://vdi", client_id="tc-1",
                              **config),
            None, lambda: None)
        self.assertEqual((60.0, heartbeat.CONFIGURED),
                         (hb.interval, hb.source))
        found = []
        for _ in statuses:
            hb.send()
            found.append((hb.interval, hb.source))
        return found

    def test_the_broker_s_interval_is_followed(self):
        self.assertEqual([(20.0, "broker"), (45.0, "broker")],
                         self.intervals([answer(20), answer(45)]))

    def test_an_older_broker_gets_the_configured_interval(self):
        # 204 (1.0) after a 1.1 answer: the broker was downgraded.
        self.assertEqual([(60.0, "configured"), (30.0, "broker"),
                          (60.0, "configured")],
                         self.intervals([204, answer(30), 204]))

    def test_a_failed_heartbeat_keeps_the_last_interval(self):
        self.assertEqual([(30.0, "broker")] * 4,
                         self.intervals([answer(30), None, 503, 404]))

    def test_the_interval_is_bounded(self):
        self.assertEqual([(5.0, "broker"), (600.0, "broker"),
                          (5.0, "broker"), (600.0, "broker")],
                         self.intervals([answer(0.001), answer(86400),
                                         answer(1), answer(601)]))
        self.assertEqual([(2.0, "broker"), (10.0, "broker")],
                         self.intervals([answer(1), answer(99)],
                                        heartbeat_min_interval=2,
                                        heartbeat_max_interval=10))

    def test_nonsense_is_not_an_interval(self):
        for value in (0, -5, "30", None, True, float("nan"),
                      float("inf"), [30], {"s": 30}):
            self.assertEqual([(60.0, "configured")],
                             self.intervals([answer(value)]), value)
        self.assertEqual([(60.0, "configured")],
                         self.intervals([(200, ["not", "a", "dict"])]))
        self.assertEqual([(60.0, "configured")],
                         self.intervals([(200, None)]))

    def test_the_broker_s_answer_is_logged_once(self):
        logger = self.useFixture(fixtures.FakeLogger(
            name=heartbeat.__name__, level=logging.INFO))
        self.intervals([answer(20), answer(20), answer(20, 30), answer(1)])
        lines = [line for line in logger.output.splitlines()
                 if line.startswith("Heartbeat interval")]
        self.assertEqual(
            ["Heartbeat interval: 20 s (asked by the broker)",
             "Heartbeat interval: 5 s (the broker asks for 1 s, outside "
             "[heartbeat] min_interval 5 s and max_interval 600 s)"],
            lines)

    def test_an_offline_limit_below_two_intervals_is_warned(self):
        logger = self.useFixture(fixtures.FakeLogger(
            name=heartbeat.__name__, level=logging.INFO))
        self.intervals([answer(1, offline_after=6)])
        self.assertIn("counts this client offline after 6 s without a "
                      "heartbeat, less than two intervals of 5 s",
                      logger.output)


class RunTest(base.TestCase):
    """The thread waits the interval of the last answer."""

    def test_the_thread_waits_the_broker_s_interval(self):
        api = FakeAPI([answer(1)] * 50)
        hb = heartbeat.Heartbeat(
            api, config_mod.Config(broker_url="http://vdi", client_id="t",
                                   heartbeat_interval=3600,
                                   heartbeat_min_interval=0.05),
            None, lambda: None)
        waits = []

        def wait(timeout=None):
            waits.append(timeout)
            if len(waits) == 3:
                hb._stop.set()
            return False

        self.useFixture(fixtures.MockPatchObject(hb._wake, "wait", wait))
        hb._run()
        self.assertEqual([1.0, 1.0, 1.0], waits)
        self.assertEqual(3, len(api.sent))
