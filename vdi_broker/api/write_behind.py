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

"""Write-behind buffers: requests answered at once, rows written in batches.

The thin clients' heartbeats and the guest agents' reports are the API's
busiest calls (10,000 clients and 10,000 desktops every 30 s) and each
writes one row it alone owns. A :class:`WriteBehind` keeps the latest
item per key (a thin client, a desktop) in memory and a thread of the
API process writes them all in one transaction every ``interval``
seconds: one ``executemany`` instead of a transaction per request.

What it costs: an item waits up to ``interval`` seconds (plus one write)
before the database has it, and a process killed without a clean exit
loses what it held, at most one interval of heartbeats and reports.
That only delays what is computed from them (a thin client offline, an
agent active, a session disconnected) by that much; the next heartbeat
or report brings the row up to date. A clean exit (``atexit``, the
fixture's or the service's stop) writes what is held.

Memory is bounded: ``put`` refuses an item once ``max_items`` keys are
held and the caller writes it at once instead. When a write fails (the
database is down), the items are kept and merged with newer ones until
the next attempt; when the buffer is full, requests write at once again
and so fail as before (503).
"""

import atexit
import os
import threading

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class WriteBehind:
    """The latest item per key, written by ``write(items)`` in batches.

    ``merge(old, new)`` returns the item to keep when a key already has
    one (by default the new one: last write wins).
    """

    def __init__(self, name, write, interval, max_items, merge=None):
        self.name = name
        self._write = write
        self.interval = interval
        self.max_items = max_items
        self._merge = merge or (lambda old, new: new)
        self._items = {}
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread = None
        # Figures for the logs and the tests.
        self.written = 0
        self.failures = 0

    def put(self, key, item):
        """Hold ``item``; False when full (the caller writes it itself)."""
        with self._lock:
            old = self._items.get(key)
            if old is None:
                if len(self._items) >= self.max_items or self._stopped:
                    self._wake.set()
                    return False
                self._items[key] = item
            else:
                self._items[key] = self._merge(old, item)
        if self._thread is None:
            self._start()
        return True

    def discard(self, key):
        """Forget the item of ``key`` (a newer write went another way)."""
        with self._lock:
            self._items.pop(key, None)

    def __len__(self):
        return len(self._items)

    def _start(self):
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, daemon=True,
                name="vdi-broker-write-behind-%s" % self.name)
            self._thread.start()

    def _run(self):
        while not self._stopped:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stopped:
                return
            self.flush()

    def flush(self):
        """Write everything held now; returns the number of items."""
        with self._flush_lock:
            with self._lock:
                items, self._items = self._items, {}
            if not items:
                return 0
            try:
                self._write(list(items.values()))
            except Exception as e:
                self.failures += 1
                LOG.warning("Could not write %d %s (kept for the next "
                            "attempt): %s", len(items), self.name, e)
                with self._lock:
                    for key, item in items.items():
                        newer = self._items.get(key)
                        self._items[key] = (item if newer is None else
                                            self._merge(item, newer))
                return 0
            self.written += len(items)
            return len(items)

    def stop(self):
        """Write what is held and stop the thread (a clean exit)."""
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(self.interval, 1.0) + 5)
        self.flush()


_LIVE = []


def _after_fork():
    """A forked worker (uWSGI without lazy-apps, gunicorn's preload).

    The parent's thread did not survive the fork, and what the parent
    held is the parent's to write: the child starts empty, with a
    thread of its own at its first item.
    """
    for buffer in _LIVE:
        buffer._thread = None
        buffer._lock = threading.Lock()
        buffer._flush_lock = threading.Lock()
        buffer._items = {}


os.register_at_fork(after_in_child=_after_fork)


def register(buffer):
    """Have ``buffer`` written at the process's exit (``atexit``)."""
    _LIVE.append(buffer)
    return buffer


def unregister(buffer):
    if buffer in _LIVE:
        _LIVE.remove(buffer)


@atexit.register
def _write_all_at_exit():
    for buffer in list(_LIVE):
        try:
            buffer.stop()
        except Exception:  # a process that exits keeps exiting
            LOG.exception("Could not write the %s at exit", buffer.name)
