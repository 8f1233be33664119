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

"""The admin API: pools, allocators, bindings, desktops, sessions,
explain and the version document."""

import urllib.parse

from tests import base
from tests.fixtures import broker as broker_fixture
from vdi_broker.compute import fake
from vdi_broker.conf import clouds as clouds_conf
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models


class AdminTestCase(base.TestCase):

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


class TestPools(AdminTestCase):

    def test_create_show_list(self):
        resp = self.broker.create_pool(
            "sh-agents", site="shanghai", min_ready=2, max_size=4,
            release_action="reboot", metadata={"team": "hotel"})
        pool = resp.json["pool"]
        self.assertTrue(resp.headers["Location"].endswith(
            "/v1/pools/%s" % pool["id"]))
        self.assertEqual('"1"', resp.headers["ETag"])
        self.assertEqual(1, pool["revision"])
        self.assertEqual("rdp", pool["console_type"])
        self.assertEqual({"team": "hotel"}, pool["metadata"])
        self.assertEqual(0, pool["desktops"]["total"])
        # Show by id and by name.
        for ident in (pool["id"], "sh-agents"):
            resp = self.app.get("/v1/pools/%s" % ident)
            self.assertEqual(pool["id"], resp.json["pool"]["id"])
            self.assertEqual('"1"', resp.headers["ETag"])
        self.broker.fill_pools()
        shown = self.app.get("/v1/pools/sh-agents").json["pool"]
        self.assertEqual(2, shown["desktops"]["ready"])
        self.assertEqual(2, shown["desktops"]["total"])
        self.assertEqual(0, shown["desktops"]["building"])
        self.assertEqual(set(models.DESKTOP_STATES) | {"total"},
                         set(shown["desktops"]))
        listed = self.app.get("/v1/pools").json["pools"]
        self.assertEqual(2, listed[0]["desktops"]["ready"])

    def test_list_pagination(self):
        for name in ("pool-c", "pool-a", "pool-e", "pool-b", "pool-d"):
            self.broker.create_pool(name)
        resp = self.app.get("/v1/pools?limit=2")
        self.assertEqual(["pool-a", "pool-b"],
                         [p["name"] for p in resp.json["pools"]])
        names = [p["name"] for p in resp.json["pools"]]
        while resp.json["links"]:
            (link,) = resp.json["links"]
            self.assertEqual("next", link["rel"])
            self.assertIn("limit=2", link["href"])
            resp = self.app.get(self._path(link["href"]))
            names += [p["name"] for p in resp.json["pools"]]
        self.assertEqual(["pool-a", "pool-b", "pool-c", "pool-d", "pool-e"],
                         names)
        resp = self.app.get("/v1/pools?sort_dir=desc&limit=3")
        self.assertEqual(["pool-e", "pool-d", "pool-c"],
                         [p["name"] for p in resp.json["pools"]])
        self.assertEqual(1, len(self.app.get(
            "/v1/pools?name=pool-d").json["pools"]))
        self.app.patch_json("/v1/pools/pool-c", {"enabled": False})
        for query, expected in (("enabled=false", ["pool-c"]),
                                ("enabled=0", ["pool-c"]),
                                ("enabled=true", ["pool-a", "pool-b",
                                                  "pool-d", "pool-e"]),
                                ("enabled=True&limit=1", ["pool-a"])):
            self.assertEqual(expected, [p["name"] for p in self.app.get(
                "/v1/pools?" + query).json["pools"]], query)
        for query in ("limit=0", "limit=x", "sort_key=flavor",
                      "sort_dir=up", "enabled=maybe"):
            self.assertError(self.app.get("/v1/pools?" + query,
                                          status=400), 400)
        self.assertError(self.app.get("/v1/pools?marker=nope", status=404),
                         404)

    def test_update_with_if_match(self):
        pool = self.broker.create_pool("p", max_size=4).json["pool"]
        url = "/v1/pools/%s" % pool["id"]
        resp = self.app.patch_json(url, {"min_ready": 3},
                                   headers={"If-Match": '"1"'})
        self.assertEqual('"2"', resp.headers["ETag"])
        self.assertEqual(3, resp.json["pool"]["min_ready"])
        self.assertEqual(2, resp.json["pool"]["revision"])
        # Someone else's revision: 409, nothing changed.
        resp = self.app.patch_json(url, {"min_ready": 1},
                                   headers={"If-Match": '"1"'}, status=409)
        self.assertError(resp, 409, "Conflict")
        resp = self.app.patch_json(url, {"min_ready": 1, "revision": 1},
                                   status=409)
        self.assertError(resp, 409)
        shown = self.app.get(url)
        self.assertEqual(3, shown.json["pool"]["min_ready"])
        self.assertEqual('"2"', shown.headers["ETag"])
        resp = self.app.patch_json(url, {"min_ready": 1},
                                   headers={"If-Match": "garbage"},
                                   status=400)
        self.assertError(resp, 400)
        # Without If-Match the last writer wins.
        resp = self.app.patch_json(url, {"description": "x"})
        self.assertEqual(3, resp.json["pool"]["revision"])
        self.assertError(self.app.patch_json(url, {}, status=400), 400)

    def test_invalid_pools(self):
        before = self.broker.count("pools")
        resp = self.broker.create_pool("p", min_ready=5, max_size=2,
                                       status=400)
        self.assertIn("min_ready", self.assertError(resp, 400)["message"])
        resp = self.broker.create_pool("p", console_type="telnet",
                                       status=400)
        self.assertIn("telnet", self.assertError(resp, 400)["message"])
        resp = self.broker.create_pool("p", release_action="explode",
                                       status=400)
        self.assertError(resp, 400)
        self.assertEqual(before, self.broker.count("pools"))
        pool = self.broker.create_pool("p", max_size=2).json["pool"]
        # Updates are checked against the stored values.
        resp = self.app.patch_json("/v1/pools/p", {"min_ready": 3},
                                   status=400)
        self.assertError(resp, 400)
        resp = self.app.patch_json("/v1/pools/p", {"console_type": "x"},
                                   status=400)
        self.assertError(resp, 400)
        self.assertEqual(1, self.app.get("/v1/pools/p").json[
            "pool"]["revision"])
        resp = self.broker.create_pool("p", status=409)
        self.assertIn("p", self.assertError(resp, 409)["message"])
        other = self.broker.create_pool("q").json["pool"]
        resp = self.app.patch_json("/v1/pools/%s" % other["id"],
                                   {"name": "p"}, status=409)
        self.assertError(resp, 409)
        self.assertEqual(pool["id"],
                         self.app.get("/v1/pools/p").json["pool"]["id"])

    def test_pool_cloud_is_validated(self):
        # Without [compute] clouds no cloud but the default one exists.
        resp = self.broker.create_pool("p", cloud="mars", status=400)
        message = self.assertError(resp, 400)["message"]
        self.assertIn("Unknown cloud mars", message)
        self.assertIn("none", message)
        self.flags(group="compute", clouds=["east"])
        group = clouds_conf.register_cloud(self.conf, "east")
        self.flags(group=group, driver="fake", boot_time=0)
        self.addCleanup(fake.named_cloud(group).reset)
        resp = self.broker.create_pool("p", cloud="west", status=400)
        message = self.assertError(resp, 400)["message"]
        self.assertIn("Unknown cloud west", message)
        self.assertIn("east", message)
        pool = self.broker.create_pool("p", cloud="east", min_ready=1,
                                       max_size=2).json["pool"]
        self.assertEqual("east", pool["cloud"])
        self.assertError(self.app.patch_json(
            "/v1/pools/p", {"cloud": "mars"}, status=400), 400)
        # Its desktops boot in cloud east; then it cannot move.
        self.broker.fill_pools()
        self.assertEqual(1, len(fake.named_cloud(group).servers))
        resp = self.app.patch_json("/v1/pools/p", {"cloud": None},
                                   status=409)
        self.assertIn("has desktops in cloud east",
                      self.assertError(resp, 409)["message"])
        self.assertEqual("east",
                         self.app.get("/v1/pools/p").json["pool"]["cloud"])

    def test_delete(self):
        self.broker.create_pool("full", min_ready=1, max_size=1)
        self.broker.create_pool("empty")
        self.broker.create_pool("pointed-at")
        self.broker.create_allocator("a", pool="pointed-at")
        self.broker.fill_pools()
        resp = self.app.delete("/v1/pools/full", status=409)
        self.assertIn("desktops", self.assertError(resp, 409)["message"])
        resp = self.app.delete("/v1/pools/pointed-at", status=409)
        self.assertIn("allocators", self.assertError(resp, 409)["message"])
        empty = self.app.get("/v1/pools/empty").json["pool"]
        resp = self.app.delete("/v1/pools/%s" % empty["id"], status=204)
        self.assertEqual(b"", resp.body)
        self.assertError(self.app.get("/v1/pools/%s" % empty["id"],
                                      status=404), 404, "Not Found")
        self.assertError(self.app.delete("/v1/pools/empty", status=404),
                         404)
        # A pool emptied by max_size 0 can go.
        self.app.patch_json("/v1/pools/full", {"max_size": 0,
                                               "min_ready": 0})
        self.broker.fill_pools()
        self.app.delete("/v1/pools/full", status=204)


class TestAllocators(AdminTestCase):

    def setUp(self):
        super().setUp()
        self.sh = self.broker.create_pool("sh-agents").json["pool"]
        self.nt = self.broker.create_pool("nt-agents").json["pool"]

    def test_create_by_pool_name_or_id(self):
        a = self.broker.create_allocator("a", pool="sh-agents").json
        b = self.broker.create_allocator("b", pool=self.nt["id"],
                                         priority=5).json
        self.assertEqual(self.sh["id"], a["allocator"]["pool_id"])
        self.assertEqual(self.nt["id"], b["allocator"]["pool_id"])
        resp = self.broker.create_allocator("c", pool="no-such-pool",
                                            status=404)
        self.assertError(resp, 404)
        resp = self.broker.create_allocator("d", status=400)
        self.assertIn("pool", self.assertError(resp, 400)["message"])
        resp = self.broker.create_allocator("a", pool="sh-agents",
                                            status=409)
        self.assertError(resp, 409)
        shown = self.app.get("/v1/allocators/a")
        self.assertEqual('"1"', shown.headers["ETag"])

    def test_rules_validated(self):
        before = self.broker.count("allocators")
        for rules in ({"groups": "vip-agents"}, {"colour": ["red"]},
                      {"match": "most"}, {"attributes": {"dept": "x"}},
                      {"groups": [""]}, ["groups"]):
            resp = self.broker.create_allocator("bad", pool="sh-agents",
                                                rules=rules, status=400)
            self.assertError(resp, 400)
        resp = self.broker.create_allocator(
            "bad", plugin="user", pool="sh-agents",
            options={"unknown": 1}, status=400)
        self.assertError(resp, 400)
        self.assertEqual(before, self.broker.count("allocators"))
        self.broker.create_allocator("ok", pool="sh-agents", rules={
            "match": "any", "groups": ["vip-agents"],
            "ou": ["ou=shanghai,dc=callcentre,dc=example"],
            "attributes": {"department": ["hotel"]}})
        resp = self.app.patch_json("/v1/allocators/ok",
                                   {"rules": {"seats": "SH-*"}}, status=400)
        self.assertError(resp, 400)

    def test_is_default_moves_and_list_in_priority_order(self):
        self.broker.create_allocator("zeta", pool="sh-agents", priority=50)
        self.broker.create_allocator("alpha", pool="sh-agents",
                                     priority=90, is_default=True)
        self.broker.create_allocator("mid", pool="nt-agents", priority=20)
        self.broker.create_allocator("first", pool="nt-agents", priority=1)
        listed = self.app.get("/v1/allocators").json["allocators"]
        self.assertEqual(["first", "mid", "zeta", "alpha"],
                         [a["name"] for a in listed])
        self.assertEqual(["alpha"],
                         [a["name"] for a in listed if a["is_default"]])
        self.broker.create_allocator("fallback", pool="nt-agents",
                                     priority=1000, is_default=True)
        self.app.patch_json("/v1/allocators/zeta", {"is_default": True})
        listed = self.app.get("/v1/allocators").json["allocators"]
        self.assertEqual(["zeta"],
                         [a["name"] for a in listed if a["is_default"]])
        for query in ("is_default=true", "is_default=1"):
            self.assertEqual(["zeta"], [a["name"] for a in self.app.get(
                "/v1/allocators?" + query).json["allocators"]])
        self.assertEqual(4, len(self.app.get(
            "/v1/allocators?is_default=false").json["allocators"]))
        listed = self.app.get("/v1/allocators?limit=2").json
        self.assertEqual(["first", "mid"],
                         [a["name"] for a in listed["allocators"]])
        self.assertEqual("next", listed["links"][0]["rel"])

    def test_update_and_delete(self):
        a = self.broker.create_allocator("a", pool="sh-agents").json[
            "allocator"]
        url = "/v1/allocators/%s" % a["id"]
        resp = self.app.patch_json(url, {"pool": "nt-agents",
                                         "enabled": False},
                                   headers={"If-Match": '"1"'})
        self.assertEqual(self.nt["id"], resp.json["allocator"]["pool_id"])
        self.assertFalse(resp.json["allocator"]["enabled"])
        self.assertError(self.app.patch_json(
            url, {"priority": 3}, headers={"If-Match": '"1"'}, status=409),
            409)
        self.app.delete(url, status=204)
        self.assertError(self.app.get(url, status=404), 404)


class CallCentreTestCase(AdminTestCase):

    def setUp(self):
        super().setUp()
        self.pools, self.allocators = self.broker.setup_call_centre()
        self.broker.fill_pools()

    def ready_desktop(self, pool):
        return db.desktop_list(self.broker.ctxt,
                               {"pool_id": self.pools[pool]["id"],
                                "state": models.READY})[0]


class TestBindings(CallCentreTestCase):

    def test_bind_ready_desktop_and_release(self):
        desktop = self.ready_desktop("vip-desktops")
        resp = self.app.post_json("/v1/bindings", {
            "kind": "user", "key": "amy", "desktop_id": desktop["id"]},
            status=201)
        binding = resp.json["binding"]
        self.assertTrue(resp.headers["Location"].endswith(
            "/v1/bindings/%s" % binding["id"]))
        self.assertEqual(self.pools["vip-desktops"]["id"],
                         binding["pool_id"])
        shown = self.app.get("/v1/desktops/%s" % desktop["id"]).json
        self.assertEqual(models.ASSIGNED, shown["desktop"]["state"])
        self.assertEqual("amy", shown["desktop"]["assigned_user"])
        # Twice: 409, for the same key or for the same desktop.
        resp = self.app.post_json("/v1/bindings", {
            "kind": "user", "key": "amy",
            "desktop_id": self.ready_desktop("vip-desktops")["id"]},
            status=409)
        self.assertError(resp, 409)
        resp = self.app.post_json("/v1/bindings", {
            "kind": "seat", "key": "SH-2F-001",
            "desktop_id": desktop["id"]}, status=409)
        self.assertError(resp, 409)
        self.assertEqual(1, self.broker.count("bindings"))
        self.assertEqual([binding["id"]], [
            b["id"] for b in self.app.get(
                "/v1/bindings?kind=user").json["bindings"]])
        self.app.get("/v1/bindings/%s" % binding["id"])
        # Delete: the desktop goes through its pool's release (keep).
        self.app.delete("/v1/bindings/%s" % binding["id"], status=204)
        shown = self.app.get("/v1/desktops/%s" % desktop["id"]).json
        self.assertEqual(models.READY, shown["desktop"]["state"])
        self.assertIsNone(shown["desktop"]["assigned_user"])
        self.assertError(self.app.delete(
            "/v1/bindings/%s" % binding["id"], status=404), 404)

    def test_bound_desktop_serves_the_user_at_login(self):
        desktop = self.ready_desktop("sh-agents")
        self.app.post_json("/v1/bindings", {
            "kind": "user", "key": "vera", "desktop_id": desktop["id"]})
        # vera's allocator binds users in vip-desktops; the admin binding
        # of a sh-agents desktop is found by key.
        resp = self.broker.login("vera")
        self.assertEqual(desktop["id"], resp.json["desktop"]["id"])

    def test_bind_unavailable_desktop(self):
        login = self.broker.login("amy")
        resp = self.app.post_json("/v1/bindings", {
            "kind": "user", "key": "sam",
            "desktop_id": login.json["desktop"]["id"]}, status=409)
        self.assertError(resp, 409)
        resp = self.app.post_json("/v1/bindings", {
            "kind": "user", "key": "sam", "desktop_id": "nope"}, status=404)
        self.assertError(resp, 404)
        resp = self.app.post_json("/v1/bindings", {
            "kind": "group", "key": "sam", "desktop_id": "nope"},
            status=400)
        self.assertError(resp, 400)
        self.assertEqual(0, self.broker.count("bindings"))


class TestDesktopsAndSessions(CallCentreTestCase):

    def test_desktops_list_and_show(self):
        everything = self.app.get("/v1/desktops").json["desktops"]
        self.assertEqual(8, len(everything))
        sh = self.pools["sh-agents"]["id"]
        listed = self.app.get("/v1/desktops?pool_id=%s" % sh).json
        self.assertEqual(2, len(listed["desktops"]))
        self.assertEqual({sh}, {d["pool_id"] for d in listed["desktops"]})
        login = self.broker.login("amy")
        assigned = self.app.get("/v1/desktops?state=assigned").json[
            "desktops"]
        self.assertEqual([login.json["desktop"]["id"]],
                         [d["id"] for d in assigned])
        self.assertEqual("amy", assigned[0]["assigned_user"])
        self.assertEqual(1, len(self.app.get(
            "/v1/desktops?assigned_user=amy").json["desktops"]))
        # By name (the portal's desktop search).
        named = self.app.get("/v1/desktops", params={
            "name": assigned[0]["name"]}).json["desktops"]
        self.assertEqual([assigned[0]["id"]], [d["id"] for d in named])
        # Unknown filters are ignored, not passed to the database.
        self.assertEqual(8, len(self.app.get(
            "/v1/desktops?token_hash=x&generation=1").json["desktops"]))
        shown = self.app.get("/v1/desktops/%s" %
                             login.json["desktop"]["id"]).json["desktop"]
        self.assertEqual(login.json["desktop"]["address"], shown["address"])
        self.assertTrue(shown["host"].startswith("fake-host-"))
        self.assertError(self.app.get("/v1/desktops/nope", status=404), 404)
        page = self.app.get("/v1/desktops?limit=5").json
        self.assertEqual(5, len(page["desktops"]))
        rest = self.app.get(self._path(page["links"][0]["href"])).json
        self.assertEqual(3, len(rest["desktops"]))
        self.assertEqual(set(d["id"] for d in everything),
                         {d["id"] for d in page["desktops"] +
                          rest["desktops"]})

    def test_sessions_list_show_and_force_logout(self):
        amy = self.broker.login("amy", client_id="tc-1")
        self.broker.login("bob", client_id="tc-2")
        sessions = self.app.get("/v1/sessions").json["sessions"]
        self.assertEqual({"amy", "bob"}, {s["username"] for s in sessions})
        for session in sessions:
            self.assertNotIn("token_hash", session)
            self.assertNotIn("token", session)
        listed = self.app.get("/v1/sessions?username=amy").json["sessions"]
        self.assertEqual([amy.json["session"]["id"]],
                         [s["id"] for s in listed])
        url = "/v1/sessions/%s" % amy.json["session"]["id"]
        shown = self.app.get(url).json["session"]
        self.assertEqual("active", shown["state"])
        self.assertEqual(amy.json["desktop"]["id"], shown["desktop_id"])
        self.assertEqual(self.allocators["shanghai-agents"]["id"],
                         shown["allocator_id"])
        # Force logout: closed, desktop released, the token is dead.
        self.app.delete(url, status=204)
        shown = self.app.get(url).json["session"]
        self.assertEqual("closed", shown["state"])
        self.assertEqual("forced by operator", shown["close_reason"])
        self.assertEqual(models.RELEASING, self.app.get(
            "/v1/desktops/%s" % amy.json["desktop"]["id"]).json[
                "desktop"]["state"])
        self.app.get(self.broker.session_url(amy), headers={
            "X-Session-Token": amy.json["session"]["token"]}, status=401)
        self.assertEqual(1, len(self.app.get(
            "/v1/sessions?state=active").json["sessions"]))
        self.assertError(self.app.get("/v1/sessions/nope", status=404), 404)
        self.assertError(self.app.delete("/v1/sessions/nope", status=404),
                         404)


class TestExplain(CallCentreTestCase):

    def _explain(self, status=200, **body):
        return self.app.post_json("/v1/allocators/explain", body,
                                  status=status)

    def test_explain_changes_nothing(self):
        before = self.broker.counts(("sessions", "desktops", "events",
                                     "bindings", "allocators", "pools"))
        ready = self.broker.ready_counts()
        explain = self._explain(username="vera").json["explain"]
        self.assertEqual("vip-personal", explain["outcome"]["allocator"])
        decision = explain["outcome"]["decision"]
        self.assertEqual("user", decision["binding_kind"])
        self.assertEqual("vera", decision["binding_key"])
        self.assertIsNone(explain["outcome"]["binding"])
        self.assertEqual("vip-desktops", explain["outcome"]["pool"]["name"])
        self.assertEqual(2, explain["outcome"]["pool"]["ready"])
        self.assertEqual("vip-personal", explain["trace"][0]["allocator"])
        self.assertTrue(explain["trace"][0]["result"].startswith(
            "selected"))
        self.assertEqual("vera", explain["request"]["principal"]["username"])
        explain = self._explain(username="amy", seat="SH-TR-01").json[
            "explain"]
        self.assertEqual("training-seats", explain["outcome"]["allocator"])
        self.assertEqual(["no match", "selected"],
                         [s["result"].split(":")[0]
                          for s in explain["trace"]])
        self.assertEqual(["shanghai"],
                         [explain["request"]["site"]])
        explain = self._explain(username="carl").json["explain"]
        self.assertEqual("everyone-else", explain["outcome"]["allocator"])
        self.assertEqual(5, len(explain["trace"]))
        self.assertEqual(before, self.broker.counts(before.keys()))
        self.assertEqual(ready, self.broker.ready_counts())

    def test_explain_shows_existing_binding_and_errors(self):
        login = self.broker.login("vera")
        explain = self._explain(username="vera").json["explain"]
        self.assertEqual(login.json["binding"]["id"],
                         explain["outcome"]["binding"]["id"])
        self.assertError(self._explain(username="nobody", status=404), 404)
        self.assertError(self._explain(status=400), 400)
        self.assertError(self._explain(username="amy", password="x",
                                       status=400), 400)


class TestVersions(AdminTestCase):

    def test_version_document(self):
        resp = self.app.get("/")
        self.assertEqual("vdi 1.0",
                         resp.headers["OpenStack-API-Version"])
        (version,) = resp.json["versions"]
        self.assertEqual("v1", version["id"])
        self.assertEqual("CURRENT", version["status"])
        self.assertEqual("1.0", version["min_version"])
        self.assertEqual("1.2", version["max_version"])
        self.assertEqual("http://localhost/v1", version["links"][0]["href"])
        for path in ("/v1", "/v1/"):
            resp = self.app.get(path)
            self.assertEqual(version, resp.json["version"])
            self.assertEqual("vdi 1.0",
                             resp.headers["OpenStack-API-Version"])
            self.assertIn("OpenStack-API-Version", resp.headers["Vary"])

    def test_every_response_has_the_version_header(self):
        for resp in (self.app.get("/v1/pools"),
                     self.broker.create_pool("p"),
                     self.app.delete("/v1/pools/p", status=204),
                     self.app.get("/v1/pools/p", status=404),
                     self.broker.login("amy", status=403)):
            self.assertEqual("vdi 1.0",
                             resp.headers["OpenStack-API-Version"])
        self.assertTrue(self.app.get("/").headers[
            "X-OpenStack-Request-ID"].startswith("req-"))

    def version(self, value, path="/v1/pools", status=200, **kw):
        return self.app.get(path, headers={"OpenStack-API-Version": value},
                            status=status, **kw)

    def test_request_names_a_served_version(self):
        for value, served in (
                ("vdi 1.0", "1.0"), ("VDI 1.0", "1.0"), ("vdi  1.0 ", "1.0"),
                ("vdi 1.1", "1.1"), ("vdi 1.2", "1.2"),
                ("vdi latest", "1.2"),
                # Other services' versions are not ours.
                ("compute 2.96", "1.0"), ("vdi-broker 7.0", "1.0"),
                ("compute 2.1, vdi 1.0", "1.0")):
            resp = self.version(value)
            self.assertEqual("vdi " + served,
                             resp.headers["OpenStack-API-Version"], value)
            self.assertIn("OpenStack-API-Version", resp.headers["Vary"])

    def test_version_out_of_range_is_406(self):
        for value in ("vdi 1.3", "vdi 2.0", "vdi 0.9", "compute 2.1, vdi 9.9"):
            resp = self.version(value, status=406)
            error = self.assertError(resp, 406, "Not Acceptable")
            self.assertEqual({"min_version": "1.0", "max_version": "1.2"},
                             error["details"], value)
            self.assertIn(value.rsplit(" ", 1)[-1], error["message"])
            self.assertIn("1.2", error["message"])
        # Nothing is done: not a pool, not a login.
        resp = self.app.post_json("/v1/pools", dict(
            broker_fixture.POOL_DEFAULTS, name="p"), headers={
                "OpenStack-API-Version": "vdi 1.3"}, status=406)
        self.assertEqual([], self.app.get("/v1/pools").json["pools"])
        self.broker.login("amy", status=406, headers={
            "OpenStack-API-Version": "vdi 2.0"})
        self.assertEqual(0, self.broker.count("sessions"))

    def test_malformed_version_is_400(self):
        for value in ("vdi 1", "vdi one", "vdi 1.x", "vdi 1.0.1"):
            resp = self.version(value, status=400)
            error = self.assertError(resp, 400)
            self.assertIn("OpenStack-API-Version", error["message"], value)
