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

"""Notification payloads, and what the notifier does when off or full."""

import datetime

import fixtures

from tests import base
from vdi_broker import context as vdi_context
from vdi_broker import notifications


class PayloadTest(base.TestCase):

    def test_every_field_always_there(self):
        payload = notifications.payload("DesktopPayload", {
            "id": "d1", "state": "ready", "unknown_key": "left out",
            "created_at": datetime.datetime(2026, 1, 1)})
        self.assertEqual("DesktopPayload",
                         payload["vdi_broker_object.name"])
        self.assertEqual("1.0", payload["vdi_broker_object.version"])
        self.assertEqual("vdi_broker",
                         payload["vdi_broker_object.namespace"])
        data = payload["vdi_broker_object.data"]
        self.assertEqual(set(notifications.PAYLOADS["DesktopPayload"][1]),
                         set(data))
        self.assertEqual(("d1", "ready", None),
                         (data["id"], data["state"], data["host"]))

    def test_times_are_utc_iso(self):
        tz = datetime.timezone(datetime.timedelta(hours=8))
        data = notifications.payload("AlertPayload", {
            "started_at": datetime.datetime(2026, 1, 1, 16, 0, tzinfo=tz),
            "ended_at": datetime.datetime(2026, 1, 1, 9, 30),
            "values": {"active": (1, 2)}})["vdi_broker_object.data"]
        self.assertEqual("2026-01-01T08:00:00Z", data["started_at"])
        self.assertEqual("2026-01-01T09:30:00Z", data["ended_at"])
        self.assertEqual({"active": [1, 2]}, data["values"])

    def test_context_without_tokens(self):
        ctxt = vdi_context.RequestContext(auth_token="secret-token",
                                          user_id="u")
        values = notifications._ContextSerializer().serialize_context(ctxt)
        self.assertNotIn("auth_token", values)
        self.assertEqual("u", values["user"])
        self.assertNotIn("secret-token", str(values))


class NotifierTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(notifications.reset)

    def test_off_by_default(self):
        notifier = notifications.Notifier(self.conf)
        self.assertFalse(notifier.enabled)
        # Nothing queued, no thread, no transport.
        notifier.session(None, "session.login", {"id": "s"})
        notifier.emit(None, "info", "x", "SessionPayload", {})
        notifier.alert(None, {"state": "anything"})
        self.assertEqual(0, notifier._queue.qsize())
        self.assertIsNone(notifier._thread)
        self.assertIsNone(notifier._transport)

    def test_full_queue_drops_and_counts(self):
        self.flags(group="notifications", driver="log", queue_size=1)
        notifier = notifications.Notifier(self.conf)
        self.assertTrue(notifier.enabled)
        # The sender is never started: the queue stays full.
        self.useFixture(fixtures.MockPatchObject(notifier, "_start"))
        before = notifications.metrics.NOTIFICATIONS.labels(
            "dropped")._value.get()
        for _ in range(3):
            notifier.desktop(None, {"id": "d", "state": "error"})
        self.assertEqual(1, notifier._queue.qsize())
        self.assertEqual(2, notifications.metrics.NOTIFICATIONS.labels(
            "dropped")._value.get() - before)

    def test_only_the_states_that_matter(self):
        self.flags(group="notifications", driver="log")
        notifier = notifications.Notifier(self.conf)
        self.useFixture(fixtures.MockPatchObject(notifier, "_start"))
        for state in ("building", "releasing", "deleting", "ready",
                      "assigned", "quarantined", "error"):
            notifier.desktop(None, {"id": "d", "state": state})
        notifier.desktop(None, {"id": "d", "state": "deleting"}, "deleted")
        sent = []
        while not notifier._queue.empty():
            sent.append(notifier._queue.get_nowait()[2])
        self.assertEqual(["desktop.ready", "desktop.assigned",
                          "desktop.quarantined", "desktop.error",
                          "desktop.deleted"], sent)
        self.assertRaises(ValueError, notifier.alert, None,
                          {"state": "sleeping"})

    def test_sent_through_the_log_driver(self):
        self.flags(group="notifications", driver="log")
        notifier = notifications.get_notifier(self.conf, "vdi-broker-test")
        self.assertIs(notifier,
                      notifications.get_notifier(self.conf,
                                                 "vdi-broker-test"))
        logger = self.useFixture(fixtures.FakeLogger(
            name="oslo.messaging.notification.session.login",
            level="INFO"))
        before = notifications.metrics.NOTIFICATIONS.labels(
            "sent")._value.get()
        notifier.session(vdi_context.get_admin_context(), "session.login",
                         {"id": "s1", "username": "amy"})
        self.assertTrue(notifier.flush(10))
        self.assertEqual(1, notifications.metrics.NOTIFICATIONS.labels(
            "sent")._value.get() - before)
        self.assertIn('"vdi_broker_object.name": "SessionPayload"',
                      logger.output)
        self.assertIn('"username": "amy"', logger.output)
        # Other settings, another notifier.
        self.flags(group="notifications", topics=["other"])
        self.assertIsNot(notifier,
                         notifications.get_notifier(self.conf,
                                                    "vdi-broker-test"))
