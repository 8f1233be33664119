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

"""Lock out user names and thin clients after repeated failed logins.

The thin-client login API lets :meth:`LoginThrottle.authenticate` wrap the
identity driver::

    principal = app.login_throttle.authenticate(
        ctxt, driver, username, password, client_id=client_id,
        detail={"seat": seat, "remote_addr": addr})

which

1. reads the user name's and the client's counters (one read by primary
   key) and refuses a locked one with
   :class:`vdi_broker.exception.LoginThrottled` (429, Retry-After) without
   asking the directory;
2. asks the driver;
3. on :class:`~vdi_broker.exception.LoginFailed` counts the failure on
   both counters and writes the failed-login event, in one transaction;
   reaching ``user_failure_threshold`` or ``client_failure_threshold``
   within ``failure_window`` seconds locks the name or the client for
   ``lockout_duration`` seconds (and writes a ``lockout`` event);
4. on success deletes the user name's counter if there was one: a login
   without earlier failures writes nothing here.

Lockouts and directory outages (503) are recorded as failed-login events
too, without counting: an outage locks nobody out. Another refusal made
before a desktop is chosen (an unknown thin client, say) is recorded the
same way with :meth:`LoginThrottle.refusal` and a reason of its own. A
user name is counted the same way whether it exists or not, so the
throttle reveals nothing about which users exist (the event, for
administrators only, says which).

The counters are rows of the ``login_failures`` table, shared by every API
worker and host: N workers do not give N times the tries. Why the
database and not oslo.cache (memcached, Redis): the API already needs the
database for every login, so there is nothing more to deploy or to fail;
a counter must be advanced atomically, which oslo.cache's get/set API
cannot do (two workers would both write 4 after 3); and the tests run it
on SQLite, MariaDB and PostgreSQL like the rest of the broker. The cost
is one read of at most two rows per login, and a few writes per failure.
"""

import datetime
import hashlib
import math
import threading

from oslo_db import exception as db_exc
from oslo_log import log as logging
from oslo_utils import timeutils

from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker.identity import failure_events

LOG = logging.getLogger(__name__)

_USER = "user"
_CLIENT = "client"
# Expired counters are deleted at most this often by each API process
# (after a failed login: nothing to purge without failures).
PURGE_INTERVAL = 60

normalize_username = failure_events.normalize_username


def counter_id(kind, name):
    """The primary key of a counter: any name fits in 64 characters."""
    return hashlib.sha256(("%s\0%s" % (kind, name)).encode(
        "utf-8")).hexdigest()


def _whole_second(moment):
    """Times of counters in whole seconds, on every backend alike.

    MariaDB keeps no fractions of seconds (MySQL rounds them): round down
    before storing, so that a lockout never lasts longer than configured.
    """
    return moment.replace(microsecond=0)


class Standing:
    """What the counters said before a login (see LoginThrottle.check)."""

    def __init__(self, user_id=None, user_failed=False):
        self.user_id = user_id
        self.user_failed = user_failed


class LoginThrottle:
    """Failed-login counters in the database, and their events."""

    def __init__(self, conf):
        self._opts = conf.login_throttle
        self.events = failure_events.FailureEvents(conf)
        self._purge_lock = threading.Lock()
        self._purged_at = None

    @property
    def enabled(self):
        return self._opts.enabled

    def _counters(self, username, client_id):
        """The counters a login of username from client_id touches."""
        opts = self._opts
        window = datetime.timedelta(seconds=opts.failure_window)
        lockout = datetime.timedelta(seconds=opts.lockout_duration)
        counters = []
        if not opts.enabled:
            return counters
        name = normalize_username(username)
        if opts.user_failure_threshold:
            counters.append({"id": counter_id(_USER, name), "kind": _USER,
                             "name": name[:255],
                             "threshold": opts.user_failure_threshold,
                             "window": window, "lockout": lockout})
        if client_id and opts.client_failure_threshold:
            counters.append({"id": counter_id(_CLIENT, client_id),
                             "kind": _CLIENT, "name": client_id[:255],
                             "threshold": opts.client_failure_threshold,
                             "window": window, "lockout": lockout})
        return counters

    # -- the three steps -------------------------------------------------

    def check(self, ctxt, username, client_id=None):
        """Raise LoginThrottled if the user name or the client is locked.

        Returns a :class:`Standing` for :meth:`success`.
        """
        counters = self._counters(username, client_id)
        if not counters:
            return Standing()
        now = timeutils.utcnow()
        rows = db.login_failures_get(ctxt, [c["id"] for c in counters])
        locked, retry_after = [], 0.0
        for counter in counters:
            row = rows.get(counter["id"])
            if row and row["locked"] and row["expires_at"] > now:
                locked.append(counter["kind"])
                retry_after = max(retry_after, timeutils.delta_seconds(
                    now, row["expires_at"]))
        if locked:
            raise exception.LoginThrottled(
                retry_after=max(1, int(math.ceil(retry_after))),
                locked=locked)
        user = counters[0] if counters[0]["kind"] == _USER else None
        return Standing(user_id=user and user["id"],
                        user_failed=bool(user and user["id"] in rows))

    def failure(self, ctxt, username, client_id, reason, detail=None):
        """Count a failed login and record its event.

        Returns the kinds (``user``, ``client``) this failure locked out.
        A database error is logged, not raised: the login has failed
        anyway, and the client gets its 401.
        """
        now = timeutils.utcnow()
        counters = self._counters(username, client_id)
        event = self.events.build(ctxt, username, client_id, reason, detail,
                                  now=now)
        try:
            rows = db.login_failure_record(ctxt, _whole_second(now),
                                           counters, event)
        except db_exc.DBError as e:
            LOG.warning("Could not record a failed login of %(user)s from "
                        "%(client)s: %(error)s",
                        {"user": username, "client": client_id,
                         "error": e})
            return []
        locked = [c for c in counters if rows[c["id"]]["newly_locked"]]
        for counter in locked:
            self._locked_out(ctxt, username, client_id, counter,
                             rows[counter["id"]], detail)
        self._purge(ctxt, now)
        return [c["kind"] for c in locked]

    def _locked_out(self, ctxt, username, client_id, counter, row, detail):
        LOG.warning("Login throttle: %(kind)s %(name)s locked out for "
                    "%(secs)ss after %(count)d failed logins.",
                    {"kind": counter["kind"], "name": counter["name"],
                     "secs": self._opts.lockout_duration,
                     "count": row["count"]})
        detail = dict(detail or {}, locked=counter["kind"],
                      failures=row["count"],
                      until=row["expires_at"].isoformat() + "Z")
        self.refusal(ctxt, username, client_id, "lockout", detail)

    def refusal(self, ctxt, username, client_id, reason, detail=None):
        """Record a refused login that does not count toward a lockout."""
        event = self.events.build(ctxt, username, client_id, reason, detail)
        try:
            db.login_failure_record(ctxt, _whole_second(event["created_at"]),
                                    (), event)
        except db_exc.DBError as e:
            LOG.warning("Could not record a refused login of %(user)s "
                        "from %(client)s: %(error)s",
                        {"user": username, "client": client_id,
                         "error": e})

    def success(self, ctxt, standing):
        """Forget the user name's failures after a successful login.

        Nothing to write unless :meth:`check` saw failures of the name.
        """
        if standing.user_failed:
            db.login_failures_clear(ctxt, [standing.user_id])

    def _purge(self, ctxt, now):
        """Delete expired counters, at most once per PURGE_INTERVAL."""
        with self._purge_lock:
            last = self._purged_at
            if last is not None and \
                    0 <= timeutils.delta_seconds(last, now) < PURGE_INTERVAL:
                return
            self._purged_at = now
        try:
            db.login_failures_purge(ctxt, _whole_second(now) -
                                    datetime.timedelta(
                                        seconds=PURGE_INTERVAL))
        except db_exc.DBError as e:
            LOG.warning("Could not purge expired login counters: %s", e)

    # -- all of it around a driver ---------------------------------------

    def authenticate(self, ctxt, driver, username, password, client_id=None,
                     detail=None):
        """check(), driver.authenticate(), then failure() or success().

        ``detail``: what the failure events show besides the reason and
        the client (seat, remote address). Never the password.
        """
        try:
            standing = self.check(ctxt, username, client_id)
        except exception.LoginThrottled as e:
            self.refusal(ctxt, username, client_id, "locked_out",
                         dict(detail or {}, locked=e.kwargs["locked"]))
            raise
        try:
            principal = driver.authenticate(username, password)
        except exception.LoginFailed as e:
            self.failure(ctxt, username, client_id,
                         e.kwargs.get("reason") or "invalid_credentials",
                         detail)
            raise
        except exception.IdentityUnavailable:
            self.refusal(ctxt, username, client_id, "directory_unavailable",
                         detail)
            raise
        self.success(ctxt, standing)
        return principal
