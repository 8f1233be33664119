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

"""The admin API of the operator's records: seats, thin clients,
schedules and the audit log of events."""

import datetime
import urllib.parse

import testscenarios

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import database
from vdi_broker.db import api as db

load_tests = testscenarios.load_tests_apply_scenarios


class RecordsTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.app = self.broker.app

    def assertError(self, resp, status, title=None):
        return broker_fixture.assert_error(self, resp, status, title)

    @staticmethod
    def _path(url):
        parts = urllib.parse.urlsplit(url)
        return parts.path + ("?" + parts.query if parts.query else "")

    def events(self, **filters):
        return db.event_list(self.broker.ctxt, filters)

    def walk(self, url):
        """Every item of a paged list, following the 'next' links."""
        resp = self.app.get(url)
        key = [k for k in resp.json if k != "links"][0]
        items = list(resp.json[key])
        while resp.json["links"]:
            resp = self.app.get(self._path(resp.json["links"][0]["href"]))
            items += resp.json[key]
        return items


class TestSeats(RecordsTestCase):

    def create(self, name, status=201, **values):
        return self.app.post_json("/v1/seats", dict(values, name=name),
                                  status=status)

    def test_create_show_list(self):
        resp = self.create("SH-2F-001", site="shanghai", location="2F row 1",
                           department="hotel", tags=["window"],
                           description="by the window")
        seat = resp.json["seat"]
        self.assertTrue(resp.headers["Location"].endswith(
            "/v1/seats/%s" % seat["id"]))
        self.assertEqual('"1"', resp.headers["ETag"])
        self.assertEqual({"id", "name", "site", "location", "department",
                          "tags", "description", "revision", "created_at",
                          "updated_at"}, set(seat))
        self.assertEqual(("SH-2F-001", "shanghai", "2F row 1", "hotel",
                          ["window"], 1),
                         (seat["name"], seat["site"], seat["location"],
                          seat["department"], seat["tags"],
                          seat["revision"]))
        for ident in (seat["id"], "SH-2F-001"):
            resp = self.app.get("/v1/seats/%s" % ident)
            self.assertEqual(seat, resp.json["seat"])
            self.assertEqual('"1"', resp.headers["ETag"])
        self.assertEqual([], self.create("NT-1F-001", site="nantong"
                                         ).json["seat"]["tags"])
        self.create("SH-2F-002", site="shanghai", department="flight")
        self.assertEqual(["NT-1F-001", "SH-2F-001", "SH-2F-002"],
                         [s["name"] for s in self.walk("/v1/seats?limit=1")])
        for query, expected in (
                ("site=shanghai", ["SH-2F-001", "SH-2F-002"]),
                ("department=flight", ["SH-2F-002"]),
                ("name=NT-1F-001", ["NT-1F-001"]),
                ("sort_key=site&limit=1", ["NT-1F-001"]),
                ("site=nowhere", [])):
            self.assertEqual(expected, [s["name"] for s in self.app.get(
                "/v1/seats?" + query).json["seats"]], query)
        self.assertEqual(["seat.create"] * 3,
                         [e["action"] for e in self.events(kind="admin")])

    def test_invalid_and_duplicate(self):
        self.create("SH-1")
        for body in ({}, {"name": ""}, {"name": "x", "tags": "a"},
                     {"name": "x", "tags": ["a", "a"]},
                     {"name": "x", "colour": "red"},
                     {"name": "x", "site": "a" * 256},
                     {"name": "x\x00"}, {"name": "x", "revision": 1}):
            self.assertError(self.app.post_json("/v1/seats", body,
                                                status=400), 400)
        error = self.assertError(self.create("SH-1", status=409), 409)
        self.assertIn("SH-1", error["message"])
        self.assertError(self.app.get("/v1/seats/nope", status=404), 404)
        self.assertError(self.app.get("/v1/seats?sort_key=tags",
                                      status=400), 400)
        self.assertEqual(1, self.broker.count("seats"))

    def test_update_with_if_match(self):
        seat = self.create("SH-1").json["seat"]
        url = "/v1/seats/%s" % seat["id"]
        resp = self.app.patch_json(url, {"department": "vip"},
                                   headers={"If-Match": '"1"'})
        self.assertEqual('"2"', resp.headers["ETag"])
        self.assertEqual(("vip", 2), (resp.json["seat"]["department"],
                                      resp.json["seat"]["revision"]))
        self.assertIsNotNone(resp.json["seat"]["updated_at"])
        # A stale revision, in If-Match or in the body: 409.
        self.assertError(self.app.patch_json(
            url, {"department": "x"}, headers={"If-Match": '"1"'},
            status=409), 409, "Conflict")
        self.assertError(self.app.patch_json(
            url, {"department": "x", "revision": 1}, status=409), 409)
        self.assertError(self.app.patch_json(
            url, {"department": "x"}, headers={"If-Match": "W/x"},
            status=400), 400)
        self.assertError(self.app.patch_json(url, {}, status=400), 400)
        self.assertError(self.app.patch_json("/v1/seats/nope",
                                             {"site": "x"}, status=404), 404)
        self.create("SH-2")
        self.assertError(self.app.patch_json(url, {"name": "SH-2"},
                                             status=409), 409)
        shown = self.app.get(url)
        self.assertEqual(("SH-1", "vip"), (shown.json["seat"]["name"],
                                           shown.json["seat"]["department"]))
        self.assertEqual('"2"', shown.headers["ETag"])
        update = self.events(action="seat.update")
        self.assertEqual(1, len(update))
        self.assertEqual({"changed": ["department"]}, update[0]["detail"])

    def test_delete_refused_while_in_use(self):
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.app.post_json("/v1/thin-clients",
                           {"client_id": "tc-1", "seat": "SH-TR-01"})
        error = self.assertError(self.app.delete("/v1/seats/SH-TR-01",
                                                 status=409), 409)
        self.assertIn("tc-1", error["message"])
        self.app.patch_json("/v1/thin-clients/tc-1", {"seat": None})
        # A seat binding (the training room's allocator binds seats).
        login = self.broker.login("amy", seat="SH-TR-01")
        self.assertEqual("seat", login.json["binding"]["kind"])
        self.assertError(self.app.delete("/v1/seats/SH-TR-01",
                                         status=409), 409)
        self.assertEqual(3, self.broker.count("seats"))
        # A rename takes the seat binding along: the seat keeps its
        # desktop under its new name.
        self.app.patch_json("/v1/seats/SH-TR-01", {"name": "SH-TR-1A"})
        binding = self.app.get("/v1/bindings/%s" %
                               login.json["binding"]["id"]).json["binding"]
        self.assertEqual(("SH-TR-1A", 2), (binding["key"],
                                           binding["revision"]))
        self.broker.logout(login)
        again = self.broker.login("sam", seat="SH-TR-1A", client_id="tc-2")
        self.assertEqual(login.json["desktop"]["id"],
                         again.json["desktop"]["id"])
        self.broker.logout(again)
        self.app.delete("/v1/bindings/%s" % binding["id"], status=204)
        self.app.delete("/v1/seats/SH-TR-1A", status=204)
        self.assertError(self.app.get("/v1/seats/SH-TR-1A", status=404),
                         404)
        self.assertEqual(1, len(self.events(action="seat.delete")))


class TestThinClients(RecordsTestCase):

    def setUp(self):
        super().setUp()
        self.seats = {}
        for name, site in (("SH-1", "shanghai"), ("NT-1", "nantong")):
            self.seats[name] = self.app.post_json(
                "/v1/seats", {"name": name, "site": site}).json["seat"]

    def create(self, client_id, status=201, **values):
        return self.app.post_json("/v1/thin-clients",
                                  dict(values, client_id=client_id),
                                  status=status)

    def test_create_show_list(self):
        resp = self.create("tc-sh-0001", seat="SH-1", site="shanghai",
                           model="HP t640", tags=["dual-screen"])
        client = resp.json["thin_client"]
        self.assertTrue(resp.headers["Location"].endswith(
            "/v1/thin-clients/%s" % client["id"]))
        self.assertEqual('"1"', resp.headers["ETag"])
        self.assertEqual({"id", "client_id", "seat", "site", "model", "tags",
                          "status", "last_seen_at", "last_address",
                          "last_user", "input_events", "description",
                          "health", "fault_reason",
                          "revision", "created_at", "updated_at"},
                         set(client))
        self.assertEqual(("SH-1", "unknown", None, 1),
                         (client["seat"], client["status"],
                          client["last_seen_at"], client["revision"]))
        # The seat by id on input; shown by name.
        other = self.create("tc-nt-0001", seat=self.seats["NT-1"]["id"],
                            site="nantong").json["thin_client"]
        self.assertEqual("NT-1", other["seat"])
        self.create("tc-spare", status=201)
        for ident in (client["id"], "tc-sh-0001"):
            self.assertEqual(client, self.app.get(
                "/v1/thin-clients/%s" % ident).json["thin_client"])
        self.assertEqual(["tc-nt-0001", "tc-sh-0001", "tc-spare"],
                         [c["client_id"] for c in
                          self.walk("/v1/thin-clients?limit=2")])
        for query, expected in (
                ("seat=SH-1", ["tc-sh-0001"]),
                ("seat=%s" % self.seats["NT-1"]["id"], ["tc-nt-0001"]),
                ("seat=nowhere", []),
                ("site=nantong", ["tc-nt-0001"]),
                ("status=unknown&limit=1", ["tc-nt-0001"]),
                ("status=online", []),
                ("client_id=tc-spare", ["tc-spare"]),
                ("sort_key=created_at&sort_dir=desc&limit=1",
                 ["tc-spare"])):
            self.assertEqual(expected, [c["client_id"] for c in self.app.get(
                "/v1/thin-clients?" + query).json["thin_clients"]], query)

    def test_invalid_duplicate_and_unknown_seat(self):
        self.create("tc-1")
        for body in ({}, {"client_id": ""}, {"client_id": "x", "seat": 3},
                     {"client_id": "x", "status": "sleeping"},
                     {"client_id": "x", "last_user": "amy"},
                     {"client_id": "x", "tags": [1]}):
            self.assertError(self.app.post_json("/v1/thin-clients", body,
                                                status=400), 400)
        self.assertError(self.create("tc-1", status=409), 409)
        error = self.assertError(self.create("tc-2", seat="nope",
                                             status=404), 404)
        self.assertIn("nope", error["message"])
        self.assertError(self.app.get("/v1/thin-clients/nope",
                                      status=404), 404)
        self.assertEqual(1, self.broker.count("thin_clients"))

    def test_update_and_delete(self):
        client = self.create("tc-1", seat="SH-1").json["thin_client"]
        url = "/v1/thin-clients/tc-1"
        resp = self.app.patch_json(url, {"seat": "NT-1", "site": "nantong",
                                         "status": "faulty"},
                                   headers={"If-Match": '"1"'})
        self.assertEqual(("NT-1", "faulty", 2),
                         (resp.json["thin_client"]["seat"],
                          resp.json["thin_client"]["status"],
                          resp.json["thin_client"]["revision"]))
        self.assertEqual('"2"', resp.headers["ETag"])
        self.assertError(self.app.patch_json(
            url, {"seat": None}, headers={"If-Match": '"1"'}, status=409),
            409)
        self.assertError(self.app.patch_json(url, {"seat": "nope"},
                                             status=404), 404)
        resp = self.app.patch_json(url, {"seat": None, "revision": 2})
        self.assertIsNone(resp.json["thin_client"]["seat"])
        self.create("tc-2")
        self.assertError(self.app.patch_json(url, {"client_id": "tc-2"},
                                             status=409), 409)
        self.app.delete("/v1/thin-clients/%s" % client["id"], status=204)
        self.assertError(self.app.delete(url, status=404), 404)
        self.assertEqual(
            ["thin_client.delete", "thin_client.update",
             "thin_client.update", "thin_client.create"],
            [e["action"] for e in self.events(target_type="thin_client",
                                              target_id=client["id"])])


class TestSchedules(RecordsTestCase):

    def setUp(self):
        super().setUp()
        self.pool = self.broker.create_pool("sh-agents", max_size=10
                                            ).json["pool"]
        self.small = self.broker.create_pool("small", max_size=2
                                             ).json["pool"]

    def body(self, **changes):
        body = {"name": "day-shift", "pool_id": "sh-agents",
                "days": ["fri", "mon", "tue", "wed", "thu"],
                "start_time": "08:00", "end_time": "18:00",
                "timezone": "Asia/Shanghai", "min_ready": 8,
                "prewarm_minutes": 30}
        body.update(changes)
        return {k: v for k, v in body.items() if v is not None}

    def create(self, status=201, **changes):
        return self.app.post_json("/v1/schedules", self.body(**changes),
                                  status=status)

    def test_create_show_list(self):
        resp = self.create()
        schedule = resp.json["schedule"]
        self.assertTrue(resp.headers["Location"].endswith(
            "/v1/schedules/%s" % schedule["id"]))
        self.assertEqual('"1"', resp.headers["ETag"])
        # The pool by name on input, its id in the record; days in week
        # order.
        self.assertEqual(self.pool["id"], schedule["pool_id"])
        self.assertEqual(["mon", "tue", "wed", "thu", "fri"],
                         schedule["days"])
        self.assertEqual(("08:00", "18:00", "Asia/Shanghai", 8, 30, True),
                         (schedule["start_time"], schedule["end_time"],
                          schedule["timezone"], schedule["min_ready"],
                          schedule["prewarm_minutes"],
                          schedule["enabled"]))
        self.assertEqual(schedule, self.app.get(
            "/v1/schedules/%s" % schedule["id"]).json["schedule"])
        # Defaults; a night shift runs past midnight.
        night = self.create(name="night", days=["sat"], start_time="22:00",
                            end_time="06:00", timezone=None,
                            prewarm_minutes=None, pool_id=self.small["id"],
                            min_ready=2, enabled=False
                            ).json["schedule"]
        self.assertEqual(("UTC", 0, False), (night["timezone"],
                                             night["prewarm_minutes"],
                                             night["enabled"]))
        for query, expected in (
                ("", ["day-shift", "night"]),
                ("pool_id=sh-agents", ["day-shift"]),
                ("pool_id=%s" % self.small["id"], ["night"]),
                ("pool_id=nope", []),
                ("enabled=false", ["night"]),
                ("sort_dir=desc&limit=1", ["night"])):
            self.assertEqual(expected, [s["name"] for s in self.app.get(
                "/v1/schedules?" + query).json["schedules"]], query)
        self.assertEqual(["night", "day-shift"],
                         [e["message"] for e in self.events(
                             action="schedule.create")])

    def test_invalid_schedules(self):
        for changes in ({"days": []}, {"days": ["funday"]},
                        {"days": ["mon", "mon"]}, {"days": "mon"},
                        {"start_time": "24:00"}, {"start_time": "8:00"},
                        {"end_time": "18:60"}, {"end_time": "18:00:00"},
                        {"timezone": "Mars/Olympus_Mons"},
                        {"timezone": "../../etc/passwd"},
                        {"timezone": ""}, {"min_ready": -1},
                        {"min_ready": 11}, {"prewarm_minutes": 721},
                        {"prewarm_minutes": -1}, {"name": None},
                        {"enabled": "yes"}, {"colour": "red"}):
            resp = self.create(status=400, **changes)
            self.assertError(resp, 400)
        error = self.assertError(self.create(status=400, min_ready=11), 400)
        self.assertIn("max_size", error["message"])
        self.assertError(self.create(status=404, pool_id="nope"), 404)
        self.assertEqual(0, self.broker.count("schedules"))
        self.create()
        self.assertError(self.create(status=409), 409)
        # The same name on another pool is another schedule.
        self.create(pool_id="small", min_ready=1)

    def test_update_and_delete(self):
        schedule = self.create().json["schedule"]
        url = "/v1/schedules/%s" % schedule["id"]
        resp = self.app.patch_json(url, {"min_ready": 10, "end_time": "20:00"},
                                   headers={"If-Match": '"1"'})
        self.assertEqual((10, "20:00", 2), (
            resp.json["schedule"]["min_ready"],
            resp.json["schedule"]["end_time"],
            resp.json["schedule"]["revision"]))
        self.assertEqual('"2"', resp.headers["ETag"])
        self.assertError(self.app.patch_json(
            url, {"min_ready": 1}, headers={"If-Match": '"1"'}, status=409),
            409)
        # Checked against the merged schedule: the other pool is too
        # small for min_ready 10.
        self.assertError(self.app.patch_json(url, {"pool_id": "small"},
                                             status=400), 400)
        # An end equal to the start: a 24-hour window.
        resp = self.app.patch_json(url, {"start_time": "20:00"})
        self.assertEqual(("20:00", "20:00"), (
            resp.json["schedule"]["start_time"],
            resp.json["schedule"]["end_time"]))
        self.assertError(self.app.patch_json(url, {"timezone": "Nowhere"},
                                             status=400), 400)
        self.assertError(self.app.patch_json(url, {"pool_id": "nope"},
                                             status=404), 404)
        resp = self.app.patch_json(url, {"pool_id": "small",
                                         "min_ready": 2})
        self.assertEqual(self.small["id"], resp.json["schedule"]["pool_id"])
        self.assertEqual(4, resp.json["schedule"]["revision"])
        self.app.delete(url, status=204)
        self.assertError(self.app.get(url, status=404), 404)
        self.assertError(self.app.delete(url, status=404), 404)
        self.assertEqual(1, len(self.events(action="schedule.delete")))


class TestEvents(RecordsTestCase):

    def setUp(self):
        super().setUp()
        self.broker.setup_call_centre()
        self.broker.fill_pools()

    def test_list_newest_first_with_filters(self):
        login = self.broker.login("amy")
        self.broker.logout(login)
        events = self.app.get("/v1/events").json["events"]
        ids = [e["id"] for e in events]
        self.assertEqual(sorted(ids, reverse=True), ids)
        self.assertEqual(["logout", "login"],
                         [e["action"] for e in events[:2]])
        first = events[1]
        self.assertEqual({"id", "created_at", "kind", "action", "result",
                          "actor", "request_id", "username", "target_type",
                          "target_id", "pool_id", "desktop_id", "message",
                          "detail"}, set(first))
        self.assertEqual(("allocation", "amy", "session",
                          login.json["session"]["id"],
                          login.json["desktop"]["id"],
                          self.broker.pools["sh-agents"]["id"]),
                         (first["kind"], first["username"],
                          first["target_type"], first["target_id"],
                          first["desktop_id"], first["pool_id"]))
        pool_id = self.broker.pools["sh-agents"]["id"]
        for query, actions in (
                ("username=amy", ["logout", "login"]),
                ("kind=allocation&action=login", ["login"]),
                ("actor=amy&result=success", ["logout", "login"]),
                ("target_type=session&target_id=%s" %
                 login.json["session"]["id"], ["logout", "login"]),
                ("desktop_id=%s&action=login" % login.json["desktop"]["id"],
                 ["login"]),
                ("pool_id=%s&kind=admin" % pool_id, ["pool.create"]),
                ("target_type=seat", ["seat.create"] * 3),
                ("username=nobody", [])):
            self.assertEqual(actions, [e["action"] for e in self.app.get(
                "/v1/events?" + query).json["events"]], query)
        self.assertEqual(first, self.app.get(
            "/v1/events/%d" % first["id"]).json["event"])

    def test_pagination_and_time_window(self):
        everything = self.app.get("/v1/events").json["events"]
        self.assertGreater(len(everything), 10)
        self.assertEqual(everything, self.walk("/v1/events?limit=3"))
        resp = self.app.get("/v1/events?limit=2&marker=%d" %
                            everything[0]["id"])
        self.assertEqual(everything[1:3], resp.json["events"])

        # since is inclusive, until exclusive; an offset is honoured.
        def when(event):
            return datetime.datetime.fromisoformat(event["created_at"][:-1])

        middle = everything[len(everything) // 2]
        at = when(middle)
        older = [e for e in everything if when(e) < at]
        newer = [e for e in everything if when(e) >= at]
        since = urllib.parse.quote(at.isoformat() + "Z")
        self.assertEqual(newer, self.app.get(
            "/v1/events?since=%s" % since).json["events"])
        self.assertEqual(older, self.app.get(
            "/v1/events?until=%s" % since).json["events"])
        shifted = urllib.parse.quote(
            (at + datetime.timedelta(hours=8)).isoformat() + "+08:00")
        self.assertEqual(newer, self.app.get(
            "/v1/events?since=%s" % shifted).json["events"])
        self.assertEqual([], self.app.get(
            "/v1/events?since=2999-01-01").json["events"])
        self.assertEqual([], self.app.get(
            "/v1/events?until=2000-01-01T00:00:00Z").json["events"])

    def test_bad_queries_and_unknown_events(self):
        for query in ("since=yesterday", "until=2026-13-01", "limit=0",
                      "limit=x", "marker=abc",
                      "since=0001-01-01T00:00:00%2B01:00",
                      "until=9999-12-31T23:59:59-01:00", "since=0000-01-01",
                      "limit=" + "9" * 5000):
            self.assertError(self.app.get("/v1/events?" + query,
                                          status=400), 400)
        for ident in ("0", "999999999", "abc", "9" * 30, "-1"):
            self.assertError(self.app.get("/v1/events/%s" % ident,
                                          status=404), 404)
        self.assertEqual([], self.app.get(
            "/v1/events?marker=1").json["events"])


class TestNulCharacters(testscenarios.WithScenarios, base.TestCase):
    """A NUL in a path, filter, marker or text field is a clean 4xx.

    PostgreSQL can neither store nor compare one: without the API's
    checks these were database errors, i.e. 500s, there only.
    """

    scenarios = database.BACKENDS

    def test_nul_is_refused(self):
        broker = broker_fixture.use_broker(self, backend=self.backend)
        app = broker.app
        broker.create_pool("p1", max_size=2)
        for path in ("/v1/seats/a%00b", "/v1/pools/%00",
                     "/v1/thin-clients/x%00", "/v1/schedules/%00",
                     "/v1/events/1%00", "/v1/allocators/%00"):
            broker_fixture.assert_error(self, app.get(path, status=404), 404)
        broker_fixture.assert_error(self, app.get(
            "/v1/client/sessions/%00", status=401), 401)
        for path in ("/v1/seats?site=a%00", "/v1/pools?name=%00",
                     "/v1/thin-clients?seat=%00", "/v1/events?kind=%00",
                     "/v1/schedules?pool_id=%00", "/v1/seats?marker=%00"):
            broker_fixture.assert_error(self, app.get(path, status=400), 400)
        for path, body in (("/v1/seats", {"name": "s", "description": "\0"}),
                           ("/v1/pools", dict(broker_fixture.POOL_DEFAULTS,
                                              name="p2",
                                              description="a\0b"))):
            broker_fixture.assert_error(self, app.post_json(
                path, body, status=400), 400)
        self.assertEqual(0, broker.count("seats"))
