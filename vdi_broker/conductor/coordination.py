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

"""Which conductor keeps which pool (active-active conductors).

Every conductor joins a tooz group (``[coordination] group``) and, every
``heartbeat_interval`` seconds, heartbeats and reads the group's members
again (simple and robust: no watch callbacks to lose). The members form a
consistent hash ring (:class:`tooz.hashring.HashRing`); a pool belongs to
the member its id hashes to, so a conductor that joins or leaves moves
only its own share of the pools.

Safety rules — never two owners for long, rather no owner briefly:

* a conductor that has just joined owns nothing for ``member_timeout / 2 +
  heartbeat_interval`` seconds: by then every other member has either read
  the new membership or stopped trusting its old ring;
* a conductor that cannot reach the backend keeps its last ring for
  ``member_timeout / 2`` seconds after its last good heartbeat, then owns
  nothing until the backend answers again (the others drop it from the
  group ``member_timeout`` seconds after that heartbeat);
* a conductor that finds itself no longer a member (expired after a pause)
  joins again and waits out the grace period again.

Without ``backend_url`` there is no coordination: the conductor owns every
pool, as the single conductor and the all-in-one mode always did.
"""

import os
import socket
import threading
import time
import urllib.parse
import uuid

from oslo_log import log as logging
import tooz
from tooz import coordination as tooz_coordination
from tooz import hashring

from vdi_broker import exception

LOG = logging.getLogger(__name__)

# The option of each tooz driver that sets how long a silent member stays
# in a group; [coordination] member_timeout is passed as that option.
MEMBER_TIMEOUT_OPTIONS = {
    "file": "timeout",
    "redis": "membership_timeout",
    "etcd3+http": "membership_timeout",
    "etcd3+https": "membership_timeout",
    "memcached": "membership_timeout",
    "zookeeper": "timeout",
    "kazoo": "timeout",
}


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def default_member_id():
    """host + pid + a random part: unique even after a restart."""
    return "%s-%d-%s" % (socket.gethostname(), os.getpid(),
                         uuid.uuid4().hex[:8])


class PoolOwnership:
    """Answers ``owns(pool_id)`` for one conductor."""

    def __init__(self, conf, member_id=None):
        self.conf = conf
        opts = conf.coordination
        self.backend_url = opts.backend_url
        self.enabled = bool(self.backend_url)
        self.member_id = member_id or default_member_id()
        self.group = opts.group.encode("utf-8")
        self.interval = opts.heartbeat_interval
        self.member_timeout = opts.member_timeout
        # How long a ring stays trusted after the heartbeat that read it.
        self.ring_ttl = self.member_timeout / 2.0
        # How long a newly joined member waits before owning anything.
        self.join_grace = self.ring_ttl + self.interval
        self._coordinator = None
        self._lock = threading.Lock()
        self._ring = None
        self._members = frozenset()
        self._valid_until = 0.0
        self._grace_until = 0.0
        self._stopping = threading.Event()
        self._thread = None

    # -- lifecycle -------------------------------------------------------

    def start(self):
        """Join the group and start heartbeating.

        Raises CoordinationUnsupported when the backend has no groups or
        the intervals cannot work; a backend that is merely unreachable is
        retried in the background (owning nothing meanwhile).
        """
        if not self.enabled:
            return
        if self.interval * 2 >= self.member_timeout:
            raise exception.CoordinationUnsupported(
                backend=self._safe_url(),
                reason="heartbeat_interval (%s s) must be less than half of "
                       "member_timeout (%s s)" % (self.interval,
                                                  self.member_timeout))
        try:
            self._connect()
            self.refresh()
        except exception.CoordinationUnsupported:
            raise
        except Exception as e:
            LOG.error("Coordination backend %s unreachable (%s); this "
                      "conductor keeps no pool until it answers",
                      self._safe_url(), e)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run,
                                        name="vdi-broker-coordination",
                                        daemon=True)
        self._thread.start()
        LOG.info("Conductor %s coordinating through %s, group %s",
                 self.member_id, self._safe_url(), _text(self.group))

    def stop(self):
        """Leave the group (the others take the pools over at once)."""
        if not self.enabled:
            return
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.member_timeout)
            self._thread = None
        with self._lock:
            self._ring = None
            self._members = frozenset()
        self._disconnect()

    def _options(self):
        scheme = urllib.parse.urlsplit(self.backend_url).scheme
        key = MEMBER_TIMEOUT_OPTIONS.get(scheme)
        query = urllib.parse.parse_qs(
            urllib.parse.urlsplit(self.backend_url).query)
        if key and key not in query:
            return {key: str(self.member_timeout)}
        return {}

    def _safe_url(self):
        parts = urllib.parse.urlsplit(self.backend_url)
        if parts.password:
            netloc = parts.netloc.replace(":" + parts.password + "@",
                                          ":***@")
            parts = parts._replace(netloc=netloc)
        return urllib.parse.urlunsplit(parts._replace(query=""))

    def _connect(self):
        coordinator = tooz_coordination.get_coordinator(
            self.backend_url, self.member_id.encode("utf-8"),
            **self._options())
        coordinator.start(start_heart=False)
        try:
            try:
                coordinator.create_group(self.group).get()
            except tooz_coordination.GroupAlreadyExist:
                pass
        except tooz.NotImplemented:
            coordinator.stop()
            raise exception.CoordinationUnsupported(
                backend=self._safe_url(),
                reason="its tooz driver has no group membership (tooz's "
                       "mysql and postgresql drivers offer locks only); "
                       "use redis, etcd3, zookeeper, memcached or file")
        except Exception:
            coordinator.stop()
            raise
        self._coordinator = coordinator
        self._join()

    def _disconnect(self):
        coordinator, self._coordinator = self._coordinator, None
        if coordinator is not None:
            try:
                coordinator.stop()  # leaves the group
            except Exception as e:
                LOG.warning("Leaving the coordination group failed: %s", e)

    def _join(self):
        try:
            self._coordinator.join_group(self.group).get()
        except tooz_coordination.GroupNotCreated:
            try:
                self._coordinator.create_group(self.group).get()
            except tooz_coordination.GroupAlreadyExist:
                pass
            self._coordinator.join_group(self.group).get()
        except tooz_coordination.MemberAlreadyExist:
            pass
        with self._lock:
            self._grace_until = time.monotonic() + self.join_grace

    def _run(self):
        while not self._stopping.wait(self.interval):
            try:
                if self._coordinator is None:
                    self._connect()
                self.refresh()
            except Exception as e:
                self._failed(e)

    # -- membership ------------------------------------------------------

    def refresh(self):
        """Heartbeat, read the members and rebuild the ring."""
        started = time.monotonic()
        self._coordinator.heartbeat()
        members = {_text(m) for m in
                   self._coordinator.get_members(self.group).get()}
        if self.member_id not in members:
            LOG.warning("Conductor %s is no longer a member of group %s "
                        "(missed heartbeats?); joining again",
                        self.member_id, _text(self.group))
            self._join()
            members.add(self.member_id)
        members = frozenset(members)
        with self._lock:
            if members != self._members:
                LOG.info("Conductors in group %s: %s", _text(self.group),
                         ", ".join(sorted(members)))
                self._ring = hashring.HashRing(members)
                self._members = members
            elif self._ring is None:
                self._ring = hashring.HashRing(members)
            self._valid_until = started + self.ring_ttl

    def _failed(self, error):
        with self._lock:
            trusted = time.monotonic() < self._valid_until
        if trusted:
            LOG.warning("Coordination backend error (%s); keeping the "
                        "last known conductors for now", error)
        else:
            LOG.error("Coordination backend error (%s); this conductor "
                      "keeps no pool until the backend answers", error)
        if self._coordinator is not None and \
                isinstance(error, tooz_coordination.ToozConnectionError):
            # Start afresh at the next pass: a new connection and a new
            # join (with its grace period).
            self._disconnect()

    @property
    def members(self):
        with self._lock:
            return self._members

    def owns(self, pool_id):
        """Whether this conductor keeps pool ``pool_id`` right now."""
        if not self.enabled:
            return True
        now = time.monotonic()
        with self._lock:
            if self._ring is None or now >= self._valid_until or \
                    now < self._grace_until:
                return False
            nodes = self._ring.get_nodes(pool_id.encode("utf-8"))
        return self.member_id in nodes
