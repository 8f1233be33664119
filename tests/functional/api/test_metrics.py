# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""GET /metrics: what a Prometheus scrape of the API sees.

The whole WSGI application (tests/fixtures/broker.py, conductor
in-process), real logins, the database's figures as the API reads them.
Counters are process-wide (a test worker runs many tests), so the tests
compare scrapes before and after.
"""


from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import prometheus
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

LOGINS = "vdi_login_duration_seconds_count"
LOCAL = {"REMOTE_ADDR": "127.0.0.1"}
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class MetricsTestCase(base.TestCase):

    flags_ = {}

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self, flags=self.flags_)
        self.app = self.broker.app

    def scrape(self, status=200, environ=LOCAL, headers=None):
        resp = self.app.get("/metrics", status=status, headers=headers,
                            extra_environ=environ)
        if status != 200:
            return resp
        self.assertTrue(resp.content_type.startswith("text/plain"),
                        resp.content_type)
        self.assertEqual("no-store", resp.headers["Cache-Control"])
        return prometheus.samples(resp.text)


class TestScrape(MetricsTestCase):

    flags_ = {("api", "metrics_cache_time"): 0}

    def setUp(self):
        super().setUp()
        self.broker.setup_call_centre()
        self.broker.create_pool("empty", min_ready=0, max_size=0)
        self.broker.create_allocator("contractors", pool="empty",
                                     priority=5,
                                     rules={"groups": ["contractors"]})
        self.broker.fill_pools()

    def test_logins_by_result_allocator_and_pool(self):
        before = self.scrape()
        self.broker.login("amy")
        self.broker.login("bob", client_id="tc-0002")
        self.broker.login("sam", password="wrong", client_id="tc-0003",
                          status=401)
        self.broker.login("carl", client_id="tc-0004", status=503)
        self.broker.login("", client_id="tc-0005", status=400)
        after = self.scrape()

        def delta(**labels):
            return (prometheus.sample(after, LOGINS, **labels) -
                    prometheus.sample(before, LOGINS, **labels))

        self.assertEqual(1, delta(result="success",
                                  allocator="shanghai-agents",
                                  pool="sh-agents"))
        self.assertEqual(1, delta(result="success",
                                  allocator="nantong-agents",
                                  pool="nt-agents"))
        self.assertEqual(1, delta(result="invalid_credentials",
                                  allocator="", pool=""))
        # The pool the login could not take a desktop from.
        self.assertEqual(1, delta(result="pool_exhausted", allocator="",
                                  pool="empty"))
        self.assertEqual(1, delta(result="invalid_request", allocator="",
                                  pool=""))
        # Every login is in a histogram bucket (+Inf holds them all).
        bucket = "vdi_login_duration_seconds_bucket"
        labels = {"result": "success", "allocator": "shanghai-agents",
                  "pool": "sh-agents", "le": "+Inf"}
        self.assertEqual(
            1, prometheus.sample(after, bucket, **labels) -
            prometheus.sample(before, bucket, **labels))
        total = "vdi_login_duration_seconds_sum"
        labels.pop("le")
        self.assertGreater(prometheus.sample(after, total, **labels),
                           prometheus.sample(before, total, **labels))

    def test_pool_gauges_are_the_database_figures(self):
        login = self.broker.login("amy")
        pool = self.broker.pools["sh-agents"]
        # An open schedule (a whole day, every day) raises the target.
        self.app.post_json("/v1/schedules", {
            "name": "all-day", "pool_id": "sh-agents", "days": DAYS,
            "start_time": "00:00", "end_time": "00:00", "min_ready": 3})
        db.pool_set_status(self.broker.ctxt, pool["id"], "degraded",
                           "boots fail")
        found = self.scrape()
        counts = db.pool_desktop_counts(self.broker.ctxt)[pool["id"]]
        labels = {"pool": "sh-agents", "site": "shanghai"}
        for state in models.DESKTOP_STATES:
            self.assertEqual(counts.get(state, 0), prometheus.sample(
                found, "vdi_pool_desktops", state=state, **labels), state)
        self.assertEqual(1, prometheus.sample(
            found, "vdi_pool_desktops", state="assigned", **labels))
        self.assertEqual(3, prometheus.sample(
            found, "vdi_pool_target_ready", **labels))
        self.assertEqual(2, prometheus.sample(
            found, "vdi_pool_target_ready", pool="nt-agents",
            site="nantong"))
        self.assertEqual(4, prometheus.sample(found, "vdi_pool_max_size",
                                              **labels))
        self.assertEqual(1, prometheus.sample(found, "vdi_pool_enabled",
                                              **labels))
        self.assertEqual(1, prometheus.sample(
            found, "vdi_pool_status", status="degraded", **labels))
        self.assertEqual(0, prometheus.sample(
            found, "vdi_pool_status", status="active", **labels))
        # The boot queue as the pool's "boots" block shows it.
        boots = self.app.get("/v1/pools/%s" % pool["id"]).json["pool"][
            "boots"]
        for name, key in (("vdi_pool_boot_allowance", "allowance"),
                          ("vdi_pool_boot_limit", "limit"),
                          ("vdi_pool_boots_in_flight", "in_flight"),
                          ("vdi_pool_boots_queued", "queued")):
            self.assertEqual(boots[key], prometheus.sample(found, name,
                                                           **labels), name)
        self.assertEqual(1, prometheus.sample(found, "vdi_sessions_active",
                                              **labels))
        self.broker.logout(login)
        self.assertEqual(0, prometheus.sample(
            self.scrape(), "vdi_sessions_active", **labels))
        self.assertEqual(1, prometheus.sample(
            found, "vdi_scrape_collector_success", collector="database"))

    def test_thin_clients_by_site_and_state(self):
        ctxt = self.broker.ctxt
        seat = db.seat_find(ctxt, "SH-2F-001")
        for client_id, values in (
                ("tc-a", {"site": "nantong", "status": "online"}),
                ("tc-b", {"site": "nantong", "status": "offline"}),
                ("tc-c", {"site": "nantong", "status": "offline"}),
                # No site of its own: its seat's.
                ("tc-d", {"seat_id": seat["id"], "status": "faulty"}),
                ("tc-e", {})):
            db.thin_client_create(ctxt, dict(values, client_id=client_id))
        found = prometheus.series(self.scrape(), "vdi_thin_clients")
        self.assertEqual({
            (("site", "nantong"), ("state", "online")): 1,
            (("site", "nantong"), ("state", "offline")): 2,
            (("site", "nantong"), ("state", "faulty")): 0,
            (("site", "nantong"), ("state", "unknown")): 0,
            (("site", "shanghai"), ("state", "online")): 0,
            (("site", "shanghai"), ("state", "offline")): 0,
            (("site", "shanghai"), ("state", "faulty")): 1,
            (("site", "shanghai"), ("state", "unknown")): 0,
            (("site", ""), ("state", "online")): 0,
            (("site", ""), ("state", "offline")): 0,
            (("site", ""), ("state", "faulty")): 0,
            (("site", ""), ("state", "unknown")): 1}, found)

    def test_rollout_progress_and_state(self):
        pool = self.broker.pools["sh-agents"]
        ready = db.pool_desktop_counts(self.broker.ctxt, [pool["id"]])[
            pool["id"]][models.READY]
        rollout = self.app.post_json(
            "/v1/pools/sh-agents/rollouts",
            {"image": "win11-next", "wave_size": 2}).json["rollout"]
        found = self.scrape()
        labels = {"pool": "sh-agents", "site": pool["site"] or "",
                  "image": "win11-next"}
        self.assertEqual(ready, prometheus.sample(
            found, "vdi_rollout_desktops", count="old", **labels))
        self.assertEqual(0, prometheus.sample(
            found, "vdi_rollout_desktops", count="new", **labels))
        self.assertEqual(1, prometheus.sample(
            found, "vdi_rollout_state", state="running", **labels))
        self.app.post_json("/v1/rollouts/%s/action" % rollout["id"],
                           {"action": "pause"})
        found = self.scrape()
        self.assertEqual(1, prometheus.sample(
            found, "vdi_rollout_state", state="paused", **labels))
        self.assertEqual(0, prometheus.sample(
            found, "vdi_rollout_state", state="running", **labels))

    def test_database_down_leaves_its_families_out(self):
        self.broker.login("amy")
        before = self.scrape()
        self.assertIn(("vdi_pool_desktops",
                       (("pool", "sh-agents"), ("site", "shanghai"),
                        ("state", "ready"))), before)
        with self.broker.database.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE thin_clients")
        found = self.scrape()
        self.assertEqual(0, prometheus.sample(
            found, "vdi_scrape_collector_success", collector="database"))
        self.assertEqual({}, prometheus.series(found, "vdi_pool_desktops"))
        # The process's own figures are still there.
        self.assertTrue(prometheus.series(found, LOGINS))

    def test_agents_and_alerts(self):
        from oslo_utils import timeutils

        from vdi_broker.monitoring import shift_plan

        self.flags(group="client_session", register_unknown_clients=True)
        db.department_create(self.broker.ctxt, {
            "name": "hotel", "priority": 1,
            "rules": {"groups": ["hotel-agents"]}})
        today = timeutils.utcnow().date()
        text = "date,slot_start,department,site,expected\n" + "".join(
            "%s,%02d:%02d,hotel,shanghai,4\n" % (today, m // 60, m % 60)
            for m in range(0, 24 * 60, 30))
        db.shift_plan_import(self.broker.ctxt, shift_plan.to_utc(
            shift_plan.parse(text), "UTC"))
        login = self.broker.login("amy", client_id="tc-metrics").json
        self.app.post_json(
            "/v1/client/heartbeat",
            {"client_id": "tc-metrics", "session_id": login["session"]["id"],
             "input_events": 3},
            headers={"X-Session-Token": login["session"]["token"]},
            status=204)
        db.alert_open(self.broker.ctxt, {
            "kind": "boots_failing", "subject": "sh-agents",
            "state": "firing"})
        found = self.scrape()
        team = {"department": "hotel", "site": "shanghai"}
        self.assertEqual(1, prometheus.sample(found, "vdi_agents_active",
                                              **team))
        self.assertEqual(0, prometheus.sample(found, "vdi_agents_idle",
                                              **team))
        self.assertEqual(4, prometheus.sample(found, "vdi_agents_expected",
                                              **team))
        self.assertEqual(1, prometheus.sample(
            found, "vdi_alerts", kind="boots_failing", state="firing"))
        collectors = prometheus.series(found,
                                       "vdi_scrape_collector_success")
        self.assertEqual({(("collector", "agents"),): 1.0,
                          (("collector", "alerts"),): 1.0,
                          (("collector", "database"),): 1.0}, collectors)


class TestCache(MetricsTestCase):

    flags_ = {("api", "metrics_cache_time"): 3600}

    def test_figures_are_reused_for_the_cache_time(self):
        def online():
            return prometheus.sample(self.scrape(), "vdi_thin_clients",
                                     site="x", state="online")

        db.thin_client_create(self.broker.ctxt, {
            "client_id": "tc-1", "site": "x", "status": "online"})
        self.assertEqual(1, online())
        db.thin_client_create(self.broker.ctxt, {
            "client_id": "tc-2", "site": "x", "status": "online"})
        self.assertEqual(1, online())
        # A new application (another process): read again.
        self.app = self.broker.build()
        self.assertEqual(2, online())


class TestAccess(MetricsTestCase):

    def test_loopback_by_default(self):
        self.scrape(environ={"REMOTE_ADDR": "127.0.0.1"})
        self.scrape(environ={"REMOTE_ADDR": "::1"})
        resp = self.scrape(status=403, environ={"REMOTE_ADDR": "10.1.2.3"})
        error = broker_fixture.assert_error(self, resp, 403)
        self.assertEqual("This address may not read the metrics.",
                         error["message"])
        self.assertNotIn("vdi_", resp.text)
        self.scrape(status=403, environ={"REMOTE_ADDR": "not-an-address"})

    def test_allowed_networks(self):
        self.flags(group="api", metrics_allowed_networks=["10.0.0.0/8",
                                                          "2001:db8::/32"])
        self.scrape(environ={"REMOTE_ADDR": "10.1.2.3"})
        self.scrape(environ={"REMOTE_ADDR": "2001:db8::7"})
        self.scrape(status=403, environ={"REMOTE_ADDR": "127.0.0.1"})
        self.flags(group="api", metrics_allowed_networks=[])
        self.scrape(environ={"REMOTE_ADDR": "192.0.2.1"})

    def test_bearer_token(self):
        self.flags(group="api", metrics_bearer_token="s3cret-token")
        resp = self.scrape(status=401)
        broker_fixture.assert_error(self, resp, 401)
        self.assertEqual('Bearer realm="vdi-broker metrics"',
                         resp.headers["WWW-Authenticate"])
        for value in ("Bearer wrong", "Basic czNjcmV0LXRva2Vu",
                      "s3cret-token", "Bearer"):
            self.scrape(status=401, headers={"Authorization": value})
        self.scrape(headers={"Authorization": "Bearer s3cret-token"})
        # The network check still applies.
        self.scrape(status=403, environ={"REMOTE_ADDR": "10.1.2.3"},
                    headers={"Authorization": "Bearer s3cret-token"})

    def test_behind_a_proxy(self):
        self.flags(group="oslo_middleware",
                   enable_proxy_headers_parsing=True)
        self.flags(group="api", metrics_allowed_networks=["10.0.0.0/8"])
        self.app = self.broker.build()
        self.scrape(environ={"REMOTE_ADDR": "127.0.0.1"},
                    headers={"X-Forwarded-For": "10.9.8.7, 127.0.0.1"})
        self.scrape(status=403, environ={"REMOTE_ADDR": "127.0.0.1"},
                    headers={"X-Forwarded-For": "192.0.2.9"})

    def test_disabled_is_a_404_and_only_get(self):
        resp = self.app.post("/metrics", status=405, extra_environ=LOCAL)
        broker_fixture.assert_error(self, resp, 405)
        self.assertEqual("GET", resp.headers["Allow"])
        self.app.head("/metrics", status=200, extra_environ=LOCAL)
        self.flags(group="api", metrics_enabled=False)
        resp = self.scrape(status=404)
        broker_fixture.assert_error(self, resp, 404)

    def test_no_keystone_token_needed(self):
        broker_fixture.keystone_service_user(self)
        self.flags(group="api", auth_strategy="keystone")
        self.app = self.broker.build()
        self.scrape()
        self.app.get("/v1/pools", status=401)

    def test_openmetrics_when_asked(self):
        resp = self.app.get(
            "/metrics", extra_environ=LOCAL,
            headers={"Accept": "application/openmetrics-text; "
                               "version=1.0.0"})
        self.assertTrue(resp.content_type.startswith(
            "application/openmetrics-text"), resp.content_type)
        self.assertTrue(resp.text.rstrip().endswith("# EOF"))
