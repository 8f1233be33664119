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

``POST /v1/client/heartbeat`` with the client id, the session it shows
(with the session's token) and the input events counted since the
previous heartbeat. The first one goes out when the program starts, so
the broker sees the client online at the login window.

The interval is the broker's: from API version 1.1 on, the heartbeat's
answer says ``heartbeat_interval`` (the broker's ``[client_session]
heartbeat_interval``) and the next heartbeat goes out that many seconds
later, bounded by ``[heartbeat] min_interval`` and ``max_interval`` so
that a wrong answer can neither make the client spin nor fall silent. A
broker older than 1.1 answers 204 without a body: the interval is then
``[heartbeat] interval`` of the configuration, as it is until the first
answer. A failed heartbeat keeps the interval of the last answer.

The heartbeat carries the client's health (:mod:`health`: the viewer's
failed connections in a row, the last one's error, the display) and,
from API version 1.1 on, the configured seat, which the broker records
as the thin client's seat (a 1.0 heartbeat takes no seat). From 1.2 on,
during a session, it says whether the viewer is connected and for how
many seconds it has been so (``viewer``, from the session's
:meth:`~vdi_broker.thinclient.session.Session.viewer_report`): the
broker's disconnect timeout follows it where no guest agent reports.
"""

import logging
import math
import threading

LOG = logging.getLogger(__name__)
# The largest count the heartbeat schema takes.
MAX_EVENTS = 2 ** 31 - 1
# Where the interval comes from.
CONFIGURED = "configured"
BROKER = "broker"


def asked_interval(outcome):
    """The interval a heartbeat's answer asks for, or None.

    None when the answer says none (a 204 of an older broker, a failure)
    or says something that is not a positive finite number of seconds.
    """
    if not outcome.ok or not isinstance(outcome.body, dict):
        return None
    value = outcome.body.get("heartbeat_interval")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def bounded(value, config):
    """``value`` within [min_interval, max_interval] of the config."""
    return min(max(value, config.heartbeat_min_interval),
               config.heartbeat_max_interval)


class Heartbeat:
    """Sends heartbeats in a thread until :meth:`stop`."""

    def __init__(self, api, config, counter, current_session,
                 on_result=None, health=None):
        self.api = api
        # A health.Health, whose snapshot goes with each heartbeat.
        self.health = health
        self.config = config
        self.counter = counter
        # A callable: the logged-in session ({"id", "token"} and, when
        # known, "viewer": {"connected", "seconds"}) or None.
        self.current_session = current_session
        self.on_result = on_result
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None
        self._pending = 0
        self.last = None
        # Seconds to the next heartbeat, and where they come from.
        self.interval = config.heartbeat_interval
        self.source = CONFIGURED

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
            self._wake.wait(self.interval)
            self._wake.clear()

    def send(self):
        session = self.current_session()
        events = self.counter.take() if self.counter else None
        if events is not None:
            # Events of heartbeats that did not get through count now.
            events, self._pending = min(events + self._pending,
                                        MAX_EVENTS), 0
        health = self.health.snapshot() if self.health else None
        outcome = self.api.heartbeat(self.config.client_id, session=session,
                                     input_events=events, health=health,
                                     seat=self.config.seat or None,
                                     viewer=session.get("viewer")
                                     if session else None)
        self.last = outcome
        if not outcome.ok and events:
            self._pending = events
        if outcome.ok:
            viewer = session.get("viewer") if session else None
            LOG.info("Heartbeat sent: session %s, %s input events%s%s",
                     session["id"] if session else "none",
                     "unmeasured" if events is None else events,
                     ", %d failed connections" % health[
                         "connection_failures"]
                     if health and health["connection_failures"] else "",
                     "" if viewer is None else ", viewer %s for %d s" % (
                         "connected" if viewer["connected"]
                         else "disconnected", viewer["seconds"]))
        elif outcome.status == 404:
            LOG.warning("Heartbeat refused: thin client %s is not "
                        "registered with the broker",
                        self.config.client_id)
        else:
            LOG.warning("Heartbeat failed: %s", outcome.kind)
        self._follow(outcome)
        if self.on_result:
            self.on_result(outcome)
        return outcome

    def _follow(self, outcome):
        """Take the interval the answer asks for (or the configured one)."""
        if not outcome.ok:
            return
        asked = asked_interval(outcome)
        if asked is None:
            interval, source = self.config.heartbeat_interval, CONFIGURED
        else:
            interval, source = bounded(asked, self.config), BROKER
        if (interval, source) == (self.interval, self.source):
            return
        self.interval, self.source = interval, source
        if source == CONFIGURED:
            LOG.info("Heartbeat interval: %g s (the configuration's; the "
                     "broker asks for none)", interval)
        elif interval != asked:
            LOG.warning("Heartbeat interval: %g s (the broker asks for %g "
                        "s, outside [heartbeat] min_interval %g s and "
                        "max_interval %g s)", interval, asked,
                        self.config.heartbeat_min_interval,
                        self.config.heartbeat_max_interval)
        else:
            LOG.info("Heartbeat interval: %g s (asked by the broker)",
                     interval)
        offline_after = outcome.body.get("offline_after") \
            if isinstance(outcome.body, dict) else None
        if isinstance(offline_after, (int, float)) and \
                not isinstance(offline_after, bool) and \
                0 < offline_after < 2 * interval:
            LOG.warning("The broker counts this client offline after %g s "
                        "without a heartbeat, less than two intervals of "
                        "%g s", offline_after, interval)

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
