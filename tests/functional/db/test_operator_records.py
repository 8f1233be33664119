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

"""The database API of the operator's records, on SQLite, MariaDB and
PostgreSQL: seats, thin clients and heartbeats, binding moves, events,
and the atomic reorder of the allocator chain under concurrent writers.
"""

import concurrent.futures
import datetime
import os
import random
import threading
import time

from oslo_utils import uuidutils
import testscenarios
from testtools import content

from tests import base
from tests.fixtures import database
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker.services import allocators as allocators_service

load_tests = testscenarios.load_tests_apply_scenarios

BACKENDS = database.BACKENDS


class RecordsDbTestCase(testscenarios.WithScenarios, base.TestCase):

    scenarios = BACKENDS
    backend = "sqlite"

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(database.Database(self.backend))
        self.ctxt = vdi_context.get_admin_context()

    def _pool(self, name="pool", ready=3):
        pool = db.pool_create(self.ctxt, {
            "name": name, "flavor": "m1.desktop", "image": "win11",
            "min_ready": 0, "max_size": ready + 5,
            "release_action": "keep"})
        desktops = [db.desktop_create(self.ctxt, {
            "pool_id": pool["id"], "name": "%s-%d" % (name, i),
            "server_id": uuidutils.generate_uuid(), "state": models.READY})
            for i in range(ready)]
        return pool, desktops

    @staticmethod
    def _run(calls, threads=16):
        """Run (fn, args) from many threads at once; results or errors."""
        start = threading.Event()

        def call(fn, args):
            start.wait(timeout=30)
            try:
                return fn(*args)
            except Exception as e:
                return e

        with concurrent.futures.ThreadPoolExecutor(threads) as executor:
            futures = [executor.submit(call, fn, args)
                       for fn, args in calls]
            time.sleep(0.2)
            start.set()
            return [f.result(timeout=120) for f in futures]

    def _ctx(self):
        return vdi_context.get_admin_context()


class TestSeatsAndThinClients(RecordsDbTestCase):

    def test_crud_revisions_and_events(self):
        seat = db.seat_create(self.ctxt, {"name": "S-1", "tags": ["a"]})
        self.assertEqual(1, seat["revision"])
        self.assertEqual(seat, db.seat_get(self.ctxt, "S-1"))
        client = db.thin_client_create(self.ctxt, {"client_id": "tc-1",
                                                   "seat": "S-1"})
        self.assertEqual(("S-1", seat["id"]), (client["seat"],
                                               client["seat_id"]))
        updated = db.seat_update(self.ctxt, "S-1", {"site": "x"},
                                 expected_revision=1)
        self.assertEqual(2, updated["revision"])
        self.assertRaises(exception.Conflict, db.seat_update, self.ctxt,
                          "S-1", {"site": "y"}, expected_revision=1)
        self.assertRaises(exception.DuplicateName, db.seat_create,
                          self.ctxt, {"name": "S-1"})
        self.assertRaises(exception.DuplicateName, db.thin_client_create,
                          self.ctxt, {"client_id": "tc-1"})
        self.assertRaises(exception.SeatNotFound, db.thin_client_create,
                          self.ctxt, {"client_id": "tc-2", "seat": "S-9"})
        self.assertRaises(exception.InUse, db.seat_delete, self.ctxt, "S-1")
        client = db.thin_client_update(self.ctxt, "tc-1", {"seat": None},
                                       expected_revision=1)
        self.assertEqual((None, None, 2), (client["seat"],
                                           client["seat_id"],
                                           client["revision"]))
        self.assertEqual([client], db.thin_client_list(self.ctxt))
        db.seat_delete(self.ctxt, seat["id"])
        db.thin_client_delete(self.ctxt, client["id"])
        self.assertEqual([], db.seat_list(self.ctxt))
        self.assertEqual(
            ["thin_client.delete", "seat.delete", "thin_client.update",
             "seat.update", "thin_client.create", "seat.create"],
            [e["action"] for e in db.event_list(self.ctxt,
                                                {"kind": "admin"})])

    def test_seat_with_binding_is_in_use_and_rename_moves_it(self):
        pool, desktops = self._pool()
        db.seat_create(self.ctxt, {"name": "S-1"})
        binding = db.binding_create(self.ctxt, "seat", "S-1",
                                    desktops[0]["id"])
        self.assertRaises(exception.InUse, db.seat_delete, self.ctxt, "S-1")
        db.seat_update(self.ctxt, "S-1", {"name": "S-1A"})
        moved = db.binding_get(self.ctxt, binding["id"])
        self.assertEqual(("S-1A", 2), (moved["key"], moved["revision"]))

    def test_heartbeat(self):
        db.thin_client_create(self.ctxt, {"client_id": "tc-1"})
        before = db.thin_client_get(self.ctxt, "tc-1")
        self.assertRaises(exception.ThinClientNotFound,
                          db.thin_client_heartbeat, self.ctxt, "tc-2",
                          {"input_events": 1})
        self.assertFalse(db.thin_client_heartbeat(
            self.ctxt, "tc-1", {"input_events": 5, "last_user": "amy",
                                "last_address": "10.0.0.1"}))
        after = db.thin_client_get(self.ctxt, "tc-1")
        self.assertEqual(("online", 5, "amy", "10.0.0.1"), (
            after["status"], after["input_events"], after["last_user"],
            after["last_address"]))
        self.assertEqual((before["revision"], before["updated_at"]),
                         (after["revision"], after["updated_at"]))
        self.assertIsNotNone(after["last_seen_at"])

    def test_concurrent_first_heartbeats_register_once(self):
        results = self._run([(db.thin_client_heartbeat,
                              (self._ctx(), "tc-new", {"input_events": i},
                               True)) for i in range(16)])
        self.assertEqual([], [r for r in results
                              if isinstance(r, Exception)])
        self.assertEqual(1, results.count(True))
        self.assertEqual(1, len(db.thin_client_list(self.ctxt)))
        self.assertEqual(1, len(db.event_list(
            self.ctxt, {"action": "thin_client.register"})))


class TestBindingMove(RecordsDbTestCase):

    def test_move_and_refusals(self):
        pool, desktops = self._pool(ready=4)
        other_pool, others = self._pool("other", ready=1)
        binding = db.binding_create(self.ctxt, "user", "amy",
                                    desktops[0]["id"])
        moved = db.binding_move(self.ctxt, binding["id"], desktops[1]["id"],
                                expected_revision=1)
        self.assertEqual((desktops[1]["id"], 2), (moved["desktop_id"],
                                                  moved["revision"]))
        self.assertEqual(models.READY,
                         db.desktop_get(self.ctxt, desktops[0]["id"])["state"])
        self.assertRaises(exception.Conflict, db.binding_move, self.ctxt,
                          binding["id"], desktops[2]["id"],
                          expected_revision=1)
        self.assertRaises(exception.Invalid, db.binding_move, self.ctxt,
                          binding["id"], others[0]["id"])
        db.desktop_transition(self.ctxt, desktops[2]["id"], [models.READY],
                              {"state": models.ASSIGNED,
                               "assigned_user": "sam"})
        self.assertRaises(exception.DesktopNotAvailable, db.binding_move,
                          self.ctxt, binding["id"], desktops[2]["id"])
        db.binding_create(self.ctxt, "seat", "S-1", desktops[3]["id"])
        self.assertRaises(exception.Conflict, db.binding_move, self.ctxt,
                          binding["id"], desktops[3]["id"])
        self.assertEqual(desktops[1]["id"], db.binding_get(
            self.ctxt, binding["id"])["desktop_id"])
        self.assertEqual(1, len(db.event_list(
            self.ctxt, {"action": "binding.update"})))

    def test_concurrent_moves_to_one_desktop(self):
        """Several bindings moved to the same desktop: one wins."""
        pool, desktops = self._pool(ready=9)
        bindings = [db.binding_create(self.ctxt, "user", "u%d" % i,
                                      desktops[i]["id"]) for i in range(8)]
        target = desktops[8]["id"]
        results = self._run([(db.binding_move, (self._ctx(), b["id"],
                                                target))
                             for b in bindings])
        winners = [r for r in results if isinstance(r, dict)]
        self.assertEqual(1, len(winners), results)
        self.assertEqual([], [r for r in results if not isinstance(
            r, (dict, exception.Conflict))])
        on_target = [b for b in db.binding_list(self.ctxt)
                     if b["desktop_id"] == target]
        self.assertEqual([winners[0]["id"]], [b["id"] for b in on_target])
        self.assertEqual(winners[0]["key"], db.desktop_get(
            self.ctxt, target)["assigned_user"])


class TestEvents(RecordsDbTestCase):

    def test_filters_time_window_and_marker(self):
        old = datetime.datetime(2026, 1, 1, 8, 0)
        for i in range(6):
            db.event_record(self.ctxt, "admin" if i % 2 else "allocation",
                            "test.%d" % i, username="u%d" % (i % 3),
                            pool_id="p1")
        # Events of a past day, written as they would have been then.
        with self.database.engine.begin() as conn:
            conn.execute(models.Event.__table__.update()
                         .where(models.Event.action.in_(["test.0",
                                                         "test.1"]))
                         .values(created_at=old))
        everything = db.event_list(self.ctxt)
        self.assertEqual(["test.%d" % i for i in range(5, -1, -1)],
                         [e["action"] for e in everything])
        self.assertEqual(["test.5", "test.3", "test.1"], [
            e["action"] for e in db.event_list(self.ctxt,
                                               {"kind": "admin"})])
        self.assertEqual(["test.4", "test.1"], [
            e["action"] for e in db.event_list(self.ctxt,
                                               {"username": "u1"})])
        self.assertEqual(["test.1", "test.0"], [
            e["action"] for e in db.event_list(
                self.ctxt, until=old + datetime.timedelta(seconds=1))])
        self.assertEqual(["test.5", "test.4", "test.3", "test.2"], [
            e["action"] for e in db.event_list(
                self.ctxt, since=old + datetime.timedelta(days=1))])
        self.assertEqual(["test.1", "test.0"], [
            e["action"] for e in db.event_list(self.ctxt, since=old,
                                               until=old + datetime.
                                               timedelta(seconds=1))])
        self.assertEqual(everything[2:4], db.event_list(
            self.ctxt, marker=everything[1]["id"], limit=2))
        self.assertEqual(everything, db.event_list(self.ctxt,
                                                   marker=10 ** 30))
        self.assertEqual(everything[0], db.event_get(
            self.ctxt, str(everything[0]["id"])))
        for ident in ("0", "-3", str(10 ** 30), "x", None):
            self.assertRaises(exception.EventNotFound, db.event_get,
                              self.ctxt, ident)


class TestReorder(RecordsDbTestCase):

    ALLOCATORS = 6

    def setUp(self):
        super().setUp()
        pool, _desktops = self._pool(ready=0)
        self.names = ["a%d" % i for i in range(self.ALLOCATORS)]
        for i, name in enumerate(self.names):
            db.allocator_create(self.ctxt, {
                "name": name, "plugin": "pool", "pool_id": pool["id"],
                "priority": 100 + i})

    def chain(self):
        return [(a["name"], a["priority"]) for a in
                db.allocator_list(self.ctxt)]

    def test_reorder_and_refusals(self):
        order = list(reversed(self.names))
        result = allocators_service.reorder(self.ctxt, order)
        self.assertEqual(list(zip(order, range(10, 70, 10))),
                         [(a["name"], a["priority"]) for a in result])
        self.assertEqual(list(zip(order, range(10, 70, 10))), self.chain())
        before = self.chain()
        for bad in (order[:-1], order + [order[0]], order + ["nope"]):
            self.assertRaises(exception.Invalid,
                              allocators_service.reorder, self.ctxt, bad)
        ids = [a["id"] for a in db.allocator_list(self.ctxt)]
        self.assertRaises(exception.Conflict, db.allocator_reorder,
                          self.ctxt, ids, expected_ids=ids[:-1] + ["x"])
        self.assertEqual(before, self.chain())
        self.assertEqual(1, len(db.event_list(
            self.ctxt, {"action": "allocator.reorder"})))

    def test_concurrent_reorders_and_updates_are_atomic(self):
        """Reorders, If-Match updates and readers all at once.

        Readers never see a mix of two orders (the priorities are always
        10..60, each once); the final order is the one of the reorder
        that committed last; no update is lost: each allocator's revision
        is its first one plus the reorders that changed it plus the
        updates that succeeded.
        """
        allocators_service.reorder(self.ctxt, self.names)
        stop = threading.Event()
        seen = []

        def read():
            while not stop.is_set():
                seen.append(sorted(a["priority"] for a in
                                   db.allocator_list(self._ctx())))

        def reorder(seed):
            order = list(self.names)
            random.Random(seed).shuffle(order)
            return allocators_service.reorder(self._ctx(), order)

        def update(name):
            current = db.allocator_get(self._ctx(), name)
            return db.allocator_update(self._ctx(), current["id"],
                                       {"description": "edited"},
                                       expected_revision=current[
                                           "revision"])

        readers = [threading.Thread(target=read) for _ in range(2)]
        for reader in readers:
            reader.start()
        try:
            calls = []
            for i in range(24):
                calls.append((reorder, (i,)))
                calls.append((update, (self.names[i % len(self.names)],)))
            results = self._run(calls)
        finally:
            stop.set()
            for reader in readers:
                reader.join(timeout=30)
        unexpected = [r for r in results if isinstance(r, Exception) and
                      not isinstance(r, exception.Conflict)]
        self.assertEqual([], [repr(r) for r in unexpected])
        reorders = [r for r in results[0::2] if isinstance(r, list)]
        self.assertEqual(24, len(reorders), "reorders lock, never fail")
        expected = list(range(10, 10 * (len(self.names) + 1), 10))
        self.assertTrue(seen)
        self.assertEqual([], [s for s in seen if s != expected])
        # The last committed reorder's order is the chain.
        events = db.event_list(self.ctxt, {"action": "allocator.reorder"})
        self.assertEqual(25, len(events))
        self.assertEqual(events[0]["detail"]["order"],
                         [n for n, _p in self.chain()])
        # No lost update.
        updates = db.event_list(self.ctxt, {"action": "allocator.update"})
        for allocator in db.allocator_list(self.ctxt):
            changed_by_reorders = sum(
                allocator["name"] in e["detail"]["changed"]
                for e in events)
            updated = sum(e["target_id"] == allocator["id"]
                          for e in updates)
            self.assertEqual(1 + changed_by_reorders + updated,
                             allocator["revision"], allocator["name"])
        self.assertEqual(
            len(updates), len([r for r in results[1::2]
                               if isinstance(r, dict)]))
        line = "%s reorder+update: %d reorders, %d updates, %d stale " \
               "updates refused (409), %d reads, none mixed" % (
                   self.backend, len(reorders), len(updates),
                   len(results) // 2 - len(updates), len(seen))
        self.addDetail("numbers", content.text_content(line))
        path = os.environ.get("VDI_TEST_CONCURRENCY_LOG")
        if path:
            with open(path, "a") as f:
                f.write(line + "\n")
