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

"""The simulator's HTTP client: error kinds and bounded calls."""

import socket
import time

from tests import base
from vdi_broker.loadgen import client as loadgen_client


class BrokerClientErrorsTest(base.TestCase):

    def test_a_broker_that_never_answers_is_a_timeout(self):
        # Accepts the connection (the kernel's backlog) and says nothing.
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = "http://127.0.0.1:%d" % listener.getsockname()[1]
        client = loadgen_client.BrokerClient(url, timeout=(1.0, 0.3))
        self.addCleanup(client.close)
        started = time.monotonic()
        outcome = client.login("alice", "secret", "tc-1")
        self.assertEqual("timeout", outcome.kind)
        self.assertIsNone(outcome.status)
        self.assertLess(time.monotonic() - started, 5)

    def test_nothing_listening_is_a_connection_error(self):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        client = loadgen_client.BrokerClient("http://127.0.0.1:%d" % port)
        self.addCleanup(client.close)
        outcome = client.login("alice", "secret", "tc-1")
        self.assertEqual("connection", outcome.kind)
        self.assertFalse(outcome.ok)
