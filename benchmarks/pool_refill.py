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

"""Refill an empty pool of DESKTOPS desktops with the pool manager.

Creates one pool (min_ready = max_size = DESKTOPS) on a fresh database
(SQLite file by default, or a MariaDB / PostgreSQL URL), with the fake
cloud booting every server in BOOT_TIME seconds and a build limit of
LIMIT (global and per pool), then runs the pool manager's passes every
INTERVAL seconds, in this process, until every desktop is ready. Prints:

* the conductor's CPU time per boot (process CPU time of all passes /
  desktops booted; the fake cloud runs in the same process and is
  counted too) -- the target is 5 ms or less;
* the wall time against the ideal DESKTOPS / LIMIT x BOOT_TIME (a pass
  sees a finished boot only at the next pass, so up to INTERVAL more per
  wave of boots);
* passes, the slowest pass and the most desktops seen building at once.

    python benchmarks/pool_refill.py
    python benchmarks/pool_refill.py --desktops 1000 --limit 50 \
        --boot-time 2 --interval 0.5
    python benchmarks/pool_refill.py --db-url \
        mysql+pymysql://openstack_citest:openstack_citest@127.0.0.1/vdi_bench

Run by hand; it prints figures and asserts nothing but the limit.
"""

import argparse
import cProfile
import math
import pstats
import sys
import tempfile
import time

from oslo_db.sqlalchemy import engines

from vdi_broker.cmd import init_backend  # noqa: F401
from vdi_broker.compute import fake
from vdi_broker import conf as vdi_conf
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker.conf import opts
from vdi_broker import context
from vdi_broker.db import api as db
from vdi_broker.db import migration
from vdi_broker.db.sqlalchemy import engine as db_engine
from vdi_broker.db.sqlalchemy import models


def build(args, tmp):
    conf = vdi_conf.CONF
    opts.set_lib_defaults()
    conf([], project="vdi-broker", default_config_files=[])
    url = args.db_url or "sqlite:///%s/bench.sqlite" % tmp
    conf.set_override("connection", url, "database")
    conf.set_override("driver", "fake", "compute")
    conf.set_override("boot_time", args.boot_time, "fake_compute")
    conf.set_override("max_concurrent_builds", args.limit, "conductor")
    db_engine.configure(conf)
    engine = engines.create_engine(url)
    migration.db_sync(engine)
    engine.dispose()
    ctxt = context.get_admin_context()
    pool = db.pool_create(ctxt, {
        "name": "refill", "flavor": "m1.desktop", "image": "golden",
        "networks": ["net"], "min_ready": args.desktops,
        "max_size": args.desktops, "max_concurrent_builds": args.limit,
        "console_type": "rdp", "release_action": "reboot"})
    cloud = fake.FakeCloud()
    manager = conductor_manager.ConductorManager(
        conf, compute_driver=fake.FakeComputeDriver(conf, cloud=cloud))
    return ctxt, pool, cloud, manager


def refill(args, ctxt, pool, cloud, manager):
    passes = []
    most_building = 0
    wall0 = time.monotonic()
    cpu0 = time.process_time()
    while True:
        started = time.monotonic()
        cpu = time.process_time()
        manager.pool_upkeep(ctxt)
        passes.append((time.monotonic() - started,
                       time.process_time() - cpu))
        counts = db.pool_desktop_counts(ctxt, [pool["id"]]).get(
            pool["id"], {})
        building = counts.get(models.BUILDING, 0)
        if building > args.limit:
            sys.exit("build limit broken: %d building" % building)
        most_building = max(most_building, building)
        if counts.get(models.READY, 0) >= args.desktops:
            break
        if time.monotonic() - wall0 > args.give_up:
            sys.exit("not refilled after %d s: %s" % (args.give_up, counts))
        time.sleep(max(0.0, started + args.interval - time.monotonic()))
    return {"wall": time.monotonic() - wall0,
            "cpu": time.process_time() - cpu0, "passes": passes,
            "most_building": most_building,
            "creates": cloud.requests["create"],
            "lists": cloud.requests["list"], "shows": cloud.requests["show"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--desktops", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=50,
                        help="build limit, global and of the pool")
    parser.add_argument("--boot-time", type=float, default=2.0)
    parser.add_argument("--interval", type=float, default=0.5,
                        help="seconds between pass starts "
                             "([conductor] pool_interval)")
    parser.add_argument("--db-url")
    parser.add_argument("--give-up", type=float, default=600)
    parser.add_argument("--profile", action="store_true",
                        help="print the top functions by CPU time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vdi-refill-") as tmp:
        ctxt, pool, cloud, manager = build(args, tmp)
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        result = refill(args, ctxt, pool, cloud, manager)
        if profiler:
            profiler.disable()
    ideal = math.ceil(args.desktops / args.limit) * args.boot_time
    boots = result["creates"]
    pass_wall = [w for w, _ in result["passes"]]
    pass_cpu = [c for _, c in result["passes"]]
    print("desktops %d, build limit %d, boot time %.1f s, pass interval "
          "%.1f s, database %s" % (args.desktops, args.limit,
                                   args.boot_time, args.interval,
                                   (args.db_url or "sqlite").split(":")[0]))
    print("boots               %d (cloud requests: %d create, %d list, "
          "%d show)" % (boots, result["creates"], result["lists"],
                        result["shows"]))
    print("CPU per boot        %.2f ms (%.2f s CPU in all)" % (
        1000 * result["cpu"] / max(boots, 1), result["cpu"]))
    print("wall time           %.1f s (ideal %.1f s: %.2fx)" % (
        result["wall"], ideal, result["wall"] / ideal))
    print("passes              %d, slowest %.0f ms wall / %.0f ms CPU, "
          "mean %.0f ms CPU" % (len(result["passes"]), 1000 * max(pass_wall),
                                1000 * max(pass_cpu),
                                1000 * sum(pass_cpu) / len(pass_cpu)))
    print("most building       %d" % result["most_building"])
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
