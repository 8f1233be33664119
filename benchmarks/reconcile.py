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

"""One reconciler pass over a big fake cloud.

Builds a fresh database (SQLite file by default, or a MariaDB /
PostgreSQL URL) and a fake cloud with SERVERS broker servers over POOLS
pools, written directly (no boots), in a mix of:

* healthy: a ready or assigned desktop (a tenth of the assigned ones
  bound to a user) and its ACTIVE server;
* forgotten boots: a building desktop without a server id, and a server
  naming it (attached);
* orphans: servers naming a deleted pool, or a pool that is full (both
  deleted);
* vanished: desktops whose server is gone (marked error);
* drifted: servers in SHUTOFF or ERROR behind a ready or assigned desktop
  (quarantined, their servers locked, bindings moved), or with a new
  address (written back);
* untagged: servers of someone else, which must stay untouched.

Then it times ConductorManager.reconcile() (the full pass), a second pass
(steady state: nothing to do) and a health check, and prints what each
found and did. Run by hand:

    python benchmarks/reconcile.py --servers 20000
    python benchmarks/reconcile.py --db-url \
        postgresql+psycopg2://openstack_citest:openstack_citest@127.0.0.1/vdi_bench

It asserts nothing but its own sanity (the untagged servers survive,
every orphan is gone).
"""

import argparse
import cProfile
import datetime
import pstats
import sys
import tempfile
import time
import uuid

from oslo_db.sqlalchemy import engines
from oslo_utils import timeutils
import sqlalchemy as sa

from vdi_broker.cmd import init_backend  # noqa: F401
from vdi_broker.compute import base as compute_base
from vdi_broker.compute import fake as fake_compute
from vdi_broker import conf as vdi_conf
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker.conf import opts
from vdi_broker import context
from vdi_broker.db import api as db
from vdi_broker.db import migration
from vdi_broker.db.sqlalchemy import engine as db_engine
from vdi_broker.db.sqlalchemy import models


def _server(cloud, pool_id, desktop_id, n, status=compute_base.ACTIVE,
            tags=None):
    server_id = str(uuid.uuid4())
    metadata = {compute_base.META_BROKER: "1",
                compute_base.META_POOL: pool_id}
    if desktop_id:
        metadata[compute_base.META_DESKTOP] = desktop_id
    cloud.servers[server_id] = {
        "id": server_id, "name": "vdi-bench-%06d" % n, "status": status,
        "host": "compute-%d" % (n % 50),
        "address": "10.%d.%d.%d" % (n // 62500, n // 250 % 250,
                                    n % 250 + 1),
        "metadata": metadata,
        "tags": (tags if tags is not None else
                 [compute_base.BROKER_TAG,
                  compute_base.POOL_TAG_PREFIX + pool_id]),
        "image": "img", "flavor": "f", "ready_at": 0, "locked": None,
    }
    return server_id


def build(args, tmp):
    conf = vdi_conf.CONF
    opts.set_lib_defaults()
    conf([], project="vdi-broker", default_config_files=[])
    url = args.db_url or "sqlite:///%s/bench.sqlite" % tmp
    conf.set_override("connection", url, "database")
    conf.set_override("driver", "fake", "compute")
    db_engine.configure(conf)
    engine = engines.create_engine(url)
    migration.db_sync(engine)

    ctxt = context.get_admin_context()
    cloud = fake_compute.FakeCloud()
    per_pool = args.servers // args.pools
    pools = [db.pool_create(ctxt, {
        "name": "bench-%03d" % i, "flavor": "f", "image": "i",
        "console_type": "rdp", "release_action": "reboot",
        "min_ready": per_pool, "max_size": per_pool})
        for i in range(args.pools)]
    share = {"orphan": args.orphans, "vanished": args.vanished,
             "drifted": args.drifted, "forgotten": args.forgotten}
    desktops, bindings = [], []
    kinds = {k: 0 for k in ("healthy", "orphan", "vanished", "drifted",
                            "forgotten")}
    then = timeutils.utcnow() - datetime.timedelta(hours=1)
    n = 0
    i = -1
    while sum(kinds.values()) - kinds["vanished"] < \
            args.servers - args.spare:
        i += 1
        pool = pools[i % len(pools)]
        r = (i * 7919) % 1000 / 1000.0  # spread the kinds evenly
        kind = "healthy"
        edge = 0.0
        for name, part in share.items():
            edge += part
            if r < edge:
                kind = name
                break
        kinds[kind] += 1
        n += 1
        desktop_id = str(uuid.uuid4())
        state = models.ASSIGNED if i % 5 == 0 else models.READY
        row = {"id": desktop_id, "pool_id": pool["id"],
               "name": "vdi-bench-%06d" % n, "state": state,
               "assigned_user": "agent%06d" % i if state ==
               models.ASSIGNED else None,
               "created_at": then, "updated_at": then, "generation": 1}
        if kind == "orphan":
            # Half of a deleted pool, half of a full one.
            owner = "deleted-pool" if i % 2 else pool["id"]
            _server(cloud, owner, str(uuid.uuid4()), n)
            continue
        if kind == "forgotten":
            row.update(state=models.BUILDING, assigned_user=None,
                       server_id=None)
            _server(cloud, pool["id"], desktop_id, n,
                    status=compute_base.BUILD)
        elif kind == "vanished":
            row["server_id"] = str(uuid.uuid4())
        else:
            status = compute_base.ACTIVE
            server_id = _server(cloud, pool["id"], desktop_id, n)
            row["server_id"] = server_id
            row["address"] = cloud.servers[server_id]["address"]
            row["host"] = cloud.servers[server_id]["host"]
            if kind == "drifted":
                if i % 2:
                    status = (compute_base.SHUTOFF if i % 4 == 1
                              else compute_base.ERROR)
                    cloud.servers[server_id]["status"] = status
                else:
                    cloud.servers[server_id]["address"] = "172.16.%d.%d" % (
                        i // 250 % 250, i % 250 + 1)
        desktops.append(row)
        if row["state"] == models.ASSIGNED and i % 50 == 0:
            bindings.append({"id": str(uuid.uuid4()), "kind": "user",
                             "key": row["assigned_user"],
                             "desktop_id": desktop_id,
                             "pool_id": pool["id"], "created_at": then,
                             "revision": 1})
    # Someone else's servers in the same project.
    for i in range(args.untagged):
        _server(cloud, pools[0]["id"], None, n + i, tags=["not-ours"])
    kinds["untagged"] = args.untagged
    # Room for the pools to take the bound users' bindings over.
    kinds["spare"] = args.spare
    for i in range(args.spare):
        pool = pools[i % len(pools)]
        desktop_id = str(uuid.uuid4())
        server_id = _server(cloud, pool["id"], desktop_id, n + 10 ** 6 + i)
        desktops.append({"id": desktop_id, "pool_id": pool["id"],
                         "name": "vdi-spare-%06d" % i,
                         "state": models.READY, "server_id": server_id,
                         "address": cloud.servers[server_id]["address"],
                         "host": cloud.servers[server_id]["host"],
                         "created_at": then, "updated_at": then,
                         "generation": 1})
    columns = ("id", "pool_id", "name", "state", "assigned_user",
               "server_id", "address", "host", "created_at", "updated_at",
               "generation")
    with engine.begin() as conn:
        table = models.Desktop.__table__
        for start in range(0, len(desktops), 2000):
            conn.execute(sa.insert(table), [
                {c: d.get(c) for c in columns}
                for d in desktops[start:start + 2000]])
        if bindings:
            conn.execute(sa.insert(models.Binding.__table__), bindings)
    engine.dispose()
    return conf, ctxt, cloud, kinds, len(desktops)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=20000)
    parser.add_argument("--pools", type=int, default=20)
    parser.add_argument("--orphans", type=float, default=0.03)
    parser.add_argument("--vanished", type=float, default=0.03)
    parser.add_argument("--drifted", type=float, default=0.04)
    parser.add_argument("--forgotten", type=float, default=0.01)
    parser.add_argument("--untagged", type=int, default=200)
    parser.add_argument("--spare", type=int, default=200,
                        help="Extra ready desktops (for moved bindings).")
    parser.add_argument("--db-url")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        conf, ctxt, cloud, kinds, rows = build(args, tmp)
        tagged = sum(1 for v in cloud.servers.values()
                     if compute_base.BROKER_TAG in v["tags"])
        print("backend %s: %d broker servers in the cloud, %d in all (%s), "
              "%d desktop rows, %d pools; set up in %.1f s" % (
                  conf.database.connection.split(":")[0], tagged,
                  len(cloud.servers), ", ".join(
                      "%s %d" % kv for kv in kinds.items()), rows,
                  args.pools, time.perf_counter() - start))
        untagged = {s for s, v in cloud.servers.items()
                    if compute_base.BROKER_TAG not in v["tags"]}
        driver = fake_compute.FakeComputeDriver(conf, cloud=cloud)
        manager = conductor_manager.ConductorManager(conf,
                                                     compute_driver=driver)
        profiler = cProfile.Profile() if args.profile else None
        for what, run in (("reconcile", manager.reconcile),
                          ("reconcile again", manager.reconcile),
                          ("health check", manager.health_check)):
            if profiler and what == "reconcile":
                profiler.enable()
            start = time.perf_counter()
            report = run(ctxt)
            wall = time.perf_counter() - start
            if profiler and what == "reconcile":
                profiler.disable()
            print("  %-16s %6.2f s  %s" % (what, wall, ", ".join(
                "%s %s" % (k, v) for k, v in report.items()
                if k != "seconds")))
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        left = sum(1 for v in cloud.servers.values()
                   if v["metadata"].get(compute_base.META_POOL) ==
                   "deleted-pool")
        ok = untagged <= set(cloud.servers) and left == 0
        print("  untagged servers untouched: %s; servers of the deleted "
              "pool left: %d" % (untagged <= set(cloud.servers), left))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
