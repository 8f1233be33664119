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

"""The pool manager's capacity checks (R11), per cloud and zone.

A mixin of the pool manager (conductor/pool_manager.py). A pool grows
only into the free memory and vCPUs of the resource providers of its
cloud and, when it names one, of its availability zone (the providers of
the host aggregates Nova maps to the zone: compute/nova.py). Placement's
figures are read at most every ``[conductor] capacity_cache_time``
seconds per (cloud, zone); the boots a pass plans spend the cached
figures, and those not sent are refunded.
"""

import time

from oslo_log import log as logging

from vdi_broker.compute import registry as cloud_registry
from vdi_broker import exception

LOG = logging.getLogger(__name__)


class CapacityChecks:
    """Capacity and host loads, for the pool manager."""

    def _init_capacity(self):
        # (cloud, zone) -> (capacity or None, monotonic time read).
        self._capacities = {}
        self._loads = None
        self._loads_at = None
        # Capacity spent by this pass's planned boots, by pool.
        self._spent = {}
        # (cloud, flavor name) -> {"vcpus", "memory_mb"}.
        self._flavors = {}

    def _cloud_of(self, pool):
        return cloud_registry.cloud_of(self.conf, pool)

    def _cloud_capacity(self, pool=None):
        """Free capacity per provider of the pool's cloud and zone.

        Cached; None when unknown.
        """
        cloud = self._cloud_of(pool)
        zone = (pool or {}).get("availability_zone") or None
        now = time.monotonic()
        ttl = self.conf.conductor.capacity_cache_time
        cached = self._capacities.get((cloud, zone))
        if cached is None or now - cached[1] >= ttl:
            driver = self.compute_of(pool) if pool else self.compute
            try:
                capacity = self._read_capacity(driver, zone)
            except exception.VdiBrokerException as e:
                LOG.warning("Capacity of cloud %(cloud)s%(zone)s unknown: "
                            "%(error)s",
                            {"cloud": cloud or "default",
                             "zone": ", zone %s" % zone if zone else "",
                             "error": e})
                capacity = None
            cached = self._capacities[(cloud, zone)] = (capacity, now)
        return cached[0]

    @staticmethod
    def _read_capacity(driver, zone):
        if not zone:
            return driver.get_capacity()
        try:
            return driver.get_capacity(availability_zone=zone)
        except exception.ComputeUnavailable:
            raise
        except exception.ComputeError as e:
            # The zone's aggregates could not be read (the admin
            # os-aggregates API refused, say): the whole cloud, as before.
            LOG.warning("Capacity of zone %(zone)s unknown (%(error)s): "
                        "counting every resource provider of the cloud",
                        {"zone": zone, "error": e})
            return driver.get_capacity()

    def _host_loads(self, refresh=False):
        """The compute hosts' loads ({host: fraction}), or None.

        Over every cloud in use. Read (with ``refresh``) at most every
        [conductor] capacity_cache_time seconds, from the same Placement
        figures as the capacity; the logout path uses what the last pass
        read.
        """
        now = time.monotonic()
        ttl = self.conf.conductor.capacity_cache_time
        if refresh and (self._loads_at is None or
                        now - self._loads_at >= ttl):
            loads = {}
            for name, driver in self._clouds_in_use().items():
                if driver.health.down:
                    continue
                pool = {"cloud": name} if name else None
                try:
                    found = driver.get_host_load(
                        capacity=self._cloud_capacity(pool))
                except exception.VdiBrokerException as e:
                    LOG.warning("Compute hosts' loads unknown (cloud "
                                "%s): %s", name or "default", e)
                    found = None
                loads.update(found or {})
            self._loads = loads or None
            self._loads_at = now
        return self._loads

    def _clouds_in_use(self):
        """{cloud name: driver} of the clouds loaded (else the default)."""
        return self.clouds.loaded() or {None: self.compute}

    def _flavor(self, name, pool=None):
        key = (self._cloud_of(pool), name)
        if key not in self._flavors:
            driver = self.compute_of(pool) if pool else self.compute
            try:
                self._flavors[key] = driver.get_flavor(name)
            except exception.VdiBrokerException as e:
                LOG.warning("Flavor %s unknown: %s", name, e)
                return None
        return self._flavors[key]

    def _within_capacity(self, ctxt, pool, count, wanted):
        """How many of ``count`` boots fit in the pool's cloud and zone.

        Memory is the bottleneck of a VDI cloud (R11): a pool grows only
        into free memory and vCPUs (Placement: (total - reserved) x
        allocation_ratio - used, per provider). A pool that cannot reach
        its target says so in its status instead of piling up builds
        that would fail with NoValidHost.
        """
        if wanted <= 0:
            return count
        capacity = self._cloud_capacity(pool)
        flavor = self._flavor(pool["flavor"], pool) if capacity else None
        if not capacity or not flavor:
            return count
        fits = 0
        for provider in capacity["providers"]:
            fits += max(0, min(
                provider["memory_mb"]["free"] // flavor["memory_mb"],
                provider["vcpus"]["free"] // flavor["vcpus"]))
        if fits < wanted:
            where = "the cloud"
            if pool.get("availability_zone"):
                where = "availability zone %s" % pool["availability_zone"]
            reason = ("cannot reach min_ready: %d more desktops of flavor "
                      "%s (%d MB, %d vCPU) wanted, %s has room for %d" % (
                          wanted, pool["flavor"], flavor["memory_mb"],
                          flavor["vcpus"], where, fits))
            if pool["status"] != "no_capacity" or \
                    pool["status_reason"] != reason:
                LOG.warning("Pool %s: %s", pool["name"], reason)
                self._set_pool_status(ctxt, pool, "no_capacity", reason)
        elif pool["status"] == "no_capacity":
            self._set_pool_status(ctxt, pool, "active", None)
        count = min(count, fits)
        # Spend the cached capacity, so that the next pool (or pass) sees
        # what these boots take (_refund gives back what is not booted).
        left = count
        spent = self._spent.setdefault(pool["id"], [])
        for provider in capacity["providers"]:
            while left and \
                    provider["memory_mb"]["free"] >= flavor["memory_mb"] and \
                    provider["vcpus"]["free"] >= flavor["vcpus"]:
                provider["memory_mb"]["free"] -= flavor["memory_mb"]
                provider["vcpus"]["free"] -= flavor["vcpus"]
                spent.append((provider, flavor))
                left -= 1
        return count

    def _refund(self, pool_id, count):
        """Give back the capacity of ``count`` boots not sent."""
        spent = self._spent.get(pool_id) or []
        for _ in range(min(count, len(spent))):
            provider, flavor = spent.pop()
            provider["memory_mb"]["free"] += flavor["memory_mb"]
            provider["vcpus"]["free"] += flavor["vcpus"]
