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

"""A cloud down, with site fallback (issue 19): two sites, two clouds.

Site shanghai's pool lives in cloud east, site nantong's in cloud west
(two Nova emulators behind black-hole proxies, tests/fixtures/clouds.py),
and the logins go through the thin-client API. Cloud east goes silent:
its pool's ready desktops still serve (a claim needs no Nova, an RDP
console only the address), but it cannot refill. Once they are gone,
shanghai agents whose allocator allows a fallback get nantong's pool,
with the reason (the pool's ``cloud_down``) in the login's event and in
the explanation; those whose allocator allows none get a clear 503 that
names the pool's ``cloud_down`` status. Nantong's agents see no change:
their pool keeps refilling from cloud west.
"""

import time

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import clouds as cloud_fixtures
from tests.fixtures import nova_emulator
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

EMULATED = {"flavor": "vdi.small", "image": nova_emulator.DEFAULT_IMAGE,
            "networks": [nova_emulator.DEFAULT_NETWORK],
            "console_type": "rdp", "release_action": "keep",
            "max_concurrent_builds": 10}

POOLS = [
    dict(EMULATED, name="sh-pool", site="shanghai", cloud="east",
         min_ready=2, max_size=6),
    dict(EMULATED, name="nt-pool", site="nantong", cloud="west",
         min_ready=2, max_size=8),
]

# Shanghai's A seats may fall back to Nantong; everybody else (the B
# seats, Nantong) is held to their own site.
ALLOCATORS = [
    {"name": "sh-a-fallback", "priority": 10, "plugin": "pool",
     "pool": "sh-pool",
     "rules": {"seats": ["SH-A-*"], "pools": ["nt-pool"],
               "site_fallback": ["nantong"]}},
    {"name": "agents", "priority": 20, "plugin": "pool", "pool": "sh-pool",
     "rules": {"pools": ["nt-pool"], "site_fallback": False}},
]

SEATS = {"SH-A-1": "shanghai", "SH-A-2": "shanghai", "SH-A-3": "shanghai",
         "SH-B-1": "shanghai", "SH-B-2": "shanghai",
         "NT-1": "nantong", "NT-2": "nantong", "NT-3": "nantong"}

# Upkeep passes to wait for (each may wait out a 1 s client timeout).
PASSES = 20


class CloudDownSiteFallbackTestCase(base.TestCase):

    backend = "sqlite"

    def setUp(self):
        super().setUp()
        self.clouds = cloud_fixtures.use_clouds(self, ["east", "west"])
        self.flags(group="conductor", capacity_cache_time=0)
        self.broker = broker_fixture.use_broker(self, backend=self.backend)
        self.ctxt = self.broker.ctxt
        self.manager = self.broker.manager
        self.pools, _ = self.broker.setup_call_centre(
            default=False, pools=POOLS, allocators=ALLOCATORS)
        for name, site in SEATS.items():
            db.seat_create(self.ctxt, {"name": name, "site": site})
        self.broker.fill_pools()

    # -- helpers -------------------------------------------------------------

    def pool(self, name):
        return db.pool_get(self.ctxt, self.pools[name]["id"])

    def ready(self, name):
        return self.broker.ready_counts()[self.pools[name]["id"]]

    def upkeep_until(self, what, done):
        for _ in range(PASSES):
            self.manager.pool_upkeep(self.ctxt)
            if done():
                return
            time.sleep(0.1)
        self.fail("%s: not after %d passes; pools %s" % (
            what, PASSES, [(p["name"], p["status"], p["status_reason"])
                           for p in db.pool_list(self.ctxt)]))

    def login(self, username, seat, status=201):
        return self.broker.login(username, seat=seat, status=status,
                                 client_id="tc-%s" % seat)

    def login_site(self, resp):
        (event,) = db.event_list(self.ctxt, {
            "action": "login", "result": "success",
            "target_id": resp.json["session"]["id"]})
        return event["detail"]["site"]

    def explain(self, username, seat):
        return self.broker.app.post_json(
            "/v1/allocators/explain",
            {"username": username, "seat": seat}).json["explain"]

    # -- the drill -----------------------------------------------------------

    def test_down_site_falls_back_by_rule_other_site_unaffected(self):
        east, west = self.clouds["east"], self.clouds["west"]
        east_servers = len(east.servers())
        self.assertEqual((2, 2), (self.ready("sh-pool"),
                                  self.ready("nt-pool")))
        east.down()

        # The down cloud's ready desktops still serve: no Nova call.
        for user, seat in (("amy", "SH-A-1"), ("bob", "SH-B-1")):
            resp = self.login(user, seat)
            self.assertEqual("sh-pool", resp.json["pool"]["name"])
            self.assertEqual("same_site", self.login_site(resp)["role"])
        # sh-pool is empty now and cannot refill: the pool manager finds
        # cloud east down and says so in the pool's status.
        self.upkeep_until("sh-pool cloud_down", lambda: self.pool(
            "sh-pool")["status"] == "cloud_down")
        sh_pool = self.pool("sh-pool")
        self.assertIn("cloud east unavailable", sh_pool["status_reason"])
        self.assertEqual(0, self.ready("sh-pool"))
        self.assertTrue(self.manager.clouds.health("east").down)

        # A shanghai agent with a fallback rule: nantong's pool, and the
        # reason (the empty pool's cloud_down) in the explanation first,
        # then in the login's event.
        site = self.explain("sam", "SH-A-2")["outcome"]["site"]
        self.assertEqual("nt-pool", site["pool"])
        self.assertIsNone(site["refused"])
        self.assertIn("pool sh-pool has no ready desktop (cloud_down: "
                      "cloud east does not answer)", site["fallback"])
        self.assertIn("fallback to pool nt-pool of site nantong",
                      site["fallback"])
        resp = self.login("sam", "SH-A-2")
        self.assertEqual("nt-pool", resp.json["pool"]["name"])
        detail = self.login_site(resp)
        self.assertEqual(("shanghai", "seat", "fallback", "nantong"),
                         (detail["site"], detail["source"], detail["role"],
                          detail["pool_site"]))
        self.assertEqual(site["fallback"], detail["fallback"])

        # A shanghai agent without one: a clear 503 naming the pool's
        # cloud_down status, nothing claimed, a refusal event.
        before = self.broker.ready_counts()
        resp = self.login("carl", "SH-B-2", status=503)
        error = broker_fixture.assert_error(self, resp, 503)
        self.assertEqual(("sh-pool", "cloud_down", 0),
                         (error["details"]["pool"],
                          error["details"]["status"],
                          error["details"]["ready"]))
        self.assertIn("cloud east unavailable",
                      error["details"]["status_reason"])
        self.assertIn("Retry-After", resp.headers)
        self.assertEqual(before, self.broker.ready_counts())
        (refused,) = db.event_list(self.ctxt, {"action": "login",
                                               "result": "failure"})
        self.assertEqual(("carl", "pool_exhausted", "shanghai"),
                         (refused["username"], refused["detail"]["reason"],
                          refused["detail"]["site"]["site"]))

        # Nantong sees no change: its agents get their own pool, which
        # refills from cloud west while east is down (sam took one).
        resp = self.login("nina", "NT-1")
        self.assertEqual("nt-pool", resp.json["pool"]["name"])
        self.assertEqual("same_site", self.login_site(resp)["role"])
        self.upkeep_until("nt-pool refilled",
                          lambda: self.ready("nt-pool") >= 2)
        self.assertEqual("active", self.pool("nt-pool")["status"])
        self.assertFalse(self.manager.clouds.health("west").down)
        self.assertEqual(0, self.manager.clouds.health("west").errors)
        # 2 filled + 2 replacements, all in west; nothing new in east.
        self.assertEqual(4, len(west.servers()))
        self.assertEqual(east_servers, len(east.servers()))

        # East is back: its pool refills and serves its site again.
        east.up()
        self.upkeep_until("sh-pool refilled", lambda: (
            self.ready("sh-pool") >= 2 and
            self.pool("sh-pool")["status"] == "active"))
        resp = self.login("vera", "SH-A-3")
        self.assertEqual("sh-pool", resp.json["pool"]["name"])
        self.assertEqual("same_site", self.login_site(resp)["role"])
        # Sam keeps the nantong desktop she works on.
        again = self.login("sam", "SH-A-2")
        self.assertEqual("nt-pool", again.json["pool"]["name"])
        self.assertTrue(again.json["reused"])
        counts = db.pool_desktop_counts(self.ctxt)
        self.assertEqual(2, counts[self.pools["nt-pool"]["id"]].get(
            models.ASSIGNED))


class CloudDownSiteFallbackOnMySQL(CloudDownSiteFallbackTestCase):

    backend = "mysql"


class CloudDownSiteFallbackOnPostgreSQL(CloudDownSiteFallbackTestCase):

    backend = "postgresql"
