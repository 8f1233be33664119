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

"""Fault drills: break one part of the broker during a login ramp.

One stack (benchmarks/stack.py: two slapd replicas, MariaDB, RabbitMQ,
the conductor, the API under gunicorn, the cloud emulated by
tests/fixtures/nova_emulator.py with room to boot replacements), then,
for each drill, a ramp of new users logging in at --rate per second
(vdi-broker-loadgen's simulator); --before seconds in, the fault is
injected, held for --hold seconds and undone (where it can be undone).
Each drill reports failed logins (by kind), the longest login (no
request may hang past its timeout), the recovery time (from the fault to
the first of --steady successful logins in a row) and the database audit
(no double allocation, no lost binding, no orphan server).

Drills: conductor-kill, ldap-first-down, slapd-restart, cloud-500,
cloud-timeout, rabbitmq-restart, mariadb-restart. The last two restart
the machine's shared RabbitMQ / MariaDB, breaking whatever else uses them
meanwhile: they run only when named with --drills. Both are always
restarted at the end (try/finally).

The black-hole drills (mariadb-blackhole, rabbitmq-blackhole,
ldap-blackhole) leave the servers alone: when one of them is chosen, the
broker's processes reach MariaDB, RabbitMQ and the slapd replicas through
tests/fixtures/blackhole_proxy.py proxies in this process, and the drill
makes the proxies of one kind stop forwarding without closing anything,
as a firewall that silently drops a connection does; after --hold seconds
they drop the old connections for good (--blackhole-end drop, only new
connections work) or deliver what they held (resume).

    python benchmarks/fault_drills.py                  # the safe drills
    python benchmarks/fault_drills.py --drills mariadb-blackhole \\
        rabbitmq-blackhole ldap-blackhole
    python benchmarks/fault_drills.py --drills rabbitmq-restart \\
        mariadb-restart
    python benchmarks/fault_drills.py --database postgresql \\
        --drills postgresql-failover

postgresql-failover touches no shared server: the stack's database lives
on a private PostgreSQL 15 primary and streaming replica
(tests/fixtures/pg_replica.py, ports --pg-ports, a synchronous standby
unless --pg-async), and the broker's connection string names both hosts
with target_session_attrs=read-write. The drill kills the primary
(pg_ctl stop -m immediate), waits --hold seconds (what a failover
manager takes to decide) and promotes the replica (pg_ctl promote); the
broker must find the new primary by itself. Every drill of such a run
uses the pair; name postgresql-failover last (after it there is no
replica any more).
    python benchmarks/fault_drills.py --drills cloud-down

The cloud-down drill (issue 19) has a stack of its own: two sites, each
in its own cloud (``[compute] clouds = east,west``, each a Nova emulator
behind a black-hole proxy), the shanghai agents in a floating pool of
cloud east, the nantong agents in one of cloud west, the shanghai VIPs
bound to desktops of cloud east (bound before the ramp). Each site's
agents ramp at --rate / 2; --before seconds in, cloud east's Nova,
Placement and Keystone go silent for --hold seconds. It reports, per
site, the logins served from bound and from ready desktops (a claim
needs no Nova), the failures by kind (503 once the down cloud's pool has
no ready desktop left: it cannot refill), the pools' status during the
outage, and the audit. Falling back to another site's pool is the
allocators' business (their rules), not the drill's: it reports what
each site's agents got.

Needs what benchmarks/shift_change.py needs; run as root.
"""

import argparse
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import sqlalchemy as sa  # noqa: E402
import stack as stack_mod  # noqa: E402

from tests.fixtures import blackhole_proxy  # noqa: E402
from tests.fixtures import nova_emulator  # noqa: E402
from tests.fixtures import pg_replica  # noqa: E402
from vdi_broker.loadgen import audit  # noqa: E402
from vdi_broker.loadgen import client as loadgen_client  # noqa: E402
from vdi_broker.loadgen import runner  # noqa: E402

SAFE = ("conductor-kill", "ldap-first-down", "slapd-restart", "cloud-500",
        "cloud-timeout")
# Through proxies: safe, but only chosen by name (the proxies cost CPU).
BLACKHOLE = {"mariadb-blackhole": "mysql", "rabbitmq-blackhole": "rabbit",
             "ldap-blackhole": "ldap", "postgresql-blackhole": "postgresql"}
SHARED = ("rabbitmq-restart", "mariadb-restart", "postgresql-restart")
# On a private PostgreSQL primary + replica (the whole run then is).
PRIVATE = ("postgresql-failover",)
# With a stack of its own (two clouds): only chosen by name.
OWN_STACK = ("cloud-down",)
# The cloud-down drill's sites and their clouds.
SITES = {"shanghai": "east", "nantong": "west"}
DOWN_CLOUD = "east"
# Drills that need the stack on that database (--database).
NEEDS_DATABASE = {"mariadb-blackhole": "mariadb", "mariadb-restart": "mariadb",
                  "postgresql-blackhole": "postgresql",
                  "postgresql-restart": "postgresql",
                  "postgresql-failover": "postgresql"}
CLIENT_TIMEOUT = 30.0


def uptime():
    return subprocess.run(["uptime"], stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def sh(*cmd, timeout=120):
    return subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


# -- shared services --------------------------------------------------------

def rabbit_stop():
    sh("rabbitmqctl", "-q", "stop_app")


def rabbit_start():
    sh("rabbitmqctl", "-q", "start_app")
    sh("rabbitmqctl", "-q", "await_startup", "--timeout", "60")


def mysql_ping():
    return sh("mysqladmin", "-u", "root", "status").returncode == 0


def mariadb_stop():
    sh("mysqladmin", "-u", "root", "shutdown", timeout=60)


def mariadb_start():
    if mysql_ping():
        return
    sh("install", "-d", "-o", "mysql", "-g", "mysql", "-m", "0755",
       "/run/mysqld")
    daemon = "/usr/sbin/mariadbd"
    if not os.path.exists(daemon):
        daemon = "/usr/sbin/mysqld"
    # As tools/test-setup.sh starts it.
    sh("start-stop-daemon", "--start", "--oknodo", "--background",
       "--exec", daemon)
    deadline = time.monotonic() + 60
    while not mysql_ping() and time.monotonic() < deadline:
        time.sleep(0.5)


def _pg_cluster():
    """(version, name) of the machine's PostgreSQL cluster."""
    out = sh("pg_lsclusters", "--no-header").stdout.split()
    return out[0], out[1]


def pg_ping():
    return sh("pg_isready", "-q", "-h", "127.0.0.1").returncode == 0


def postgresql_stop():
    # "fast": what a primary's crash or a failover does to its sessions,
    # every connection cut at once.
    sh("pg_ctlcluster", "--skip-systemctl-redirect", *_pg_cluster(),
       "stop", "-m", "fast", timeout=60)


def postgresql_start():
    if pg_ping():
        return
    sh("pg_ctlcluster", "--skip-systemctl-redirect", *_pg_cluster(),
       "start", timeout=60)
    deadline = time.monotonic() + 60
    while not pg_ping() and time.monotonic() < deadline:
        time.sleep(0.5)


# -- the drills -------------------------------------------------------------

class Drill:
    """inject() breaks, restore() repairs (None: nothing to undo)."""

    def __init__(self, name, inject, restore=None, note=""):
        self.name = name
        self.inject = inject
        self.restore = restore
        self.note = note


class Proxies:
    """BlackholeProxy instances the stack's processes connect through."""

    NAMES = {"mysql": "MariaDB", "rabbit": "RabbitMQ", "ldap": "slapd",
             "postgresql": "PostgreSQL"}

    def __init__(self):
        self.by_kind = {}

    def route(self, kind, host, port):
        proxy = blackhole_proxy.BlackholeProxy(host, port)
        proxy.setUp()
        self.by_kind.setdefault(kind, []).append(proxy)
        return proxy.host, proxy.port

    def drill(self, name, kind, ending):
        proxies = self.by_kind[kind]

        def inject():
            for proxy in proxies:
                proxy.blackhole()

        def restore():
            for proxy in proxies:
                getattr(proxy, ending)()

        return Drill(name, inject, restore,
                     note="every %s connection black-holed, then %s" % (
                         self.NAMES[kind],
                         "dropped for good" if ending == "drop" else
                         "resumed"))

    def close(self):
        # First the connections: the server still holds the sessions of
        # dropped ones (their transactions, a database to drop).
        for proxies in self.by_kind.values():
            for proxy in proxies:
                proxy.close_connections()
        for proxies in self.by_kind.values():
            for proxy in proxies:
                proxy.cleanUp()


def make_drills(stack, nova, proxies=None, ending="drop", pair=None):
    first, second = stack.ldap[0], stack.ldap[1]

    def kill_and_restart():
        stack.kill_conductor()
        # A supervisor (systemd Restart=always) starts it again at once.
        stack.start_conductor()

    def cloud_500():
        for kind in ("create", "show", "list", "delete", "placement"):
            nova.inject_fault(kind, status=500, count=None)

    def cloud_timeout():
        for kind in ("create", "show", "list", "delete", "placement"):
            nova.inject_fault(kind, delay=8.0, count=None)

    drills = {
        "conductor-kill": Drill(
            "conductor-kill", kill_and_restart,
            note="SIGKILL of the conductor, restarted at once"),
        "ldap-first-down": Drill(
            "ldap-first-down", first.stop, first.start,
            note="the first of two LDAP URLs stopped"),
        "slapd-restart": Drill(
            "slapd-restart", lambda: (first.stop(), second.stop()),
            lambda: (first.start(), second.start()),
            note="every directory server down, then started again"),
        "cloud-500": Drill(
            "cloud-500", cloud_500, nova.clear_faults,
            note="every Nova/Placement call answers 500"),
        "cloud-timeout": Drill(
            "cloud-timeout", cloud_timeout, nova.clear_faults,
            note="every Nova/Placement call held 8 s ([nova] timeout 5)"),
        "rabbitmq-restart": Drill(
            "rabbitmq-restart", rabbit_stop, rabbit_start,
            note="rabbitmqctl stop_app / start_app"),
        "mariadb-restart": Drill(
            "mariadb-restart", mariadb_stop, mariadb_start,
            note="mysqladmin shutdown, started again"),
        "postgresql-restart": Drill(
            "postgresql-restart", postgresql_stop, postgresql_start,
            note="pg_ctlcluster stop -m fast, started again"),
    }
    if pair is not None:
        drills["postgresql-failover"] = Drill(
            "postgresql-failover", pair.kill_primary, pair.promote,
            note="primary killed (pg_ctl stop -m immediate), replica "
                 "promoted after the hold (%s replication)" % (
                     "synchronous" if pair.synchronous else "asynchronous"))
    if proxies is not None:
        for name, kind in BLACKHOLE.items():
            drills[name] = proxies.drill(name, kind, ending)
    return drills


def recovery(timeline, fault_at, steady):
    """Seconds from the fault until ``steady`` successes in a row.

    ``timeline``: (finish time, ok) in finish order. None: never steady.
    Returns (first failure or None, recovered at or None).
    """
    first_failure = next((t for t, ok in timeline
                          if not ok and t >= fault_at), None)
    if first_failure is None:
        return None, fault_at
    run = 0
    start = None
    for t, ok in timeline:
        if t < first_failure:
            continue
        if ok:
            if run == 0:
                start = t
            run += 1
            if run >= steady:
                return first_failure, start
        else:
            run = 0
    return first_failure, None


def run_drill(stack, nova, drill, users, args):
    client = loadgen_client.BrokerClient(
        stack.url, concurrency=args.concurrency,
        timeout=(3.0, CLIENT_TIMEOUT))
    sim = runner.Simulation(client, users, mode="ramp", rate=args.rate,
                            concurrency=args.concurrency,
                            client_prefix="tc-" + drill.name)
    done = threading.Event()
    result = {}

    def storm():
        try:
            result["report"] = sim.run()
        finally:
            done.set()

    thread = threading.Thread(target=storm, daemon=True)
    thread.start()
    time.sleep(args.before)
    fault_at = time.monotonic() - sim.report.started
    restored_at = None
    try:
        drill.inject()
        if drill.restore:
            time.sleep(args.hold)
    finally:
        if drill.restore:
            drill.restore()
            restored_at = time.monotonic() - sim.report.started
    done.wait()
    client.close()
    report = result["report"]
    timeline = report.timeline()
    first_failure, steady_at = recovery(timeline, fault_at, args.steady)
    time.sleep(args.settle)
    servers = [(s["id"], (s.get("metadata") or {}).get("vdi_desktop"))
               for s in nova.live_servers()
               if "vdi-broker" in (s.get("tags") or [])]
    found = audit.run(stack.db_url, logins=report.logins,
                      cloud_servers=servers)
    s = report.summary()
    lines = ["drill %s (%s), %s" % (drill.name, drill.note, uptime()),
             "  %d logins at %.0f/s: %d ok, %d failed (%s); max %.2f s "
             "(client timeout %.0f s)" % (
                 s["count"], args.rate, s["ok"], s["errors"],
                 ", ".join("%s x%d" % (kind, n) for (_op, kind), n in
                           sorted(report.errors.items())) or "none",
                 (s["max"] or 0), CLIENT_TIMEOUT),
             "  fault at %.1f s%s; %s" % (
                 fault_at, ", undone at %.1f s" % restored_at
                 if restored_at else "",
                 "no failed login" if first_failure is None else
                 "first failure at %.1f s, steady again at %s" % (
                     first_failure, "%.1f s (%.1f s after the fault%s)" % (
                         steady_at, steady_at - fault_at,
                         ", %.1f s after it was undone" % (
                             steady_at - restored_at)
                         if restored_at else "")
                     if steady_at else "NEVER")),
             "  " + found.format().replace("\n", "\n  ")]
    print("\n".join(lines), flush=True)
    return {"drill": drill.name, "failed": s["errors"], "count": s["count"],
            "max": s["max"], "recovery": (None if first_failure is None
                                          else (steady_at - fault_at
                                                if steady_at else -1)),
            "audit_ok": found.ok, "audit": found}


def _site_users(site_index, count):
    """Users of one site (stack.directory_ldif: even i shanghai)."""
    return [(stack_mod.username(i), stack_mod.PASSWORD)
            for i in range(site_index, 2 * count, 2)]


def _pool_status(db_url):
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {row.name: (row.status, row.status_reason)
                    for row in conn.execute(sa.text(
                        "SELECT name, status, status_reason FROM pools"))}
    finally:
        engine.dispose()


def _site_lines(site, cloud, report, fault_at, restored_at):
    outcomes = report.outcomes.get("login", [])
    ok = [o for o in outcomes if o.ok]
    bound = sum(1 for o in ok if o.body.get("reused"))
    by_pool = {}
    for o in ok:
        name = o.body["pool"]["name"]
        by_pool[name] = by_pool.get(name, 0) + 1

    def during(o):
        return fault_at <= o.started + o.elapsed <= restored_at

    out_ok = sum(1 for o in ok if during(o))
    out_failed = sum(1 for o in outcomes if not o.ok and during(o))
    errors = ", ".join("%s x%d" % (kind, n) for (_op, kind), n in
                       sorted(report.errors.items())) or "none"
    lat = sorted(o.elapsed for o in outcomes)
    return {
        "site": site, "cloud": cloud, "logins": len(outcomes),
        "ok": len(ok), "bound": bound, "ready": len(ok) - bound,
        "failed": len(outcomes) - len(ok), "errors": errors,
        "by_pool": by_pool, "outage_ok": out_ok,
        "outage_failed": out_failed, "max": lat[-1] if lat else 0.0}


def run_cloud_down(args):
    """Two sites in two clouds; one cloud's Nova silent during a ramp."""
    per_site = int(args.rate / 2 * (args.before + args.hold + args.after))
    print("cloud-down drill: %d logins per site at %.1f/s each; %s" % (
        per_site, args.rate / 2, uptime()), flush=True)
    default = nova_emulator.NovaEmulator(boot_time=1.0)
    default.setUp()
    clouds, proxies = {}, {}
    for name in SITES.values():
        emulator = nova_emulator.NovaEmulator(boot_time=1.0,
                                              region="Region-" + name)
        emulator.setUp()
        emulator.add_provider(name + "-host", vcpus=1000000,
                              memory_mb=1 << 40)
        proxy = blackhole_proxy.BlackholeProxy("127.0.0.1", emulator.port)
        proxy.setUp()
        # Keystone, Nova and Placement of the cloud through its proxy.
        emulator.base_url = "http://127.0.0.1:%d" % proxy.port
        clouds[name], proxies[name] = emulator, proxy
    stack = stack_mod.Stack(
        users=2 * per_site, ldap_servers=1, nova=default, clouds=clouds,
        sites=SITES, spare_desktops=args.cloud_spare,
        headroom=2 * per_site, conductor_timeout=10,
        database=args.database)
    try:
        stack.start()
        result = _cloud_down(stack, clouds, proxies, per_site, args)
    finally:
        stack.stop()
        for proxy in proxies.values():
            proxy.close_connections()
            proxy.cleanUp()
        for emulator in list(clouds.values()) + [default]:
            emulator.cleanUp()
    return result


def _cloud_down(stack, clouds, proxies, per_site, args):
    users = {site: _site_users(n, per_site)
             for n, site in enumerate(SITES)}
    # The VIPs log in once and out: their personal desktops (cloud east)
    # stay bound to them.
    vips = [u for u in users["shanghai"]
            if stack_mod.is_vip(int(u[0][len("agent"):]))]
    client = loadgen_client.BrokerClient(
        stack.url, concurrency=args.concurrency,
        timeout=(3.0, CLIENT_TIMEOUT))
    runner.Simulation(client, vips, mode="storm", concurrency=16,
                      logout=True, client_prefix="tc-bind").run()
    sims = {site: runner.Simulation(
        client, users[site], mode="ramp", rate=args.rate / 2,
        concurrency=args.concurrency // 2,
        client_prefix="tc-%s" % site) for site in SITES}
    reports = {}
    threads = []
    for site, sim in sims.items():
        thread = threading.Thread(
            target=lambda s=site, m=sim: reports.__setitem__(s, m.run()),
            daemon=True)
        thread.start()
        threads.append(thread)
    time.sleep(args.before)
    fault_at = time.monotonic()
    creates = {n: c.calls("create") for n, c in clouds.items()}
    proxies[DOWN_CLOUD].blackhole()
    # Each pool's status through the outage: when it first changed.
    during = {}
    try:
        while time.monotonic() < fault_at + args.hold:
            time.sleep(1.0)
            for name, (status, reason) in _pool_status(
                    stack.db_url).items():
                if status != "active" and name not in during:
                    during[name] = (status, reason,
                                    time.monotonic() - fault_at)
    finally:
        proxies[DOWN_CLOUD].resume()
        restored_at = time.monotonic()
    # (What was sent to the silent cloud never reached it.)
    booted = {n: c.calls("create") - creates[n] for n, c in clouds.items()
              if n != DOWN_CLOUD}
    for thread in threads:
        thread.join()
    client.close()
    time.sleep(args.settle)
    after = _pool_status(stack.db_url)
    servers = []
    for emulator in clouds.values():
        servers += [(s["id"], (s.get("metadata") or {}).get("vdi_desktop"))
                    for s in emulator.live_servers()
                    if "vdi-broker" in (s.get("tags") or [])]
    logins = {}
    for report in reports.values():
        logins.update(report.logins)
    found = audit.run(stack.db_url, logins=logins, cloud_servers=servers)
    start = min(sim.report.started for sim in sims.values())
    print("drill cloud-down (cloud %s's Keystone, Nova and Placement "
          "black-holed from %.1f s to %.1f s), %s" % (
              DOWN_CLOUD, fault_at - start, restored_at - start, uptime()))
    rows = []
    for site, cloud in SITES.items():
        row = _site_lines(site, cloud, reports[site], fault_at,
                          restored_at)
        rows.append(row)
        print("  site %(site)s (cloud %(cloud)s): %(logins)d logins, "
              "%(ok)d ok (%(bound)d from bound desktops, %(ready)d from "
              "ready ones), %(failed)d failed (%(errors)s); during the "
              "outage %(outage_ok)d ok, %(outage_failed)d failed; max "
              "%(max).2f s; by pool %(by_pool)s" % row)
    print("  boots the up cloud(s) received during the outage: %s" % (
        ", ".join("cloud %s %d" % item for item in sorted(booted.items()))))
    for name in sorted(after):
        status, reason, when = during.get(name, ("active", None, None))
        print("  pool %s during the outage: %s%s; %.1f s after the "
              "outage: %s" % (
                  name, status, " from %.1f s into it (%s)" % (
                      when, reason) if when is not None else "",
                  args.settle, after[name][0]))
    print("  " + found.format().replace("\n", "\n  "), flush=True)
    return {"drill": "cloud-down", "sites": rows, "audit_ok": found.ok,
            "failed": sum(r["failed"] for r in rows),
            "count": sum(r["logins"] for r in rows),
            "max": max(r["max"] for r in rows), "recovery": None}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--drills", nargs="+", default=list(SAFE),
                   choices=SAFE + tuple(BLACKHOLE) + SHARED + PRIVATE +
                   OWN_STACK)
    p.add_argument("--database", choices=("mariadb", "postgresql"),
                   default="mariadb",
                   help="the shared database server the broker uses")
    p.add_argument("--blackhole-end", choices=("drop", "resume"),
                   default="drop",
                   help="How a black hole ends: the old connections are "
                        "lost for good (drop) or get what was held "
                        "(resume).")
    p.add_argument("--pg-ports", type=int, nargs=2, default=(5441, 5442),
                   help="postgresql-failover: the private primary's and "
                        "replica's ports.")
    p.add_argument("--pg-async", action="store_true",
                   help="postgresql-failover: asynchronous replication "
                        "(commits the replica may not have when it is "
                        "promoted).")
    p.add_argument("--rate", type=float, default=10.0,
                   help="Logins per second during each drill.")
    p.add_argument("--before", type=float, default=8.0)
    p.add_argument("--hold", type=float, default=10.0,
                   help="Seconds the fault lasts.")
    p.add_argument("--after", type=float, default=30.0,
                   help="Seconds of logins after the fault is undone.")
    p.add_argument("--steady", type=int, default=20,
                   help="Successful logins in a row that count as "
                        "recovered.")
    p.add_argument("--settle", type=float, default=3.0)
    p.add_argument("--concurrency", type=int, default=128)
    p.add_argument("--cloud-spare", type=int, default=60,
                   help="cloud-down: ready desktops each site's floating "
                        "pool keeps (min_ready); the pool manager refills "
                        "it from the site's cloud as logins take them.")
    args = p.parse_args(argv)
    own = [name for name in args.drills if name in OWN_STACK]
    args.drills = [name for name in args.drills if name not in OWN_STACK]
    results = []
    if own:
        results.append(run_cloud_down(args))
        if not args.drills:
            _table(results)
            return 0

    wrong = [name for name in args.drills
             if NEEDS_DATABASE.get(name, args.database) != args.database]
    if wrong:
        p.error("%s need(s) --database %s" % (
            ", ".join(wrong), NEEDS_DATABASE[wrong[0]]))
    per_drill = int(args.rate * (args.before + args.hold + args.after))
    print("fault drills %s, %d logins each; %s" % (
        " ".join(args.drills), per_drill, uptime()), flush=True)
    nova = nova_emulator.NovaEmulator(boot_time=1.0)
    nova.setUp()
    nova.add_provider("drill-host", vcpus=1000000, memory_mb=1 << 40)
    users_total = per_drill * len(args.drills)
    proxies = None
    if any(name in BLACKHOLE for name in args.drills):
        proxies = Proxies()
    pair = None
    if any(name in PRIVATE for name in args.drills):
        if not pg_replica.available():
            p.error("postgresql-failover needs PostgreSQL 15's server "
                    "binaries in %s" % pg_replica.BIN)
        pair = pg_replica.PostgresPair(ports=args.pg_ports,
                                       synchronous=not args.pg_async)
    stack = stack_mod.Stack(users=users_total, ldap_servers=2, nova=nova,
                            headroom=300, conductor_timeout=10,
                            database=args.database,
                            route=proxies.route if proxies else None,
                            database_server=pair)
    try:
        if pair is not None:
            pair.start()
            print("  private PostgreSQL primary :%d, replica :%d (%s)" % (
                pair.ports + ("synchronous" if pair.synchronous
                              else "asynchronous",)), flush=True)
        stack.start()
        drills = make_drills(stack, nova, proxies, args.blackhole_end,
                             pair)
        for n, name in enumerate(args.drills):
            users = runner.Users.from_pattern(
                "agent%05d", per_drill, stack_mod.PASSWORD,
                start=n * per_drill)
            results.append(run_drill(stack, nova, drills[name], users,
                                     args))
    finally:
        if any(name in SHARED for name in args.drills):
            # Never leave the shared services down.
            rabbit_start()
            mariadb_start()
            postgresql_start()
        if proxies is not None:
            proxies.close()
        stack.stop()
        if pair is not None:
            pair.stop()
        nova.cleanUp()
    _table(results)
    return 0


def _table(results):
    print()
    print("%-19s %7s %8s %10s %12s %6s" % ("drill", "logins", "failed",
                                           "max s", "recovery s", "audit"))
    for r in results:
        rec = ("-" if r["recovery"] is None else
               "never" if r["recovery"] < 0 else "%.1f" % r["recovery"])
        print("%-19s %7d %8d %10.2f %12s %6s" % (
            r["drill"], r["count"], r["failed"], r["max"] or 0, rec,
            "OK" if r["audit_ok"] else "FAILED"))


if __name__ == "__main__":
    sys.exit(main())
