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
could not measure one, and that ask for API version 1.1, whose answer
says the heartbeat interval the broker wants (see :mod:`heartbeat`).

A broker older than 1.1 refuses that version with a 406 before it looks
at the heartbeat: the heartbeat goes again at once without the version
header (1.0, answered 204), and the next :data:`REPROBE_AFTER` heartbeats
go without it too before 1.1 is asked again (the broker may have been
upgraded meanwhile).
"""

import logging

from vdi_broker.loadgen import client as loadgen_client

LOG = logging.getLogger(__name__)
TOKEN_HEADER = loadgen_client.TOKEN_HEADER
VERSION_HEADER = "OpenStack-API-Version"
# The version whose heartbeat answer says the interval.
HEARTBEAT_VERSION = "vdi 1.1"
# Heartbeats sent at 1.0 after a 406 before 1.1 is asked again.
REPROBE_AFTER = 10


class ThinClientAPI(loadgen_client.BrokerClient):
    """The broker at ``config.broker_url``, for one thin client."""

    def __init__(self, config):
        super().__init__(config.broker_url, concurrency=4,
                         timeout=(config.connect_timeout,
                                  config.read_timeout),
                         ca_file=config.ca_file or None)
        # Heartbeats still to send at 1.0 (the broker refused 1.1).
        self._legacy_beats = 0

    def heartbeat(self, client_id, session=None, input_events=None,
                  health=None, seat=None):
        """One heartbeat; 200 (1.1, with the interval) and 204 are ok.

        ``seat`` goes only with version 1.1 (1.0 takes no seat).
        """
        body = {"client_id": client_id}
        if input_events is not None:
            body["input_events"] = input_events
        if health is not None:
            body["health"] = health
        headers = {}
        if session:
            body["session_id"] = session["id"]
            headers[TOKEN_HEADER] = session["token"]
        if self._legacy_beats > 0:
            self._legacy_beats -= 1
            return self._beat(body, headers)
        versioned = dict(body, seat=seat) if seat else body
        outcome = self._beat(versioned, dict(headers, **{
            VERSION_HEADER: HEARTBEAT_VERSION}))
        if outcome.status == 406:
            LOG.info("The broker does not serve API version %s: "
                     "heartbeats at its minimum version",
                     HEARTBEAT_VERSION.split()[-1])
            self._legacy_beats = REPROBE_AFTER
            outcome = self._beat(body, headers)
        return outcome

    def _beat(self, body, headers):
        return self._call("heartbeat", "POST", loadgen_client.HEARTBEAT,
                          (200, 204), document=body, headers=headers)
