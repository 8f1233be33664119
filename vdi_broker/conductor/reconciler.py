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

"""The reconciler and the health check: the database against the cloud.

Both compare the desktops table with the servers the cloud reports, and
only with servers carrying the broker's tag (``compute_base.BROKER_TAG``):
a server without it is never touched, whatever its name or metadata.

**Health check** (every ``[conductor] health_check_interval``): for each
pool this conductor keeps, one listing of the pool's servers (by tag) and
one read of its ready and assigned desktops. A desktop whose server is in
ERROR or SHUTOFF is quarantined (see conductor/desktop_actions.py); one
whose server vanished is marked ``error`` ('server vanished'), and the
pool manager replaces it, moving a binding first; a changed address or
host is written back.

**Reconciler** (at start and every ``[conductor] reconcile_interval``):
one listing of every broker server, one read of the desktops of the
pools this conductor keeps, then set and dict joins:

* a server whose metadata names a building desktop without a server id
  (the conductor died between the boot and the write) is attached to it;
* a server naming a pool but no desktop is adopted as a new desktop of
  that pool if the pool wants one (below min_ready and max_size), else
  deleted, as is a server of a pool that no longer exists;
* desktops whose server vanished and drifted ones as in the health check.

With several clouds (compute/registry.py) the reconciler runs once per
cloud, the clouds side by side: each lists its own servers and reconciles
the pools that live in it, so that a cloud that is down skips only
its own pass. With several conductors each reconciles the pools it
keeps; the servers of deleted pools belong to the conductor that owns the key
``reconciler-orphans`` on the same hash ring, so exactly one deletes them.

Races with the pool manager are avoided by order, not locks: the cloud is
listed first and the database read afterwards, so a server in the listing
has its row in the read (rows are written before servers are created);
a desktop counts as vanished only if its row did not change since the
listing began (a server created meanwhile is missing from the listing,
not from the cloud). Every change is a compare-and-swap or a bulk update
guarded by state.
"""

import concurrent.futures
import datetime
import time

from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import uuidutils

from vdi_broker.compute import base as compute_base
from vdi_broker.compute import registry as cloud_registry
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

LOG = logging.getLogger(__name__)

# The hash-ring key whose owner cleans up after deleted pools.
ORPHANS_KEY = "reconciler-orphans"

# Server states that mean the desktop cannot serve anybody.
FAULTY = (compute_base.ERROR, compute_base.SHUTOFF)
# Desktop states a fault or a vanished server is looked for in.
IN_SERVICE = (models.READY, models.ASSIGNED)
# Desktop states that hold a server the reconciler must find.
HOLDS_SERVER = (models.READY, models.ASSIGNED, models.RELEASING,
                models.QUARANTINED)
# Desktop states that count toward a pool's size.
LIVE = (models.BUILDING, models.READY, models.ASSIGNED, models.RELEASING,
        models.QUARANTINED)

# Timestamps in MariaDB are whole seconds: rows changed this close to
# the listing are left for the next pass.
CLOCK_MARGIN = datetime.timedelta(seconds=2)


def server_pool(server):
    """The pool a broker server names (metadata, else its tag), or None."""
    pool = (server.metadata or {}).get(compute_base.META_POOL)
    if pool:
        return pool
    for tag in server.tags or ():
        if tag.startswith(compute_base.POOL_TAG_PREFIX):
            return tag[len(compute_base.POOL_TAG_PREFIX):]
    return None


def _fault_reason(server):
    reason = "server %s is %s" % (server.id, server.status)
    if server.fault:
        reason += ": %s" % server.fault
    return reason[:1000]


class Report(dict):
    """What one pass found and did (logged, and returned to callers)."""

    KEYS = ("servers", "desktops", "attached", "adopted", "deleted",
            "vanished", "quarantined", "updated", "untagged", "failed")

    def __init__(self):
        super().__init__({key: 0 for key in self.KEYS})


# A reconciler of every cloud (not one of them).
EVERY_CLOUD = object()


class Reconciler:
    """Reconciler and health check of one conductor.

    ``cloud``: reconcile the pools of that cloud only (None: the default
    cloud), with its driver.
    """

    def __init__(self, manager, cloud=EVERY_CLOUD):
        self.manager = manager
        self.cloud = cloud

    @property
    def compute(self):
        if self.cloud is EVERY_CLOUD:
            return self.manager.compute
        return self.manager.clouds.get(self.cloud)

    def _in_cloud(self, pool):
        return self.cloud is EVERY_CLOUD or \
            cloud_registry.cloud_of(self.manager.conf, pool) == self.cloud

    def _reconcile_clouds(self, ctxt):
        """One pass per cloud, side by side; the reports summed."""
        conf = self.manager.conf
        used = {cloud_registry.cloud_of(conf, p) for p in db.pool_list(ctxt)}
        # The named clouds, and the default one if a pool lives there.
        names = [n for n in self.manager.clouds.names()
                 if n is not None or None in used]

        def one(name):
            try:
                return Reconciler(self.manager, name).reconcile(ctxt)
            except exception.VdiBrokerException as e:
                LOG.warning("Reconciler pass of cloud %(cloud)s skipped: "
                            "%(error)s", {"cloud": name or "default",
                                          "error": e})
                return None

        with concurrent.futures.ThreadPoolExecutor(
                len(names), thread_name_prefix="reconcile") as executor:
            reports = list(executor.map(one, names))
        total = Report()
        total["clouds"] = {}
        for name, report in zip(names, reports):
            total["clouds"][name or "default"] = (
                "skipped" if report is None else "done")
            for key in Report.KEYS:
                total[key] += (report or {}).get(key, 0)
        return total

    def _owns(self, key):
        ownership = self.manager.ownership
        return ownership is None or ownership.owns(key)

    # -- the health check --------------------------------------------------

    def health_check(self, ctxt):
        """Check the ready and assigned desktops of the kept pools."""
        report = Report()
        started = time.monotonic()
        pools = [p for p in db.pool_list(ctxt) if self._owns(p["id"])]
        if not pools:
            return report
        before = timeutils.utcnow() - CLOCK_MARGIN
        servers = {}
        listed = []
        for pool in pools:
            try:
                found = self.manager.compute_of(pool).list_servers(tags=[
                    compute_base.BROKER_TAG,
                    compute_base.POOL_TAG_PREFIX + pool["id"]])
            except exception.VdiBrokerException as e:
                # Without a listing nothing of the pool can be judged.
                LOG.warning("Health check of pool %(pool)s skipped: "
                            "%(error)s", {"pool": pool["name"], "error": e})
                report["failed"] += 1
                continue
            listed.append(pool["id"])
            servers.update((s.id, s) for s in found)
        desktops = [d for d in db.reconcile_desktops(ctxt, listed)
                    if d["state"] in IN_SERVICE]
        report["servers"], report["desktops"] = len(servers), len(desktops)
        self._check(ctxt, desktops, servers, before, report,
                    states=IN_SERVICE, by="health-check")
        self._log("Health check", report, started)
        return report

    # -- the reconciler ----------------------------------------------------

    def reconcile(self, ctxt):
        """One pass of the reconciler over the kept pools (and orphans)."""
        if self.cloud is EVERY_CLOUD and self.manager.clouds.several:
            return self._reconcile_clouds(ctxt)
        report = Report()
        started = time.monotonic()
        pools = {p["id"]: p for p in db.pool_list(ctxt)}
        owned = {pool_id for pool_id, pool in pools.items()
                 if self._owns(pool_id) and self._in_cloud(pool)}
        orphans = self._owns(ORPHANS_KEY)
        if not owned and not orphans:
            return report
        before = timeutils.utcnow() - CLOCK_MARGIN
        # The cloud first, then the database (see the module docstring).
        listing = self.compute.list_servers(tags=[compute_base.BROKER_TAG])
        desktops = db.reconcile_desktops(ctxt, owned)
        report["desktops"] = len(desktops)
        by_server = {d["server_id"]: d for d in desktops if d["server_id"]}
        by_id = {d["id"]: d for d in desktops}

        matched = {}
        attach = []
        unknown = {}     # pool id -> servers naming no desktop we have
        leftovers = []
        for server in listing:
            if compute_base.BROKER_TAG not in (server.tags or ()):
                # The cloud's tag filter let it through: still not ours.
                report["untagged"] += 1
                continue
            pool_id = server_pool(server)
            if pool_id is None:
                LOG.warning("Server %s carries the broker tag but names no "
                            "pool; left alone", server.id)
                report["untagged"] += 1
                continue
            if pool_id not in pools:
                if orphans:
                    leftovers.append((server, "pool %s no longer exists"
                                      % pool_id))
                continue
            if pool_id not in owned:
                continue
            report["servers"] += 1
            desktop = by_server.get(server.id)
            if desktop is not None:
                matched[server.id] = server
                continue
            desktop = by_id.get(
                (server.metadata or {}).get(compute_base.META_DESKTOP))
            if desktop is None:
                unknown.setdefault(pool_id, []).append(server)
            elif desktop["server_id"] is None and \
                    desktop["state"] == models.BUILDING:
                attach.append((desktop["id"], server.id))
                desktop["server_id"] = server.id
                matched[server.id] = server
            else:
                leftovers.append((server, "desktop %s has server %s" % (
                    desktop["id"], desktop["server_id"])))

        create = []
        for pool_id, servers in unknown.items():
            adopt, extra = self._adoptable(pools[pool_id], desktops,
                                           servers, by_id)
            create.extend(adopt)
            leftovers.extend((s, "pool %s does not want it" %
                              pools[pool_id]["name"]) for s in extra)
        if attach or create:
            attached, created = db.desktops_adopt(ctxt, attach, create)
            report["attached"], report["adopted"] = attached, created
        self._delete_leftovers(ctxt, leftovers, report)
        self._check(ctxt, [d for d in desktops if d["server_id"]], matched,
                    before, report, states=HOLDS_SERVER, by="reconciler")
        self._log("Reconciler", report, started)
        return report

    def _adoptable(self, pool, desktops, servers, by_id):
        """Split unknown servers into rows to create and servers to delete.

        A pool wants a server while it is enabled, below min_ready (ready
        plus building) and below max_size; healthy servers go first, and
        each candidate is looked at once more (it may have been deleted
        with its desktop since the listing).
        """
        states = {}
        for desktop in desktops:
            if desktop["pool_id"] == pool["id"]:
                states[desktop["state"]] = states.get(desktop["state"], 0) + 1
        live = sum(n for state, n in states.items() if state in LIVE)
        coming = states.get(models.READY, 0) + states.get(models.BUILDING, 0)
        room = 0
        if pool["enabled"]:
            room = max(0, min(pool["max_size"] - live,
                              pool["min_ready"] - coming))
        rows, extra = [], []
        order = sorted(servers, key=lambda s: s.status != compute_base.ACTIVE)
        for server in order:
            if room <= 0 or server.status not in (compute_base.ACTIVE,
                                                  compute_base.BUILD):
                extra.append(server)
                continue
            try:
                server = self.compute.get_server(server.id)
            except exception.ServerNotFound:
                continue
            except exception.VdiBrokerException as e:
                LOG.warning("Server %(id)s not adopted: %(error)s",
                            {"id": server.id, "error": e})
                continue
            desktop_id = (server.metadata or {}).get(
                compute_base.META_DESKTOP)
            if not uuidutils.is_uuid_like(desktop_id) or \
                    desktop_id in by_id:
                desktop_id = uuidutils.generate_uuid()
            by_id[desktop_id] = None
            rows.append({"id": desktop_id, "pool_id": pool["id"],
                         "name": (server.name or desktop_id)[:255],
                         "server_id": server.id, "host": server.host,
                         "address": server.address,
                         "state_reason": "adopted by the reconciler"})
            room -= 1
        return rows, extra

    def _delete_leftovers(self, ctxt, leftovers, report):
        events = []
        for server, why in leftovers:
            try:
                try:
                    self.compute.delete_server(server.id)
                except exception.ComputeUnavailable:
                    raise
                except exception.ComputeError:
                    # A locked server (a quarantine whose desktop row is
                    # gone) is refused to non-admins: unlock, try again.
                    self.compute.unlock_server(server.id)
                    self.compute.delete_server(server.id)
            except exception.VdiBrokerException as e:
                LOG.warning("Leftover server %(id)s not deleted: %(error)s",
                            {"id": server.id, "error": e})
                report["failed"] += 1
                continue
            report["deleted"] += 1
            events.append({"kind": "reconcile", "action": "server.delete",
                           "actor": "reconciler", "target_type": "server",
                           "target_id": server.id,
                           "pool_id": server_pool(server),
                           "message": ("leftover server %s deleted: %s"
                                       % (server.name, why))[:1000]})
        if events:
            db.events_record(ctxt, events)

    # -- shared by both ----------------------------------------------------

    def _check(self, ctxt, desktops, servers, before, report, states, by):
        """Vanished servers, faulty servers and changed addresses.

        ``desktops`` are compared with ``servers`` ({id: Server}), the
        listing of every server they could have.
        """
        vanished, faults, placement = [], {}, []
        for desktop in desktops:
            if desktop["state"] not in states or not desktop["server_id"]:
                continue
            server = servers.get(desktop["server_id"])
            if server is None:
                vanished.append(desktop["id"])
                continue
            if desktop["state"] in IN_SERVICE and server.status in FAULTY:
                faults[desktop["id"]] = _fault_reason(server)
                continue
            if server.status == compute_base.ACTIVE:
                address = server.address or desktop["address"]
                host = server.host or desktop["host"]
                if (address, host) != (desktop["address"], desktop["host"]):
                    placement.append({"id": desktop["id"],
                                      "address": address, "host": host})
        if vanished:
            marked = db.desktops_mark_vanished(ctxt, vanished, before)
            report["vanished"] = len(marked)
            if marked and self.manager.notifier.enabled:
                seen = {desktop["id"]: desktop for desktop in desktops}
                for desktop_id in marked:
                    self.manager.notify_desktop(ctxt, dict(
                        seen[desktop_id], state=models.ERROR,
                        state_reason="server vanished"))
            if marked:
                LOG.warning("%d desktop(s) lost their server; the pool "
                            "manager replaces them", len(marked))
        if faults:
            # Only from the states they were seen in: a desktop the pool
            # manager has just marked error is replaced, not quarantined.
            done = self.manager.desktop_actions.quarantine_many(
                ctxt, faults, by, source=by, from_states=IN_SERVICE)
            report["quarantined"] = len(done)
        if placement:
            report["updated"] = db.desktops_update_placement(ctxt,
                                                             placement)

    @staticmethod
    def _log(what, report, started):
        report["seconds"] = round(time.monotonic() - started, 3)
        changed = any(report[key] for key in (
            "attached", "adopted", "deleted", "vanished", "quarantined",
            "updated", "failed"))
        (LOG.info if changed else LOG.debug)(
            "%(what)s: %(report)s", {"what": what, "report": dict(report)})
