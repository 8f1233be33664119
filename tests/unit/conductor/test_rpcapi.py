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


"""The conductor RPC client's casts: sent in the background, never waited.

(A pure unit test: the message bus is replaced by callables. The casts
over a real RabbitMQ, and with none at all, are in
tests/functional/test_rpc.py.)
"""

import threading
from unittest import mock

import testtools

from vdi_broker.conductor import rpcapi


class TestBackgroundCast(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = mock.Mock()
        self.conf.api.rpc_threads = 2
        # A pool of slots of this test's own.
        patcher = mock.patch.object(rpcapi, "_casts_in_flight", None)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_the_caller_does_not_wait(self):
        release = threading.Event()
        sent = threading.Event()

        def cast():
            release.wait(10)
            sent.set()

        self.assertTrue(rpcapi._background_cast(self.conf, cast, "m"))
        # The cast is still blocked, and the caller has its answer.
        self.assertFalse(sent.is_set())
        release.set()
        self.assertTrue(sent.wait(10))

    def test_casts_over_the_limit_are_dropped(self):
        release = threading.Event()
        self.addCleanup(release.set)
        started = []
        for _ in range(2):
            self.assertTrue(rpcapi._background_cast(
                self.conf, lambda: (started.append(1), release.wait(10)),
                "m"))
        self.assertFalse(rpcapi._background_cast(
            self.conf, lambda: started.append(1), "m"))
        release.set()
        # A slot is free again once a blocked cast ends.
        done = threading.Event()
        for _ in range(100):
            if rpcapi._background_cast(self.conf, done.set, "m"):
                break
            threading.Event().wait(0.05)
        self.assertTrue(done.wait(10))

    def test_a_failed_cast_is_only_logged(self):
        done = threading.Event()

        def cast():
            try:
                raise RuntimeError("bus down")
            finally:
                done.set()

        with mock.patch.object(rpcapi.LOG, "warning") as warning:
            self.assertTrue(rpcapi._background_cast(self.conf, cast, "m"))
            self.assertTrue(done.wait(10))
            for _ in range(100):
                if warning.called:
                    break
                threading.Event().wait(0.05)
        self.assertIn("bus down", str(warning.call_args))

    def test_calls_and_casts_have_separate_slots(self):
        release = threading.Event()
        self.addCleanup(release.set)
        with mock.patch.object(rpcapi, "_in_flight", None):
            for _ in range(2):
                rpcapi._background_cast(self.conf,
                                        lambda: release.wait(10), "m")
            # Every cast slot is taken: a call still runs.
            self.assertEqual("answer", rpcapi._bounded_call(
                self.conf, lambda: "answer", 10))
