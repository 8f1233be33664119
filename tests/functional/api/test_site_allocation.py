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

"""Site-aware allocation through the API (login/sites.py).

Logins over the thin-client API with a site-aware allocator chain: the
same-site pool is preferred, another site's pool serves only when the
rule allows it (the reason in the login's event and in
``/v1/allocators/explain``), otherwise the login is refused with 503
``site_no_pool`` and a refusal event; a bound desktop stays in its
site. On SQLite, MariaDB and PostgreSQL.
"""

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import clock
from vdi_broker.db import api as db

POOLS = [
    {"name": "sh-pool", "site": "shanghai", "min_ready": 2, "max_size": 2,
     "release_action": "keep"},
    {"name": "nt-pool", "site": "nantong", "min_ready": 2, "max_size": 2,
     "release_action": "keep"},
]

ALLOCATORS = [
    {"name": "vip-personal", "priority": 10, "plugin": "user",
     "pool": "sh-pool",
     "rules": {"groups": ["vip-agents"], "pools": ["nt-pool"]}},
    {"name": "agents", "priority": 20, "plugin": "pool", "pool": "sh-pool",
     "rules": {"pools": ["nt-pool"], "site_fallback": False}},
]

SEATS = {"SH-1F-001": "shanghai", "SH-1F-002": "shanghai",
         "SH-1F-003": "shanghai", "NT-1F-001": "nantong",
         "GZ-1F-001": "guangzhou"}


class SiteAllocationTestCase(base.TestCase):

    backend = "sqlite"

    def setUp(self):
        super().setUp()
        # (Refusal events of one minute are one event.)
        self.useFixture(clock.Clock())
        self.broker = broker_fixture.use_broker(self, backend=self.backend)
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt
        self.pools, self.allocators = self.broker.setup_call_centre(
            default=False, pools=POOLS, allocators=ALLOCATORS)
        for name, site in SEATS.items():
            db.seat_create(self.ctxt, {"name": name, "site": site})
        # A thin client of the Nantong site, at no seat.
        self.app.post_json("/v1/thin-clients", {"client_id": "tc-nt",
                                                "site": "nantong"})
        self.broker.fill_pools()

    def login(self, username, seat=None, client_id=None, status=201):
        return self.broker.login(
            username, seat=seat, status=status,
            client_id=client_id or "tc-%s-%s" % (username, seat))

    def login_event(self, resp):
        (event,) = db.event_list(self.ctxt, {
            "action": "login", "result": "success",
            "target_id": resp.json["session"]["id"]})
        return event

    def explain(self, username, seat=None, client_id=None):
        body = {"username": username}
        if seat:
            body["seat"] = seat
        if client_id:
            body["client_id"] = client_id
        return self.app.post_json("/v1/allocators/explain",
                                  body).json["explain"]

    def set_fallback(self, value):
        self.app.patch_json("/v1/allocators/agents", {"rules": {
            "pools": ["nt-pool"], "site_fallback": value}})

    def test_same_site_pool_is_preferred(self):
        resp = self.login("amy", seat="SH-1F-001")
        self.assertEqual("sh-pool", resp.json["pool"]["name"])
        site = self.login_event(resp)["detail"]["site"]
        self.assertEqual({"site": "shanghai", "source": "seat",
                          "pool_site": "shanghai", "role": "same_site"},
                         site)
        # The allocator's own pool is Shanghai's: a Nantong seat still
        # gets the Nantong pool, a thin client's site counts without a
        # seat.
        resp = self.login("bob", seat="NT-1F-001")
        self.assertEqual("nt-pool", resp.json["pool"]["name"])
        resp = self.login("nina", client_id="tc-nt")
        self.assertEqual("nt-pool", resp.json["pool"]["name"])
        self.assertEqual("thin_client",
                         self.login_event(resp)["detail"]["site"]["source"])
        explained = self.explain("sam", seat="SH-1F-002")
        self.assertEqual(("seat", "shanghai"),
                         (explained["request"]["site_source"],
                          explained["request"]["site"]))
        self.assertEqual("sh-pool", explained["outcome"]["site"]["pool"])
        self.assertIsNone(explained["outcome"]["site"]["fallback"])

    def test_no_fallback_is_a_clear_refusal(self):
        before = self.broker.counts(("sessions", "bindings"))
        ready = self.broker.ready_counts()
        resp = self.login("amy", seat="GZ-1F-001", status=503)
        error = broker_fixture.assert_error(self, resp, 503)
        self.assertEqual("site_no_pool", error["details"]["code"])
        self.assertEqual("guangzhou", error["details"]["site"])
        self.assertIn("no pool of the agent's site guangzhou",
                      error["message"])
        self.assertIn("allows no fallback", error["message"])
        self.assertIn("Retry-After", resp.headers)
        # Nothing claimed; the refusal is audited.
        self.assertEqual(before, self.broker.counts(before.keys()))
        self.assertEqual(ready, self.broker.ready_counts())
        (event,) = db.event_list(self.ctxt, {"action": "login",
                                             "result": "failure"})
        self.assertEqual(("amy", "site_no_pool", "guangzhou", "seat"),
                         (event["username"], event["detail"]["reason"],
                          event["detail"]["site"]["site"],
                          event["detail"]["site"]["source"]))
        # The explanation says the same before anyone tries.
        explained = self.explain("sam", seat="GZ-1F-001")
        self.assertEqual("site_no_pool",
                         explained["outcome"]["site"]["refused"]["reason"])

    def test_fallback_by_rule_with_its_reason(self):
        self.set_fallback(["nantong"])
        explained = self.explain("amy", seat="GZ-1F-001")
        site = explained["outcome"]["site"]
        self.assertEqual("nt-pool", site["pool"])
        self.assertIn("fallback to pool nt-pool of site nantong: no pool "
                      "of the agent's site guangzhou", site["fallback"])
        self.assertIsNone(site["refused"])
        resp = self.login("amy", seat="GZ-1F-001")
        self.assertEqual("nt-pool", resp.json["pool"]["name"])
        detail = self.login_event(resp)["detail"]["site"]
        self.assertEqual(("guangzhou", "fallback", "nantong"),
                         (detail["site"], detail["role"],
                          detail["pool_site"]))
        self.assertEqual(site["fallback"], detail["fallback"])

    def test_exhausted_site_pool_falls_back_only_by_rule(self):
        self.login("amy", seat="SH-1F-001")
        self.login("sam", seat="SH-1F-002")
        # Shanghai's pool is empty now: without a fallback the pool's
        # exhaustion is the answer.
        resp = self.login("bob", seat="SH-1F-003", status=503)
        self.assertEqual("sh-pool", broker_fixture.assert_error(
            self, resp, 503)["details"]["pool"])
        self.set_fallback(True)
        explained = self.explain("bob", seat="SH-1F-003")
        self.assertEqual("nt-pool", explained["outcome"]["site"]["pool"])
        self.assertEqual([0, 2], [c["ready"] for c in
                                  explained["outcome"]["site"]["candidates"]])
        resp = self.login("bob", seat="SH-1F-003")
        self.assertEqual("nt-pool", resp.json["pool"]["name"])
        detail = self.login_event(resp)["detail"]["site"]
        self.assertEqual("fallback", detail["role"])
        self.assertIn("pool sh-pool has no ready desktop",
                      detail["fallback"])
        self.assertEqual(explained["outcome"]["site"]["fallback"],
                         detail["fallback"])
        # Bob logs in again elsewhere in Shanghai: he keeps the desktop
        # he works on, although it is another site's.
        again = self.login("bob", seat="SH-1F-003", client_id="tc-2")
        self.assertEqual(resp.json["desktop"]["id"],
                         again.json["desktop"]["id"])

    def test_bound_desktop_stays_in_its_site(self):
        first = self.login("vera", client_id="tc-nt")
        self.assertEqual("nt-pool", first.json["pool"]["name"])
        self.assertEqual("user", first.json["binding"]["kind"])
        self.broker.logout(first)
        for seat in ("SH-1F-001", "GZ-1F-001"):
            # A Shanghai seat (whose pool has desktops) and a site with
            # no pool at all (no fallback allowed): the bound desktop.
            explained = self.explain("vera", seat=seat)
            (candidate,) = explained["outcome"]["site"]["candidates"]
            self.assertEqual(("nt-pool", "bound"),
                             (candidate["pool"], candidate["role"]))
            resp = self.login("vera", seat=seat)
            self.assertEqual(first.json["desktop"]["id"],
                             resp.json["desktop"]["id"])
            self.assertTrue(resp.json["reused"])
            self.assertEqual("bound",
                             self.login_event(resp)["detail"]["site"]["role"])
            self.broker.logout(resp)

    def test_rule_fields_are_validated(self):
        for rules, text in (
                ({"site_fallback": "yes"}, "rules/site_fallback': must be "
                 "true, false or a non-empty list of distinct site names"),
                ({"pools": []}, "rules/pools': must be a non-empty list"),
                ({"pools": ["no-such-pool"]}, "pools/0: no pool "
                 "no-such-pool")):
            resp = self.broker.create_allocator("bad", pool="sh-pool",
                                                rules=rules, status=400)
            error = broker_fixture.assert_error(self, resp, 400)
            self.assertIn(text, error["message"])
        # Stored as pool ids.
        resp = self.broker.create_allocator(
            "good", pool="sh-pool", rules={"pools": ["nt-pool"],
                                           "site_fallback": ["nantong"]})
        self.assertEqual([self.pools["nt-pool"]["id"]],
                         resp.json["allocator"]["rules"]["pools"])


class SiteAllocationOnMySQL(SiteAllocationTestCase):

    backend = "mysql"


class SiteAllocationOnPostgreSQL(SiteAllocationTestCase):

    backend = "postgresql"
