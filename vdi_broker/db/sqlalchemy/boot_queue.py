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

"""The boot queue's storage: admissions, throttle feedback and counts.

Every boot (a create, a restart of a release, an operator's restart)
takes a *slot* before it is sent to Nova, and the slots of the whole
deployment are counted here, from the desktops themselves:

* in flight: every ``building`` desktop (a create, up to its readiness
  probe; a probe reboot is part of the boot it belongs to), and every
  releasing, assigned or quarantined desktop with ``boot_started_at``
  (a restart);
* queued: the releasing, assigned or quarantined desktops with
  ``boot_queued_at`` and no ``boot_started_at``, in the order of
  ``boot_queued_at``; and each pool's ``boots_wanted``, the new desktops
  its pool manager wants but may not boot yet.

An admission (:func:`boot_admit`) is one transaction that first writes
the ``boot_gates`` row, then counts and starts boots: every admission of
every conductor and API-side logout runs after the previous one
committed, so the limits hold across any number of conductors. Writing
the row (not only reading it FOR UPDATE) also makes two admissions on
different Galera nodes conflict at commit; the loser runs again.
"""

import collections

from oslo_utils import timeutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models

main_context_manager = engine.main_context_manager

_DESKTOPS = models.Desktop.__table__
_POOLS = models.Pool.__table__
_HOSTS = models.BootHost.__table__
_GATES = models.BootGate.__table__

GLOBAL_GATE = "global"
# States in which a desktop waits for, or holds, a restart's boot slot.
RESTART_STATES = (models.RELEASING, models.ASSIGNED, models.QUARANTINED)
# The longest queue one admission reads (the rest waits for the next).
QUEUE_READ = 10000
# Sorts after every queue time (pools with only new desktops to boot).
_LAST = (1, None)

__all__ = (
    "boot_admit",
    "boot_feedback",
    "boot_hosts",
    "pool_boot_counts",
    "desktop_boot_request",
    "desktops_restarting",
)


def _in_flight(session):
    """Counter of boots in flight by (pool_id, host)."""
    table = _DESKTOPS
    counts = collections.Counter()
    for where in ((table.c.state == models.BUILDING,),
                  (table.c.boot_started_at.is_not(None),
                   table.c.state.in_(RESTART_STATES))):
        stmt = (sa.select(table.c.pool_id, table.c.host, sa.func.count())
                .where(*where).group_by(table.c.pool_id, table.c.host))
        for pool_id, host, count in session.execute(stmt):
            counts[(pool_id, host)] += count
    return counts


def _queued(session):
    table = _DESKTOPS
    return session.execute(
        sa.select(table.c.id, table.c.pool_id, table.c.host,
                  table.c.boot_queued_at)
        .where(table.c.boot_queued_at.is_not(None),
               table.c.boot_started_at.is_(None),
               table.c.state.in_(RESTART_STATES))
        .order_by(table.c.boot_queued_at, table.c.id)
        .limit(QUEUE_READ)).all()


def _take_gate(session):
    """Write the gate row: admissions take turns from here on."""
    now = timeutils.utcnow()
    done = session.execute(
        sa.update(_GATES).where(_GATES.c.name == GLOBAL_GATE)
        .values(admissions=_GATES.c.admissions + 1, updated_at=now))
    if done.rowcount == 0:
        # A database made without the migration's row (a duplicate from
        # a concurrent insert runs the transaction again).
        session.execute(sa.insert(_GATES).values(
            name=GLOBAL_GATE, admissions=1, updated_at=now))


class _Hosts:
    """Boots in flight and allowed per compute host, during a plan."""

    def __init__(self, session, in_flight, allowance):
        self.used = collections.Counter()
        self.unknown = 0
        for (_pool, host), count in in_flight.items():
            if host is None:
                self.unknown += count
            else:
                self.used[host] += count
        self._session = session
        self._rows = {row["host"]: dict(row) for row in
                      session.execute(sa.select(_HOSTS)).mappings()}
        self._known = None
        self._allowance = allowance
        self._cache = {}
        self.created = 0

    @property
    def known(self):
        """Every host a desktop is known to run on.

        Read when needed: only new desktops need them.
        """
        if self._known is None:
            known = self._session.execute(
                sa.select(_DESKTOPS.c.host)
                .where(_DESKTOPS.c.host.is_not(None))
                .distinct()).scalars().all()
            self._known = sorted(set(known) | set(self.used))
        return self._known

    def allowed(self, host):
        """(boots allowed on the host, a note saying why, or '')."""
        if host not in self._cache:
            self._cache[host] = self._allowance(host, self._rows.get(host))
        return self._cache[host]

    def room(self, host):
        return self.allowed(host)[0] - self.used[host]

    def full(self):
        """A known host without room, or None."""
        for host in self.known:
            if self.room(host) <= 0:
                return host
        return None

    def create_room(self):
        """New desktops that may start now (Nova picks their hosts).

        0 while a known host has no room; else the room left on the
        known hosts, less the boots in flight on hosts not known yet;
        one host's worth when no host is known at all.
        """
        if self.full() is not None:
            return 0
        if not self.known:
            total = self.allowed(None)[0]
        else:
            total = sum(self.room(host) for host in self.known)
        return total - self.unknown - self.created

    def describe(self, host):
        allowed, note = self.allowed(host)
        text = "host %s: %d of %d boots in flight" % (
            host, self.used[host], allowed)
        return text + (" (%s)" % note if note else "")


def _pool_rows(session, pool_ids):
    table = _POOLS
    where = table.c.boots_wanted > 0
    if pool_ids:
        where = sa.or_(where, table.c.id.in_(sorted(pool_ids)))
    return {row["id"]: dict(row) for row in
            session.execute(sa.select(table).where(where)).mappings()}


@common.retry_on_conflict
@main_context_manager.writer
def boot_admit(ctx, global_limit, pool_allowance, host_allowance,
               pools=(), only=None, cloud_limit=None):
    """Start the boots the limits allow now; queue the rest.

    ``global_limit``: boots in flight at most in the deployment.
    ``pool_allowance(pool)``: a pool's allowed boots in flight (the pool
    a dict of its row). ``host_allowance(host, row)``: ``(allowed,
    note)`` for a compute host (``row`` its boot_hosts row as a dict, or
    None; ``host`` None: a host not known yet).

    ``pools``: the caller's pools, in the order they get slots (the
    emptiest first), each ``{"id", "rows"}`` where ``rows`` are the new
    desktops (row dicts) it wants to boot. Their queued restarts, and the
    new desktops, are started here; ``boots_wanted`` and
    ``boot_wait_reason`` of these pools record what waits and why.
    ``only``: ids of queued desktops the caller may start (the logout and
    operator paths; ``pools`` is then empty). ``cloud_limit(cloud)``:
    boots in flight at most in one cloud (a pool's ``cloud`` column; 0
    or None: no limit but ``global_limit``).

    Slots go round-robin over every pool with work (the caller's and the
    other conductors', whose queued restarts and ``boots_wanted`` are
    here too), one slot per pool per round, the pool with the oldest
    queued restart first; within a pool, queued restarts first, oldest
    first (one whose host is full is passed over for the next), then new
    desktops. Slots that fall to other conductors' pools are left to
    them. Returns ``{"restarts": [desktops started], "created":
    {pool_id: [rows inserted]}, "in_flight": boots in flight now}``.
    """
    session = ctx.session
    _take_gate(session)
    now = timeutils.utcnow()
    in_flight = _in_flight(session)
    per_pool = collections.Counter()
    for (pool_id, _host), count in in_flight.items():
        per_pool[pool_id] += count
    total = sum(per_pool.values())
    hosts = _Hosts(session, in_flight, host_allowance)
    mine = {p["id"]: list(p["rows"]) for p in pools}
    allowed_ids = set(only or ())
    queues = collections.OrderedDict()
    for row in _queued(session):
        queues.setdefault(row.pool_id, []).append(row)
    rows = _pool_rows(session, set(mine) | set(queues)
                      | (set(per_pool) if cloud_limit else set()))
    creates = {}
    for pool_id, row in rows.items():
        if pool_id in mine:
            creates[pool_id] = len(mine[pool_id])
        elif row["enabled"]:
            creates[pool_id] = row["boots_wanted"] or 0
    position = {p["id"]: i for i, p in enumerate(pools)}

    def order(pool_id):
        queue = queues.get(pool_id)
        first = (0, queue[0].boot_queued_at) if queue else _LAST
        return first, position.get(pool_id, len(position)), pool_id

    working = sorted((p for p in rows
                      if queues.get(p) or creates.get(p)), key=order)
    room = {p: pool_allowance(rows[p]) - per_pool[p] for p in working}
    free = global_limit - total
    cloud_room = {}
    if cloud_limit:
        for pool_id in working:
            cloud = rows[pool_id]["cloud"]
            limit = cloud_limit(cloud)
            if limit and cloud not in cloud_room:
                cloud_room[cloud] = limit - sum(
                    n for p, n in per_pool.items()
                    if p in rows and rows[p]["cloud"] == cloud)
    started, created = [], collections.Counter()
    progress = True
    while free > 0 and progress:
        progress = False
        for pool_id in working:
            if free <= 0:
                break
            if room[pool_id] <= 0:
                continue
            cloud = rows[pool_id]["cloud"] if cloud_room else None
            if cloud in cloud_room and cloud_room[cloud] <= 0:
                continue
            queue = queues.get(pool_id) or []
            pick = next((i for i, d in enumerate(queue)
                         if d.host is None or hosts.room(d.host) > 0), None)
            if pick is not None:
                desktop = queue.pop(pick)
                if desktop.host is None:
                    hosts.unknown += 1
                else:
                    hosts.used[desktop.host] += 1
                if pool_id in mine or desktop.id in allowed_ids:
                    started.append(desktop.id)
            elif creates.get(pool_id) and hosts.create_room() > 0:
                creates[pool_id] -= 1
                hosts.created += 1
                if pool_id in mine:
                    created[pool_id] += 1
            else:
                continue
            room[pool_id] -= 1
            if cloud in cloud_room:
                cloud_room[cloud] -= 1
            free -= 1
            progress = True

    result = {"restarts": [], "created": {}}
    if started:
        session.execute(
            sa.update(_DESKTOPS)
            .where(_DESKTOPS.c.id.in_(started),
                   _DESKTOPS.c.boot_started_at.is_(None),
                   _DESKTOPS.c.boot_queued_at.is_not(None),
                   _DESKTOPS.c.state.in_(RESTART_STATES))
            .values(boot_started_at=now, updated_at=now,
                    generation=_DESKTOPS.c.generation + 1))
        result["restarts"] = [dict(row) for row in session.execute(
            # (Under the gate nobody else starts them.)
            sa.select(_DESKTOPS).where(
                _DESKTOPS.c.id.in_(started),
                _DESKTOPS.c.boot_started_at.is_not(None))
            .order_by(_DESKTOPS.c.boot_queued_at,
                      _DESKTOPS.c.id)).mappings()]
    inserts = []
    for pool_id, count in created.items():
        new = [dict(row, state=models.BUILDING, created_at=now,
                    boot_started_at=now, generation=1)
               for row in mine[pool_id][:count]]
        result["created"][pool_id] = new
        inserts.extend(new)
    if inserts:
        session.execute(sa.insert(_DESKTOPS), inserts)
    for pool_id in set(mine) | set(
            d["pool_id"] for d in result["restarts"]) | _pools_of(
                queues, allowed_ids):
        if pool_id not in rows:
            continue
        if pool_id not in mine:
            # A logout's pool (kept by any conductor): only why it waits.
            reason = None
            if queues.get(pool_id):
                reason = _why(rows[pool_id], queues[pool_id], free,
                              room.get(pool_id, 0),
                              pool_allowance(rows[pool_id]), global_limit,
                              hosts)
            if reason is not None and \
                    rows[pool_id]["boot_wait_reason"] != reason:
                common.config_changed(session)
                session.execute(sa.update(_POOLS)
                                .where(_POOLS.c.id == pool_id)
                                .values(boot_wait_reason=reason))
            continue
        waiting = max(0, len(mine[pool_id]) - created[pool_id])
        reason = None
        if waiting or queues.get(pool_id):
            reason = _why(rows[pool_id], queues.get(pool_id), free,
                          room.get(pool_id, 0),
                          pool_allowance(rows[pool_id]), global_limit,
                          hosts)
        values = {}
        if rows[pool_id]["boots_wanted"] != waiting:
            values["boots_wanted"] = waiting
        if rows[pool_id]["boot_wait_reason"] != reason:
            values["boot_wait_reason"] = reason
        if values:
            common.config_changed(session)
            session.execute(sa.update(_POOLS)
                            .where(_POOLS.c.id == pool_id).values(**values))
    result["in_flight"] = total + len(result["restarts"]) + len(inserts)
    return result


def _pools_of(queues, desktop_ids):
    """The pools of the given desktops still in the queues."""
    if not desktop_ids:
        return set()
    return {pool_id for pool_id, queue in queues.items()
            if any(d.id in desktop_ids for d in queue)}


def _why(pool, queue, free, room, allowance, global_limit, hosts):
    """Why a pool's boots wait, in words, for its status."""
    if free <= 0:
        return ("global limit: %d boots in flight over all pools and "
                "conductors ([conductor] max_concurrent_builds %d)" % (
                    global_limit - free, global_limit))[:1024]
    if room <= 0:
        limit = pool["max_concurrent_builds"]
        text = "pool allowance: %d of %d boots in flight" % (
            allowance - room, allowance)
        if allowance < limit:
            text += (" (max_concurrent_builds %d, lowered by the adaptive "
                     "throttle)" % limit)
        return text[:1024]
    for desktop in queue or ():
        if desktop.host is not None and hosts.room(desktop.host) <= 0:
            return hosts.describe(desktop.host)[:1024]
    host = hosts.full()
    if host is not None:
        return ("new desktops held back while %s" %
                hosts.describe(host))[:1024]
    return ("new desktops held back: no room left on the known compute "
            "hosts")[:1024]


@common.retry_on_conflict
@main_context_manager.writer
def boot_feedback(ctx, pools=None, hosts=None):
    """Apply the adaptive throttle to pools and hosts, under row locks.

    ``pools``: {pool_id: function(pool dict) -> values to write or None};
    ``hosts``: {host: function(boot_hosts row dict, or None for a host
    without one) -> values or None}. Runs every function on the row as
    it is now, locked, so that two conductors changing one host take
    turns.
    """
    session = ctx.session
    now = timeutils.utcnow()
    for pool_id in sorted(pools or {}):
        row = session.execute(
            sa.select(_POOLS).where(_POOLS.c.id == pool_id)
            .with_for_update()).mappings().first()
        if row is None:
            continue
        values = pools[pool_id](dict(row))
        if values:
            common.config_changed(session)
            session.execute(sa.update(_POOLS).where(_POOLS.c.id == pool_id)
                            .values(**values))
    for host in sorted(hosts or {}):
        row = session.execute(
            sa.select(_HOSTS).where(_HOSTS.c.host == host)
            .with_for_update()).mappings().first()
        values = hosts[host](dict(row) if row is not None else None)
        if not values:
            continue
        if row is None:
            session.execute(sa.insert(_HOSTS).values(
                host=host, updated_at=now, **values))
        else:
            session.execute(sa.update(_HOSTS).where(_HOSTS.c.host == host)
                            .values(updated_at=now, **values))


@main_context_manager.reader
def boot_hosts(ctx):
    """Every compute host's throttle state: {host: row dict}."""
    return {row["host"]: dict(row) for row in
            ctx.session.execute(sa.select(_HOSTS)).mappings()}


@main_context_manager.reader
def pool_boot_counts(ctx, pool_ids=None):
    """{pool_id: {"queued": restarts waiting, "in_flight": boots}}."""
    table = _DESKTOPS
    counts = collections.defaultdict(lambda: {"queued": 0, "in_flight": 0})
    for (pool_id, _host), count in _in_flight(ctx.session).items():
        counts[pool_id]["in_flight"] += count
    stmt = (sa.select(table.c.pool_id, sa.func.count())
            .where(table.c.boot_queued_at.is_not(None),
                   table.c.boot_started_at.is_(None),
                   table.c.state.in_(RESTART_STATES))
            .group_by(table.c.pool_id))
    for pool_id, count in ctx.session.execute(stmt):
        counts[pool_id]["queued"] += count
    if pool_ids is not None:
        wanted = set(pool_ids)
        return {k: v for k, v in counts.items() if k in wanted}
    return dict(counts)


@main_context_manager.writer
def desktop_boot_request(ctx, desktop_id, from_states, action, values=None):
    """Queue a restart of a desktop (an operator's reboot or rebuild).

    Compare-and-swap: only from ``from_states`` and when no restart is
    queued or in flight for it yet. ``values``: more columns to set (the
    move of a ready desktop to releasing). Returns the desktop, or None.
    """
    now = timeutils.utcnow()
    table = _DESKTOPS
    done = ctx.session.execute(
        sa.update(table)
        .where(table.c.id == desktop_id,
               table.c.state.in_(list(from_states)),
               table.c.boot_queued_at.is_(None),
               table.c.boot_started_at.is_(None))
        .values(boot_queued_at=now, boot_action=action, updated_at=now,
                generation=table.c.generation + 1, **(values or {})))
    if done.rowcount != 1:
        return None
    return dict(ctx.session.execute(
        sa.select(table).where(table.c.id == desktop_id)).mappings().one())


@main_context_manager.reader
def desktops_restarting(ctx, pool_ids):
    """Assigned and quarantined desktops with a restart queued or running.

    By pool: {pool_id: [desktops]}. (Releasing ones follow their release.)
    """
    table = _DESKTOPS
    found = collections.defaultdict(list)
    for part in common.chunks(list(pool_ids)):
        for row in ctx.session.execute(
                sa.select(table).where(
                    table.c.pool_id.in_(part),
                    table.c.state.in_([models.ASSIGNED,
                                       models.QUARANTINED]),
                    sa.or_(table.c.boot_queued_at.is_not(None),
                           table.c.boot_started_at.is_not(None)))
                .order_by(table.c.boot_queued_at)).mappings():
            found[row["pool_id"]].append(dict(row))
    return dict(found)
