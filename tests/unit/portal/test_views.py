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

"""Pure parts of the portal's views: why a pool is short, redirects."""

import datetime

from tests import base
from vdi_broker.portal import api
from vdi_broker.portal.views import alerts
from vdi_broker.portal.views import common
from vdi_broker.portal.views import jobs
from vdi_broker.portal.views import overview
from vdi_broker.portal import web


def _pool(**kw):
    desktops = dict({"building": 0, "ready": 0, "assigned": 0,
                     "releasing": 0, "deleting": 0, "error": 0,
                     "quarantined": 0}, **kw.pop("desktops", {}))
    desktops["total"] = sum(desktops.values())
    pool = {"enabled": True, "min_ready": 4, "max_size": 10,
            "max_concurrent_builds": 2, "status": "active",
            "status_reason": None,
            "build": {"failures": 0, "failing_since": None,
                      "last_error": None},
            "desktops": desktops}
    pool.update(kw)
    return pool


class TestShortfall(base.TestCase):

    def codes(self, pool):
        return [code for code, _values in overview.shortfall(pool)]

    def test_not_short(self):
        self.assertEqual([], self.codes(_pool(desktops={"ready": 4})))

    def test_disabled(self):
        self.assertEqual(["disabled"], self.codes(_pool(enabled=False)))

    def test_throttled_and_booting(self):
        self.assertEqual(["throttle"], self.codes(_pool(
            desktops={"ready": 1, "building": 2})))
        self.assertEqual(["booting"], self.codes(_pool(
            desktops={"ready": 2, "building": 1})))

    def test_degraded_and_capacity_from_the_status(self):
        reasons = overview.shortfall(_pool(
            status="degraded", status_reason="3 boots failed",
            build={"failures": 3, "last_error": "NoValidHost"}))
        self.assertEqual([("degraded", {"reason": "3 boots failed"})],
                         reasons[:1])
        self.assertEqual(["capacity"], self.codes(_pool(
            status="no_capacity", status_reason="room for 0")))
        self.assertEqual(["failures"], self.codes(_pool(
            build={"failures": 2, "last_error": "boom"})))

    def test_max_size(self):
        self.assertEqual(["max_size"], self.codes(_pool(
            max_size=4, min_ready=4,
            desktops={"ready": 1, "assigned": 3})))

    def test_target_capped_by_max_size(self):
        self.assertEqual([], self.codes(_pool(
            min_ready=8, max_size=3, desktops={"ready": 3})))

    def test_boot_queue_allowance_lowered(self):
        boots = {"in_flight": 1, "queued": 3, "allowance": 1, "limit": 2,
                 "waiting_reason": "pool allowance: 1 of 1 boots in flight"}
        reasons = overview.shortfall(_pool(desktops={"ready": 1,
                                                     "building": 1},
                                           boots=boots))
        self.assertEqual(["throttle_lowered", "queued"],
                         [code for code, _ in reasons])
        self.assertEqual({"building": 1, "limit": 1, "max": 2},
                         reasons[0][1])
        self.assertEqual(boots["waiting_reason"], reasons[1][1]["reason"])

    def test_boot_queue_global_limit(self):
        boots = {"in_flight": 0, "queued": 2, "allowance": 2, "limit": 2,
                 "waiting_reason": "global limit: 10 boots in flight"}
        self.assertEqual(["queued"], self.codes(_pool(
            desktops={"ready": 1}, boots=boots)))

    def test_waiting(self):
        self.assertEqual(["waiting"], self.codes(_pool(
            desktops={"ready": 1})))


class TestLocalPath(base.TestCase):

    def test_only_paths_of_this_site(self):
        self.assertEqual("/pools?x=1", web.local_path("/pools?x=1"))
        for bad in ("https://evil.example/", "//evil.example/x",
                    "/\\evil.example", "javascript:alert(1)", "", None):
            self.assertEqual("/", web.local_path(bad), bad)

    def test_tokens_match(self):
        self.assertTrue(web.tokens_match("abc", "abc"))
        self.assertFalse(web.tokens_match("abc", "abd"))
        self.assertFalse(web.tokens_match(None, None))
        self.assertFalse(web.tokens_match("", ""))


class TestLocalToUtc(base.TestCase):

    def test_zone_name_gives_the_offset_of_that_day(self):
        utc = common.local_to_utc
        self.assertEqual("2026-12-03T12:00:00Z",
                         utc("2026-12-03T20:00", "Asia/Shanghai", "-480"))
        # Berlin: UTC+1 in winter, UTC+2 in summer, whatever the offset
        # of the browser today.
        self.assertEqual("2026-12-03T07:00:00Z",
                         utc("2026-12-03T08:00", "Europe/Berlin", "-120"))
        self.assertEqual("2026-07-03T06:00:00Z",
                         utc("2026-07-03T08:00", "Europe/Berlin", "-60"))

    def test_offset_without_a_zone(self):
        utc = common.local_to_utc
        self.assertEqual("2026-12-03T12:00:00Z",
                         utc("2026-12-03T20:00", None, "-480"))
        self.assertEqual("2026-12-03T12:00:00Z",
                         utc("2026-12-03T20:00", "No/Such_Zone", "-480"))
        self.assertEqual("2026-12-03T20:00:00Z",
                         utc("2026-12-03T20:00", "../../etc/passwd", "x"))
        self.assertEqual("2026-12-03T20:00:00Z",
                         utc("2026-12-03T20:00", "", "99999"))

    def test_not_a_time(self):
        for value in ("", None, "yesterday", "2026-13-01T00:00"):
            self.assertIsNone(common.local_to_utc(value, "UTC"))
        self.assertIsNone(common.local_to_utc("0001-01-01T00:00",
                                              "Asia/Shanghai"))


class TestJobKinds(base.TestCase):

    def test_every_kind_of_the_api_has_a_form(self):
        from vdi_broker.jobs import kinds
        self.assertEqual(set(kinds.KINDS), set(jobs.KINDS))
        for kind, (_label, fields) in jobs.KINDS.items():
            schema, secret = kinds.KINDS[kind]
            names = {name for name, _l, _i, _r in fields}
            self.assertEqual(set(schema["properties"]), names, kind)
            required = {name for name, _l, _i, req in fields if req}
            self.assertEqual(set(schema.get("required", ())) - {
                "contents"}, required, kind)
            self.assertEqual(set(secret), set(jobs.SECRET.get(kind, ())),
                             kind)


class _Client:
    """The API's alerts, as api.Client.all answers them."""

    def __init__(self, items):
        self.items = items
        self.calls = []

    def all(self, path, key, params=None, cap=5000):
        self.calls.append((path, key, params))
        return self.items, False


class TestAlerts(base.TestCase):

    def test_values_as_sorted_pairs(self):
        self.assertEqual(["failures: 3", "threshold: 2"],
                         alerts.values_text({"threshold": 2,
                                             "failures": 3}))
        self.assertEqual([], alerts.values_text(None))
        self.assertEqual([], alerts.values_text([1, 2]))

    def test_overview_counts_them_all_and_lists_five(self):
        items = [{"id": "a%d" % i, "kind": "boots_failing",
                  "subject": "pool-%d" % i, "state": "firing",
                  "started_at": "2026-12-03T08:0%d:00Z" % i,
                  "fired_at": "2026-12-03T08:1%d:00Z" % i,
                  "acknowledged_by": "amy" if i == 1 else None}
                 for i in range(7)]
        client = _Client(items)
        figures = overview.firing_alerts(client)
        self.assertEqual(7, figures["firing"])
        self.assertEqual(["a0", "a1", "a2", "a3", "a4"],
                         [a["id"] for a in figures["items"]])
        self.assertEqual("2026-12-03T08:11:00Z",
                         figures["items"][1]["started_at"])
        self.assertEqual("amy", figures["items"][1]["acknowledged_by"])
        self.assertEqual([("/alerts", "alerts", {
            "state": "firing", "sort_key": "started_at",
            "sort_dir": "desc"})], client.calls)


class _AgentsClient:
    """GET /v1/agents and /v1/agents/history, as api.Client answers."""

    def __init__(self, teams=(), history=(), error=None):
        self.bodies = {"/agents": {"at": "2026-12-03T08:30:00Z",
                                   "agents": list(teams)},
                       "/agents/history": {"history": list(history)}}
        self.error = error
        self.calls = []

    def request(self, method, path, params=None):
        self.calls.append((method, path, params))
        if self.error:
            raise self.error
        return self.bodies[path]


class TestAgents(base.TestCase):

    NOW = datetime.datetime(2026, 12, 3, 8, 30, 20)

    def test_rows_scale_to_the_plan_or_the_active(self):
        rows = overview.team_rows([
            {"department": "hotel", "site": "shanghai", "active": 1,
             "idle": 1, "offline": 0, "expected": 3},
            {"department": "flight", "site": "nantong", "active": 4,
             "idle": 0, "offline": 1, "expected": 2},
            {"department": "", "site": "", "active": 0, "idle": 0,
             "offline": 2, "expected": None}])
        self.assertEqual([("hotel@shanghai", 3, True),
                          ("flight@nantong", 4, False), ("@", 1, False)],
                         [(r["key"], r["scale"], r["below"]) for r in rows])

    def test_chart_sums_the_teams_per_minute_in_the_last_hour(self):
        def row(minute, department, active, expected, pool=""):
            return {"minute": "2026-12-03T%s:00Z" % minute,
                    "department": department, "site": "shanghai",
                    "pool": pool, "active": active, "idle": 0,
                    "offline": 0, "expected": expected}
        chart = overview.history_chart([
            row("07:29", "hotel", 9, 9),  # Before the hour: left out.
            row("07:30", "hotel", 1, 3), row("07:30", "flight", 1, None),
            row("08:00", "hotel", 2, 3), row("08:00", "flight", 2, 1),
            row("08:00", "flight", 2, None, pool="sh-agents"),
            row("08:30", "hotel", 3, 3)], self.NOW)
        self.assertEqual(("2026-12-03T07:30:00Z", "2026-12-03T08:30:20Z"),
                         (chart["since"], chart["until"]))
        self.assertEqual((4, 3, 3, 3), (
            chart["top"], chart["minutes"], chart["last_active"],
            chart["last_expected"]))
        # x: 0 to 600 over the hour; y: 160 (0) to 0 (the top, 4).
        self.assertEqual("0.0,80.0 300.0,0.0 600.0,40.0", chart["active"])
        self.assertEqual("0.0,40.0 300.0,0.0 600.0,40.0",
                         chart["expected"])

    def test_chart_without_history(self):
        chart = overview.history_chart([], self.NOW)
        self.assertEqual(("", "", 0, 1), (chart["active"],
                                          chart["expected"],
                                          chart["minutes"], chart["top"]))

    def test_figures_and_their_calls(self):
        client = _AgentsClient(teams=[
            {"department": "hotel", "site": "shanghai", "active": 1,
             "idle": 1, "offline": 0, "expected": 3, "pools": []},
            {"department": "", "site": "", "active": 2, "idle": 0,
             "offline": 0, "expected": None, "pools": []}])
        figures = overview.agent_figures(client, self.NOW)
        self.assertEqual((3, 3), (figures["active"], figures["expected"]))
        self.assertEqual(("GET", "/agents/history", {
            "since": "2026-12-03T07:29:20Z",
            "limit": overview.HISTORY_LIMIT}), client.calls[1])

    def test_refused_leaves_the_section_out(self):
        client = _AgentsClient(error=api.ApiError(403, "Forbidden", "no"))
        self.assertIsNone(overview.agent_figures(client, self.NOW))
        client = _AgentsClient(error=api.ApiError(503, "Unavailable", "x"))
        self.assertRaises(api.ApiError, overview.agent_figures, client,
                          self.NOW)
