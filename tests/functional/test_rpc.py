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

"""The conductor over a real RabbitMQ.

The API runs with ``[conductor] use_local = false`` and reaches an
in-process :class:`vdi_broker.service.ConductorService` (RPC server thread
plus periodic pool manager) through the broker at
``VDI_TEST_RABBIT_URL`` (default ``rabbit://guest:guest@127.0.0.1:5672/``).
Each test uses its own topic. Without RabbitMQ the tests are skipped,
unless ``VDI_BROKER_REQUIRE_DBS`` is set: then they fail.
"""

import os
import socket
import time
import urllib.parse
import uuid

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import database
from vdi_broker.cmd import init_backend  # noqa: F401  (threading backend)
from vdi_broker.conductor import rpcapi
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker import rpc
from vdi_broker import service

RABBIT_URL = os.environ.get("VDI_TEST_RABBIT_URL",
                            "rabbit://guest:guest@127.0.0.1:5672/")
CONDUCTOR_TIMEOUT = 2


def _rabbit_reachable():
    url = urllib.parse.urlsplit(RABBIT_URL.replace("rabbit://", "http://"))
    try:
        with socket.create_connection((url.hostname, url.port or 5672),
                                      timeout=2):
            return True
    except OSError:
        return False


class RpcTestCase(base.TestCase):

    start_conductor = True
    pool_interval = 1

    def setUp(self):
        super().setUp()
        if not _rabbit_reachable():
            message = "RabbitMQ is not reachable at %s" % RABBIT_URL
            if database.required():
                self.fail(message)
            self.skipTest(message)
        self.topic = "vdi-broker-test-%s" % uuid.uuid4().hex[:12]
        # A fresh transport for this test's URL, dropped after the service
        # has stopped (cleanups run last in, first out).
        rpc.cleanup()
        self.addCleanup(rpc.cleanup)
        self.broker = broker_fixture.use_broker(
            self, local=False, flags={
                (None, "transport_url"): RABBIT_URL,
                ("conductor", "topic"): self.topic,
                ("conductor", "pool_interval"): self.pool_interval,
                ("api", "conductor_timeout"): CONDUCTOR_TIMEOUT,
            })
        self.app = self.broker.app
        self.assertIsInstance(self.broker.broker_app.conductor,
                              rpcapi.ConductorAPI)
        if self.start_conductor:
            self.service = service.ConductorService(
                self.conf, self.broker.manager, host="test-%s" % self.topic)
            self.service.start()
            self.addCleanup(self.service.stop)

    def wait_for_pools(self, timeout=20):
        """The service's periodic pool manager fills the pools."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = db.pool_desktop_counts(self.broker.ctxt)
            pools = db.pool_list(self.broker.ctxt)
            if all(counts.get(p["id"], {}).get(models.READY, 0) >=
                   p["min_ready"] for p in pools):
                return counts
            time.sleep(0.1)
        self.fail("pools not filled in %ss: %s" % (
            timeout, db.pool_desktop_counts(self.broker.ctxt)))


class TestConductorOverRabbit(RpcTestCase):

    def setUp(self):
        super().setUp()
        self.broker.create_pool("sh-agents", min_ready=2, max_size=3,
                                release_action="reboot")
        self.broker.create_pool("empty", min_ready=0, max_size=0)
        self.broker.create_allocator(
            "shanghai-agents", pool="sh-agents", priority=10,
            rules={"ou": ["shanghai"]})
        self.broker.create_allocator(
            "contractors", pool="empty", priority=20,
            rules={"groups": ["contractors"]})
        self.wait_for_pools()

    def test_login_show_logout_over_rpc(self):
        login = self.broker.login("amy")
        self.assertEqual("sh-agents", login.json["pool"]["name"])
        self.assertEqual("shanghai-agents", login.json["allocator"]["name"])
        self.assertEqual(3389, login.json["connection"]["port"])
        self.assertEqual(login.json["desktop"]["address"],
                         login.json["connection"]["host"])
        headers = {"X-Session-Token": login.json["session"]["token"]}
        url = self.broker.session_url(login)
        shown = self.app.get(url, headers=headers)
        self.assertEqual(login.json["connection"], shown.json["connection"])
        # The request id travels with the context to the conductor.
        event = db.event_list(self.broker.ctxt, {"action": "login"})[0]
        self.assertEqual(login.headers["X-OpenStack-Request-ID"],
                         event["request_id"])
        self.broker.logout(login)
        self.app.get(url, headers=headers, status=401)
        desktop = db.desktop_get(self.broker.ctxt,
                                 login.json["desktop"]["id"])
        self.assertIn(desktop["state"], (models.RELEASING, models.READY))
        explain = self.app.post_json("/v1/allocators/explain",
                                     {"username": "sam"}).json["explain"]
        self.assertEqual("shanghai-agents", explain["outcome"]["allocator"])
        # The periodic pool manager finishes the release.
        deadline = time.monotonic() + 20
        while desktop["state"] != models.READY:
            self.assertLess(time.monotonic(), deadline, desktop)
            time.sleep(0.1)
            desktop = db.desktop_get(self.broker.ctxt, desktop["id"])

    def test_force_logout_over_rpc(self):
        login = self.broker.login("sam")
        self.app.delete("/v1/sessions/%s" % login.json["session"]["id"],
                        status=204)
        self.assertEqual("closed", db.session_get(
            self.broker.ctxt, login.json["session"]["id"])["state"])

    def test_broker_exceptions_cross_the_bus(self):
        before = self.broker.counts(("sessions", "desktops", "bindings"))
        resp = self.broker.login("carl", status=503)
        error = broker_fixture.assert_error(self, resp, 503)
        self.assertEqual("15", resp.headers["Retry-After"])
        self.assertEqual("empty", error["details"]["pool"])
        self.assertEqual(0, error["details"]["ready"])
        self.assertEqual("Pool empty has no ready desktop right now.",
                         error["message"])
        resp = self.broker.login("bob", status=403)
        error = broker_fixture.assert_error(self, resp, 403)
        self.assertEqual(["shanghai-agents", "contractors"],
                         [s["allocator"] for s in error["details"]["tried"]])
        self.assertEqual(before, self.broker.counts(before.keys()))
        # The client sees the broker's exception types.
        api = self.broker.broker_app.conductor
        ctxt = vdi_context.RequestContext(user_id="carl", overwrite=False)
        principal = {"username": "carl", "dn": "uid=carl,ou=x",
                     "groups": ["contractors"]}
        e = self.assertRaises(
            exception.PoolExhausted, api.allocate, ctxt,
            {"principal": principal, "client_id": "tc-1",
             "session_id": str(uuid.uuid4()), "token_hash": "0" * 64,
             "expires_at": "2099-01-01T00:00:00"})
        self.assertEqual(503, e.code)
        self.assertEqual("empty", e.details()["pool"])
        e = self.assertRaises(exception.SessionNotFound, api.get_connection,
                              ctxt, "no-such-session")
        self.assertEqual(404, e.code)


class TestConductorDown(RpcTestCase):

    start_conductor = False

    def test_logins_go_on_without_a_conductor(self):
        """The API logs users in itself: no conductor on the way.

        (The pools stop refilling; the desktops ready are handed out.)
        """
        self.broker.create_pool("sh-agents", min_ready=1, max_size=1)
        self.broker.create_allocator("everyone", pool="sh-agents")
        self.broker.fill_pools()
        login = self.broker.login("amy")
        self.assertEqual("sh-agents", login.json["pool"]["name"])
        headers = {"X-Session-Token": login.json["session"]["token"]}
        shown = self.app.get(self.broker.session_url(login),
                             headers=headers)
        self.assertEqual(login.json["connection"], shown.json["connection"])
        explain = self.app.post_json("/v1/allocators/explain",
                                     {"username": "sam"}).json["explain"]
        self.assertEqual("everyone", explain["outcome"]["allocator"])
        # What needs the conductor still fails in bounded time.
        started = time.monotonic()
        resp = self.app.get(self.broker.session_url(login) + "/console-file",
                            headers=headers, status=503)
        error = broker_fixture.assert_error(self, resp, 503)
        self.assertIn("conductor", error["message"])
        self.assertEqual("5", resp.headers["Retry-After"])
        self.assertLess(time.monotonic() - started, CONDUCTOR_TIMEOUT + 6)
        # The logout does not: the session ends and the release is
        # recorded; it waits for a conductor.
        started = time.monotonic()
        self.broker.logout(login)
        self.assertLess(time.monotonic() - started, 1)
        self.app.get(self.broker.session_url(login), headers=headers,
                     status=401)
        desktop = db.desktop_get(self.broker.ctxt,
                                 login.json["desktop"]["id"])
        self.assertEqual(models.RELEASING, desktop["state"])
        self.assertIsNone(desktop["assigned_user"])
        self.assertNotIn(("reboot", desktop["server_id"]),
                         self.broker.cloud.calls)
        # A conductor that comes back finishes the release from the
        # database.
        self.broker.fill_pools()
        desktop = db.desktop_get(self.broker.ctxt, desktop["id"])
        self.assertEqual(models.READY, desktop["state"])
        self.assertIn(("reboot", desktop["server_id"]),
                      self.broker.cloud.calls)


class TestReleaseCast(RpcTestCase):
    """The logout's cast starts the release before any pool manager pass.

    (The service's pool manager passes once at start, then not for an
    hour: only the cast can send the reboot.)
    """

    pool_interval = 3600

    def test_logout_casts_the_release(self):
        self.broker.create_pool("sh-agents", min_ready=2, max_size=2,
                                release_action="reboot")
        self.broker.create_allocator("everyone", pool="sh-agents")
        self.broker.fill_pools()
        logins = [self.broker.login(user) for user in ("amy", "sam")]
        for login, logout in zip(logins, (
                self.broker.logout,
                # The helpdesk's forced logout.
                lambda login: self.app.delete(
                    "/v1/sessions/%s" % login.json["session"]["id"],
                    status=204))):
            started = time.monotonic()
            logout(login)
            self.assertLess(time.monotonic() - started, 1)
            server_id = login.json["desktop"]["server_id"]
            deadline = time.monotonic() + 10
            while ("reboot", server_id) not in self.broker.cloud.calls:
                self.assertLess(time.monotonic(), deadline,
                                self.broker.cloud.calls)
                time.sleep(0.05)
            desktop = db.desktop_get(self.broker.ctxt,
                                     login.json["desktop"]["id"])
            self.assertEqual(models.RELEASING, desktop["state"])
            self.assertEqual("release:reboot:issued",
                             desktop["state_reason"])


class TestBusDown(base.TestCase):
    """No RabbitMQ at all: logins go on; the rest fails in bounded time."""

    def test_login_needs_no_bus(self):
        rpc.cleanup()
        # The transport's own cleanup would wait for the connection attempt
        # that never ends; ours gives up after a while.
        self.addCleanup(rpc.cleanup, timeout=1)
        broker = broker_fixture.use_broker(self, local=False, flags={
            # Nothing listens on port 1: oslo.messaging retries the
            # connection forever on its own.
            (None, "transport_url"): "rabbit://guest:guest@127.0.0.1:1/",
            ("conductor", "topic"): "vdi-broker-nobus-%s" % uuid.uuid4().hex,
            ("api", "conductor_timeout"): 1,
        })
        broker.setup_call_centre()
        broker.fill_pools()
        login = broker.login("amy")
        self.assertEqual("sh-agents", login.json["pool"]["name"])
        # The logout ends the session without the bus; its cast to the
        # conductors is dropped, and the release waits in the database.
        started = time.monotonic()
        broker.logout(login)
        self.assertLess(time.monotonic() - started, 1)
        session = db.session_get(broker.ctxt, login.json["session"]["id"])
        self.assertEqual("closed", session["state"])
        self.assertEqual(models.RELEASING, db.desktop_get(
            broker.ctxt, login.json["desktop"]["id"])["state"])
        # A call still fails, in bounded time.
        started = time.monotonic()
        resp = broker.app.post_json(
            "/v1/desktops/%s/action" % login.json["desktop"]["id"],
            {"reboot": {}}, status=503)
        elapsed = time.monotonic() - started
        broker_fixture.assert_error(self, resp, 503)
        self.assertLess(elapsed, 1 + rpcapi.DEADLINE_GRACE + 3)


class TestLateLogin(base.TestCase):
    """A login that reaches the conductor after its deadline is dropped."""

    def test_conductor_refuses_a_late_login(self):
        broker = broker_fixture.use_broker(self)
        broker.setup_call_centre()
        broker.fill_pools()
        before = broker.counts()
        login = {
            "principal": {"username": "amy",
                          "dn": "uid=amy,ou=hotel,ou=shanghai,dc=example"},
            "client_id": "tc-late", "seat": None,
            "session_id": str(uuid.uuid4()), "token_hash": "0" * 64,
            "expires_at": "2099-01-01T00:00:00",
            "deadline": "2000-01-01T00:00:00"}
        self.assertRaises(exception.ConductorUnavailable,
                          broker.broker_app.conductor.allocate,
                          vdi_context.get_admin_context(), login)
        self.assertEqual(before, broker.counts())
