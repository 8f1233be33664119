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

"""The lean path's quick body checks never accept what the schema refuses.

A body the quick check accepts skips jsonschema: it must be one the
schema accepts. A body it refuses goes through the full stack, whose
schema gives the 400 (or accepts it: the quick check may be stricter).
Thousands of bodies, ordinary and mutated, are checked both ways.
"""

import itertools
import random

import testtools

from vdi_broker.api import lean
from vdi_broker.api.schemas import agent as agent_schema
from vdi_broker.api.schemas import client as client_schema
from vdi_broker.api import util

# Values of every kind the checks meet, the awkward ones included.
ODD = [None, True, False, 0, -1, 1, 7.0, 7.5, 2 ** 31, 2 ** 31 - 1,
       1000000, 1000001, 31536000, 31536001, 100, 100.0, 100.5, -0.5,
       float("nan"), float("inf"), "", "x", "tc-1", "a\n", "a\x00b",
       "\x7f", "é" * 64, "é" * 65, "x" * 255, "x" * 256, "0123abcd-ef",
       "g" * 5, "a" * 36, "a" * 37, "connected", "disconnected", "running",
       "stopped", "CONNECTED", [], {}, ["x"], {"a": 1}]

HEARTBEAT = {"client_id": "tc-0001", "session_id": "5b0c2d7e-2d1c",
             "input_events": 7,
             "health": {"display": "ok", "network": "wired",
                        "last_connection_error": None,
                        "connection_failures": 0}}
REPORT = {"desktop_id": "5b0c2d7e-2d1c-4d4f-9a3b-1c2d3e4f5a6b",
          "connection_state": "connected", "display": "running",
          "username": "amy", "idle_seconds": 12, "cpu_percent": 12.5,
          "memory_percent": 40, "disk_free_mb": 20480}


def _schema_ok(body, schema):
    return not list(util._validator(schema).iter_errors(body))


def _mutations(document, rng):
    """The document with one value (or key) changed, each way."""
    for key in list(document):
        for value in ODD:
            yield dict(document, **{key: value})
        yield {k: v for k, v in document.items() if k != key}
        if isinstance(document[key], dict):
            for inner in _mutations(document[key], rng):
                yield dict(document, **{key: inner})
    yield dict(document, unknown=1)
    yield []
    yield "text"
    for _ in range(300):
        keys = rng.sample(list(document), rng.randint(1, len(document)))
        yield {k: rng.choice(ODD + [document[k]]) for k in keys}


class QuickChecksTestCase(testtools.TestCase):

    def _compare(self, check, schema, document):
        rng = random.Random(15)
        accepted = 0
        for body in itertools.chain([document], _mutations(document, rng)):
            if check(body):
                accepted += 1
                self.assertTrue(_schema_ok(body, schema),
                                "accepted, but the schema refuses: %r" %
                                (body,))
        return accepted

    def test_heartbeat_never_accepts_what_the_schema_refuses(self):
        accepted = self._compare(lean.heartbeat_ok,
                                 client_schema.heartbeat, HEARTBEAT)
        # Not a check that refuses everything.
        self.assertGreater(accepted, 50)

    def test_heartbeat_with_seat_never_accepts_what_the_schema_refuses(self):
        accepted = self._compare(
            lambda body: lean.heartbeat_ok(body, seat=True),
            client_schema.heartbeat_v1_1, dict(HEARTBEAT, seat="SH-2F-001"))
        self.assertGreater(accepted, 50)

    def test_heartbeat_with_viewer_never_accepts_what_the_schema_refuses(
            self):
        accepted = self._compare(
            lambda body: lean.heartbeat_ok(body, seat=True, viewer=True),
            client_schema.heartbeat_v1_2, dict(
                HEARTBEAT, seat="SH-2F-001",
                viewer={"connected": False, "seconds": 75}))
        self.assertGreater(accepted, 50)

    def test_viewer_only_from_version_1_2(self):
        body = dict(HEARTBEAT, viewer={"connected": True})
        self.assertFalse(lean.heartbeat_ok(body))
        self.assertFalse(lean.heartbeat_ok(body, seat=True))
        self.assertTrue(lean.heartbeat_ok(body, seat=True, viewer=True))
        self.assertTrue(lean.heartbeat_ok(dict(
            body, seat="SH-1", viewer={"connected": False,
                                       "seconds": 31536000}),
            seat=True, viewer=True))
        for wrong in ({}, {"connected": 1}, {"seconds": 3},
                      {"connected": True, "seconds": -1},
                      {"connected": True, "seconds": True},
                      {"connected": True, "since": 3}, None, []):
            self.assertFalse(lean.heartbeat_ok(dict(body, viewer=wrong),
                                               seat=True, viewer=True),
                             wrong)
            self.assertFalse(_schema_ok(dict(body, viewer=wrong),
                                        client_schema.heartbeat_v1_2),
                             wrong)

    def test_seat_only_from_version_1_1(self):
        body = dict(HEARTBEAT, seat="SH-2F-001")
        self.assertFalse(lean.heartbeat_ok(body))
        self.assertTrue(lean.heartbeat_ok(body, seat=True))
        self.assertFalse(lean.heartbeat_ok(dict(body, seat="a\n"),
                                           seat=True))

    def test_report_never_accepts_what_the_schema_refuses(self):
        accepted = self._compare(lean.report_ok, agent_schema.report,
                                 REPORT)
        self.assertGreater(accepted, 50)

    def test_ordinary_bodies_take_the_lean_path(self):
        self.assertTrue(lean.heartbeat_ok(HEARTBEAT))
        self.assertTrue(lean.heartbeat_ok({"client_id": "tc-1"}))
        self.assertTrue(lean.heartbeat_ok({"client_id": "tc-1",
                                           "input_events": 0}))
        self.assertTrue(lean.report_ok(REPORT))
        self.assertTrue(lean.report_ok(dict(
            REPORT, connection_state=None, display=None, username=None,
            idle_seconds=None, cpu_percent=None, memory_percent=None,
            disk_free_mb=None)))
        self.assertTrue(lean.report_ok({"desktop_id": "abc-123"}))

    def test_the_schemas_quirks_go_the_full_path(self):
        # The schema's "$" accepts a final new line; the quick check
        # leaves such a body to the schema.
        self.assertTrue(_schema_ok({"client_id": "a\n"},
                                   client_schema.heartbeat))
        self.assertFalse(lean.heartbeat_ok({"client_id": "a\n"}))
        # A boolean is no integer for either.
        self.assertFalse(lean.heartbeat_ok({"client_id": "a",
                                            "input_events": True}))
        self.assertFalse(lean.report_ok(dict(REPORT, cpu_percent=True)))
