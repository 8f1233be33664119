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

"""A login whose console fails after the claim leaves nothing behind (R7).

The API in-process, its conductor's compute driver the real Nova driver
talking to the Nova emulator over HTTP, pools of spice-direct desktops
(the console is asked of Nova after the claim). The emulator fails the
console call in each way a cloud does: a driver error (500), the
server's state (409), Nova unavailable (503), no answer in time. Each
time the claim is undone, the session closed, the login's event a
failure; the user gets another desktop when the pool has one, else a 503
with Retry-After.
"""

import logging

import fixtures

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import nova_emulator as emu
from tests.functional.api import test_quarantine_nova
from tests.functional.compute import base as compute_test_base
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

SPICE = {"console_type": "spice-direct", "release_action": "keep"}
POOLS = [
    dict(SPICE, name="spice-agents", min_ready=2, max_size=2),
    dict(SPICE, name="vip-spice", min_ready=2, max_size=2),
]
ALLOCATORS = [
    {"name": "vip-personal", "priority": 10, "plugin": "user",
     "pool": "vip-spice", "rules": {"groups": ["vip-agents"]}},
    {"name": "everyone", "priority": 100, "plugin": "pool",
     "pool": "spice-agents", "is_default": True},
]
# [nova] of the driver: the console lookup gives up after this long.
CONSOLE_TIMEOUT = 1.0
RETRIES = 2


class LoginConsoleFailureTest(base.TestCase):

    backend = "sqlite"

    def setUp(self):
        super().setUp()
        self.emulator = self.useFixture(emu.NovaEmulator())
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.broker = self.useFixture(test_quarantine_nova.NovaBroker(
            self.conf, self.emulator,
            nova_options={"console_timeout": CONSOLE_TIMEOUT,
                          "retries": RETRIES},
            flags={("compute", "driver"): "nova"}, backend=self.backend))
        self.broker.setup_call_centre(default=False, pools=POOLS,
                                      allocators=ALLOCATORS)
        self.broker.fill_pools()
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt

    # -- helpers -------------------------------------------------------------

    def pool_desktops(self, pool="spice-agents"):
        return db.desktop_list(self.ctxt,
                               {"pool_id": self.broker.pools[pool]["id"]})

    def failed_session(self, username="amy"):
        closed = [s for s in db.session_list(self.ctxt,
                                             {"username": username})
                  if s["state"] == "closed"]
        self.assertEqual(1, len(closed), closed)
        return closed[0]

    def login_event(self, session_id):
        events = db.event_list(self.ctxt, {"action": "login",
                                           "target_id": session_id})
        self.assertEqual(1, len(events), events)
        return events[0]

    def check_undone(self, session, fault, error, outcome):
        """The failed try: session closed, event a failure, no secret."""
        self.assertEqual("closed", session["state"])
        self.assertTrue(session["close_reason"].startswith("login failed:"),
                        session["close_reason"])
        event = self.login_event(session["id"])
        self.assertEqual("failure", event["result"])
        self.assertEqual(session["close_reason"], event["message"])
        self.assertEqual(
            {"stage": "console", "fault": fault, "error": error,
             "undone": outcome, "attempt": 1},
            {k: event["detail"][k] for k in ("stage", "fault", "error",
                                             "undone", "attempt")})
        for text in (event["message"], session["close_reason"]):
            self.assertNotIn("token", text.replace("console-auth-token",
                                                   ""))
            self.assertNotIn("http", text)
        return event

    def check_second_desktop(self, resp, failed_id):
        self.assertEqual(201, resp.status_int)
        self.assertNotEqual(failed_id, resp.json["desktop"]["id"])
        self.assertEqual("spice", resp.json["connection"]["protocol"])
        self.assertTrue(resp.json["connection"]["host"])
        session = db.session_get(self.ctxt, resp.json["session"]["id"])
        self.assertEqual("active", session["state"])
        self.assertEqual("success",
                         self.login_event(session["id"])["result"])
        # The session works with the token the client got.
        self.app.get(self.broker.session_url(resp), headers={
            "X-Session-Token": resp.json["session"]["token"]})

    def check_503(self, resp):
        error = broker_fixture.assert_error(self, resp, 503)
        self.assertEqual("15", resp.headers["Retry-After"])
        self.assertEqual("spice-agents", error["details"]["pool"])
        self.assertEqual(1, error["details"]["tries"])
        self.assertEqual([], db.session_list(self.ctxt,
                                             {"state": "active",
                                              "username": "amy"}))
        return error

    def other_desktop_in_use(self):
        """Take the pool's other desktop: one ready desktop is left."""
        self.broker.login("sam", client_id="tc-sam")
        ready = [d for d in self.pool_desktops()
                 if d["state"] == models.READY]
        self.assertEqual(1, len(ready))
        return ready[0]

    def desktop(self, desktop_id):
        return db.desktop_get(self.ctxt, desktop_id)

    def not_handed_out(self, resp):
        (failed,) = [d for d in self.pool_desktops()
                     if d["id"] != resp.json["desktop"]["id"]]
        return failed

    # -- a failure that is not the desktop's: back to ready ------------------

    def _cloud_fault_then_second_desktop(self, error, **fault):
        self.emulator.inject_fault("console", **fault)
        resp = self.broker.login("amy")
        self.console_calls = self.emulator.calls("console")
        failed = self.not_handed_out(resp)
        self.assertEqual(models.READY, failed["state"])
        self.assertIsNone(failed["assigned_user"])
        self.check_undone(self.failed_session(), "cloud", error,
                          models.READY)
        self.check_second_desktop(resp, failed["id"])
        return failed

    def test_driver_error_gives_another_desktop(self):
        # Nova's 500: its virt driver failed; retried, then given up.
        self._cloud_fault_then_second_desktop(
            "ComputeUnavailable", status=500, count=RETRIES + 1,
            message="Unexpected API Error. libvirtError: internal error")
        self.assertEqual(RETRIES + 2, self.console_calls)

    def test_nova_503_gives_another_desktop(self):
        self._cloud_fault_then_second_desktop(
            "ComputeUnavailable", status=503, count=RETRIES + 1)

    def test_console_timeout_gives_another_desktop(self):
        self._cloud_fault_then_second_desktop(
            "ConsoleTimeout", delay=compute_test_base.HOLD, count=1)
        # The held request was not tried again: the lookup had no time.
        self.assertEqual(2, self.console_calls)

    def test_driver_error_with_no_other_desktop(self):
        desktop = self.other_desktop_in_use()
        self.emulator.inject_fault("console", status=500, count=None)
        resp = self.broker.login("amy", status=503)
        error = self.check_503(resp)
        self.assertIn("HTTP 500", error["message"])
        self.assertEqual(models.READY, self.desktop(desktop["id"])["state"])
        self.check_undone(self.failed_session(), "cloud",
                          "ComputeUnavailable", models.READY)

    def test_nova_503_with_no_other_desktop(self):
        desktop = self.other_desktop_in_use()
        self.emulator.inject_fault("console", status=503, count=None)
        resp = self.broker.login("amy", status=503)
        self.check_503(resp)
        self.assertEqual(models.READY, self.desktop(desktop["id"])["state"])
        self.check_undone(self.failed_session(), "cloud",
                          "ComputeUnavailable", models.READY)

    def test_console_timeout_with_no_other_desktop(self):
        desktop = self.other_desktop_in_use()
        self.emulator.inject_fault("console", delay=compute_test_base.HOLD,
                                   count=None)
        resp = self.broker.login("amy", status=503)
        error = self.check_503(resp)
        self.assertIn("within %s seconds" % CONSOLE_TIMEOUT,
                      error["message"])
        self.assertEqual(models.READY, self.desktop(desktop["id"])["state"])
        self.check_undone(self.failed_session(), "cloud", "ConsoleTimeout",
                          models.READY)

    # -- the desktop's console failed: quarantine ----------------------------

    def test_nova_409_quarantines_and_gives_another_desktop(self):
        self.emulator.inject_fault(
            "console", status=409, count=1,
            message="Instance is not ready (vm_state stopped)")
        resp = self.broker.login("amy")
        failed = self.not_handed_out(resp)
        self.assertEqual(models.QUARANTINED, failed["state"])
        self.assertEqual("login:amy", failed["faulted_by"])
        self.assertIn("HTTP 409", failed["fault_reason"])
        server = self.emulator.servers[failed["server_id"]]
        self.assertTrue(server["locked"])
        self.check_undone(self.failed_session(), "desktop",
                          "ConsoleNotReady", "kept")
        quarantine = db.event_list(self.ctxt,
                                   {"action": "desktop.quarantine"})[0]
        self.assertEqual(("allocation", failed["id"], "login"),
                         (quarantine["kind"], quarantine["desktop_id"],
                          quarantine["detail"]["source"]))
        self.check_second_desktop(resp, failed["id"])

    def test_nova_409_with_no_other_desktop(self):
        desktop = self.other_desktop_in_use()
        self.emulator.inject_fault("console", status=409, count=None)
        resp = self.broker.login("amy", status=503)
        self.check_503(resp)
        self.assertEqual(models.QUARANTINED,
                         self.desktop(desktop["id"])["state"])
        self.check_undone(self.failed_session(), "desktop",
                          "ConsoleNotReady", "kept")

    def test_tries_are_bounded(self):
        self.flags(group="allocator", connect_attempts=2)
        self.emulator.inject_fault("console", status=409, count=None)
        resp = self.broker.login("amy", status=503)
        error = broker_fixture.assert_error(self, resp, 503)
        self.assertEqual(2, error["details"]["tries"])
        self.assertEqual([models.QUARANTINED] * 2,
                         [d["state"] for d in self.pool_desktops()])
        self.assertEqual(2, self.emulator.calls("console"))

    # -- bindings ------------------------------------------------------------

    def test_bound_desktop_409_moves_the_binding(self):
        first = self.broker.login("vera")
        old = first.json["desktop"]["id"]
        self.broker.logout(first)
        self.emulator.inject_fault(
            "console", status=409, count=None,
            server=self.desktop(old)["server_id"])
        again = self.broker.login("vera")
        self.assertEqual(201, again.status_int)
        self.assertNotEqual(old, again.json["desktop"]["id"])
        self.assertEqual(models.QUARANTINED, self.desktop(old)["state"])
        # The binding moved with quarantine's rehome (db.binding_rehome).
        binding = db.binding_find(self.ctxt, "user", "vera")
        self.assertEqual(again.json["desktop"]["id"], binding["desktop_id"])
        self.assertEqual(first.json["binding"]["id"], binding["id"])
        move = db.event_list(self.ctxt, {"action": "binding.move"})[0]
        self.assertEqual(old, move["detail"]["from_desktop"])

    def test_first_login_binding_undone_on_a_cloud_fault(self):
        self.emulator.inject_fault("console", status=503, count=None)
        resp = self.broker.login("vera", status=503)
        broker_fixture.assert_error(self, resp, 503)
        # Both desktops tried (the binding went with each try).
        self.assertIsNone(db.binding_find(self.ctxt, "user", "vera"))
        self.assertEqual([models.READY] * 2,
                         [d["state"] for d in self.pool_desktops(
                             "vip-spice")])
        self.assertEqual(2, resp.json["error"]["details"]["tries"])

    def test_bound_desktop_timeout_keeps_the_binding(self):
        first = self.broker.login("vera")
        desktop_id = first.json["desktop"]["id"]
        self.broker.logout(first)
        self.emulator.inject_fault("console", delay=compute_test_base.HOLD,
                                   count=None)
        resp = self.broker.login("vera", status=503)
        # Not the desktop's fault: it stays vera's, not tried again.
        self.assertEqual(1, resp.json["error"]["details"]["tries"])
        desktop = self.desktop(desktop_id)
        self.assertEqual((models.ASSIGNED, "vera"),
                         (desktop["state"], desktop["assigned_user"]))
        self.assertEqual(desktop_id, db.binding_find(
            self.ctxt, "user", "vera")["desktop_id"])

    def test_second_client_failure_gives_the_first_its_session_back(self):
        first = self.broker.login("amy", client_id="tc-1")
        self.emulator.inject_fault("console", status=503, count=None)
        self.broker.login("amy", client_id="tc-2", status=503)
        self.emulator.clear_faults()
        # The first client's session is active again, on its desktop.
        session = db.session_get(self.ctxt, first.json["session"]["id"])
        self.assertEqual(("active", None),
                         (session["state"], session["close_reason"]))
        self.app.get(self.broker.session_url(first), headers={
            "X-Session-Token": first.json["session"]["token"]})
        desktop = self.desktop(first.json["desktop"]["id"])
        self.assertEqual((models.ASSIGNED, "amy"),
                         (desktop["state"], desktop["assigned_user"]))
        failed = [s for s in db.session_list(self.ctxt, {"username": "amy"})
                  if s["client_id"] == "tc-2"]
        self.assertEqual(["closed"], [s["state"] for s in failed])
        self.assertEqual("restored",
                         self.login_event(failed[0]["id"])["detail"]
                         ["undone"])


class MySQLLoginConsoleFailureTest(LoginConsoleFailureTest):
    """MariaDB: claims skip locked rows, DATETIME has no fraction."""

    backend = "mysql"


class PostgreSQLLoginConsoleFailureTest(LoginConsoleFailureTest):
    backend = "postgresql"
