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

"""The thin client's own health, as its heartbeats carry it.

The heartbeat's ``health`` object (see the API reference, "Heartbeat"):

* ``connection_failures``: viewer runs in a row that failed (never
  reached the desktop, or dropped at once; see :mod:`faults`), across
  sessions and desktops; a run that connects sets it back to 0. The
  broker sets the client ``faulty`` at ``[client_session]
  faulty_after_failures`` (3) and ``online`` again below;
* ``last_connection_error``: what the last failed run says (null after a
  connection);
* ``display``: ``ok`` while the input counter holds its X connection,
  ``unavailable`` when it has none (no display, no XInput 2); absent
  without a counter.

Written by the session's thread, read by the heartbeat's: a lock.
"""

import re
import threading

# The heartbeat schema's limit and pattern (no control characters).
MAX_ERROR = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
MAX_FAILURES = 1000000


class Health:

    def __init__(self, counter=None):
        self.counter = counter
        self._lock = threading.Lock()
        self.failures = 0
        self.last_error = None

    def connected(self):
        """A viewer reached its desktop."""
        with self._lock:
            self.failures = 0
            self.last_error = None

    def failed(self, error):
        """A viewer run failed; ``error`` says how (for the broker)."""
        text = _CONTROL.sub(" ", error or "").strip()[:MAX_ERROR] or None
        with self._lock:
            self.failures = min(self.failures + 1, MAX_FAILURES)
            self.last_error = text

    def snapshot(self):
        """The heartbeat's ``health`` object."""
        with self._lock:
            health = {"connection_failures": self.failures,
                      "last_connection_error": self.last_error}
        if self.counter is not None:
            health["display"] = ("ok" if self.counter.available
                                 else "unavailable")
        return health
