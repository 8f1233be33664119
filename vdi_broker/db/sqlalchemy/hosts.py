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

"""Compute hosts as the broker sees them: desktops and boots per host.

The broker keeps no table of hosts: a host is known from the desktops
on it (``desktops.host``, Nova's ``OS-EXT-SRV-ATTR:host``) and from the
adaptive throttle's ``boot_hosts`` rows. The conductor joins these
figures with Placement's (vdi_broker/conductor/hosts.py).
"""

import collections

import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import boot_queue
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models

__all__ = ("host_figures",)

main_context_manager = engine.main_context_manager

_DESKTOPS = models.Desktop.__table__
_HOSTS = models.BootHost.__table__


@main_context_manager.reader
def host_figures(ctx):
    """The desktops and boots of every host the broker knows.

    Returns ``{"hosts": {host: {"desktops": {state: n}, "in_flight": n,
    "queued": n, "throttle": boot_hosts row or None}}, "unplaced":
    {"desktops": {state: n}, "in_flight": n, "queued": n}}``, where
    ``unplaced`` counts the desktops without a host yet (a boot Nova has
    not scheduled). Boots in flight and queued follow the boot queue's
    own counting (db/sqlalchemy/boot_queue.py).
    """
    session = ctx.session

    def blank():
        return {"desktops": collections.Counter(), "in_flight": 0,
                "queued": 0, "throttle": None}

    hosts = collections.defaultdict(blank)
    unplaced = blank()

    def entry(host):
        return unplaced if host is None else hosts[host]

    for host, state, count in session.execute(
            sa.select(_DESKTOPS.c.host, _DESKTOPS.c.state, sa.func.count())
            .group_by(_DESKTOPS.c.host, _DESKTOPS.c.state)):
        entry(host)["desktops"][state] += count
    # (A private helper of the boot queue's module: the same count the
    # admissions use, so the two pages never disagree.)
    for (_pool, host), count in boot_queue._in_flight(session).items():
        entry(host)["in_flight"] += count
    for host, count in session.execute(
            sa.select(_DESKTOPS.c.host, sa.func.count())
            .where(_DESKTOPS.c.boot_queued_at.is_not(None),
                   _DESKTOPS.c.boot_started_at.is_(None),
                   _DESKTOPS.c.state.in_(boot_queue.RESTART_STATES))
            .group_by(_DESKTOPS.c.host)):
        entry(host)["queued"] += count
    for row in session.execute(sa.select(_HOSTS)).mappings():
        hosts[row["host"]]["throttle"] = dict(row)
    wanted = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(models.Pool.boots_wanted), 0))
        .where(models.Pool.enabled == sa.true())).scalar()

    def plain(item):
        return dict(item, desktops=dict(item["desktops"]))

    return {"hosts": {h: plain(v) for h, v in hosts.items()},
            "unplaced": plain(unplaced), "creates_wanted": int(wanted or 0)}
