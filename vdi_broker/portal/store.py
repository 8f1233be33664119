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

"""The portal's server-side session store: one SQLite file per host.

The browser holds only a random session id (256 bits, in an HttpOnly
cookie); what a sign-in produced (the Keystone token, the roles, the
CSRF token, messages for the next page) stays here. Rows are keyed by a
SHA-256 of the id, so that a copy of the file gives no cookie to replay.

SQLite, not memory: every uWSGI worker process of the host sees the same
sessions (SQLite locks the file; each call opens a short connection, and
the write-ahead log lets readers go on while one writes). Several portal
hosts need sticky sessions at the load balancer.
"""

import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time

_SCHEMA = """
CREATE TABLE IF NOT EXISTS portal_sessions (
    id_hash TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    seen_at REAL NOT NULL,
    expires_at REAL NOT NULL
)
"""
# Seconds between two purges of expired rows by one process.
PURGE_INTERVAL = 300


def _hash(session_id):
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def new_id():
    return secrets.token_urlsafe(32)


class SessionStore:
    """Sessions by id: ``create``, ``get``, ``save``, ``delete``.

    A session ends after ``idle_timeout`` seconds without a request, or
    at its ``expires_at`` (the Keystone token's expiry), whichever comes
    first.
    """

    def __init__(self, path, idle_timeout, clock=time.time):
        self.path = path
        self.idle_timeout = idle_timeout
        self.clock = clock
        self._purged_at = 0
        self._lock = threading.Lock()
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        # Owner-only from the start: it holds tokens.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    def _connect(self):
        conn = sqlite3.connect(self.path, timeout=10,
                               isolation_level=None)
        return _Closing(conn)

    def create(self, data, expires_at):
        session_id = new_id()
        now = self.clock()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO portal_sessions (id_hash, data, seen_at, "
                "expires_at) VALUES (?, ?, ?, ?)",
                (_hash(session_id), json.dumps(data), now, expires_at))
        self._maybe_purge()
        return session_id

    def get(self, session_id):
        """The session's data, or None (unknown, idle too long, expired).

        Marks the session as used now.
        """
        if not session_id:
            return None
        key = _hash(session_id)
        now = self.clock()
        with self._connect() as conn:
            row = conn.execute(
                "SELECT data, seen_at, expires_at FROM portal_sessions "
                "WHERE id_hash = ?", (key,)).fetchone()
            if row is None:
                return None
            data, seen_at, expires_at = row
            if now - seen_at > self.idle_timeout or now >= expires_at:
                conn.execute("DELETE FROM portal_sessions WHERE id_hash = ?",
                             (key,))
                return None
            conn.execute("UPDATE portal_sessions SET seen_at = ? "
                         "WHERE id_hash = ?", (now, key))
        return json.loads(data)

    def save(self, session_id, data):
        with self._connect() as conn:
            conn.execute("UPDATE portal_sessions SET data = ? "
                         "WHERE id_hash = ?",
                         (json.dumps(data), _hash(session_id)))

    def delete(self, session_id):
        if not session_id:
            return
        with self._connect() as conn:
            conn.execute("DELETE FROM portal_sessions WHERE id_hash = ?",
                         (_hash(session_id),))

    def count(self):
        with self._connect() as conn:
            return conn.execute(
                "SELECT COUNT(*) FROM portal_sessions").fetchone()[0]

    def _maybe_purge(self):
        now = self.clock()
        with self._lock:
            if now - self._purged_at < PURGE_INTERVAL:
                return
            self._purged_at = now
        with self._connect() as conn:
            conn.execute("DELETE FROM portal_sessions WHERE seen_at < ? "
                         "OR expires_at <= ?",
                         (now - self.idle_timeout, now))


class _Closing:
    """A connection that is closed (not only committed) on exit."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        return self.conn

    def __exit__(self, *exc):
        self.conn.close()
        return False
