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

"""oslo.messaging notifications on a real RabbitMQ.

The broker (API and conductor in-process) sends its notifications with
the messagingv2 driver to RabbitMQ at ``VDI_TEST_RABBIT_URL``, on a topic
of this test's own; a notification listener of the test receives them
there. The queues the publisher declared are deleted afterwards. Without
RabbitMQ the tests are skipped, unless ``VDI_BROKER_REQUIRE_DBS`` is set:
then they fail.
"""

import datetime
import threading
import time
import uuid

import kombu
import oslo_messaging as messaging

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import database
from tests.functional import test_rpc
from vdi_broker.cmd import init_backend  # noqa: F401  (threading backend)
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import notifications

PRIORITIES = ("info", "warn", "error")


class Endpoint:
    """Collects every notification the listener gets."""

    def __init__(self):
        self.received = []
        self.changed = threading.Condition()

    def _got(self, priority, ctxt, publisher_id, event_type, payload):
        with self.changed:
            self.received.append({"priority": priority, "ctxt": ctxt,
                                  "publisher_id": publisher_id,
                                  "event_type": event_type,
                                  "payload": payload})
            self.changed.notify_all()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._got("info", ctxt, publisher_id, event_type, payload)

    def warn(self, ctxt, publisher_id, event_type, payload, metadata):
        self._got("warn", ctxt, publisher_id, event_type, payload)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._got("error", ctxt, publisher_id, event_type, payload)

    def wait_for(self, test, predicate, timeout=20):
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [n for n in self.received if predicate(n)]
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    test.fail("no such notification within %ss; got %s" % (
                        timeout, sorted({n["event_type"]
                                         for n in self.received})))
                self.changed.wait(left)


def _data(notification):
    return notification["payload"]["vdi_broker_object.data"]


class NotificationsTest(base.TestCase):

    def setUp(self):
        super().setUp()
        if not test_rpc._rabbit_reachable():
            message = "RabbitMQ is not reachable at %s" % test_rpc.RABBIT_URL
            if database.required():
                self.fail(message)
            self.skipTest(message)
        self.topic = "vdi-broker-notify-test-%s" % uuid.uuid4().hex[:12]
        self.addCleanup(self._delete_queues)
        notifications.reset()
        self.addCleanup(notifications.reset)
        self.broker = broker_fixture.use_broker(self, flags={
            ("notifications", "driver"): "messagingv2",
            ("notifications", "topics"): [self.topic],
            ("notifications", "transport_url"): test_rpc.RABBIT_URL,
        })
        self.endpoint = Endpoint()
        transport = messaging.get_notification_transport(
            self.conf, url=test_rpc.RABBIT_URL)
        self.addCleanup(transport.cleanup)
        listener = messaging.get_notification_listener(
            transport, [messaging.Target(topic=self.topic)],
            [self.endpoint])
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        self.notifier = self.broker.manager.notifier
        self.assertTrue(self.notifier.enabled)

    def _delete_queues(self):
        url = "amqp://" + test_rpc.RABBIT_URL.split("://", 1)[1]
        with kombu.Connection(url, connect_timeout=5) as conn:
            channel = conn.channel()
            for priority in PRIORITIES:
                channel.queue_delete("%s.%s" % (self.topic, priority))

    def check_payload(self, notification, name):
        payload = notification["payload"]
        version, fields = notifications.PAYLOADS[name]
        self.assertEqual({"vdi_broker_object.name": name,
                          "vdi_broker_object.namespace": "vdi_broker",
                          "vdi_broker_object.version": version},
                         {k: v for k, v in payload.items()
                          if k != "vdi_broker_object.data"})
        self.assertEqual(set(fields), set(_data(notification)))
        self.assertTrue(notification["publisher_id"].startswith(
            "vdi-broker-conductor:"), notification["publisher_id"])

    def test_sessions_and_desktops(self):
        broker = self.broker
        broker.setup_call_centre()
        broker.fill_pools()
        ready = self.endpoint.wait_for(
            self, lambda n: n["event_type"] == "desktop.ready")
        self.check_payload(ready[0], "DesktopPayload")
        self.assertEqual("ready", _data(ready[0])["state"])

        login = broker.login("amy")
        session_id = login.json["session"]["id"]
        desktop_id = login.json["desktop"]["id"]
        found = self.endpoint.wait_for(
            self, lambda n: n["event_type"] == "session.login")[0]
        self.check_payload(found, "SessionPayload")
        self.assertEqual("info", found["priority"])
        data = _data(found)
        self.assertEqual(
            (session_id, "amy", "tc-0001", "active", desktop_id,
             "sh-agents", "shanghai-agents"),
            (data["id"], data["username"], data["client_id"],
             data["state"], data["desktop_id"], data["pool_name"],
             data["allocator"]))
        # The request's context travels, without any token.
        self.assertEqual(login.headers["X-OpenStack-Request-ID"],
                         found["ctxt"]["request_id"])
        self.assertNotIn("auth_token", found["ctxt"])
        assigned = self.endpoint.wait_for(
            self, lambda n: n["event_type"] == "desktop.assigned")[0]
        self.assertEqual((desktop_id, "amy"),
                         (_data(assigned)["id"],
                          _data(assigned)["assigned_user"]))

        broker.logout(login)
        found = self.endpoint.wait_for(
            self, lambda n: n["event_type"] == "session.logout")[0]
        self.assertEqual((session_id, "closed", "logout"),
                         (_data(found)["id"], _data(found)["state"],
                          _data(found)["close_reason"]))

        # An expired session.
        login = broker.login("bob", client_id="tc-0002")
        with broker.database.engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE sessions SET expires_at = '2000-01-01 00:00:00' "
                "WHERE id = '%s'" % login.json["session"]["id"])
        broker.manager.expire_sessions(broker.ctxt)
        found = self.endpoint.wait_for(
            self, lambda n: n["event_type"] == "session.expire")[0]
        self.assertEqual(login.json["session"]["id"], _data(found)["id"])

        # A thin client reports its desktop faulty: quarantined.
        login = broker.login("nina", client_id="tc-0003")
        broker.app.post_json(
            "/v1/client/sessions/%s/fault" % login.json["session"]["id"],
            {"reason": "black screen"},
            headers={"X-Session-Token": login.json["session"]["token"]},
            status=202)
        found = self.endpoint.wait_for(
            self, lambda n: n["event_type"] == "desktop.quarantined")[0]
        self.assertEqual("warn", found["priority"])
        self.assertEqual((login.json["desktop"]["id"], "black screen"),
                         (_data(found)["id"], _data(found)["reason"]))

    def test_pool_status_and_failed_boots(self):
        broker = self.broker
        self.flags(group="conductor", degraded_after_failures=2)
        broker.flags(group="fake_compute", failure_rate=1.0)
        pool = broker.create_pool("failing", min_ready=2,
                                  max_size=2).json["pool"]
        deadline = time.monotonic() + 20
        while db.pool_get(broker.ctxt, pool["id"])["status"] != "degraded":
            self.assertLess(time.monotonic(), deadline)
            broker.manager.pool_upkeep(broker.ctxt)
        found = self.endpoint.wait_for(
            self, lambda n: n["event_type"] == "pool.status")[0]
        self.check_payload(found, "PoolStatusPayload")
        self.assertEqual("warn", found["priority"])
        self.assertEqual(("failing", "degraded", "active"),
                         (_data(found)["name"], _data(found)["status"],
                          _data(found)["previous_status"]))
        error = self.endpoint.wait_for(
            self, lambda n: n["event_type"] == "desktop.error")[0]
        self.assertEqual(pool["id"], _data(error)["pool_id"])
        self.assertIn("fake boot failure", _data(error)["reason"])

        # Boots succeed again: the failed desktops go, the pool recovers.
        broker.flags(group="fake_compute", failure_rate=0.0)
        deadline = time.monotonic() + 20
        while db.pool_get(broker.ctxt, pool["id"])["status"] != "active":
            self.assertLess(time.monotonic(), deadline)
            broker.manager.pool_upkeep(broker.ctxt)
        found = self.endpoint.wait_for(
            self, lambda n: n["event_type"] == "pool.status" and
            _data(n)["status"] == "active")[0]
        self.assertEqual(("info", "degraded"),
                         (found["priority"],
                          _data(found)["previous_status"]))
        deleted = self.endpoint.wait_for(
            self, lambda n: n["event_type"] == "desktop.deleted")[0]
        self.assertEqual("deleted", _data(deleted)["state"])
        self.assertEqual(0, db.pool_desktop_counts(broker.ctxt).get(
            pool["id"], {}).get(models.ERROR, 0))

    def test_alerts(self):
        started = datetime.datetime(2026, 12, 1, 8, 0, 0)
        alert = {"id": "a1", "kind": "agents_below_plan", "state": "firing",
                 "severity": "warning", "department": "hotel",
                 "site": "shanghai", "started_at": started,
                 "values": {"active": 40, "expected": 60},
                 "message": "40 of 60 agents active"}
        notifications.notify_alert(self.broker.ctxt, alert, self.conf)
        notifications.notify_alert(self.broker.ctxt,
                                   dict(alert, state="resolved",
                                        ended_at=started), self.conf)
        firing = self.endpoint.wait_for(
            self, lambda n: n["event_type"] == "alert.firing")[0]
        self.check_payload(firing, "AlertPayload")
        self.assertEqual("warn", firing["priority"])
        self.assertEqual({"active": 40, "expected": 60},
                         _data(firing)["values"])
        self.assertEqual("2026-12-01T08:00:00Z", _data(firing)["started_at"])
        self.assertIsNone(_data(firing)["ended_at"])
        resolved = self.endpoint.wait_for(
            self, lambda n: n["event_type"] == "alert.resolved")[0]
        self.assertEqual("info", resolved["priority"])

    def test_alert_acknowledged_over_the_api(self):
        # An alert the conductor raised, acknowledged by an operator with
        # POST /v1/alerts/{id}/acknowledge: the API process sends
        # alert.acknowledged, once, with who acknowledged it.
        started = datetime.datetime(2026, 12, 1, 8, 0, 0)
        alert = db.alert_open(self.broker.ctxt, {
            "kind": "boots_failing", "subject": "sh", "state": "firing",
            "severity": "critical", "pool": "sh", "site": "shanghai",
            "values": {"failures": 3},
            "message": "3 boots of pool sh failed in a row",
            "started_at": started})
        ack = self.broker.app.post(
            "/v1/alerts/%s/acknowledge" % alert["id"],
            headers={"X-User-Id": "duty-operator", "X-Roles": "admin"}
        ).json["alert"]
        self.assertEqual("duty-operator", ack["acknowledged_by"])

        acked = self.endpoint.wait_for(
            self, lambda n: n["event_type"] == "alert.acknowledged")
        self.assertEqual(1, len(acked))
        acked = acked[0]
        self.assertEqual("info", acked["priority"])
        self.assertTrue(acked["publisher_id"].startswith("vdi-broker-api:"),
                        acked["publisher_id"])
        version, fields = notifications.PAYLOADS["AlertPayload"]
        self.assertEqual(("AlertPayload", version),
                         (acked["payload"]["vdi_broker_object.name"],
                          acked["payload"]["vdi_broker_object.version"]))
        data = _data(acked)
        self.assertEqual(set(fields), set(data))
        self.assertEqual(
            {"id": alert["id"], "kind": "boots_failing",
             "state": "acknowledged", "severity": "critical",
             "pool": "sh", "site": "shanghai", "department": None,
             "acknowledged_by": "duty-operator",
             "values": {"failures": 3}, "ended_at": None,
             "started_at": "2026-12-01T08:00:00Z",
             "message": "3 boots of pool sh failed in a row"}, data)

        # A second acknowledgement is refused and sends nothing.
        self.broker.app.post("/v1/alerts/%s/acknowledge" % alert["id"],
                             status=409)
        time.sleep(1)
        self.assertEqual(1, len([
            n for n in self.endpoint.received
            if n["event_type"] == "alert.acknowledged"]))
