#!/usr/bin/env python3
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

"""Shift change: 10,000 users log in through the whole stack at once.

Starts everything on this machine (benchmarks/stack.py): slapd with the
users, MariaDB, RabbitMQ (a vhost of its own), vdi-broker-conductor, the
API under uWSGI or gunicorn, pools already full; measures the floor (one
directory login, one claim transaction, and one RPC round trip on a
release whose logins cross the message bus, each alone,
in this process); then lets every user log in with vdi-broker-loadgen's
simulator and audits the database. Prints throughput, p50/p95/p99/max,
errors, double allocations and login p50 as a multiple of the floor.

Goals on a 2-core machine: all served within 60 s, p99 <= 100 ms,
0 errors, 0 double allocations, p50 <= 2x the floor.

    python benchmarks/shift_change.py                      # 10,000 users
    python benchmarks/shift_change.py --users 2000 --concurrency 32
    python benchmarks/shift_change.py --profile            # py-spy

Needs slapd + ldap-utils, MariaDB and RabbitMQ as set up by
tools/test-setup.sh (run as root, for rabbitmqctl), and uwsgi or gunicorn
(``pip install uwsgi mysqlclient``; ``pip install py-spy`` for
--profile).
Run by hand; it asserts nothing.
"""

import argparse
import collections
import importlib.util
import os
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import stack as stack_mod  # noqa: E402

from vdi_broker.loadgen import audit  # noqa: E402
from vdi_broker.loadgen import client as loadgen_client  # noqa: E402
from vdi_broker.loadgen import runner  # noqa: E402


def _read(path):
    if not path:
        return ""
    with open(path) as f:
        return f.read()


def _own_cpu():
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def uptime():
    return subprocess.run(["uptime"], stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def _p50(samples):
    return runner.percentile(sorted(samples), 0.5)


def _timed(call, n):
    out = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        out.append(time.perf_counter() - start)
    return out


def measure_floor(stack, samples, first_user):
    """Each part of a login alone, sequentially, from this process."""
    from oslo_utils import timeutils

    from vdi_broker import context
    from vdi_broker.db import api as db
    from vdi_broker.db.sqlalchemy import engine as db_engine
    from vdi_broker.identity import ldap as ldap_driver

    stack.rpc()  # parses the stack's config into the global CONF
    conf = stack.conf
    floor = collections.OrderedDict()

    driver = ldap_driver.LdapIdentityDriver(conf)
    users = [stack_mod.username(first_user + i) for i in range(samples)]
    _timed(lambda i: driver.authenticate(users[i], stack_mod.PASSWORD), 10)
    floor["LDAP login (bind + search + groups)"] = _timed(
        lambda i: driver.authenticate(users[i], stack_mod.PASSWORD),
        samples)
    driver.close()

    db_engine.configure(conf)
    ctxt = context.get_admin_context()
    pool_id = stack.pools["floor"]

    @db.login_retry
    def claim(i):
        # The login's transaction with the decision given (no chain).
        request = {"username": "floor%05d" % i,
                   "client_id": "tc-floor-%d" % i, "seat": None}
        with db.login_transaction(ctxt, request["username"]):
            db.login_claim(ctxt, request,
                           {"pool_id": pool_id, "binding_kind": None,
                            "binding_key": None, "allocator_id": None,
                            "allocator_name": "floor"},
                           {"id": str(uuid.uuid4()),
                            "token_hash": uuid.uuid4().hex * 2,
                            "expires_at": timeutils.utcnow()})

    _timed(lambda i: claim(samples + i), 10)
    floor["claim transaction (db.login_claim)"] = _timed(claim, samples)
    if importlib.util.find_spec("vdi_broker.login") is None:
        # A release whose logins go through the conductor over RPC.
        _timed(lambda i: stack.ping(), 10)
        floor["RPC round trip (ping over RabbitMQ)"] = _timed(
            lambda i: stack.ping(), samples)
    return floor


def measure_conductor_path(stack, samples, first_user):
    """The whole login path after the bind, in this process.

    LoginService.login (what the API runs) with the stack's allocator
    chain (1 user in 10 a VIP with a user binding): wall p50, CPU and SQL
    statements per login. Not part of the floor: it is what the floor's
    claim grows into. (On a release whose API has no login service, the
    conductor's allocate, which did the same work.)
    """
    import resource

    import sqlalchemy as sa

    from vdi_broker import context
    from vdi_broker.db.sqlalchemy import engine as db_engine
    try:
        from vdi_broker.login import service
        conductor = service.LoginService(stack.conf)
        conductor.allocate = conductor.login
    except ImportError:
        from vdi_broker.conductor import manager
        conductor = manager.ConductorManager(stack.conf)
    ctxt = context.get_admin_context()
    statements = [0]

    def count(*args):
        statements[0] += 1

    def login(i):
        name = stack_mod.username(first_user + i)
        vip = stack_mod.is_vip(first_user + i)
        conductor.allocate(ctxt, {
            "principal": {
                "username": name, "display_name": name,
                "dn": "uid=%s,ou=hotel,ou=shanghai,%s" % (
                    name, stack_mod.SUFFIX),
                "groups": ["vip-agents" if vip else "agents",
                           "all-agents"],
                "attributes": {"department": ["hotel"]}},
            "client_id": "tc-path-%d" % i, "seat": None,
            "session_id": str(uuid.uuid4()),
            "token_hash": uuid.uuid4().hex * 2,
            "expires_at": "2099-01-01T00:00:00"})

    _timed(login, 10)
    engine = db_engine.get_engine()
    sa.event.listen(engine, "before_cursor_execute", count)
    before = resource.getrusage(resource.RUSAGE_SELF)
    wall = _timed(lambda i: login(10 + i), samples)
    after = resource.getrusage(resource.RUSAGE_SELF)
    sa.event.remove(engine, "before_cursor_execute", count)
    cpu = (after.ru_utime + after.ru_stime -
           before.ru_utime - before.ru_stime)
    return _p50(wall), cpu / samples, statements[0] / float(samples)


def profile_start(stack, seconds, out_dir):
    procs = []
    py_spy = os.path.join(stack_mod.BIN, "py-spy")
    targets = [("api-worker-%d" % pid, pid)
               for pid in stack.api_worker_pids()]
    targets += [("conductor-%d" % pid, pid)
                for pid in stack.conductor_pids()[1:]]
    for name, pid in targets:
        path = os.path.join(out_dir, "%s.txt" % name)
        procs.append((name, path, subprocess.Popen(
            [py_spy, "record", "--pid", str(pid), "--rate", "50", "--gil",
             "--format", "raw", "--duration", str(seconds), "--nonblocking",
             "--output", path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    return procs


def profile_report(procs, top=25):
    import signal
    for name, path, proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    for name, path, _proc in procs:
        if not os.path.exists(path):
            print("  %s: no profile" % name)
            continue
        inclusive = collections.Counter()
        own = collections.Counter()
        total = 0
        with open(path) as f:
            for line in f:
                stack_text, _sep, count = line.rstrip().rpartition(" ")
                if not count.isdigit():
                    continue
                count = int(count)
                frames = stack_text.split(";")
                # Idle threads (waiting for work) are not where time goes.
                if any(w in frames[-1] for w in (
                        "wait (threading.py", "select (selectors.py",
                        "_worker (concurrent", "poll (selectors.py",
                        "get (queue.py", "sleep", "accept (socket.py")):
                    continue
                total += count
                own[frames[-1]] += count
                for frame in set(frames):
                    if "vdi_broker" in frame or "sqlalchemy" in frame or \
                            "ldap3" in frame or "oslo_messaging" in frame \
                            or "pymysql" in frame:
                        inclusive[frame] += count
        print("  %s: %d busy samples; top own frames:" % (name, total))
        for frame, count in own.most_common(top):
            print("    %5.1f%%  %s" % (100.0 * count / max(total, 1), frame))
        print("  %s: top inclusive frames (broker, db, ldap, rpc):" % name)
        for frame, count in inclusive.most_common(top):
            print("    %5.1f%%  %s" % (100.0 * count / max(total, 1), frame))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--users", type=int, default=10000)
    p.add_argument("--concurrency", type=int, default=32,
                   help="Thin clients talking at the same time.")
    p.add_argument("--mode", choices=("storm", "ramp"), default="storm")
    p.add_argument("--rate", type=float)
    p.add_argument("--api-server", choices=("gunicorn", "uwsgi"),
                   help="WSGI server of the API, with --api-workers "
                        "processes of --api-threads threads (default: "
                        "uwsgi, as DevStack and Kolla run it, when it is "
                        "installed and every client gets a thread of its "
                        "own; else gunicorn)")
    p.add_argument("--api-workers", type=int, default=2)
    p.add_argument("--api-threads", type=int, default=16)
    p.add_argument("--conductors", type=int, default=1,
                   help="vdi-broker-conductor processes (more than one "
                        "share the pools through a tooz file backend)")
    p.add_argument("--database", choices=sorted(stack_mod.DATABASES),
                   default="mariadb",
                   help="the shared database server the broker uses")
    p.add_argument("--db-driver", choices=("mysqldb", "pymysql"),
                   help="MariaDB driver of the broker (default: mysqldb, "
                        "i.e. mysqlclient, when it is installed)")
    p.add_argument("--extra-conf", metavar="FILE",
                   help="Append this file to the broker's configuration "
                        "(for trying options).")
    p.add_argument("--floor-samples", type=int, default=200)
    p.add_argument("--warmup", type=int, default=200,
                   help="Logins of other users before the storm (fills "
                        "connection pools and caches).")
    p.add_argument("--idle-seconds", type=float, default=10.0,
                   help="Measure the idle broker's CPU this long first.")
    p.add_argument("--profile", action="store_true",
                   help="py-spy the API workers and the conductor during "
                        "the storm.")
    p.add_argument("--keep", action="store_true",
                   help="Keep the temporary directory (logs, profiles).")
    args = p.parse_args(argv)
    if args.api_server is None:
        # uWSGI's HTTP/1.1 socket keeps a thread per kept-alive client.
        fits = args.concurrency <= args.api_workers * args.api_threads
        args.api_server = "uwsgi" if fits and os.path.exists(
            os.path.join(stack_mod.BIN, "uwsgi")) else "gunicorn"

    print("shift change: %d users, %s, %d thin clients at a time, %s" % (
        args.users, args.mode, args.concurrency, args.database))
    print("  before: %s" % uptime(), flush=True)
    extra = 2 * args.floor_samples + 20 + args.warmup
    stack = stack_mod.Stack(users=args.users + extra,
                            api_workers=args.api_workers,
                            api_threads=args.api_threads,
                            conductors=args.conductors,
                            db_driver=args.db_driver,
                            database=args.database,
                            api_server=args.api_server,
                            extra_conf=_read(args.extra_conf))
    result = 1
    try:
        stack.start()
        floor = measure_floor(stack, args.floor_samples, args.users)
        print("floor (each alone, %d samples):" % args.floor_samples)
        floor_p50 = 0.0
        for name, samples in floor.items():
            p50 = _p50(samples)
            floor_p50 += p50
            print("  %-40s p50 %6.2f ms  p99 %6.2f ms" % (
                name, p50 * 1000,
                runner.percentile(sorted(samples), 0.99) * 1000))
        print("  %-40s p50 %6.2f ms" % ("sum", floor_p50 * 1000))
        path_p50, path_cpu, path_sql = measure_conductor_path(
            stack, args.floor_samples,
            args.users + args.floor_samples + 10 + args.warmup)
        print("login path after the bind alone (in-process, no RPC): "
              "p50 %.2f ms, CPU %.2f ms, %.1f SQL statements per login" % (
                  path_p50 * 1000, path_cpu * 1000, path_sql))

        client = loadgen_client.BrokerClient(
            stack.url, concurrency=args.concurrency, timeout=(3.0, 30.0))
        first_warm = args.users + args.floor_samples + 10
        if args.warmup:
            warm = runner.Simulation(
                client, runner.Users.from_pattern(
                    "agent%05d", args.warmup, stack_mod.PASSWORD,
                    start=first_warm),
                concurrency=args.concurrency, client_prefix="tc-warm").run()
            print("warm-up: %d logins, %d failed" % (
                warm.summary()["count"], warm.summary()["errors"]))
        users = runner.Users.from_pattern("agent%05d", args.users,
                                          stack_mod.PASSWORD)
        # What the idle broker burns (the pool manager's passes over
        # every desktop): part of the CPU the storm competes with.
        idle = {k: stack_mod.cpu_seconds(v)
                for k, v in stack.cpu_groups().items()}
        time.sleep(args.idle_seconds)
        for name, pids in stack.cpu_groups().items():
            if name in ("conductor", "API workers"):
                print("idle %s: %.0f%% of a core (%d desktops)" % (
                    name, 100.0 * (stack_mod.cpu_seconds(pids) - idle[name])
                    / args.idle_seconds, stack.desktop_count))
        profiling = profile_start(stack, 600, stack.dir) \
            if args.profile else None
        groups = stack.cpu_groups()
        cpu_before = {k: stack_mod.cpu_seconds(v) for k, v in groups.items()}
        own_before = _own_cpu()
        print("storm: %s" % uptime(), flush=True)
        sim = runner.Simulation(client, users, mode=args.mode,
                                concurrency=args.concurrency, rate=args.rate,
                                client_prefix="tc-shift")
        report = sim.run()
        own_used = _own_cpu() - own_before
        if profiling:
            profile_report(profiling)
        client.close()
        print("  after:  %s" % uptime())
        print(report.format())
        served = max(report.summary()["ok"], 1)
        print("CPU per login served (user + system):")
        total_cpu = 0.0
        for name, pids in groups.items():
            used = stack_mod.cpu_seconds(pids) - cpu_before[name]
            total_cpu += used
            print("  %-24s %6.1f s  %6.2f ms/login" % (
                name, used, 1000.0 * used / served))
        bound = os.cpu_count() * served / total_cpu if total_cpu else 0
        # Not the broker's, but it runs on the same two cores: the thin
        # clients' side (HTTP client threads, the measuring).
        print("  %-24s %6.1f s  %6.2f ms/login (not counted below)" % (
            "simulator (this process)", own_used,
            1000.0 * own_used / served))
        print("  %-24s %6.1f s  %6.2f ms/login -> at most %.0f logins/s "
              "on %d idle cores" % (
                  "total", total_cpu, 1000.0 * total_cpu / served, bound,
                  os.cpu_count()))
        result_audit = audit.run(stack.db_url, logins=report.logins)
        print(result_audit.format())
        s = report.summary()
        ratio = s["p50"] / floor_p50 if floor_p50 and s["p50"] else 0
        print()
        print("RESULT users %d served %d in %.1f s (%.0f logins/s), p50 %.1f"
              " ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms, errors %d, "
              "double allocations %d, p50/floor %.1fx (floor %.1f ms)" % (
                  args.users, s["ok"], report.wall, s["rate"],
                  s["p50"] * 1000, s["p95"] * 1000, s["p99"] * 1000,
                  s["max"] * 1000, s["errors"],
                  len(result_audit.double_allocations) +
                  len(result_audit.foreign_sessions), ratio,
                  floor_p50 * 1000))
        goals = [("all served within 60 s",
                  s["ok"] == args.users and report.wall <= 60),
                 ("p99 <= 100 ms", s["p99"] <= 0.1),
                 ("0 errors", s["errors"] == 0),
                 ("0 double allocations", result_audit.ok),
                 ("p50 <= 2x floor", ratio <= 2.0)]
        for goal, met in goals:
            print("  goal %-26s %s" % (goal, "met" if met else "MISSED"))
        result = 0
    finally:
        stack.stop(keep_dir=args.keep)
        if args.keep:
            print("kept %s" % stack.dir)
    return result


if __name__ == "__main__":
    sys.exit(main())
