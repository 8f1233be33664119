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

"""One logged-in session: the viewer, moves, failures and the logout.

:meth:`Session.run` runs in a worker thread from the login's answer to
the session's end and returns the :class:`~vdi_broker.thinclient.answers.
Answer` the login window shows next:

1. fetch how to reach the desktop: the ``.vv`` console file for SPICE,
   the connection details for RDP; start the viewer full screen;
2. watch it: is it connected (it holds a connection to the console's
   port), has it ended; every ``[session] poll_interval`` seconds ask the
   broker for the session (``GET /v1/client/sessions/{id}``): a closed
   session (401) ends it, another desktop restarts the viewer on the new
   one;
3. when the viewer ends or never connects, :mod:`faults` decides: the
   end of the session (log out), start it again, or report the desktop
   faulty. The broker then either quarantines the desktop and closes the
   session (a desktop without a guest agent: the agent logs in again),
   or keeps the session and opens an incident (the five-minute rule,
   conductor/agents.py): the desktop is fixed within the pool's fix
   time, or the broker moves the session to another desktop with the
   same token. In that case the thin client shows that the desktop was
   reported and goes on: it starts the viewer again on the same desktop
   (whose connection is what tells the broker it is fixed) and asks for
   the session between tries, until the session moves (the viewer starts
   on the new desktop) or ends;
4. log out (``DELETE``) when the session ends here, or the agent or the
   system asks (:meth:`Session.stop`).

The session token is kept in this object only, in memory.
"""

import logging
import threading
import time

from vdi_broker.thinclient import answers
from vdi_broker.thinclient import faults
from vdi_broker.thinclient import viewer as viewer_mod

LOG = logging.getLogger(__name__)

# How often the viewer's state is looked at.
TICK = 0.25
# The most seconds a heartbeat's viewer may say (the API's limit).
MAX_VIEWER_SECONDS = 31536000


class _Gone(Exception):
    """The broker closed the session (or its token expired)."""


class _NoConsole(Exception):
    """The broker gave no console file: a viewer that cannot connect."""

    def __init__(self, what):
        super().__init__(what)
        self.what = what


class Session:
    """The session a login gave; ``ui`` gets progress messages."""

    def __init__(self, api, config, login, ui, health=None):
        self.api = api
        self.config = config
        self.ui = ui
        # The thin client's health (heartbeats carry it), or None.
        self.health = health
        self.id = login["session"]["id"]
        self._token = login["session"]["token"]
        self.desktop = login["desktop"]
        self.connection = login.get("connection") or {}
        self.policy = faults.FaultPolicy(config.max_failures,
                                         config.failure_window,
                                         config.quick_exit)
        self._stop = threading.Event()
        self._logout_asked = False
        self.viewer = None
        # Whether the viewer holds its connection, and since when
        # (monotonic): the heartbeats report it (API 1.2).
        self._viewer_connected = False
        self._viewer_changed = time.monotonic()
        # The desktop reported faulty whose incident the broker follows
        # (the session stays): not reported again.
        self._reported = None

    @property
    def credentials(self):
        """The session as the API client takes it: id and token."""
        return {"id": self.id, "token": self._token}

    def stop(self, logout=True):
        """End the session from another thread (log out, or shut down)."""
        self._logout_asked = logout
        self._stop.set()

    def viewer_report(self):
        """{"connected", "seconds"}: the viewer now, for the heartbeat."""
        return {"connected": self._viewer_connected,
                "seconds": min(int(time.monotonic() - self._viewer_changed),
                               MAX_VIEWER_SECONDS)}

    def _viewer_is(self, connected):
        if connected != self._viewer_connected:
            self._viewer_connected = connected
            self._viewer_changed = time.monotonic()

    # -- the run -----------------------------------------------------------

    def run(self):
        try:
            return self._run()
        except _Gone:
            self._stop_viewer()
            LOG.info("Session %s was closed by the broker", self.id)
            return answers.Answer("session_ended")
        except viewer_mod.ViewerMissing as e:
            LOG.error("The viewer %s is not installed", e.program)
            self.logout()
            return answers.Answer("viewer_missing", program=e.program)
        finally:
            self._stop_viewer()

    def _run(self):
        while True:
            started = time.monotonic()
            try:
                self.viewer = self._new_viewer()
            except _NoConsole as e:
                how, what = "failed", e.what
            else:
                if self.viewer is None:
                    self.logout()
                    return answers.Answer(
                        "unsupported_protocol",
                        protocol=self.connection.get("protocol", "?"))
                self.viewer.start()
                started = time.monotonic()
                how = self._watch(started)
                what = self.viewer.address
                self._stop_viewer()
            ended = time.monotonic()
            if how == "stopped":
                return self._stopped()
            if how == "moved":
                self._moved_on()
                continue
            decision = self.policy.viewer_ended(
                started, ended, how == "connected", what,
                crashed=how == "crashed")
            self._note_health(decision, how, what)
            LOG.info("The viewer of session %s ended (%s, ran %.1f s): %s",
                     self.id, how, ended - started, decision.action)
            if decision.action == faults.END:
                self.logout()
                return answers.Answer("logged_out")
            if decision.action == faults.FAULT:
                if self._reported != self.desktop["id"]:
                    answer = self._report_fault(decision.reason)
                    if answer is not None:
                        return answer
                    self._reported = self.desktop["id"]
                # The broker follows the incident: wait for the desktop
                # to be fixed or the session to move.
                self.ui.progress(answers.Answer(
                    "fault_reported", name=self.desktop.get("name", "")))
                if self._stop.wait(self.config.retry_delay):
                    return self._stopped()
                if self._moved():
                    self._moved_on()
                continue
            if decision.action == faults.BROKEN:
                LOG.error("Not reporting desktop %s: %s (a problem of this "
                          "thin client)", self.desktop["id"],
                          decision.reason)
                self.logout()
                return answers.Answer("viewer_failed")
            self.ui.progress(answers.Answer("reconnecting",
                                            name=self.desktop["name"]))
            if self._stop.wait(self.config.retry_delay):
                return self._stopped()

    def _note_health(self, decision, how, what):
        if self.health is None:
            return
        if decision.action == faults.END:
            self.health.connected()
        elif how == "crashed":
            self.health.failed("the viewer ended without reaching %s"
                               % what)
        else:
            self.health.failed("the viewer could not keep a connection "
                               "to %s" % what)

    def _stopped(self):
        if self._logout_asked:
            self.logout()
            return answers.Answer("logged_out")
        return None

    def _new_viewer(self):
        """A viewer for the session's desktop, from what the broker says.

        None when the thin client has no viewer for the protocol.
        """
        protocol = self.connection.get("protocol")
        if protocol == viewer_mod.SPICE:
            outcome = self.api.console_file(self.credentials, expect=(200,))
            if outcome.status == 401:
                raise _Gone()
            if not outcome.ok or not outcome.text:
                LOG.warning("No console file for session %s: %s", self.id,
                            outcome.kind)
                raise _NoConsole("the console file (%s)" % outcome.kind)
            return viewer_mod.Viewer.for_spice(self.config, outcome.text)
        if protocol == viewer_mod.RDP:
            return viewer_mod.Viewer.for_rdp(self.config, self.connection)
        LOG.error("Session %s: protocol %s has no viewer here", self.id,
                  protocol)
        return None

    def _watch(self, started):
        """Watch the viewer until it ends; how it went.

        "connected": it ended after holding its connection; "failed": it
        was stopped without one, or ended after losing it; "crashed": it
        ended by itself without ever having had one; "moved": the session
        moved to another desktop; "stopped": :meth:`stop` was called.
        """
        viewer = self.viewer
        connected_at = None
        shown = healthy = False
        next_poll = started + self.config.poll_interval
        while True:
            if self._stop.wait(TICK):
                return "stopped"
            now = time.monotonic()
            exited = viewer.poll() is not None
            connected = viewer.connected()
            self._viewer_is(connected and not exited)
            if connected:
                connected_at = now
                if self.health is not None and not healthy and \
                        now - started >= self.config.quick_exit:
                    # Connected longer than a failed run can be.
                    self.health.connected()
                    healthy = True
                if not shown:
                    LOG.info("The viewer is connected to %s",
                             viewer.address)
                    self.ui.viewer_connected()
                    shown = True
            if exited:
                if connected_at is None:
                    # It never reached the desktop and gave up by itself.
                    return "crashed"
                return "connected" if now - connected_at <= 2 * TICK + 1 \
                    else "failed"
            # Not (or no longer) connected for too long: the viewer sits on
            # an error dialog. Stop it; it counts as a failure.
            since = connected_at if connected_at is not None else started
            if now - since > self.config.viewer_connect_timeout:
                LOG.warning("The viewer has had no connection to %s for "
                            "%.0f s", viewer.address, now - since)
                return "failed"
            if now >= next_poll:
                next_poll = now + self.config.poll_interval
                if self._moved():
                    return "moved"

    def _moved(self):
        """Ask the broker for the session: moved to another desktop?"""
        outcome = self.api.show(self.credentials)
        if outcome.status == 401:
            raise _Gone()
        if not outcome.ok or not isinstance(outcome.body, dict):
            # The broker is unreachable or busy: the desktop may well
            # work on; ask again next time.
            LOG.warning("Could not look at session %s: %s", self.id,
                        outcome.kind)
            return False
        desktop = outcome.body.get("desktop") or {}
        if desktop.get("id") and desktop["id"] != self.desktop["id"]:
            LOG.info("Session %s moved from desktop %s to %s", self.id,
                     self.desktop["id"], desktop["id"])
            self.desktop = desktop
            self.connection = outcome.body.get("connection") or {}
            self.ui.progress(answers.Answer("connecting",
                                            name=desktop.get("name", "")))
            return True
        return False

    def _moved_on(self):
        """The session is on another desktop: its failures start anew."""
        self._reported = None
        self.policy = faults.FaultPolicy(self.config.max_failures,
                                         self.config.failure_window,
                                         self.config.quick_exit)

    def _stop_viewer(self):
        if self.viewer is not None:
            self.viewer.stop()
        self._viewer_is(False)

    def _report_fault(self, reason):
        """Report the desktop; the answer to show, or None to go on."""
        LOG.warning("Reporting desktop %s of session %s faulty: %s",
                    self.desktop["id"], self.id, reason)
        outcome = self.api.fault(self.credentials, reason[:1000])
        if outcome.ok:
            desktop = (outcome.body or {}).get("desktop") \
                if isinstance(outcome.body, dict) else None
            state = desktop.get("state") if isinstance(desktop, dict) \
                else None
            if state in ("ready", "assigned"):
                # Still in service: the broker opened an incident and
                # keeps the session (it will move it if the desktop is
                # not fixed in time).
                LOG.info("Desktop %s reported; the broker keeps session "
                         "%s: waiting for the desktop to be fixed or the "
                         "session to move", self.desktop["id"], self.id)
                return None
            return answers.Answer("faulted")
        LOG.error("The fault report failed: %s", outcome.kind)
        self.logout()
        return answers.Answer("viewer_failed")

    def logout(self):
        outcome = self.api.logout(self.credentials)
        if outcome.ok or outcome.status == 401:
            LOG.info("Session %s logged out", self.id)
        else:
            LOG.warning("Logout of session %s failed: %s", self.id,
                        outcome.kind)
        return outcome
