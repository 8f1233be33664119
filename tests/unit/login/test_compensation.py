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

"""The login's claim / connect / undo loop (login/compensation.py), mocked."""

import datetime
from unittest import mock

import fixtures
from oslo_utils import timeutils
import testtools

from vdi_broker.login import compensation as login
from vdi_broker import exception


def _claim(desktop_id, session_id, reused=False, binding=None):
    return {"desktop": {"id": desktop_id},
            "session": {"id": session_id, "username": "amy"},
            "pool": {"id": "p1", "name": "agents"},
            "binding": binding, "reused": reused}


class FakeClaims:
    """db.login_claim by the loop's rules: takes ready desktops in order."""

    def __init__(self, desktops, reused=False, binding=None):
        self.desktops = list(desktops)
        self.calls = []
        self.reused = reused
        self.binding = binding

    def __call__(self, session_id, exclude):
        self.calls.append((session_id, set(exclude)))
        for desktop in self.desktops:
            if desktop not in exclude or self.reused:
                return _claim(desktop, session_id, self.reused,
                              self.binding)
        raise exception.PoolExhausted(pool="agents")


class TestFaults(testtools.TestCase):

    def test_whose_fault(self):
        desktop = [exception.ConsoleNotReady(console_type="novnc",
                                             server="s", reason="stopped"),
                   exception.ServerNotFound(server="s")]
        cloud = [exception.ConsoleTimeout(console_type="novnc", server="s",
                                          timeout=8),
                 exception.ComputeUnavailable(reason="HTTP 503"),
                 exception.ConsoleUnavailable(console_type="novnc",
                                              server="s", reason="501"),
                 RuntimeError("bug")]
        self.assertEqual([login.DESKTOP_FAULT] * 2,
                         [login.fault_of(e) for e in desktop])
        self.assertEqual([login.CLOUD_FAULT] * 4,
                         [login.fault_of(e) for e in cloud])

    def test_describe_names_only_the_type_of_a_bug(self):
        self.assertEqual(
            "unexpected KeyError from the console driver",
            login.describe(KeyError("http://p/?token=secret")))
        self.assertEqual("Server s does not exist in the cloud.",
                         login.describe(exception.ServerNotFound(
                             server="s")))


@mock.patch.object(login.db, "login_undo",
                   return_value={"outcome": "ready"})
class TestConnect(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        self.quarantine = mock.Mock(return_value=[{"id": "d1"}])

    def connect(self, claims, get_connection, attempts=3, deadline=None):
        return login.connect("ctxt", "s1", claims, get_connection,
                             self.quarantine, attempts, deadline=deadline)

    def test_first_desktop_works(self, undo):
        claims = FakeClaims(["d1", "d2"])
        result, connection = self.connect(claims, lambda r: {"host": "h"})
        self.assertEqual(("d1", "s1", {"host": "h"}),
                         (result["desktop"]["id"], result["session"]["id"],
                          connection))
        self.assertEqual([("s1", set())], claims.calls)
        undo.assert_not_called()

    def test_cloud_fault_gives_back_and_tries_another(self, undo):
        claims = FakeClaims(["d1", "d2"])
        errors = [exception.ComputeUnavailable(reason="HTTP 503")]

        def get_connection(result):
            if errors:
                raise errors.pop()
            return {"host": "h"}

        result, _ = self.connect(claims, get_connection)
        self.assertEqual("d2", result["desktop"]["id"])
        # A new session id for the second try, the first desktop left out.
        (_, first), (second_id, second) = claims.calls
        self.assertEqual((set(), {"d1"}), (first, second))
        self.assertNotEqual("s1", second_id)
        self.assertEqual(second_id, result["session"]["id"])
        self.quarantine.assert_not_called()
        undo.assert_called_once_with(
            "ctxt", "s1",
            "login failed: The compute service cannot be reached: HTTP 503",
            give_back=True, claimed=True, binding_id=None,
            detail={"stage": "console", "fault": "cloud", "attempt": 1,
                    "error": "ComputeUnavailable"})

    def test_desktop_fault_quarantines(self, undo):
        claims = FakeClaims(["d1", "d2"], binding={"id": "b1"})
        errors = [exception.ConsoleNotReady(console_type="spice-direct",
                                            server="srv", reason="409")]

        def get_connection(result):
            if errors:
                raise errors.pop()
            return {}

        result, _ = self.connect(claims, get_connection)
        self.assertEqual("d2", result["desktop"]["id"])
        (ctxt, faults, by, source), _ = self.quarantine.call_args
        self.assertEqual(("d1", "login:amy", "login"),
                         (list(faults)[0], by, source))
        self.assertIn("409", faults["d1"])
        # Quarantined: the undo leaves the desktop (and the binding the
        # try created, which quarantine moved) alone.
        kwargs = undo.call_args[1]
        self.assertEqual((False, True, "b1"),
                         (kwargs["give_back"], kwargs["claimed"],
                          kwargs["binding_id"]))

    def test_quarantine_failure_gives_back(self, undo):
        self.quarantine.side_effect = RuntimeError("db gone")
        claims = FakeClaims(["d1"])
        self.assertRaises(exception.LoginNotConnected, self.connect, claims,
                          mock.Mock(side_effect=exception.ServerNotFound(
                              server="s")))
        self.assertTrue(undo.call_args[1]["give_back"])

    def test_tries_are_bounded(self, undo):
        claims = FakeClaims(["d%d" % i for i in range(10)])
        error = exception.ConsoleTimeout(console_type="novnc", server="s",
                                         timeout=8)
        e = self.assertRaises(exception.LoginNotConnected, self.connect,
                              claims, mock.Mock(side_effect=error),
                              attempts=3)
        self.assertEqual(3, len(claims.calls))
        self.assertEqual(({"pool": "agents", "tries": 3}, 503, "15"),
                         (e.details(), e.code, e.headers["Retry-After"]))
        self.assertIn("within 8 seconds", e.message)

    def test_pool_exhausted_on_a_later_try(self, undo):
        claims = FakeClaims(["d1"])
        e = self.assertRaises(exception.LoginNotConnected, self.connect,
                              claims, mock.Mock(side_effect=RuntimeError))
        self.assertEqual(1, e.kwargs["tries"])
        self.assertEqual(2, len(claims.calls))

    def test_pool_exhausted_at_once_is_raised_as_is(self, undo):
        self.assertRaises(exception.PoolExhausted, self.connect,
                          FakeClaims([]), mock.Mock())

    def test_kept_desktop_is_not_tried_again(self, undo):
        # A bound desktop the cloud could not connect stays bound: the
        # next claim would give the same desktop.
        undo.return_value = {"outcome": "kept"}
        claims = FakeClaims(["d1"], reused=True, binding={"id": "b1"})
        self.assertRaises(exception.LoginNotConnected, self.connect,
                          claims, mock.Mock(side_effect=RuntimeError))
        self.assertEqual(1, len(claims.calls))
        self.assertEqual((True, False, None),
                         (undo.call_args[1]["give_back"],
                          undo.call_args[1]["claimed"],
                          undo.call_args[1]["binding_id"]))

    def test_no_try_after_the_deadline(self, undo):
        now = datetime.datetime(2026, 3, 2, 8, 0, 0)
        timeutils.set_time_override(now)
        self.addCleanup(timeutils.clear_time_override)
        claims = FakeClaims(["d1", "d2"])

        def slow(result):
            timeutils.advance_time_seconds(31)
            raise exception.ComputeUnavailable(reason="HTTP 503")

        self.assertRaises(exception.LoginNotConnected, self.connect, claims,
                          slow, deadline=now + datetime.timedelta(seconds=30))
        self.assertEqual(1, len(claims.calls))

    def test_late_success_is_undone(self, undo):
        now = datetime.datetime(2026, 3, 2, 8, 0, 0)
        timeutils.set_time_override(now)
        self.addCleanup(timeutils.clear_time_override)

        def slow(result):
            timeutils.advance_time_seconds(31)
            return {"host": "h"}

        e = self.assertRaises(
            exception.LoginNotConnected, self.connect, FakeClaims(["d1"]),
            slow, deadline=now + datetime.timedelta(seconds=30))
        self.assertIn("did not answer in time", e.message)
        undo.assert_called_once()
