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

"""When a viewer that ends is a failure, and when failures are a fault.

A viewer *run* fails when it never held a connection to the desktop's
console (it could not connect, or the desktop closed the connection at
once and the viewer sat on its error dialog until the thin client
stopped it), or when it ended less than ``quick_exit`` seconds after it
started (it dropped). A run that was connected and lasted longer is the
end of the session: the agent closed the viewer, or the desktop shut
down.

After a failure the thin client starts the viewer again (the desktop may
just have rebooted); ``max_failures`` failures within ``window`` seconds
make a fault report (``POST /v1/client/sessions/{id}/fault``): the broker
quarantines the desktop and the agent's next login gets another one.

Unless every one of those failures was the viewer ending by itself
without ever having reached the desktop (it crashed, or cannot open the
display): that is this thin client's fault, not the desktop's, and
reporting it would quarantine one healthy desktop per login. The session
is then given up without a report (:data:`BROKEN`).

Pure: the caller passes the (monotonic) times.
"""

import collections

END = "end"
RETRY = "retry"
FAULT = "fault"
BROKEN = "broken"


class Decision:
    __slots__ = ("action", "failures", "reason")

    def __init__(self, action, failures=0, reason=None):
        self.action = action
        self.failures = failures
        self.reason = reason

    def __repr__(self):
        return "Decision(%s, failures=%d)" % (self.action, self.failures)


class FaultPolicy:
    """Counts failed viewer runs of one session."""

    def __init__(self, max_failures=3, window=300.0, quick_exit=30.0):
        self.max_failures = max_failures
        self.window = window
        self.quick_exit = quick_exit
        self._failures = collections.deque()

    def viewer_ended(self, started, ended, connected, what=None,
                     crashed=False):
        """Decide what follows a viewer run from ``started`` to ``ended``.

        ``connected``: the viewer held a connection to the console until
        it ended (or until the session's end). ``crashed``: it ended by
        itself and never had a connection. ``what``: what the viewer
        tried to reach, for the fault's reason.
        """
        failed = not connected or ended - started < self.quick_exit
        if not failed:
            self._failures.clear()
            return Decision(END)
        self._failures.append((ended, crashed and not connected))
        while self._failures and \
                self._failures[0][0] < ended - self.window:
            self._failures.popleft()
        count = len(self._failures)
        if count < self.max_failures:
            return Decision(RETRY, count)
        if all(crash for _when, crash in self._failures):
            return Decision(BROKEN, count,
                            "the viewer ended by itself %d times within "
                            "%d s without reaching %s" % (
                                count, self.window, what or "the desktop"))
        how = ("could not connect to" if not connected
               else "dropped the connection to")
        reason = ("the viewer %s %s: %d failures within %d s"
                  % (how, what or "the desktop", count, self.window))
        return Decision(FAULT, count, reason)
