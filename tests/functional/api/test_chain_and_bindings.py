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

"""Reordering the allocator chain, moving bindings and thin-client
heartbeats, through the API."""

import datetime

from oslo_utils import timeutils
import sqlalchemy as sa

from tests import base
from tests.fixtures import broker as broker_fixture
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import engine as db_engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

CHAIN = [a["name"] for a in broker_fixture.ALLOCATORS +
         [broker_fixture.DEFAULT_ALLOCATOR]]


class CallCentreTestCase(base.TestCase):

    broker_flags = None

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self, flags=self.broker_flags)
        self.pools, self.allocators = self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.app = self.broker.app

    def assertError(self, resp, status, title=None):
        return broker_fixture.assert_error(self, resp, status, title)

    def events(self, **filters):
        return db.event_list(self.broker.ctxt, filters)

    def chain(self):
        return [(a["name"], a["priority"]) for a in
                self.app.get("/v1/allocators").json["allocators"]]


class TestReorder(CallCentreTestCase):

    def test_reorder_sets_priorities_in_one_go(self):
        revisions = {a["name"]: a["revision"] for a in
                     self.app.get("/v1/allocators").json["allocators"]}
        # Names and ids mixed; the default allocator is in the chain too.
        order = ["everyone-else", "training-seats",
                 self.allocators["vip-personal"]["id"], "nantong-agents",
                 "shanghai-agents"]
        resp = self.app.post_json("/v1/allocators/reorder",
                                  {"allocators": order})
        expected = [("everyone-else", 10), ("training-seats", 20),
                    ("vip-personal", 30), ("nantong-agents", 40),
                    ("shanghai-agents", 50)]
        self.assertEqual(expected, [(a["name"], a["priority"])
                                    for a in resp.json["allocators"]])
        self.assertEqual(expected, self.chain())
        # Only the allocators whose priority changed have a new revision
        # (training-seats stays 20, nantong-agents 40).
        after = {a["name"]: a["revision"] for a in resp.json["allocators"]}
        changed = {"everyone-else", "vip-personal", "shanghai-agents"}
        self.assertEqual(dict(revisions, **{n: revisions[n] + 1
                                            for n in changed}), after)
        (event,) = self.events(action="allocator.reorder")
        self.assertEqual([n for n, _p in expected], event["detail"]["order"])
        self.assertEqual(sorted(changed), sorted(event["detail"]["changed"]))
        # The same order again changes nothing but records the request.
        resp = self.app.post_json("/v1/allocators/reorder",
                                  {"allocators": order})
        self.assertEqual(after, {a["name"]: a["revision"]
                                 for a in resp.json["allocators"]})
        self.assertEqual([], self.events(
            action="allocator.reorder")[0]["detail"]["changed"])

    def test_new_order_is_the_chain_logins_walk(self):
        # amy (Shanghai, hotel) is served by shanghai-agents (30) before
        # the default allocator; with the default first it serves her.
        self.assertEqual("shanghai-agents", self.app.post_json(
            "/v1/allocators/explain", {"username": "amy"}
        ).json["explain"]["outcome"]["allocator"])
        self.app.post_json("/v1/allocators/reorder", {"allocators": [
            "nantong-agents", "shanghai-agents", "vip-personal",
            "training-seats", "everyone-else"]})
        self.app.patch_json("/v1/allocators/nantong-agents",
                            {"rules": {"groups": ["agents"]}})
        resp = self.broker.login("amy")
        self.assertEqual("nantong-agents", resp.json["allocator"]["name"])

    def test_bad_lists_are_400_and_change_nothing(self):
        before = self.chain()
        events = self.broker.count("events")
        for order, word in (
                (CHAIN[:-1], "missing"),
                (CHAIN + ["vip-personal"], "more than once"),
                (CHAIN[:-1] + [self.allocators["vip-personal"]["id"]],
                 "more than once"),
                (CHAIN + ["nope"], "unknown"),
                (CHAIN[:-1] + ["nope"], "unknown")):
            resp = self.app.post_json("/v1/allocators/reorder",
                                      {"allocators": order}, status=400)
            error = self.assertError(resp, 400)
            self.assertIn(word, error["message"])
        for body in ({}, {"allocators": []}, {"allocators": "a,b"},
                     {"allocators": [1, 2]}, {"allocators": CHAIN, "x": 1}):
            self.assertError(self.app.post_json(
                "/v1/allocators/reorder", body, status=400), 400)
        self.assertEqual(before, self.chain())
        self.assertEqual(events, self.broker.count("events"))

    def test_stale_update_after_reorder_is_409(self):
        etags = {n: self.app.get("/v1/allocators/%s" % n).headers["ETag"]
                 for n in ("vip-personal", "shanghai-agents")}
        # Reversed: vip-personal moves from 10 to 50, shanghai-agents
        # stays at 30 (and keeps its revision).
        self.app.post_json("/v1/allocators/reorder",
                           {"allocators": list(reversed(CHAIN))})
        resp = self.app.patch_json("/v1/allocators/vip-personal",
                                   {"priority": 5},
                                   headers={"If-Match": etags[
                                       "vip-personal"]}, status=409)
        self.assertError(resp, 409, "Conflict")
        self.assertIn(("vip-personal", 50), self.chain())
        self.app.patch_json("/v1/allocators/shanghai-agents",
                            {"description": "unchanged position"},
                            headers={"If-Match": etags["shanghai-agents"]})

    def test_set_changed_meanwhile_is_409(self):
        # The handler checked the list against the allocators it read; if
        # the set is not the same when the transaction locks it: 409,
        # nothing changed.
        before = self.chain()
        ids = [a["id"] for a in db.allocator_list(self.broker.ctxt)]
        self.assertRaises(exception.Conflict, db.allocator_reorder,
                          self.broker.ctxt, ids, expected_ids=ids[1:])
        self.assertEqual(before, self.chain())


class TestBindingMove(CallCentreTestCase):

    def setUp(self):
        super().setUp()
        # vera's allocator binds users in vip-desktops (release: keep).
        self.login = self.broker.login("vera")
        self.binding = self.login.json["binding"]
        self.broker.logout(self.login)
        self.broker.fill_pools()
        self.url = "/v1/bindings/%s" % self.binding["id"]

    def ready(self, pool):
        return db.desktop_list(self.broker.ctxt, {
            "pool_id": self.pools[pool]["id"], "state": models.READY})

    def desktop(self, desktop_id):
        return db.desktop_get(self.broker.ctxt, desktop_id)

    def test_show_has_etag_and_move(self):
        resp = self.app.get(self.url)
        self.assertEqual('"1"', resp.headers["ETag"])
        self.assertEqual(1, resp.json["binding"]["revision"])
        old = self.binding["desktop_id"]
        target = self.ready("vip-desktops")[0]
        resp = self.app.patch_json(self.url, {"desktop_id": target["id"]},
                                   headers={"If-Match": '"1"'})
        self.assertEqual('"2"', resp.headers["ETag"])
        self.assertEqual((target["id"], 2), (
            resp.json["binding"]["desktop_id"],
            resp.json["binding"]["revision"]))
        self.assertEqual((models.ASSIGNED, "vera"), (
            self.desktop(target["id"])["state"],
            self.desktop(target["id"])["assigned_user"]))
        # The desktop left behind went through the release (keep: ready).
        self.assertEqual((models.READY, None), (
            self.desktop(old)["state"], self.desktop(old)["assigned_user"]))
        (event,) = self.events(action="binding.update")
        self.assertEqual((old, target["id"], "vera"), (
            event["detail"]["from_desktop"], event["detail"]["to_desktop"],
            event["username"]))
        # vera's next login lands on the new desktop.
        resp = self.broker.login("vera")
        self.assertEqual(target["id"], resp.json["desktop"]["id"])
        # A stale ETag: 409, the binding stays.
        self.assertError(self.app.patch_json(
            self.url, {"desktop_id": old}, headers={"If-Match": '"1"'},
            status=409), 409)
        self.assertError(self.app.patch_json(
            self.url, {"desktop_id": old, "revision": 1}, status=409), 409)
        self.assertEqual(target["id"], self.app.get(
            self.url).json["binding"]["desktop_id"])

    def test_desktop_in_use_stays_until_logout(self):
        login = self.broker.login("vera", client_id="tc-vera")
        old = login.json["desktop"]["id"]
        target = self.ready("vip-desktops")[0]
        self.app.patch_json(self.url, {"desktop_id": target["id"]})
        self.assertEqual((models.ASSIGNED, "vera"), (
            self.desktop(old)["state"], self.desktop(old)["assigned_user"]))
        self.broker.logout(login)
        self.assertEqual(models.READY, self.desktop(old)["state"])

    def test_refused_moves(self):
        before = self.app.get(self.url).json["binding"]
        other_pool = self.ready("sh-agents")[0]
        error = self.assertError(self.app.patch_json(
            self.url, {"desktop_id": other_pool["id"]}, status=400), 400)
        self.assertIn("pool", error["message"])
        # Assigned to someone else, or bound already: 409.
        ready = self.ready("vip-desktops")
        taken = self.app.post_json("/v1/bindings", {
            "kind": "seat", "key": "SH-2F-001",
            "desktop_id": ready[0]["id"]}).json["binding"]
        self.assertError(self.app.patch_json(
            self.url, {"desktop_id": taken["desktop_id"]}, status=409), 409)
        db.desktop_transition(self.broker.ctxt, ready[1]["id"],
                              [models.READY],
                              {"state": models.ASSIGNED,
                               "assigned_user": "sam"})
        error = self.assertError(self.app.patch_json(
            self.url, {"desktop_id": ready[1]["id"]}, status=409), 409)
        self.assertIn("assigned", error["message"])
        self.assertError(self.app.patch_json(
            self.url, {"desktop_id": "nope"}, status=404), 404)
        self.assertError(self.app.patch_json(
            "/v1/bindings/nope", {"desktop_id": ready[1]["id"]},
            status=404), 404)
        for body in ({}, {"desktop_id": ""}, {"desktop_id": "x", "key": "y"},
                     {"desktop_id": "x", "revision": "1"}):
            self.assertError(self.app.patch_json(self.url, body,
                                                 status=400), 400)
        self.assertError(self.app.patch_json(
            self.url, {"desktop_id": ready[1]["id"]},
            headers={"If-Match": "*"}, status=400), 400)
        self.assertEqual(before, self.app.get(self.url).json["binding"])
        self.assertEqual([], self.events(action="binding.update"))

    def test_move_to_the_same_desktop_changes_nothing(self):
        resp = self.app.patch_json(
            self.url, {"desktop_id": self.binding["desktop_id"]})
        self.assertEqual(1, resp.json["binding"]["revision"])


class _HeartbeatCase(CallCentreTestCase):

    def setUp(self):
        super().setUp()
        self.client = self.app.post_json("/v1/thin-clients", {
            "client_id": "tc-sh-0001", "seat": "SH-2F-001"}
        ).json["thin_client"]

    def beat(self, body, status=204, **kw):
        return self.app.post_json("/v1/client/heartbeat", body,
                                  status=status,
                                  extra_environ={"REMOTE_ADDR": "10.1.2.3"},
                                  headers=dict(kw.pop("headers", {}),
                                               **{"X-Roles": ""}), **kw)

    def shown(self):
        return self.app.get("/v1/thin-clients/tc-sh-0001").json[
            "thin_client"]


class TestHeartbeat(_HeartbeatCase):

    def test_heartbeat_updates_the_record(self):
        resp = self.beat({"client_id": "tc-sh-0001", "input_events": 42})
        self.assertEqual(b"", resp.body)
        client = self.shown()
        self.assertEqual(("online", "10.1.2.3", None, 42), (
            client["status"], client["last_address"], client["last_user"],
            client["input_events"]))
        self.assertIsNotNone(client["last_seen_at"])
        # Not an edit: same revision, no event.
        self.assertEqual((1, self.client["updated_at"]),
                         (client["revision"], client["updated_at"]))
        self.assertEqual([], self.events(kind="client"))
        self.beat({"client_id": "tc-sh-0001"})
        self.assertIsNone(self.shown()["input_events"])

    def test_version_1_1_answers_the_interval_to_follow(self):
        v11 = {"OpenStack-API-Version": "vdi 1.1"}
        resp = self.beat({"client_id": "tc-sh-0001", "input_events": 3},
                         status=200, headers=v11)
        self.assertEqual("vdi 1.1", resp.headers["OpenStack-API-Version"])
        # [client_session] heartbeat_interval 60 s and client_offline_after
        # 300 s by default.
        self.assertEqual({"heartbeat_interval": 60, "offline_after": 300},
                         resp.json)
        self.assertEqual(("online", 3), (self.shown()["status"],
                                         self.shown()["input_events"]))
        # "latest" (1.2) answers the same; without the header, 1.0: 204,
        # no body.
        resp = self.beat({"client_id": "tc-sh-0001"}, status=200,
                         headers={"OpenStack-API-Version": "vdi latest"})
        self.assertEqual(60, resp.json["heartbeat_interval"])
        self.assertEqual(b"", self.beat({"client_id": "tc-sh-0001"}).body)
        # The broker's configuration, as the conductor applies it: an
        # offline limit below two intervals is raised to two.
        self.broker.flags(group="client_session", heartbeat_interval=200)
        resp = self.beat({"client_id": "tc-sh-0001"}, status=200,
                         headers=v11)
        self.assertEqual({"heartbeat_interval": 200, "offline_after": 400},
                         resp.json)
        self.broker.flags(group="client_session", client_offline_after=0)
        self.assertEqual(0, self.beat({"client_id": "tc-sh-0001"},
                                      status=200, headers=v11).json[
                                          "offline_after"])
        # Errors are the same at 1.1.
        self.assertError(self.beat({"client_id": "tc-nobody"}, status=404,
                                   headers=v11), 404)
        self.assertError(self.beat({"client_id": "tc-sh-0001",
                                    "input_events": -1}, status=400,
                                   headers=v11), 400)

    def test_version_1_1_heartbeat_names_the_seat(self):
        v11 = {"OpenStack-API-Version": "vdi 1.1"}
        self.assertEqual("SH-2F-001", self.shown()["seat"])
        # The client moved to another desk: its heartbeat says so, and the
        # thin client's seat follows; not an edit (revision, no event).
        self.beat({"client_id": "tc-sh-0001", "seat": "SH-TR-01"},
                  status=200, headers=v11)
        client = self.shown()
        self.assertEqual(("SH-TR-01", "online", 1),
                         (client["seat"], client["status"],
                          client["revision"]))
        self.assertEqual([], self.events(kind="client"))
        # In the same UPDATE as the rest of the heartbeat's values.
        self.beat({"client_id": "tc-sh-0001", "seat": "SH-2F-001",
                   "input_events": 5,
                   "health": {"connection_failures": 0}},
                  status=200, headers=v11)
        client = self.shown()
        self.assertEqual(("SH-2F-001", 5, {"connection_failures": 0}),
                         (client["seat"], client["input_events"],
                          client["health"]))
        # Without a seat the seat stays.
        self.beat({"client_id": "tc-sh-0001"}, status=200, headers=v11)
        self.assertEqual("SH-2F-001", self.shown()["seat"])
        # A seat the broker does not know: the client has none (the
        # heartbeat registers no seat), and is still online.
        self.beat({"client_id": "tc-sh-0001", "seat": "SH-9F-999"},
                  status=200, headers=v11)
        self.assertEqual((None, "online"), (self.shown()["seat"],
                                            self.shown()["status"]))
        self.assertEqual(3, self.broker.count("seats"))
        # Version 1.0 takes no seat: 400, nothing written.
        self.assertError(self.beat({"client_id": "tc-sh-0001",
                                    "seat": "SH-TR-02"}, status=400), 400)
        self.assertIsNone(self.shown()["seat"])
        # A bad seat name is a 400 at 1.1.
        for seat in ("", "x" * 256, "SH\x00"):
            self.assertError(self.beat({"client_id": "tc-sh-0001",
                                        "seat": seat}, status=400,
                                       headers=v11), 400)

    def test_user_only_from_a_proven_session(self):
        login = self.broker.login("amy", client_id="tc-sh-0001")
        session_id = login.json["session"]["id"]
        token = {"X-Session-Token": login.json["session"]["token"]}
        self.beat({"client_id": "tc-sh-0001", "session_id": session_id,
                   "input_events": 7}, headers=token)
        self.assertEqual(("amy", 7), (self.shown()["last_user"],
                                      self.shown()["input_events"]))
        # Without the token, or with another client's id: refused,
        # nothing written.
        self.assertError(self.beat({"client_id": "tc-sh-0001",
                                    "session_id": session_id},
                                   status=401), 401)
        self.app.post_json("/v1/thin-clients", {"client_id": "tc-other"})
        self.assertError(self.beat({"client_id": "tc-other",
                                    "session_id": session_id},
                                   headers=token, status=400), 400)
        self.assertEqual("unknown", self.app.get(
            "/v1/thin-clients/tc-other").json["thin_client"]["status"])
        self.broker.logout(login)
        self.assertError(self.beat({"client_id": "tc-sh-0001",
                                    "session_id": session_id},
                                   headers=token, status=401), 401)

    def test_unknown_client_is_404_and_bad_bodies_400(self):
        before = self.broker.counts(("thin_clients", "events"))
        self.assertError(self.beat({"client_id": "tc-stranger"},
                                   status=404), 404)
        for body in ({}, {"client_id": ""}, {"client_id": "x",
                                             "input_events": -1},
                     {"client_id": "x", "input_events": 1.5},
                     {"client_id": "x", "user": "amy"}):
            self.assertError(self.beat(body, status=400), 400)
        self.assertEqual(before, self.broker.counts(before.keys()))


class TestClientsGoOffline(_HeartbeatCase):
    """The conductor sets silent thin clients offline, once each."""

    def silence(self, client_id, seconds):
        with db_engine.get_engine().begin() as conn:
            conn.execute(
                sa.update(models.ThinClient)
                .where(models.ThinClient.client_id == client_id)
                .values(last_seen_at=timeutils.utcnow() -
                        datetime.timedelta(seconds=seconds)))

    def test_silent_client_goes_offline_and_comes_back(self):
        self.app.post_json("/v1/thin-clients", {"client_id": "tc-quiet"})
        self.beat({"client_id": "tc-sh-0001"})
        self.beat({"client_id": "tc-quiet"})
        # [client_session] client_offline_after is 300 s by default.
        self.silence("tc-quiet", 301)
        self.silence("tc-sh-0001", 299)
        self.assertEqual(["tc-quiet"],
                         self.broker.manager.mark_clients_offline())
        quiet = self.app.get("/v1/thin-clients/tc-quiet").json[
            "thin_client"]
        self.assertEqual(("offline", 1), (quiet["status"],
                                          quiet["revision"]))
        self.assertEqual("online", self.shown()["status"])
        (event,) = self.events(action="thin_client.offline")
        self.assertEqual(("tc-quiet", quiet["id"], "vdi-broker"),
                         (event["message"], event["target_id"],
                          event["actor"]))
        self.assertEqual(quiet["last_seen_at"][:19],
                         event["detail"]["last_seen_at"][:19])
        # Once: an offline client is not set offline again.
        self.assertEqual([], self.broker.manager.mark_clients_offline())
        self.assertEqual(1, len(self.events(action="thin_client.offline")))
        # Its next heartbeat brings it back.
        self.beat({"client_id": "tc-quiet"})
        self.assertEqual("online", self.app.get(
            "/v1/thin-clients/tc-quiet").json["thin_client"]["status"])

    def test_offline_after_at_least_two_heartbeat_intervals(self):
        # 100 s is less than two intervals of 60 s: 120 s it is.
        self.broker.flags(group="client_session", client_offline_after=100)
        self.app.post_json("/v1/thin-clients", {"client_id": "tc-quiet"})
        self.beat({"client_id": "tc-sh-0001"})
        self.beat({"client_id": "tc-quiet"})
        self.silence("tc-quiet", 121)
        self.silence("tc-sh-0001", 110)
        with self.assertLogs("vdi_broker.conductor.manager",
                             "WARNING") as logs:
            self.broker.manager.periodic_tasks()
        self.assertIn("client_offline_after (100 s) is less than 2 "
                      "heartbeat intervals of 60 s: thin clients are set "
                      "offline after 120 s", logs.output[0])
        self.assertEqual(["tc-quiet"],
                         self.broker.manager.mark_clients_offline())
        self.assertEqual("online", self.shown()["status"])

    def test_faulty_and_never_seen_clients_are_left_alone(self):
        self.app.post_json("/v1/thin-clients", {"client_id": "tc-new"})
        self.beat({"client_id": "tc-sh-0001"})
        self.app.patch_json("/v1/thin-clients/tc-sh-0001",
                            {"status": "faulty"})
        self.silence("tc-sh-0001", 3600)
        self.assertEqual([], self.broker.manager.mark_clients_offline())
        self.assertEqual("faulty", self.shown()["status"])
        self.assertEqual("unknown", self.app.get(
            "/v1/thin-clients/tc-new").json["thin_client"]["status"])

    def test_the_sweep_is_a_periodic_task_unless_turned_off(self):
        names = [task.__name__ for task, _a, _k in
                 self.broker.manager.periodic_tasks()]
        self.assertIn("mark_clients_offline", names)
        self.broker.conf.set_override("client_offline_after", 0,
                                      "client_session")
        self.addCleanup(self.broker.conf.clear_override,
                        "client_offline_after", "client_session")
        names = [task.__name__ for task, _a, _k in
                 self.broker.manager.periodic_tasks()]
        self.assertNotIn("mark_clients_offline", names)


class TestHeartbeatRegisters(CallCentreTestCase):

    broker_flags = {("client_session", "register_unknown_clients"): True}

    def test_unknown_client_is_registered(self):
        self.app.post_json("/v1/client/heartbeat",
                           {"client_id": "tc-new", "input_events": 1},
                           status=204)
        client = self.app.get("/v1/thin-clients/tc-new").json["thin_client"]
        self.assertEqual(("online", 1, None, 1), (
            client["status"], client["input_events"], client["seat"],
            client["revision"]))
        (event,) = self.events(action="thin_client.register")
        self.assertEqual(("tc-new", client["id"]), (event["actor"],
                                                    event["target_id"]))
        self.app.post_json("/v1/client/heartbeat", {"client_id": "tc-new"},
                           status=204)
        self.assertEqual(1, self.broker.count("thin_clients"))
        self.assertEqual(1, len(self.events(action="thin_client.register")))

    def test_unknown_client_is_registered_with_its_seat(self):
        self.app.post_json("/v1/client/heartbeat",
                           {"client_id": "tc-new", "seat": "SH-TR-02"},
                           headers={"OpenStack-API-Version": "vdi 1.1"},
                           status=200)
        client = self.app.get("/v1/thin-clients/tc-new").json["thin_client"]
        self.assertEqual(("online", "SH-TR-02"), (client["status"],
                                                  client["seat"]))
        self.assertEqual(1, len(self.events(action="thin_client.register")))
