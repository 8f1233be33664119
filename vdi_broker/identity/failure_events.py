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

"""The events of failed logins: aggregated and bounded.

A failed login is an event (kind ``allocation``, action ``login``, result
``failure``) with a ``reason`` in its detail, but not one row per
attempt: the failures of one user name from one thin client for one
reason within ``[login_throttle] failure_event_interval`` (a minute) are
one row, keyed by a hash of the four (``aggregate_key``), whose count and
last time grow in place (see ``db/sqlalchemy/login_failures.py``).

That bounds a client guessing passwords for a few names. A client that
invents a new name (or client id) at every attempt would still make one
row per attempt, so each API process starts at most ``max_failure_events``
such rows per interval; beyond that, its failures are counted in one
overflow event per reason, without user name or client. The events table
then grows by at most (workers x max_failure_events + reasons) rows per
interval, whatever the attack.

This module builds the rows; it writes nothing. The password is never
given to it.
"""

import datetime
import hashlib
import threading

from oslo_utils import timeutils

# Why a login failed (the event's detail.reason, and message).
REASONS = {
    # The identity driver (LoginFailed's reason).
    "unknown_user": "unknown user",
    "wrong_password": "wrong password",  # nosec B105: messages
    "invalid_username": "malformed user name",
    "invalid_password": "empty or malformed password",  # nosec B105
    "ambiguous_user": "several directory entries have this name",
    "account_locked": "the directory has locked the account",
    "account_disabled": "the account is disabled or expired",
    "password_expired":
        "the password has expired or must be changed",  # nosec B105
    "account_refused": "the directory refused the account",
    "invalid_credentials": "invalid user name or password",
    # The broker.
    "lockout": "locked out after repeated failed logins",
    "locked_out": "refused: locked out after repeated failed logins",
    "directory_unavailable": "the directory could not be reached",
    # The login service's refusals (login/service.py, login/chain.py).
    "seat_not_registered": "refused: the seat is not registered",
    "no_allocator": "refused: no allocator serves this user",
    "pool_disabled": "refused: the pool is disabled",
    "pool_draining": "refused: a maintenance window drains the pool",
    "pool_exhausted": "refused: the pool has no ready desktop",
    "pool_missing": "refused: the allocator's pool does not exist",
    "site_no_pool": "refused: no pool of the agent's site can serve and "
                    "the allocator allows no fallback",
}

_MAX_TEXT = 255


_EPOCH = datetime.datetime(1970, 1, 1)


def normalize_username(username):
    """The key a user name is counted and aggregated under.

    Directory matching of names is case-insensitive and ignores surrounding
    spaces, so ``Amy``, ``amy `` and ``AMY`` share one counter and event.
    """
    return str(username or "").strip().casefold()


def describe(reason):
    return REASONS.get(reason, reason.replace("_", " "))


class FailureEvents:
    """Builds the aggregated event rows of failed logins (thread-safe)."""

    def __init__(self, conf):
        self._opts = conf.login_throttle
        self._lock = threading.Lock()
        self._interval = None
        self._started = set()

    def _bucket(self, now):
        """The start of the interval ``now`` falls in (naive UTC)."""
        seconds = self._opts.failure_event_interval
        epoch = int(timeutils.delta_seconds(_EPOCH, now))
        return _EPOCH + datetime.timedelta(seconds=epoch - epoch % seconds)

    def _admit(self, bucket, key):
        """Whether this process may start (or add to) the event of key."""
        with self._lock:
            if bucket != self._interval:
                self._interval = bucket
                self._started = set()
            if key in self._started:
                return True
            if len(self._started) < self._opts.max_failure_events:
                self._started.add(key)
                return True
            return False

    def build(self, ctxt, username, client_id, reason, detail=None,
              now=None):
        """The events row of one failed login, with its aggregate_key.

        ``detail``: more to show (seat, remote address, lock details);
        taken from the first failure of the interval only.
        """
        now = now or timeutils.utcnow()
        bucket = self._bucket(now)
        user_key = normalize_username(username)
        key = (reason, user_key, client_id or "")
        message = "login failed: %s" % describe(reason)
        detail = dict(detail or {}, reason=reason, client_id=client_id)
        if not self._admit(bucket, key):
            key = (reason, "*", "*")
            username = client_id = None
            detail = {"reason": reason, "overflow": True,
                      "max_failure_events":
                          self._opts.max_failure_events}
            message = ("login failed: %s (more failed logins than "
                       "[login_throttle] max_failure_events in this "
                       "interval, counted without names)"
                       % describe(reason))
        digest = hashlib.sha256("\0".join(
            (bucket.isoformat(),) + key).encode("utf-8")).hexdigest()
        username = username[:_MAX_TEXT] if username else None
        return {"kind": "allocation", "action": "login",
                "result": "failure", "actor": username,
                "request_id": getattr(ctxt, "request_id", None),
                "username": username, "target_type": None,
                "target_id": None, "pool_id": None, "desktop_id": None,
                "message": message, "detail": detail,
                "created_at": now, "aggregate_key": digest}
