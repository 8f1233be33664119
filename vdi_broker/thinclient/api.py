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

"""The thin-client API, as the thin client speaks it.

The HTTP client is the load simulator's (:mod:`vdi_broker.loadgen.client`):
one urllib3 pool, every call bounded by a connect and a read timeout,
never retried, each failure classified (``connection``, ``timeout``,
``tls``, ``http <status>``). This subclass adds what a real thin client
needs beyond the simulator: heartbeats that go on when the broker answers
404 (the client is not registered yet) and carry no count when the client
could not measure one.
"""

from vdi_broker.loadgen import client as loadgen_client

TOKEN_HEADER = loadgen_client.TOKEN_HEADER


class ThinClientAPI(loadgen_client.BrokerClient):
    """The broker at ``config.broker_url``, for one thin client."""

    def __init__(self, config):
        super().__init__(config.broker_url, concurrency=4,
                         timeout=(config.connect_timeout,
                                  config.read_timeout),
                         ca_file=config.ca_file or None)

    def heartbeat(self, client_id, session=None, input_events=None):
        body = {"client_id": client_id}
        if input_events is not None:
            body["input_events"] = input_events
        headers = {}
        if session:
            body["session_id"] = session["id"]
            headers[TOKEN_HEADER] = session["token"]
        return self._call("heartbeat", "POST", loadgen_client.HEARTBEAT,
                          (204,), document=body, headers=headers)
