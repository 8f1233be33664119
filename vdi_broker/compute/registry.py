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

"""Several clouds: one compute driver per cloud, each watched on its own.

The default cloud is ``[compute] driver`` with ``[nova]``: that of pools
that name no cloud. Each name of ``[compute] clouds`` is another cloud,
configured in ``[cloud:NAME]`` (vdi_broker/conf/clouds.py) with its own
driver, keystoneauth1 session, Nova and Placement clients and region.

Every driver is wrapped in a :class:`WatchedDriver` that counts the calls
the cloud did not answer (ComputeUnavailable, timeouts included). After
``down_after_failures`` in a row the cloud is *down*: its calls fail at
once with the reason, so that a black-holed cloud holds up neither the
pool manager nor the logins of the other clouds, and its pools can say
why they stopped refilling. A probe (:meth:`WatchedDriver.probe`, in a
thread of its own, at most every ``down_retry_interval`` seconds) finds
out whether it is back; its first answer brings the cloud back.
"""

import threading
import time

from oslo_log import log as logging
from oslo_utils import timeutils

from vdi_broker.conf import clouds as clouds_conf
from vdi_broker import exception
from vdi_broker import plugins

LOG = logging.getLogger(__name__)

NAMESPACE = "vdi_broker.compute"

# Attributes of a driver that are not calls to the cloud.
_NOT_CALLS = frozenset(["conf", "cloud", "console_types",
                        "console_refusal"])


def configured(conf):
    """The names of ``[compute] clouds`` (without duplicates)."""
    return list(dict.fromkeys(n.strip() for n in conf.compute.clouds
                              if n and n.strip()))


def driver_and_group(conf, cloud):
    """(driver name, option group or None) of ``cloud`` (None: default).

    Raises CloudUnknown for a name not in ``[compute] clouds``.
    """
    if cloud is None:
        return conf.compute.driver, None
    if cloud not in configured(conf):
        raise exception.CloudUnknown(cloud=cloud,
                                     known=", ".join(configured(conf))
                                     or "none")
    group = clouds_conf.register_cloud(conf, cloud)
    return conf[group].driver, group


def cloud_of(conf, pool):
    """The cloud a pool lives in: its ``cloud``, or None (the default).

    Without ``[compute] clouds`` every pool lives in the default cloud
    (its ``cloud`` is then a label, as before several clouds existed).
    """
    name = pool.get("cloud") if pool else None
    if not name or not conf.compute.clouds:
        return None
    return name


class Health:
    """Whether a cloud answers; updated by every call of its driver."""

    def __init__(self, name, down_after, retry_interval,
                 clock=time.monotonic):
        self.name = name
        self.down_after = down_after
        self.retry_interval = retry_interval
        self._clock = clock
        self._lock = threading.Lock()
        self.failures = 0
        self.errors = 0
        self.down_since = None
        self.last_error = None
        self._next_try = None
        self._probing = False

    @property
    def down(self):
        return self.down_since is not None

    def reason(self):
        """Why the cloud is down (for pools' status), or None."""
        if not self.down:
            return None
        return ("cloud %s unavailable since %s UTC (%d calls in a row "
                "unanswered): %s" % (
                    self.name or clouds_conf.DEFAULT_CLOUD,
                    self.down_since.isoformat(timespec="seconds"),
                    self.failures, self.last_error))[:1000]

    def view(self):
        return {"cloud": self.name, "down": self.down,
                "down_since": self.down_since, "failures": self.failures,
                "errors": self.errors, "reason": self.reason()}

    def admit(self):
        """Raise ComputeUnavailable when the cloud is down (fail fast)."""
        if self.down:
            raise exception.ComputeUnavailable(reason=self.reason())

    def probe_due(self):
        """Whether to probe the cloud now (taken: one probe at a time)."""
        with self._lock:
            now = self._clock()
            if not self.down or self._probing or \
                    (self._next_try is not None and now < self._next_try):
                return False
            self._probing = True
            self._next_try = now + self.retry_interval
            return True

    def probe_done(self):
        with self._lock:
            self._probing = False

    def failed(self, error):
        with self._lock:
            self.failures += 1
            self.errors += 1
            self.last_error = str(error)[:500]
            if self.down_after and self.failures >= self.down_after and \
                    not self.down:
                self.down_since = timeutils.utcnow()
                self._next_try = self._clock() + self.retry_interval
                LOG.error("Cloud %s is down: %s",
                          self.name or clouds_conf.DEFAULT_CLOUD,
                          self.reason())

    def answered(self):
        if not self.failures and not self.down:
            return
        with self._lock:
            if self.down:
                LOG.info("Cloud %s answers again",
                         self.name or clouds_conf.DEFAULT_CLOUD)
            self.failures = 0
            self.down_since = None
            self._next_try = None


class WatchedDriver:
    """A compute driver whose calls feed (and obey) its cloud's health."""

    def __init__(self, driver, health):
        self._driver = driver
        self.health = health

    @property
    def driver(self):
        return self._driver

    def probe(self, method, *args):
        """Call ``method`` of a cloud that is down, in a thread, if due.

        Returns the thread (None when no probe was due). Its answer, or
        its failure, updates the cloud's health.
        """
        health = self.health
        if not health.probe_due():
            return None

        def run():
            try:
                getattr(self._driver, method)(*args)
            except exception.ComputeUnavailable as e:
                health.failed(e)
            except exception.VdiBrokerException:
                health.answered()
            except Exception as e:
                LOG.warning("Probe of cloud %s failed: %s",
                            health.name or clouds_conf.DEFAULT_CLOUD, e)
            else:
                health.answered()
            finally:
                health.probe_done()

        thread = threading.Thread(target=run, daemon=True,
                                  name="cloud-probe")
        thread.start()
        return thread

    def __getattr__(self, name):
        value = getattr(self._driver, name)
        if name.startswith("_") or name in _NOT_CALLS or \
                not callable(value):
            return value
        health = self.health

        def call(*args, **kwargs):
            health.admit()
            try:
                result = value(*args, **kwargs)
            except exception.ComputeUnavailable as e:
                health.failed(e)
                raise
            except exception.VdiBrokerException:
                # The cloud answered (with a refusal).
                health.answered()
                raise
            health.answered()
            return result

        call.__name__ = name
        return call


class CloudRegistry:
    """Cloud name (None: the default cloud) -> its watched driver."""

    def __init__(self, conf, default=None):
        self.conf = conf
        self._lock = threading.Lock()
        self._drivers = {}
        self._default = default

    def names(self):
        """Every cloud: None (the default) then ``[compute] clouds``."""
        return [None] + configured(self.conf)

    @property
    def several(self):
        return bool(configured(self.conf))

    def known(self, name):
        return name is None or name in configured(self.conf)

    def check(self, name):
        """Raise CloudUnknown for a name not configured (None is known)."""
        if not self.known(name):
            raise exception.CloudUnknown(
                cloud=name, known=", ".join(configured(self.conf))
                or "none")

    def _health(self, name, group):
        opts = self.conf.compute if group is None else self.conf[group]
        return Health(name, opts.down_after_failures,
                      opts.down_retry_interval)

    def get(self, name=None):
        """The watched driver of cloud ``name`` (loaded once)."""
        watched = self._drivers.get(name)
        if watched is not None:
            return watched
        with self._lock:
            watched = self._drivers.get(name)
            if watched is None:
                driver_name, group = driver_and_group(self.conf, name)
                if group is None:
                    driver = self._default or plugins.load_driver(
                        NAMESPACE, driver_name, self.conf)
                else:
                    driver = plugins.load_driver(
                        NAMESPACE, driver_name, self.conf, group=group)
                watched = WatchedDriver(driver, self._health(name, group))
                self._drivers[name] = watched
        return watched

    def for_pool(self, pool):
        """The watched driver of the pool's cloud."""
        return self.get(cloud_of(self.conf, pool))

    def health(self, name=None):
        """The cloud's :class:`Health` (its driver loaded if need be)."""
        return self.get(name).health

    def loaded(self):
        """{name: watched driver} of the clouds loaded so far."""
        return dict(self._drivers)

    def max_builds(self, name):
        """The cloud's own boot budget (0: none but the deployment's)."""
        if name is None:
            return 0
        _, group = driver_and_group(self.conf, name)
        return self.conf[group].max_concurrent_builds
