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
could not measure one, and that ask for the newest API version the
thin client speaks: 1.2, whose heartbeat may say whether the viewer is
connected, and whose answer (as from 1.1 on) says the heartbeat interval
the broker wants (see :mod:`heartbeat`).

A broker older than a version refuses it with a 406 before it looks at
the heartbeat: the heartbeat goes again at once at the next older
version (1.2, then 1.1 without the viewer, then 1.0 without the header,
the seat and the viewer, answered 204), and the next
:data:`REPROBE_AFTER` heartbeats go at the version the broker took before
the newest is asked again (the broker may have been upgraded meanwhile).
"""

import logging

from vdi_broker.loadgen import client as loadgen_client

LOG = logging.getLogger(__name__)
TOKEN_HEADER = loadgen_client.TOKEN_HEADER
VERSION_HEADER = "OpenStack-API-Version"
# The versions asked, newest first: 1.2 takes the viewer, 1.1 the seat
# (and answers the interval); after them, 1.0 (no header).
VIEWER_VERSION = "vdi 1.2"
HEARTBEAT_VERSION = "vdi 1.1"
VERSIONS = (VIEWER_VERSION, HEARTBEAT_VERSION, None)
# Heartbeats sent at an older version after a 406 before the newest is
# asked again.
REPROBE_AFTER = 10


class ThinClientAPI(loadgen_client.BrokerClient):
    """The broker at ``config.broker_url``, for one thin client."""

    def __init__(self, config):
        super().__init__(config.broker_url, concurrency=4,
                         timeout=(config.connect_timeout,
                                  config.read_timeout),
                         ca_file=config.ca_file or None)
        # The version the broker took (an index in VERSIONS) and the
        # heartbeats still to send at it before the newest is asked again.
        self._level = 0
        self._legacy_beats = 0

    def heartbeat(self, client_id, session=None, input_events=None,
                  health=None, seat=None, viewer=None):
        """One heartbeat; 200 (1.1 on, with the interval) and 204 are ok.

        ``seat`` goes from version 1.1 on, ``viewer`` ({"connected",
        "seconds"}, with a session) from 1.2 on.
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
        level = 0
        if self._legacy_beats > 0:
            self._legacy_beats -= 1
            level = self._level
        while True:
            version = VERSIONS[level]
            outcome = self._beat(self._versioned(body, version, seat,
                                                 viewer if session else None),
                                 headers if version is None else dict(
                                     headers, **{VERSION_HEADER: version}))
            if outcome.status != 406 or version is None:
                return outcome
            level += 1
            LOG.info("The broker does not serve API version %s: "
                     "heartbeats at %s", version.split()[-1],
                     (VERSIONS[level] or "vdi 1.0").split()[-1])
            self._level, self._legacy_beats = level, REPROBE_AFTER

    @staticmethod
    def _versioned(body, version, seat, viewer):
        """The heartbeat's body at ``version`` (what its schema takes)."""
        if version is None:
            return body
        body = dict(body, seat=seat) if seat else body
        if viewer is not None and version == VIEWER_VERSION:
            body = dict(body, viewer=viewer)
        return body

    def _beat(self, body, headers):
        return self._call("heartbeat", "POST", loadgen_client.HEARTBEAT,
                          (200, 204), document=body, headers=headers)
