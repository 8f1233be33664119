"""Lock out user names and thin clients after repeated failed logins.

The thin-client login API asks :meth:`LoginThrottle.check` before it talks
to the directory, and reports the outcome with :meth:`LoginThrottle.failure`
or :meth:`LoginThrottle.success` (or lets :meth:`LoginThrottle.authenticate`
do all three around an identity driver)::

    throttle = LoginThrottle(CONF)
    principal = throttle.authenticate(driver, username, password,
                                      client_id=client_id)

Failures are counted per user name and per client (thin-client id or
remote address) over ``[login_throttle] failure_window`` seconds; reaching
``user_failure_threshold`` or ``client_failure_threshold`` locks the name or
the client out for ``lockout_duration`` seconds, during which logins fail
with :class:`vdi_broker.exception.LoginThrottled` (429, Retry-After) without
asking the directory. A user name is counted the same way whether it exists
or not, so the throttle reveals nothing about which users exist. A
successful login resets the user name's counter.

Counters live in this process's memory, guarded by a lock (the API serves
requests from several threads). With N API worker processes each counts on
its own: an attacker gets up to N x threshold attempts per window. Only
failures of the credentials (:class:`~vdi_broker.exception.LoginFailed`)
count; a directory outage (503) does not lock anybody out.
"""

import collections
import math
import threading
import time

from oslo_log import log as logging

from vdi_broker import exception

LOG = logging.getLogger(__name__)

_USER = "user"
_CLIENT = "client"


class _Counter:
    __slots__ = ("count", "first", "locked_until")

    def __init__(self, now):
        self.count = 0
        self.first = now
        self.locked_until = 0.0


def normalize_username(username):
    """The key a user name is counted under.

    Directory matching of names is case-insensitive and ignores surrounding
    spaces, so ``Amy``, ``amy `` and ``AMY`` share one counter.
    """
    return str(username or "").strip().casefold()


class LoginThrottle:
    """Thread-safe, in-process failed-login counters."""

    def __init__(self, conf, clock=time.monotonic):
        self._opts = conf.login_throttle
        self._clock = clock
        self._lock = threading.Lock()
        self._counters = collections.OrderedDict()

    @property
    def enabled(self):
        return self._opts.enabled

    def _keys(self, username, client_id):
        keys = []
        if self._opts.user_failure_threshold:
            keys.append(((_USER, normalize_username(username)),
                         self._opts.user_failure_threshold))
        if client_id and self._opts.client_failure_threshold:
            keys.append(((_CLIENT, str(client_id)),
                         self._opts.client_failure_threshold))
        return keys

    def _live(self, key, now):
        """The counter of key, or None when absent or expired."""
        counter = self._counters.get(key)
        if counter is None:
            return None
        if counter.locked_until:
            if counter.locked_until > now:
                return counter
        elif now - counter.first <= self._opts.failure_window:
            return counter
        del self._counters[key]
        return None

    def check(self, username, client_id=None):
        """Raise LoginThrottled if the user name or the client is locked."""
        if not self.enabled:
            return
        now = self._clock()
        retry_after = 0.0
        with self._lock:
            for key, _threshold in self._keys(username, client_id):
                counter = self._live(key, now)
                if counter is not None and counter.locked_until > now:
                    retry_after = max(retry_after, counter.locked_until - now)
        if retry_after:
            raise exception.LoginThrottled(
                retry_after=max(1, int(math.ceil(retry_after))))

    def failure(self, username, client_id=None):
        """Count a failed login; returns True if it caused a lockout."""
        if not self.enabled:
            return False
        now = self._clock()
        locked = []
        with self._lock:
            for key, threshold in self._keys(username, client_id):
                counter = self._live(key, now)
                if counter is None:
                    counter = self._counters[key] = _Counter(now)
                else:
                    self._counters.move_to_end(key)
                if counter.locked_until > now:
                    # Attempts while locked are refused before they get
                    # here; never extend a lockout forever.
                    continue
                counter.count += 1
                if counter.count >= threshold:
                    counter.locked_until = now + self._opts.lockout_duration
                    locked.append(key)
            while len(self._counters) > self._opts.max_tracked:
                self._counters.popitem(last=False)
        for kind, name in locked:
            LOG.warning("Login throttle: %(kind)s %(name)s locked out for "
                        "%(secs)ss after repeated failed logins.",
                        {"kind": kind, "name": name,
                         "secs": self._opts.lockout_duration})
        return bool(locked)

    def success(self, username, client_id=None):
        """Forget the user name's failures after a successful login."""
        if not self.enabled:
            return
        with self._lock:
            self._counters.pop((_USER, normalize_username(username)), None)

    def authenticate(self, driver, username, password, client_id=None):
        """check(), driver.authenticate(), then failure() or success()."""
        self.check(username, client_id)
        try:
            principal = driver.authenticate(username, password)
        except exception.LoginFailed:
            self.failure(username, client_id)
            raise
        self.success(username, client_id)
        return principal

    def reset(self):
        with self._lock:
            self._counters.clear()

    def __len__(self):
        return len(self._counters)
