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

"""Heartbeats: the thin client is alive, who uses it, how busily (R15).

``POST /v1/client/heartbeat`` every ``[heartbeat] interval`` seconds with
the client id, the session it shows (with the session's token) and the
input events counted since the previous heartbeat. The first one goes
out when the program starts, so the broker sees the client online at the
login window.

The API gives no interval to follow (its documentation says "typically
every minute"; the broker counts a client offline after ``[client_session]
client_offline_after`` seconds, 300 by default): the interval is the
configuration's. The heartbeat schema takes no seat and no client health
either: the seat goes with each login, and the health (the last
heartbeat's result, the viewer's failures) is in the thin client's log.
"""

import logging
import threading

LOG = logging.getLogger(__name__)
# The largest count the heartbeat schema takes.
MAX_EVENTS = 2 ** 31 - 1


class Heartbeat:
    """Sends heartbeats in a thread until :meth:`stop`."""

    def __init__(self, api, config, counter, current_session,
                 on_result=None):
        self.api = api
        self.config = config
        self.counter = counter
        # A callable: the logged-in session ({"id", "token"}) or None.
        self.current_session = current_session
        self.on_result = on_result
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None
        self._pending = 0
        self.last = None

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="vdi-tc-heartbeat")
        self._thread.start()

    def beat_now(self):
        """Send the next heartbeat now (a login or logout happened)."""
        self._wake.set()

    def _run(self):
        while not self._stop.is_set():
            self.send()
            self._wake.wait(self.config.heartbeat_interval)
            self._wake.clear()

    def send(self):
        session = self.current_session()
        events = self.counter.take() if self.counter else None
        if events is not None:
            # Events of heartbeats that did not get through count now.
            events, self._pending = min(events + self._pending,
                                        MAX_EVENTS), 0
        outcome = self.api.heartbeat(self.config.client_id, session=session,
                                     input_events=events)
        self.last = outcome
        if not outcome.ok and events:
            self._pending = events
        if outcome.ok:
            LOG.info("Heartbeat sent: session %s, %s input events",
                     session["id"] if session else "none",
                     "unmeasured" if events is None else events)
        elif outcome.status == 404:
            LOG.warning("Heartbeat refused: thin client %s is not "
                        "registered with the broker",
                        self.config.client_id)
        else:
            LOG.warning("Heartbeat failed: %s", outcome.kind)
        if self.on_result:
            self.on_result(outcome)
        return outcome

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
