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

"""One session's life, with a fake broker and fake viewers."""

import threading
import types

import fixtures

from tests import base
from vdi_broker.loadgen import client as loadgen_client
from vdi_broker.thinclient import config as config_mod
from vdi_broker.thinclient import health as health_mod
from vdi_broker.thinclient import session as session_mod
from vdi_broker.thinclient import viewer as viewer_mod

LOGIN = {"session": {"id": "s-1", "token": "t0ken"},
         "desktop": {"id": "d-1", "name": "vdi-desks-1"},
         "pool": {"name": "desks"},
         "connection": {"protocol": "spice", "host": "10.0.0.5",
                        "port": 5901}}


def ok(op, status, body=None, text=None):
    return loadgen_client.Outcome(op, "ok", status, 0, 0, body, text)


def refused(op, status):
    return loadgen_client.Outcome(op, "http %d" % status, status, 0, 0)


class FakeAPI:
    def __init__(self):
        self.calls = []
        self.shows = []
        self.fault_status = 202
        # The desktop's state in the fault's answer: "quarantined" (the
        # broker closes the session) or "assigned" (an incident: it stays).
        self.fault_state = "quarantined"
        self.current = {"desktop": {"id": "d-1"},
                        "connection": LOGIN["connection"]}

    def console_file(self, session, expect=(200,)):
        self.calls.append(("console_file", session["token"]))
        return ok("console-file", 200, text="[virt-viewer]\nhost=h\n"
                  "port=%d\n" % (5900 + len(self.calls)))

    def show(self, session):
        self.calls.append(("show",))
        if self.shows:
            outcome = self.shows.pop(0)
            if outcome.ok:
                self.current = outcome.body
            return outcome
        return ok("show", 200, self.current)

    def logout(self, session):
        self.calls.append(("logout",))
        return ok("logout", 204)

    def fault(self, session, reason):
        self.calls.append(("fault", reason))
        if self.fault_status == 202:
            return ok("fault", 202, {"desktop": {"state": self.fault_state}})
        return refused("fault", self.fault_status)


class FakeViewer:
    """Connected for ``connected_ticks`` looks, ended after ``end_ticks``."""

    def __init__(self, connected_ticks=0, end_ticks=None):
        self.connected_ticks = connected_ticks
        self.end_ticks = end_ticks
        self.looks = 0
        self.started = self.stopped = False
        self.address = "h:5901"

    def start(self):
        self.started = True

    def poll(self):
        self.looks += 1
        if self.stopped or (self.end_ticks is not None and
                            self.looks >= self.end_ticks):
            return 0
        return None

    def connected(self):
        return not self.stopped and self.looks <= self.connected_ticks

    def stop(self):
        self.stopped = True
        return 0


class FakeUI:
    def __init__(self):
        self.shown = []

    def progress(self, answer):
        self.shown.append(answer.key)

    def viewer_connected(self):
        self.shown.append("viewer")


class _SessionCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(session_mod, "TICK", 0.001))
        self.api = FakeAPI()
        self.ui = FakeUI()
        self.viewers = []
        self.script = []

        def for_spice(config, text):
            viewer = self.script.pop(0) if self.script else FakeViewer()
            viewer.text = text
            self.viewers.append(viewer)
            return viewer

        self.useFixture(fixtures.MockPatchObject(
            viewer_mod.Viewer, "for_spice", side_effect=for_spice))

    def session(self, login=LOGIN, health=None, **values):
        values = dict({"poll_interval": 0.02, "viewer_connect_timeout": 0.05,
                       "retry_delay": 0, "max_failures": 2,
                       "failure_window": 60, "quick_exit": 0}, **values)
        cfg = config_mod.Config(broker_url="http://vdi", **values)
        return session_mod.Session(self.api, cfg, login, self.ui,
                                   health=health)

    def ops(self):
        return [c[0] for c in self.api.calls]


class SessionTest(_SessionCase):

    def test_the_viewer_ends_the_session(self):
        self.script = [FakeViewer(connected_ticks=100, end_ticks=10)]
        answer = self.session(poll_interval=60).run()
        self.assertEqual("logged_out", answer.key)
        self.assertEqual(["console_file", "logout"], self.ops())
        self.assertEqual(("console_file", "t0ken"), self.api.calls[0])
        self.assertEqual(["viewer"], self.ui.shown)

    def test_the_viewer_report_follows_the_viewer(self):
        reports = []
        session = None

        class Watched(FakeViewer):
            def poll(self):
                reports.append(session.viewer_report())
                return super().poll()

        self.script = [Watched(connected_ticks=5, end_ticks=10)]
        session = self.session(poll_interval=60, viewer_connect_timeout=60)
        self.assertEqual({"connected": False, "seconds": 0},
                         session.viewer_report())
        session.run()
        connected = [r["connected"] for r in reports]
        # Not connected before the first look, connected while the viewer
        # holds its connection, then not again.
        self.assertEqual([False] + [True] * 5 + [False] * 4, connected)
        self.assertEqual({"connected": False, "seconds": 0},
                         session.viewer_report())
        self.assertTrue(all(type(r["seconds"]) is int and r["seconds"] >= 0
                            for r in reports))

    def test_a_viewer_that_never_connects_is_reported(self):
        answer = self.session().run()
        self.assertEqual("faulted", answer.key)
        self.assertEqual(2, len(self.viewers))
        self.assertTrue(all(v.stopped for v in self.viewers))
        self.assertEqual("fault", self.api.calls[-1][0])
        self.assertEqual("the viewer could not connect to h:5901: 2 "
                         "failures within 60 s", self.api.calls[-1][1])
        self.assertNotIn("logout", self.ops())
        self.assertEqual(["reconnecting"], self.ui.shown)

    def test_a_viewer_that_dies_at_once_is_not_reported(self):
        # Not the desktop's fault: the viewer never got to it.
        self.script = [FakeViewer(end_ticks=1), FakeViewer(end_ticks=1)]
        answer = self.session().run()
        self.assertEqual("viewer_failed", answer.key)
        self.assertNotIn("fault", self.ops())
        self.assertEqual("logout", self.ops()[-1])

    def test_quick_drops_are_reported(self):
        self.script = [FakeViewer(connected_ticks=100, end_ticks=3),
                       FakeViewer(connected_ticks=100, end_ticks=3)]
        answer = self.session(quick_exit=30).run()
        self.assertEqual("faulted", answer.key)
        self.assertIn("dropped the connection", self.api.calls[-1][1])

    def test_a_fault_report_that_fails(self):
        self.api.fault_status = 503
        answer = self.session().run()
        self.assertEqual("viewer_failed", answer.key)
        self.assertEqual(["fault", "logout"], self.ops()[-2:])

    def test_the_viewer_follows_a_moved_session(self):
        moved = {"desktop": {"id": "d-2", "name": "vdi-desks-2"},
                 "connection": {"protocol": "spice", "host": "h",
                                "port": 5902}}
        self.api.shows = [ok("show", 200, moved)]
        first = FakeViewer(connected_ticks=10 ** 6)
        second = FakeViewer(connected_ticks=10 ** 6, end_ticks=50)
        self.script = [first, second]
        session = self.session()
        answer = session.run()
        self.assertEqual("logged_out", answer.key)
        self.assertTrue(first.stopped)
        self.assertEqual("d-2", session.desktop["id"])
        self.assertEqual(["console_file", "show", "console_file"],
                         self.ops()[:3])
        self.assertIn("port=5903", second.text)
        self.assertEqual(["viewer", "connecting", "viewer"],
                         self.ui.shown)

    def test_an_incident_keeps_the_session_until_it_moves(self):
        # The desktop has a guest agent: the broker opens an incident and
        # keeps the session; the thin client tries the same desktop again
        # without reporting it twice, and follows the move.
        self.api.fault_state = "assigned"
        moved = {"desktop": {"id": "d-2", "name": "vdi-desks-2"},
                 "connection": {"protocol": "spice", "host": "h",
                                "port": 5902}}
        # Polls while the viewer fails: the same desktop, then moved.
        self.api.shows = [ok("show", 200, self.api.current)] * 6 + [
            ok("show", 200, moved)]
        # Failing viewers on d-1 until the move, then a working one.
        self.script = [FakeViewer() for _ in range(20)]

        def for_spice(config, text):
            if "d-2" == session.desktop["id"]:
                viewer = FakeViewer(connected_ticks=10 ** 6, end_ticks=50)
            else:
                viewer = self.script.pop(0)
            viewer.text = text
            self.viewers.append(viewer)
            return viewer

        self.useFixture(fixtures.MockPatchObject(
            viewer_mod.Viewer, "for_spice", side_effect=for_spice))
        session = self.session(poll_interval=60)
        answer = session.run()
        self.assertEqual("logged_out", answer.key)
        self.assertEqual("d-2", session.desktop["id"])
        self.assertEqual(1, self.ops().count("fault"))
        self.assertIn("fault_reported", self.ui.shown)
        self.assertEqual(["connecting", "viewer"], self.ui.shown[-2:])
        self.assertTrue(self.viewers[-1].started)

    def test_a_moved_session_counts_its_failures_anew(self):
        # Reported on d-1, moved to d-2 that fails too: d-2 is reported.
        self.api.fault_state = "assigned"
        moved = {"desktop": {"id": "d-2", "name": "vdi-desks-2"},
                 "connection": {"protocol": "spice", "host": "h",
                                "port": 5902}}
        self.api.shows = [ok("show", 200, moved)]
        session = self.session(poll_interval=60)
        self.api.fault = lambda credentials, reason: (
            self.api.calls.append(("fault", session.desktop["id"])) or
            ok("fault", 202, {"desktop": {
                "state": "assigned" if session.desktop["id"] == "d-1"
                else "quarantined"}}))
        answer = session.run()
        self.assertEqual("faulted", answer.key)
        self.assertEqual([("fault", "d-1"), ("fault", "d-2")],
                         [c for c in self.api.calls if c[0] == "fault"])

    def test_a_closed_session_ends_without_logout(self):
        self.api.shows = [refused("show", 401)]
        self.script = [FakeViewer(connected_ticks=10 ** 6)]
        answer = self.session().run()
        self.assertEqual("session_ended", answer.key)
        self.assertTrue(self.viewers[0].stopped)
        self.assertNotIn("logout", self.ops())

    def test_the_broker_away_does_not_end_the_session(self):
        self.api.shows = [loadgen_client.Outcome("show", "connection", None,
                                                 0, 0)] * 3
        self.script = [FakeViewer(connected_ticks=10 ** 6, end_ticks=200)]
        answer = self.session(poll_interval=0.001).run()
        self.assertEqual("logged_out", answer.key)
        self.assertGreaterEqual(self.ops().count("show"), 3)

    def test_stop_logs_out(self):
        self.script = [FakeViewer(connected_ticks=10 ** 6)]
        session = self.session(poll_interval=60)
        result = []
        thread = threading.Thread(target=lambda: result.append(
            session.run()))
        thread.start()
        session.stop(logout=True)
        thread.join(10)
        self.assertEqual("logged_out", result[0].key)
        self.assertEqual("logout", self.ops()[-1])

    def test_a_protocol_without_viewer(self):
        login = dict(LOGIN, connection={"protocol": "novnc",
                                        "url": "http://x"})
        answer = self.session(login=login).run()
        self.assertEqual(("unsupported_protocol", {"protocol": "novnc"}),
                         (answer.key, answer.params))
        self.assertEqual(["logout"], self.ops())

    def test_no_console_file_counts_as_a_failure(self):
        self.api.console_file = lambda session, expect: refused(
            "console-file", 409)
        answer = self.session().run()
        self.assertEqual("faulted", answer.key)
        self.assertIn("could not connect to the console file (http 409)",
                      self.api.calls[-1][1])

    def test_a_closed_session_has_no_console_file(self):
        self.api.console_file = lambda session, expect: refused(
            "console-file", 401)
        self.assertEqual("session_ended", self.session().run().key)


class HealthTest(_SessionCase):
    """The failed connections in a row the heartbeats carry."""

    def test_failures_count_across_sessions_until_a_connection(self):
        health = health_mod.Health()
        self.assertEqual("faulted", self.session(health=health).run().key)
        self.assertEqual({"connection_failures": 2,
                          "last_connection_error": "the viewer could not "
                          "keep a connection to h:5901"},
                         health.snapshot())
        self.script = [FakeViewer(end_ticks=1), FakeViewer(end_ticks=1)]
        self.session(health=health).run()
        self.assertEqual((4, "the viewer ended without reaching h:5901"),
                         (health.failures, health.last_error))
        # A viewer that holds its connection: back to none.
        self.script = [FakeViewer(connected_ticks=100, end_ticks=10)]
        self.session(health=health).run()
        self.assertEqual({"connection_failures": 0,
                          "last_connection_error": None},
                         health.snapshot())

    def test_quick_drops_are_failures_though_they_connected(self):
        health = health_mod.Health()
        self.script = [FakeViewer(connected_ticks=100, end_ticks=3),
                       FakeViewer(connected_ticks=100, end_ticks=3)]
        self.session(health=health, quick_exit=30).run()
        self.assertEqual(2, health.failures)

    def test_the_error_fits_the_schema(self):
        health = health_mod.Health()
        health.failed("line one\nline\ttwo" + "x" * 300)
        self.assertEqual(health_mod.MAX_ERROR, len(health.last_error))
        self.assertTrue(health.last_error.startswith("line one line two"))
        counter = types.SimpleNamespace(available=True)
        self.assertEqual("ok", health_mod.Health(counter).snapshot()[
            "display"])
        counter.available = False
        self.assertEqual("unavailable", health_mod.Health(
            counter).snapshot()["display"])
