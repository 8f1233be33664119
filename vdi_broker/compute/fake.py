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

"""The ``fake`` compute driver: an in-memory cloud.

Servers go BUILD -> ACTIVE after ``[fake_compute] boot_time`` seconds (or
-> ERROR for a share ``failure_rate`` of them), get an address from
``address_range`` and a host from ``hosts``. Nothing leaves the process,
so it serves the all-in-one demo, tests and benchmarks. One cloud is
shared by every driver instance of the process, like a real cloud would be.

It opens every console type Nova does: ``spice-direct`` (a SPICE host and
port, ``[fake_compute] console_host`` and ``console_port_base`` + n for
the n-th live server), ``spice-html5`` and ``novnc`` (URLs of proxies on
``console_host`` at Nova's default ports), each with a fresh token, and
only for an ACTIVE server, as Nova. The ``rdp`` console needs only the
server's address.

A test or a benchmark steers the cloud while it runs: :class:`FakeCloud`'s
``boot_time`` (and ``host_boot_time`` per host) override the option, so
that boots can slow down during a run; ``host_load`` is the load each host
reports (:meth:`FakeComputeDriver.get_host_load`); ``booting_high_water``
and ``host_high_water`` record the most servers ever booting (BUILD,
REBOOT or REBUILD) at once, in the cloud and per host.
"""

import collections
import heapq
import ipaddress
import itertools
import random
import threading
import time
from urllib import parse
import uuid

from vdi_broker.compute import base
from vdi_broker import exception


class FakeCloud:
    """The shared state of the fake cloud."""

    def __init__(self, clock=time.monotonic):
        # Boots and restarts end by this clock (tests move it on instead
        # of sleeping).
        self.clock = clock
        self.lock = threading.Lock()
        self.servers = {}
        self._addresses = None
        self._hosts = None
        self.calls = []
        # Requests by kind (create, show, list, ...), for tests and
        # benchmarks that count what the broker asks.
        self.requests = collections.Counter()
        # Console port offsets: the lowest free one goes to a new server.
        self._free_ports = []
        self._next_port = 0
        self._steering()

    def _steering(self):
        # Seconds a boot takes, overriding [fake_compute] boot_time (None:
        # the option), for every host or per host.
        self.boot_time = None
        self.host_boot_time = {}
        # {host: load fraction} reported by get_host_load (empty: none).
        self.host_load = {}
        # A cloud that does not answer: every call raises
        # ComputeUnavailable (a reason string), as a Nova down would.
        self.down = None
        self.booting_high_water = 0
        self.host_high_water = collections.Counter()

    def reset(self):
        with self.lock:
            self.servers.clear()
            self._addresses = None
            self._hosts = None
            self.calls = []
            self.requests.clear()
            self._free_ports = []
            self._next_port = 0
            self._steering()

    def take_port(self):
        if self._free_ports:
            return heapq.heappop(self._free_ports)
        self._next_port += 1
        return self._next_port - 1

    def give_port(self, offset):
        heapq.heappush(self._free_ports, offset)

    def booting(self, now=None):
        """Servers booting now: {host: count} (call with the lock held)."""
        now = self.clock() if now is None else now
        hosts = collections.Counter()
        for server in self.servers.values():
            if server["status"] in BOOTING and now < server["ready_at"]:
                hosts[server["host"]] += 1
        return hosts

    def _boot_started(self, host):
        """Record the high-water marks as one more boot starts."""
        hosts = self.booting()
        hosts[host] += 1
        self.booting_high_water = max(self.booting_high_water,
                                      sum(hosts.values()))
        self.host_high_water[host] = max(self.host_high_water[host],
                                         hosts[host])


BOOTING = (base.BUILD, base.REBOOT, base.REBUILD)
CONSOLE_TYPES = frozenset([base.SPICE_DIRECT, base.SPICE_HTML5, base.NOVNC])
# Nova's default proxy URLs, on [fake_compute] console_host.
_CONSOLE_URLS = {
    base.SPICE_DIRECT: "http://%s:13002/nova?token=%s",
    base.SPICE_HTML5: "http://%s:6082/spice_auto.html?token=%s",
    base.NOVNC: "http://%s:6080/vnc_lite.html?path=%%3Ftoken%%3D%s",
}

CLOUD = FakeCloud()
# The fake clouds of named clouds ([cloud:NAME] driver = fake), by group.
CLOUDS = {}
_CLOUDS_LOCK = threading.Lock()


def named_cloud(group):
    """The shared :class:`FakeCloud` of a named cloud's option group."""
    with _CLOUDS_LOCK:
        return CLOUDS.setdefault(group, FakeCloud())


class FakeComputeDriver(base.ComputeDriver):

    def __init__(self, conf, cloud=None, group=None):
        """A fake cloud's driver.

        ``group``: a named cloud's option group ([cloud:NAME]), which
        holds the [fake_compute] options of that cloud; its servers live
        in a fake cloud of their own.
        """
        self.conf = conf[group] if group else conf.fake_compute
        if cloud is None and group:
            cloud = named_cloud(group)
        self.cloud = cloud or CLOUD
        # Failure injection for tests, not security.
        self._rng = random.Random()  # nosec B311

    def _next_address(self):
        if self.cloud._addresses is None:
            # (A list for a /32 or /31, an iterator otherwise.)
            self.cloud._addresses = iter(ipaddress.ip_network(
                self.conf.address_range).hosts())
        try:
            return str(next(self.cloud._addresses))
        except StopIteration:
            raise exception.ComputeError(
                reason="no address left in [fake_compute] address_range")

    def _next_host(self, zone=None):
        zones = self.conf.host_zones
        if zone and zones:
            # Round-robin over the zone's hosts.
            hosts = [h for h in self.conf.hosts if zones.get(h) == zone]
            if hosts:
                booted = collections.Counter(
                    s["host"] for s in self.cloud.servers.values())
                return min(hosts, key=lambda h: booted[h])
        if self.cloud._hosts is None:
            self.cloud._hosts = itertools.cycle(self.conf.hosts)
        return next(self.cloud._hosts)

    def _answer(self):
        """Raise ComputeUnavailable while the fake cloud is down."""
        if self.cloud.down:
            raise exception.ComputeUnavailable(reason=self.cloud.down)

    def _boot_time(self, host):
        seconds = self.cloud.host_boot_time.get(host)
        if seconds is None:
            seconds = self.cloud.boot_time
        if seconds is None:
            seconds = self.conf.boot_time
        return seconds

    def _refresh(self, server):
        # Server state is derived from the clock: no threads needed.
        if server.pop("restart_unseen", False):
            # Nova sets the task state of a reboot or rebuild before the
            # request returns: the first look shows REBOOT / REBUILD,
            # however quick the restart.
            return
        if server["status"] in (base.BUILD, base.REBOOT, base.REBUILD) and \
                self.cloud.clock() >= server["ready_at"]:
            server["status"] = server.pop("end_status", base.ACTIVE)

    def _view(self, server):
        self._refresh(server)
        return base.Server(
            id=server["id"], name=server["name"], status=server["status"],
            host=server["host"], addresses=[server["address"]],
            metadata=dict(server["metadata"]), tags=list(server["tags"]),
            fault=server.get("fault"))

    def _get(self, server_id):
        server = self.cloud.servers.get(server_id)
        if server is None:
            raise exception.ServerNotFound(server=server_id)
        return server

    def create_server(self, spec):
        if self.conf.create_delay:
            # A slow cloud: the answer takes this long (outside the lock,
            # as concurrent requests to a real cloud would).
            time.sleep(self.conf.create_delay)
        self._answer()
        with self.cloud.lock:
            self.cloud.requests["create"] += 1
            self.cloud.calls.append(("create", spec.name))
            failed = self._rng.random() < self.conf.failure_rate
            host = self._next_host(spec.availability_zone)
            self.cloud._boot_started(host)
            server = {
                "id": str(uuid.uuid4()), "name": spec.name,
                "status": base.BUILD, "host": host,
                "address": self._next_address(),
                "metadata": dict(spec.metadata), "tags": list(spec.tags),
                "image": spec.image, "flavor": spec.flavor,
                "ready_at": self.cloud.clock() + self._boot_time(host),
                "locked": None, "console_port": self.cloud.take_port(),
            }
            if failed:
                server["end_status"] = base.ERROR
                server["fault"] = "fake boot failure (failure_rate)"
            self.cloud.servers[server["id"]] = server
            return self._view(server)

    def get_server(self, server_id):
        self._answer()
        with self.cloud.lock:
            self.cloud.requests["show"] += 1
            return self._view(self._get(server_id))

    def list_servers(self, tags=None):
        wanted = set(tags or ())
        self._answer()
        with self.cloud.lock:
            self.cloud.requests["list"] += 1
            return [self._view(s) for s in self.cloud.servers.values()
                    if wanted <= set(s["tags"])]

    def delete_server(self, server_id):
        self._answer()
        with self.cloud.lock:
            self.cloud.calls.append(("delete", server_id))
            server = self.cloud.servers.pop(server_id, None)
            if server is not None:
                self.cloud.give_port(server["console_port"])

    def _restart(self, server_id, status, share, **changes):
        self._answer()
        with self.cloud.lock:
            server = self._get(server_id)
            seconds = self._boot_time(server["host"]) * share
            self.cloud._boot_started(server["host"])
            server.update(changes)
            server["status"] = status
            server["restart_unseen"] = True
            server["end_status"] = base.ACTIVE
            server.pop("fault", None)
            server["ready_at"] = self.cloud.clock() + seconds

    def reboot_server(self, server_id, hard=False):
        self.cloud.calls.append(("reboot", server_id))
        self._restart(server_id, base.REBOOT, 0.5)

    def rebuild_server(self, server_id, image):
        self.cloud.calls.append(("rebuild", server_id))
        self._restart(server_id, base.REBUILD, 1.0, image=image)

    def get_capacity(self, availability_zone=None):
        """Placement's figures of the fake cloud, one provider per host.

        ``[fake_compute] capacity_memory_mb`` and ``capacity_vcpus`` are
        shared evenly by the hosts (allocation ratio 1.0); each server
        uses a flavor's worth on its host. None when the memory is 0
        (unlimited). With ``availability_zone`` (and ``host_zones``
        naming it), only that zone's hosts.
        """
        self._answer()
        if not self.conf.capacity_memory_mb:
            return None
        hosts = list(self.conf.hosts) or ["fake"]
        zones = self.conf.host_zones
        in_zone = [h for h in hosts if zones.get(h) == availability_zone]
        if availability_zone and in_zone:
            keep = set(in_zone)
        else:
            keep = set(hosts)
        with self.cloud.lock:
            servers = collections.Counter(
                s["host"] for s in self.cloud.servers.values())
        wanted = {"memory_mb": (self.conf.capacity_memory_mb,
                                self.conf.flavor_memory_mb),
                  "vcpus": (self.conf.capacity_vcpus,
                            self.conf.flavor_vcpus)}
        providers = []
        total = {name: {"free": 0, "capacity": 0, "used": 0}
                 for name in wanted}
        for i, host in enumerate(hosts):
            if host not in keep:
                continue
            provider = {"uuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, host)),
                        "name": host}
            for name, (cloud_total, per_server) in wanted.items():
                share = cloud_total // len(hosts) + (
                    1 if i < cloud_total % len(hosts) else 0)
                used = servers.get(host, 0) * per_server
                provider[name] = {
                    "total": share, "reserved": 0, "allocation_ratio": 1.0,
                    "max_unit": share, "capacity": share, "used": used,
                    "free": max(0, share - used)}
                for key in ("free", "capacity", "used"):
                    total[name][key] += provider[name][key]
            providers.append(provider)
        total["providers"] = len(providers)
        return {"providers": providers, "total": total}

    def get_host_load(self, capacity=None):
        with self.cloud.lock:
            if not self.cloud.host_load:
                return None
            return dict(self.cloud.host_load)

    def get_flavor(self, flavor):
        return {"vcpus": self.conf.flavor_vcpus,
                "memory_mb": self.conf.flavor_memory_mb}

    def lock_server(self, server_id, reason):
        with self.cloud.lock:
            self._get(server_id)["locked"] = reason

    def unlock_server(self, server_id):
        with self.cloud.lock:
            self._get(server_id)["locked"] = None

    # -- consoles ----------------------------------------------------------

    @classmethod
    def console_types(cls, conf, group=None):
        return CONSOLE_TYPES

    def get_console(self, server_id, console_type):
        if console_type not in CONSOLE_TYPES:
            raise exception.Invalid(reason="unknown console type %s"
                                    % console_type)
        self._answer()
        with self.cloud.lock:
            self.cloud.requests["console"] += 1
            server = self._get(server_id)
            self._refresh(server)
            if server["status"] != base.ACTIVE:
                # Nova's 409: no console for a server that is not running.
                raise exception.ConsoleNotReady(
                    console_type=console_type, server=server_id,
                    reason="the server is %s" % server["status"])
            port = self.conf.console_port_base + server["console_port"]
        if port > 65535:
            raise exception.ConsoleUnavailable(
                console_type=console_type, server=server_id,
                reason="no SPICE port left above [fake_compute] "
                       "console_port_base")
        host = self.conf.console_host
        token = uuid.uuid4().hex
        url_host = "[%s]" % host if ":" in host else host
        console = {"type": console_type,
                   "url": _CONSOLE_URLS[console_type] % (
                       url_host, parse.quote(token))}
        if console_type == base.SPICE_DIRECT:
            console.update(host=host, port=port, tls_port=None)
        return console
