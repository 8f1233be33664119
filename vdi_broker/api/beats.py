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

"""What the lean path keeps per API process: checked credentials, buffers.

:mod:`vdi_broker.api.lean` answers most heartbeats and agent reports
without the database: a thin client, a session token or an agent secret
that the full path accepted is remembered for ``[beats]
auth_cache_time`` seconds (only what succeeded, and only the exact
credential: a wrong or new one goes to the full path, which asks the
database), and the writes go to :class:`~vdi_broker.api.write_behind.
WriteBehind` buffers written every ``[beats] flush_interval`` seconds.

What a remembered credential can get wrong, and why it is harmless: a
session closed or a desktop's secret set anew by another process is
still accepted until the next batch reads the credentials back (one
flush interval; ``auth_cache_time`` when the writes are not batched),
with the answer 204 or 200 instead of 401; but the write checks the
database again: a closed session names no user and counts no input, an
outdated secret writes nothing, a deleted thin client has no row to
update. Within this process a logout and an agent's registration
forget at once. Each batch remembers the credentials it read back for
``auth_cache_time`` again, so a client that keeps sending stays on the
lean path.

The guest agents' rate limit (``[agent] min_report_interval``) is kept
here per desktop for the reports this process accepts: with several API
workers, an agent that spreads its reports over them gets at most one
report per interval through each.
"""

import datetime
import threading

from oslo_log import log as logging
from oslo_utils import timeutils

from vdi_broker.api import write_behind
from vdi_broker import context
from vdi_broker.db import api as db

LOG = logging.getLogger(__name__)
HEARTBEATS = "heartbeats"
REPORTS = "agent reports"


def merge_heartbeats(old, new):
    """Last write wins, but input reported in between is not lost.

    Nor is the start of a viewer's state (API 1.2): an unchanged state
    keeps the first heartbeat's, and a heartbeat without a viewer keeps
    the viewer of the same session's previous one.
    """
    same_session = new.get("session_id") == old.get("session_id")
    if new.get("input_at") is None and old.get("input_at") is not None \
            and same_session:
        new = dict(new, input_at=old["input_at"])
    if old.get("viewer_state") is not None and same_session:
        if new.get("viewer_state") is None:
            new = dict(new, viewer_state=old["viewer_state"],
                       viewer_since=old.get("viewer_since") or old["now"])
        elif new["viewer_state"] == old["viewer_state"] and \
                new.get("viewer_since") is None:
            new = dict(new, viewer_since=old.get("viewer_since") or
                       old["now"])
    return new


def merge_reports(old, new):
    """Last write wins; the count adds up, a state keeps its start."""
    new = dict(new, count=old["count"] + new["count"])
    if old.get("connection_state") == new.get("connection_state"):
        new["since"] = old["since"]
    return new


class _Cache:
    """A bounded map of key -> (value, expiry, extra) for checked keys."""

    def __init__(self, ttl, size):
        self.ttl = datetime.timedelta(seconds=ttl)
        self.size = size
        self.entries = {}
        self._lock = threading.Lock()

    def get(self, key, now):
        entry = self.entries.get(key)
        if entry is None or entry[1] <= now:
            return None
        return entry

    def confirm(self, key, value, now):
        """The database confirmed ``value``: remembered for ttl again."""
        entry = self.entries.get(key)
        if entry is not None and entry[0] == value:
            entry[1] = now + self.ttl
        elif entry is not None:
            self.entries.pop(key, None)

    def put(self, key, value, now, extra=None):
        if not self.ttl:
            return
        with self._lock:
            if len(self.entries) >= self.size and key not in self.entries:
                # Simple and bounded: start again (the misses go the full
                # path once more and are remembered again).
                self.entries.clear()
            self.entries[key] = [value, now + self.ttl, extra]

    def forget(self, key):
        self.entries.pop(key, None)


class Beats:
    """The lean path's state in one API process."""

    def __init__(self, conf):
        self.conf = conf
        options = conf.beats
        self.interval = options.flush_interval
        size = options.auth_cache_size
        self.clients = _Cache(options.auth_cache_time, size)
        self.sessions = _Cache(options.auth_cache_time, size)
        self.agents = _Cache(options.auth_cache_time, size)
        self.heartbeats = self.reports = None
        if self.interval > 0:
            self.heartbeats = write_behind.register(write_behind.WriteBehind(
                HEARTBEATS, self._writer(self._write_heartbeats,
                                         self._confirm_heartbeats),
                self.interval, options.max_pending, merge_heartbeats))
            self.reports = write_behind.register(write_behind.WriteBehind(
                REPORTS, self._writer(self._write_reports,
                                      self._confirm_reports), self.interval,
                options.max_pending, merge_reports))

    @staticmethod
    def _write_heartbeats(items):
        db.thin_client_heartbeats_write(context.get_admin_context(), items)

    @staticmethod
    def _write_reports(items):
        db.agent_reports_write(context.get_admin_context(), items)

    # A batch also reads back the credentials it used (one query per
    # kind): those still valid are remembered for auth_cache_time again,
    # the others forgotten. A client that keeps sending never falls back
    # to the full path, and a session closed or a secret replaced by
    # another process is refused here within one flush interval.

    @staticmethod
    def _writer(write, confirm):
        """A buffer's write: the batch, then its credentials read back."""
        def write_and_confirm(items):
            write(items)
            try:
                confirm(items)
            except Exception as e:
                # Written: not to be written again. The credentials
                # expire.
                LOG.warning("Could not read back the credentials of a "
                            "batch of %d: %s", len(items), e)
        return write_and_confirm

    def _confirm_heartbeats(self, items):
        now = timeutils.utcnow()
        clients, sessions = db.thin_client_credentials(
            context.get_admin_context(), [i["client_id"] for i in items],
            [i["session_id"] for i in items if i.get("session_id")], now)
        for item in items:
            client_id = item["client_id"]
            if client_id in clients:
                self.clients.confirm(client_id, True, now)
            else:
                self.clients.forget(client_id)
            session_id = item.get("session_id")
            if session_id:
                if session_id in sessions:
                    self.sessions.confirm(session_id, sessions[session_id],
                                          now)
                else:
                    self.sessions.forget(session_id)

    def _confirm_reports(self, items):
        now = timeutils.utcnow()
        secrets = db.agent_secrets(context.get_admin_context(),
                                   [i["desktop_id"] for i in items])
        for item in items:
            desktop_id = item["desktop_id"]
            if desktop_id in secrets:
                self.agents.confirm(desktop_id, secrets[desktop_id], now)
            else:
                self.agents.forget(desktop_id)

    def write(self, buffer, key, item, write):
        """Buffer ``item``, or write it now (no buffer): False when full.

        A write at once that fails raises: the caller answers through the
        full path, which reports the error as before.
        """
        if buffer is None:
            write([item])
            return True
        return buffer.put(key, item)

    def heartbeat(self, item):
        return self.write(self.heartbeats, item["client_id"], item,
                          self._write_heartbeats)

    def report(self, item):
        return self.write(self.reports, item["desktop_id"], item,
                          self._write_reports)

    # -- what the full path tells ------------------------------------------

    def client_checked(self, client_id, session_id=None, token_hash=None):
        now = timeutils.utcnow()
        self.clients.put(client_id, True, now)
        if session_id is not None and token_hash is not None:
            self.sessions.put(session_id, (token_hash, client_id), now)

    def session_closed(self, session_id):
        self.sessions.forget(session_id)

    def agent_checked(self, desktop_id, secret_hash, reported_at):
        self.agents.put(desktop_id, secret_hash, timeutils.utcnow(),
                        reported_at)

    def agent_registered(self, desktop_id, secret_hash):
        """A registration resets the agent's row: no older report after."""
        if self.reports is not None:
            self.reports.discard(desktop_id)
        self.agents.forget(desktop_id)

    def flush(self):
        for buffer in (self.heartbeats, self.reports):
            if buffer is not None:
                buffer.flush()

    def stop(self):
        """Write what is held (a clean exit, a fixture's clean-up)."""
        for buffer in (self.heartbeats, self.reports):
            if buffer is not None:
                write_behind.unregister(buffer)
                buffer.stop()
