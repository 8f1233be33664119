# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Read-only figures for Prometheus (``GET /metrics``).

:func:`metrics_snapshot` reads, in one read transaction (one connection,
one consistent view), what the scrape's gauges need, with one grouped
query per family: the pools' settings and throttle state, their desktops
by state (:func:`~vdi_broker.db.sqlalchemy.pools.pool_desktop_counts`),
their boot queue (:func:`~vdi_broker.db.sqlalchemy.boot_queue.
pool_boot_counts`, the same figures as the pool's ``boots`` block), the
enabled schedules (for the effective target), the active sessions by
pool, and the thin clients by site and state. Nothing is written.
"""

import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import boot_queue
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker.db.sqlalchemy import pools
from vdi_broker.db.sqlalchemy import rollouts
from vdi_broker.db.sqlalchemy import schedules
from vdi_broker import states

_POOLS = models.Pool.__table__
_SESSIONS = models.ClientSession.__table__
_CLIENTS = models.ThinClient.__table__
_SEATS = models.Seat.__table__

_POOL_COLUMNS = ("id", "name", "site", "enabled", "status", "min_ready",
                 "max_size", "max_concurrent_builds", "build_allowance",
                 "boots_wanted", "boot_wait_reason", "boot_seconds",
                 "build_failures")

_POOLS_STMT = sa.select(*[_POOLS.c[name] for name in _POOL_COLUMNS])

_SESSIONS_STMT = (sa.select(_SESSIONS.c.pool_id, sa.func.count())
                  .where(_SESSIONS.c.state == "active")
                  .group_by(_SESSIONS.c.pool_id))

# A thin client's site is its own, else its seat's.
_CLIENT_SITE = sa.func.coalesce(_CLIENTS.c.site, _SEATS.c.site)
_CLIENTS_STMT = (sa.select(_CLIENT_SITE, _CLIENTS.c.status,
                           sa.func.count())
                 .select_from(_CLIENTS.outerjoin(
                     _SEATS, _SEATS.c.id == _CLIENTS.c.seat_id))
                 .group_by(_CLIENT_SITE, _CLIENTS.c.status))

__all__ = (
    "metrics_snapshot",
)


@engine.main_context_manager.reader
def metrics_snapshot(ctx):
    """What the scrape's database gauges need, in one read transaction.

    Returns {"pools": [pool dicts with the columns of _POOL_COLUMNS],
    "desktops": {pool_id: {state: count}}, "boots": {pool_id: {"queued",
    "in_flight"}}, "schedules": [enabled schedules], "sessions":
    {pool_id: active sessions}, "thin_clients": [(site, status, count)],
    "rollouts": [open image roll-outs, with their progress]}.
    """
    session = ctx.session
    return {
        "pools": [dict(row) for row in
                  session.execute(_POOLS_STMT).mappings()],
        "desktops": pools.pool_desktop_counts(ctx),
        "boots": boot_queue.pool_boot_counts(ctx),
        "schedules": schedules.schedule_list(ctx, {"enabled": True}),
        "sessions": dict(session.execute(_SESSIONS_STMT).all()),
        "thin_clients": [tuple(row) for row in
                         session.execute(_CLIENTS_STMT).all()],
        "rollouts": rollouts.rollout_list(
            ctx, {"state": list(states.ROLLOUT_OPEN)}),
    }
