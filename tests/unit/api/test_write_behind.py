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

"""The write-behind buffer: latest per key, batches, bounds, failures."""

import threading
import time

import testtools

from vdi_broker.api import beats
from vdi_broker.api import write_behind


class WriteBehindTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.batches = []
        self.fail = False

    def write(self, items):
        if self.fail:
            raise RuntimeError("the database is down")
        self.batches.append(sorted(items, key=lambda i: i["k"]))

    def buffer(self, interval=60, max_items=3, merge=None):
        buffer = write_behind.WriteBehind("things", self.write, interval,
                                          max_items, merge)
        self.addCleanup(buffer.stop)
        return buffer

    def test_latest_per_key_in_one_batch(self):
        buffer = self.buffer()
        self.assertTrue(buffer.put("a", {"k": "a", "v": 1}))
        self.assertTrue(buffer.put("b", {"k": "b", "v": 1}))
        self.assertTrue(buffer.put("a", {"k": "a", "v": 2}))
        self.assertEqual([], self.batches)
        self.assertEqual(2, buffer.flush())
        self.assertEqual([[{"k": "a", "v": 2}, {"k": "b", "v": 1}]],
                         self.batches)
        self.assertEqual(0, buffer.flush())
        self.assertEqual(1, len(self.batches))

    def test_bounded(self):
        buffer = self.buffer(max_items=2)
        self.assertTrue(buffer.put("a", {"k": "a"}))
        self.assertTrue(buffer.put("b", {"k": "b"}))
        # A new key when full: refused, the caller writes it itself.
        self.assertFalse(buffer.put("c", {"k": "c"}))
        # A key already held is still merged.
        self.assertTrue(buffer.put("a", {"k": "a", "v": 2}))
        self.assertEqual(2, len(buffer))

    def test_failed_write_keeps_items_newer_win(self):
        buffer = self.buffer()
        buffer.put("a", {"k": "a", "v": 1})
        self.fail = True
        self.assertEqual(0, buffer.flush())
        self.assertEqual(1, buffer.failures)
        buffer.put("a", {"k": "a", "v": 2})
        self.fail = False
        self.assertEqual(1, buffer.flush())
        self.assertEqual([[{"k": "a", "v": 2}]], self.batches)

    def test_thread_writes_every_interval(self):
        buffer = self.buffer(interval=0.05)
        buffer.put("a", {"k": "a"})
        deadline = time.monotonic() + 5
        while not self.batches and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual([[{"k": "a"}]], self.batches)
        self.assertIsNot(buffer._thread, threading.current_thread())

    def test_stop_writes_what_is_held(self):
        buffer = self.buffer()
        buffer.put("a", {"k": "a"})
        buffer.stop()
        self.assertEqual([[{"k": "a"}]], self.batches)
        # Stopped: items are refused (written at once by the caller).
        self.assertFalse(buffer.put("b", {"k": "b"}))

    def test_exit_writes_registered_buffers(self):
        buffer = write_behind.register(self.buffer())
        self.addCleanup(write_behind.unregister, buffer)
        buffer.put("a", {"k": "a"})
        write_behind._write_all_at_exit()
        self.assertEqual([[{"k": "a"}]], self.batches)


class MergeTestCase(testtools.TestCase):

    def test_heartbeat_input_between_is_kept(self):
        old = {"client_id": "c", "now": 1, "session_id": "s",
               "input_at": 1}
        new = {"client_id": "c", "now": 2, "session_id": "s",
               "input_at": None}
        self.assertEqual(dict(new, input_at=1),
                         beats.merge_heartbeats(old, new))
        # Another session: its input is not the new session's.
        self.assertIsNone(beats.merge_heartbeats(
            old, dict(new, session_id="t"))["input_at"])

    def test_report_counts_and_keeps_the_state_start(self):
        old = {"count": 1, "connection_state": "connected", "since": 1,
               "now": 1}
        new = {"count": 1, "connection_state": "connected", "since": 2,
               "now": 2}
        merged = beats.merge_reports(old, new)
        self.assertEqual((2, 1, 2), (merged["count"], merged["since"],
                                     merged["now"]))
        changed = beats.merge_reports(old, dict(
            new, connection_state="disconnected"))
        self.assertEqual(2, changed["since"])
