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

"""The login service's one transaction (login/service.py), storage mocked."""

import contextlib
import datetime
from unittest import mock

from oslo_utils import timeutils

from tests import base
from vdi_broker import exception
from vdi_broker.login import service


def _pool(enabled=True):
    return {"id": "p1", "name": "agents", "enabled": enabled,
            "console_type": "fake", "status": "available"}


class FakeStorage:
    """db.login_* as the service calls them; records the order."""

    def __init__(self, seat=None, pools=None, allocators=None):
        self.calls = []
        self.seat = seat
        self.pools = pools if pools is not None else [_pool()]
        self.allocators = allocators if allocators is not None else [
            {"id": "a1", "name": "everyone", "priority": 10,
             "plugin": "pool", "pool_id": "p1", "rules": {},
             "options": {}, "enabled": True, "is_default": False}]
        self.open = False

    @contextlib.contextmanager
    def login_transaction(self, ctxt, username):
        self.calls.append(("lock", username))
        self.open = True
        try:
            yield
        finally:
            self.open = False
            self.calls.append(("end",))

    def login_inputs(self, ctxt, seat, client_id, username=None):
        assert self.open
        self.calls.append(("inputs", seat, client_id))
        return {"seat": self.seat, "client": None,
                "allocators": self.allocators, "pools": self.pools}

    def login_register_seat(self, ctxt, request, register):
        assert self.open
        self.calls.append(("seat", request["seat"], register))
        if not register:
            raise exception.SeatNotRegistered(seat=request["seat"])
        return {"name": request["seat"], "tags": [], "site": None}

    def login_claim(self, ctxt, request, decision, values, pool=None,
                    attempts=8, candidates=16, exclude=(), keep_pools=None):
        assert self.open
        self.calls.append(("claim", decision["pool_id"], pool["id"]))
        now = timeutils.utcnow()
        return {"session": dict(values, username=request["username"],
                                client_id=request["client_id"],
                                seat=request["seat"], state="active",
                                created_at=now, closed_at=None,
                                close_reason=None),
                "desktop": {"id": "d1", "name": "d1", "pool_id": "p1",
                            "state": "assigned", "address": "10.0.0.1",
                            "server_id": "s1"},
                "pool": pool, "binding": None, "reused": False}


class TestLoginService(base.TestCase):

    def setUp(self):
        super().setUp()
        self.refusals = mock.Mock()
        self.service = service.LoginService(self.conf, self.refusals,
                                            notifier=mock.Mock(enabled=False))
        self.ctxt = mock.Mock()

    def storage(self, **kwargs):
        fake = FakeStorage(**kwargs)
        for name in ("login_transaction", "login_inputs",
                     "login_register_seat", "login_claim"):
            self.useFixture_patch(name, getattr(fake, name))
        return fake

    def useFixture_patch(self, name, value):
        patcher = mock.patch.object(service.db, name, value)
        patcher.start()
        self.addCleanup(patcher.stop)

    def login(self, seat=None):
        return self.service.login(self.ctxt, {
            "principal": {"username": "amy", "groups": []},
            "client_id": "tc-1", "seat": seat, "session_id": "s-1",
            "token_hash": "h" * 64,
            "expires_at": timeutils.utcnow() + datetime.timedelta(hours=1)})

    def test_one_transaction_lock_first(self):
        fake = self.storage()
        result = self.login()
        self.assertEqual([("lock", "amy"), ("inputs", None, "tc-1"),
                          ("claim", "p1", "p1"), ("end",)], fake.calls)
        self.assertEqual("everyone", result["allocator"]["name"])
        self.assertEqual(("fake", "10.0.0.1"),
                         (result["connection"]["protocol"],
                          result["connection"]["host"]))
        self.refusals.refusal.assert_not_called()

    def test_unknown_seat_registered_in_the_transaction(self):
        self.conf.set_override("register_unknown_clients", True,
                               "client_session")
        fake = self.storage()
        self.login(seat="SH-1")
        self.assertEqual([("lock", "amy"), ("inputs", "SH-1", "tc-1"),
                          ("seat", "SH-1", True), ("claim", "p1", "p1"),
                          ("end",)], fake.calls)

    def test_unknown_seat_refused_with_an_event(self):
        fake = self.storage()
        self.assertRaises(exception.SeatNotRegistered, self.login,
                          seat="SH-1")
        self.assertNotIn("claim", [c[0] for c in fake.calls])
        self.refusals.refusal.assert_called_once_with(
            self.ctxt, "amy", "tc-1", "seat_not_registered",
            {"seat": "SH-1"})

    def test_no_allocator_refused_with_an_event(self):
        self.storage(allocators=[])
        self.assertRaises(exception.NoAllocatorMatches, self.login)
        args = self.refusals.refusal.call_args[0]
        self.assertEqual(("amy", "tc-1", "no_allocator"), args[1:4])
        self.assertEqual([], args[4]["tried"])

    def test_disabled_pool_refused_with_an_event(self):
        fake = self.storage(pools=[_pool(enabled=False)])
        e = self.assertRaises(exception.PoolExhausted, self.login)
        self.assertEqual("disabled", e.details()["status"])
        self.assertNotIn("claim", [c[0] for c in fake.calls])
        args = self.refusals.refusal.call_args[0]
        self.assertEqual(("pool_disabled", "agents"),
                         (args[3], args[4]["pool"]))

    def test_exhausted_pool_refused_with_an_event(self):
        self.storage()

        def none_ready(*args, **kwargs):
            raise exception.PoolExhausted(pool="agents", ready=0)

        self.useFixture_patch("login_claim", none_ready)
        e = self.assertRaises(exception.PoolExhausted, self.login)
        self.assertIs(exception.PoolExhausted, type(e))
        args = self.refusals.refusal.call_args[0]
        self.assertEqual(("pool_exhausted", "agents"),
                         (args[3], args[4]["pool"]))

    def test_no_compute_driver_for_a_console_without_cloud(self):
        self.storage()
        self.login()
        self.assertIsNone(self.service._compute)


class TestQuarantineFromTheApi(base.TestCase):
    """Without a conductor in the process: DesktopActions, built lazily."""

    def test_quarantine_locks_the_server_with_the_lazy_driver(self):
        compute = mock.Mock()
        made = []

        def load():
            made.append(compute)
            return compute

        logins = service.LoginService(self.conf, mock.Mock(),
                                      compute=load,
                                      notifier=mock.Mock(enabled=False))
        self.assertEqual([], made)
        desktop = {"id": "d1", "server_id": "s1", "binding": None,
                   "pool_id": "p1"}
        with mock.patch.object(service.db, "desktops_quarantine",
                               return_value=[desktop]) as quarantine:
            done = logins.quarantine(mock.Mock(), {"d1": "console failed"},
                                     "login:amy", "login")
        self.assertEqual([desktop], done)
        self.assertEqual(("login:amy",), quarantine.call_args[0][2:])
        compute.lock_server.assert_called_once_with(
            "s1", "vdi-broker quarantine: console failed")
        self.assertEqual([compute], made)
