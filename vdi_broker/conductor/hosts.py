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

"""The compute hosts' status for GET /v1/hosts (RPC 1.4 host_status).

One row per compute host: its desktops by state and its boots (from the
database, as the boot queue counts them), its boot allowance (the
adaptive throttle and the host's load, as the boot queue applies them)
and its memory and vCPUs against the limits Placement enforces, which
include the allocation (overcommit) ratio. Placement is read through the
compute driver at most every ``[conductor] capacity_cache_time`` seconds
(a page that refreshes itself must not cost 1 + 2 x hosts Placement
requests each time), in a copy of its own: the pool manager spends the
free figures of its copy as it plans boots. A cloud that does not answer
leaves the figures out, with the reason, rather than failing the whole
answer.
"""

import threading
import time

from oslo_log import log as logging
from oslo_utils import timeutils

from vdi_broker.conductor import boot_queue
from vdi_broker.db import api as db
from vdi_broker import exception

LOG = logging.getLogger(__name__)

_FIGURES = ("total", "reserved", "allocation_ratio", "capacity", "used",
            "free")


def _short(name):
    return name.split(".")[0] if name else name


def _providers_by_host(capacity, hosts):
    """{host: provider} matching Nova's host names to Placement's.

    A provider's name is the hypervisor host name, which may differ from
    Nova's host by the domain: the exact name, else the first DNS label.
    Providers no desktop runs on are hosts too.
    """
    providers = {p["name"]: p for p in (capacity or {}).get("providers", ())
                 if p.get("name")}
    matched = {}
    for host in hosts:
        if host in providers:
            matched[host] = providers.pop(host)
    for host in hosts:
        if host in matched:
            continue
        for name in list(providers):
            if _short(name) == _short(host):
                matched[host] = providers.pop(name)
                break
    matched.update(providers)
    return matched


def _resource(provider, name):
    figures = (provider or {}).get(name)
    if not figures:
        return None
    view = {k: figures.get(k) for k in _FIGURES}
    # (The pool manager spends "free" of its cached copy as it plans
    # boots: what Placement said is capacity less used.)
    if figures.get("capacity") is not None:
        view["free"] = max(0, figures["capacity"] - figures.get("used", 0))
    if figures.get("capacity"):
        view["used_percent"] = round(
            100.0 * figures.get("used", 0) / figures["capacity"], 1)
    else:
        view["used_percent"] = None
    return view


class CapacityCache:
    """Placement's figures, read at most every capacity_cache_time s."""

    def __init__(self):
        self._lock = threading.Lock()
        self._value = None
        self._at = None

    def get(self, manager):
        """(capacity or None, error or None, when it was read)."""
        ttl = manager.conf.conductor.capacity_cache_time
        with self._lock:
            now = time.monotonic()
            if self._at is None or now - self._at >= ttl:
                read_at = timeutils.utcnow()
                providers, errors = [], []
                # Every cloud in use (several clouds: their hosts side by
                # side; a cloud down has its error in the answer).
                for name, driver in sorted(
                        manager._clouds_in_use().items(),
                        key=lambda item: item[0] or ""):
                    try:
                        capacity = driver.get_capacity()
                    except exception.VdiBrokerException as e:
                        LOG.warning("Placement's figures of the hosts "
                                    "unknown (cloud %s): %s",
                                    name or "default", e)
                        errors.append(str(e) if name is None else
                                      "cloud %s: %s" % (name, e))
                        continue
                    providers.extend((capacity or {}).get("providers")
                                     or ())
                merged = {"providers": providers} if providers else None
                self._value = (merged, "; ".join(errors) or None, read_at)
                self._at = time.monotonic()
            return self._value


def host_status(manager, ctxt, cache):
    """The hosts, the unplaced boots and the deployment's boot limits."""
    figures = db.host_figures(ctxt)
    capacity, capacity_error, read_at = cache.get(manager)
    known = sorted(figures["hosts"])
    providers = _providers_by_host(capacity, known)
    allowance = manager.boot_queue._host_allowance()
    loads = manager._host_loads()
    hosts = []
    for name in sorted(set(known) | set(providers)):
        entry = figures["hosts"].get(name) or {
            "desktops": {}, "in_flight": 0, "queued": 0, "throttle": None}
        provider = providers.get(name)
        allowed, note = allowance(name, entry["throttle"])
        load = boot_queue.load_of(loads, name)
        row = entry["throttle"] or {}
        hosts.append({
            "name": name,
            "provider": ({"uuid": provider.get("uuid"),
                          "name": provider.get("name")}
                         if provider else None),
            "desktops": dict(entry["desktops"],
                             total=sum(entry["desktops"].values())),
            "builds": {"in_flight": entry["in_flight"],
                       "queued": entry["queued"],
                       "allowance": allowed,
                       "limit": manager.boot_queue.host_base(),
                       "note": note or None,
                       "average_seconds": (
                           round(row["boot_seconds"], 1)
                           if row.get("boot_seconds") is not None
                           else None)},
            "load_percent": (round(load * 100, 1) if load is not None
                             else None),
            "memory_mb": _resource(provider, "memory_mb"),
            "vcpus": _resource(provider, "vcpus"),
        })
    unplaced = figures["unplaced"]
    in_flight = unplaced["in_flight"] + sum(
        h["builds"]["in_flight"] for h in hosts)
    queued = unplaced["queued"] + sum(h["builds"]["queued"] for h in hosts)
    return {
        "hosts": hosts,
        "capacity_known": capacity is not None,
        "capacity_error": capacity_error,
        "capacity_read_at": read_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "unplaced": {"desktops": dict(unplaced["desktops"],
                                      total=sum(
                                          unplaced["desktops"].values())),
                     "in_flight": unplaced["in_flight"],
                     "queued": unplaced["queued"]},
        "boot_queue": {
            "in_flight": in_flight,
            "queued_restarts": queued,
            "queued_creates": figures["creates_wanted"],
            "limit": manager.conf.conductor.max_concurrent_builds,
            "host_limit": manager.boot_queue.host_base()},
    }
