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

Drills: conductor-kill, conductors-down (every conductor killed for
--hold seconds: pools stop refilling, logins and logouts go on),
ldap-first-down, slapd-restart, cloud-500,
cloud-timeout, rabbitmq-restart, mariadb-restart. rabbitmq-restart
restarts a private RabbitMQ this script starts for the stack
(rabbitmq-server with a node name, ports and data directory of its own,
no plugins: --rabbit-port), never the machine's. mariadb-restart and
postgresql-restart restart the machine's shared database servers,
breaking whatever else uses them meanwhile: they run only when named with
--drills, and are always started again at the end (try/finally).
--logout: every user logs out again right after the login (the logout
ends the session in the API and casts the release to a conductor).

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
behind a black-hole proxy), a floating pool per site in the site's cloud,
the shanghai VIPs bound to desktops of cloud east (bound before the
ramp). The agents log in at seats of their site (the agent's site is the
seat's) and the allocators are site-aware (login/sites.py): the
``SH-F-`` seats' allocator allows a fallback to nantong's pool
(``site_fallback: ["nantong"]``), the other one (the ``SH-S-`` seats and
nantong's) none. Each site's agents ramp at --rate / 2, shanghai's in
those two halves; --before seconds in, cloud east's Nova, Placement and
Keystone go silent for --hold seconds. It reports, per group, the logins
served from bound desktops, from their own site's pool and from the
fallback pool, the failures by kind (the 503's code, or its pool and
that pool's status), each group's failures and login latency before,
during and after the outage (the other site's must not change), the
pools' status during the outage, and the audit.

Needs what benchmarks/shift_change.py needs; run as root.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

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

SAFE = ("conductor-kill", "conductors-down", "ldap-first-down",
        "slapd-restart", "cloud-500", "cloud-timeout")
# Through proxies: safe, but only chosen by name (the proxies cost CPU).
BLACKHOLE = {"mariadb-blackhole": "mysql", "rabbitmq-blackhole": "rabbit",
             "ldap-blackhole": "ldap", "postgresql-blackhole": "postgresql"}
SHARED = ("mariadb-restart", "postgresql-restart")
# On a private PostgreSQL primary + replica (the whole run then is).
PRIVATE = ("postgresql-failover",)
# Restarts the stack's own RabbitMQ: chosen by name (it starts one).
OWN_RABBIT = ("rabbitmq-restart",)
# With a stack of its own (two clouds): only chosen by name.
OWN_STACK = ("cloud-down",)
# The cloud-down drill's sites and their clouds.
SITES = {"shanghai": "east", "nantong": "west"}
DOWN_CLOUD = "east"
DOWN_SITE, FALLBACK_SITE = "shanghai", "nantong"
# Agents at these seats may fall back to the other site's pool.
FALLBACK_SEATS = "SH-F-"
# The drill's groups of agents: (label, site, seat prefix).
GROUPS = (("shanghai, fallback rule", "shanghai", FALLBACK_SEATS),
          ("shanghai, no fallback", "shanghai", "SH-S-"),
          ("nantong", "nantong", "NT-"))
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


# -- a private RabbitMQ -----------------------------------------------------

class PrivateRabbit:
    """A rabbitmq-server of this script's, which a drill may restart.

    Its own node name, AMQP and distribution ports, data and log
    directories and no plugins (no management listener), so that the
    machine's RabbitMQ and whoever uses it never notice the drill.
    """

    def __init__(self, port):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="vdi-drill-rabbit-")
        self.node = "vdi-drill-%d@localhost" % port
        plugins = os.path.join(self.dir, "enabled_plugins")
        with open(plugins, "w") as f:
            f.write("[].\n")
        for sub in ("mnesia", "log"):
            os.mkdir(os.path.join(self.dir, sub))
        # rabbitmq-server runs as the rabbitmq user when started by root.
        sh("chown", "-R", "rabbitmq:rabbitmq", self.dir)
        os.chmod(self.dir, 0o755)
        missing = os.path.join(self.dir, "none")
        self.env = dict(
            os.environ, RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_PORT=str(port),
            RABBITMQ_DIST_PORT=str(port + 20000),
            RABBITMQ_MNESIA_BASE=os.path.join(self.dir, "mnesia"),
            RABBITMQ_LOG_BASE=os.path.join(self.dir, "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=plugins,
            RABBITMQ_PID_FILE=os.path.join(self.dir, "pid"),
            RABBITMQ_CONFIG_FILE=missing,
            RABBITMQ_ADVANCED_CONFIG_FILE=missing + ".config",
            RABBITMQ_CONF_ENV_FILE=missing + "-env")
        self.url = "rabbit://guest:guest@127.0.0.1:%d/" % port
        self.process = None

    def ctl(self, *args):
        return sh("rabbitmqctl", "-n", self.node, "-q", *args,
                  timeout=90)

    def start(self):
        self.process = subprocess.Popen(
            ["rabbitmq-server"], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # await_startup fails at once until the node has registered with
        # epmd: ask again until it answers.
        deadline = time.monotonic() + 120
        while True:
            result = self.ctl("await_startup", "--timeout", "60")
            if not result.returncode:
                return
            if self.process.poll() is not None or \
                    time.monotonic() > deadline:
                raise RuntimeError("private RabbitMQ %s did not start: %s"
                                   % (self.node, result.stdout))
            time.sleep(1)

    def stop_app(self):
        self.ctl("stop_app")

    def start_app(self):
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "60")

    def stop(self):
        if self.process is not None:
            self.ctl("stop")
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)


# -- shared services --------------------------------------------------------


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


def make_drills(stack, nova, proxies=None, ending="drop", pair=None,
                rabbit=None):
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
        "conductors-down": Drill(
            "conductors-down", stack.kill_conductor, stack.start_conductor,
            note="every conductor killed (SIGKILL), started again after "
                 "the hold"),
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
            "rabbitmq-restart", rabbit and rabbit.stop_app,
            rabbit and rabbit.start_app,
            note="stop_app / start_app of the stack's private RabbitMQ"),
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


def _phase_max(report, fault_at, restored_at, grace=5.0):
    """The longest login started before, during and after the fault.

    "during" runs until ``grace`` seconds after the fault was undone (or
    to the end, for a fault that is not undone): on a loaded machine the
    longest login of a whole drill may have nothing to do with its fault.
    """
    longest = {}
    end = None if restored_at is None else restored_at + grace
    for outcome in report.outcomes.get("login", ()):
        start = outcome.started - report.started
        phase = ("before" if start < fault_at else
                 "during" if end is None or start < end else "after")
        longest[phase] = max(longest.get(phase, 0.0), outcome.elapsed)
    return ", ".join("%s %.2f s" % (phase, longest[phase])
                     for phase in ("before", "during", "after")
                     if phase in longest)


def run_drill(stack, nova, drill, users, args):
    client = loadgen_client.BrokerClient(
        stack.url, concurrency=args.concurrency,
        timeout=(3.0, CLIENT_TIMEOUT))
    sim = runner.Simulation(client, users, mode="ramp", rate=args.rate,
                            concurrency=args.concurrency,
                            client_prefix="tc-" + drill.name,
                            logout=args.logout)
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
             "  longest login started %s" % _phase_max(
                 report, fault_at, restored_at),
             "  " + report.format().replace("\n", "\n  "),
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


def _site_rules(seats, fallback_spare=None):
    """Stack fill hook: site-aware allocators and the groups' seats.

    The stack's per-site allocators (by OU) give way to two site-aware
    ones: the ``SH-F-`` seats' allows a fallback to nantong's pool, the
    other (everybody else) none. ``seats``: seats per group.
    ``fallback_spare``: the fallback pool's min_ready (None: as the
    others'); the conductor boots the difference before the ramp.
    """
    def hook(conn, pools):
        if fallback_spare is not None:
            # (max_size first: MariaDB assigns left to right.)
            conn.execute(sa.text(
                "UPDATE pools SET max_size = max_size + :n - min_ready, "
                "min_ready = :n WHERE name = :name"),
                {"n": fallback_spare, "name": "floating-" + FALLBACK_SITE})
        conn.execute(stack_mod.BUMP_GENERATION)
        conn.execute(sa.text(
            "DELETE FROM allocators WHERE name LIKE 'agents-%'"))
        fallback_pool = pools["floating-" + FALLBACK_SITE]
        for name, priority, rules in (
                ("agents-fallback", 20, {
                    "groups": ["agents"], "seats": [FALLBACK_SEATS + "*"],
                    "pools": [fallback_pool],
                    "site_fallback": [FALLBACK_SITE]}),
                ("agents-by-site", 21, {
                    "groups": ["agents"], "pools": [fallback_pool],
                    "site_fallback": False})):
            conn.execute(sa.text(
                "INSERT INTO allocators (id, name, priority, plugin, "
                "pool_id, rules, options, is_default, enabled, revision, "
                "created_at) VALUES (:id, :name, :priority, 'pool', "
                ":pool, :rules, '{}', :no, :yes, 1, NOW())"),
                {"id": str(uuid.uuid4()), "name": name,
                 "priority": priority, "rules": json.dumps(rules),
                 "pool": pools["floating-" + DOWN_SITE], "no": False,
                 "yes": True})
        conn.execute(sa.text(
            "INSERT INTO seats (id, name, site, tags, revision, created_at) "
            "VALUES (:id, :name, :site, '[]', 1, NOW())"),
            [{"id": str(uuid.uuid4()), "name": "%s%05d" % (prefix, i),
              "site": site}
             for _label, site, prefix in GROUPS for i in range(seats)])
    return hook


def _wait_filled(db_url, timeout=180):
    """Wait until every pool has min_ready ready desktops."""
    engine = sa.create_engine(db_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                short = conn.execute(sa.text(
                    "SELECT p.name FROM pools p LEFT JOIN desktops d ON "
                    "d.pool_id = p.id AND d.state = 'ready' GROUP BY "
                    "p.name, p.min_ready HAVING COUNT(d.id) < "
                    "p.min_ready")).scalars().all()
            if not short or time.monotonic() > deadline:
                return short
            time.sleep(1.0)
    finally:
        engine.dispose()


def _pool_status(db_url):
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {row.name: (row.status, row.status_reason)
                    for row in conn.execute(sa.text(
                        "SELECT name, status, status_reason FROM pools"))}
    finally:
        engine.dispose()


def _fallback_reasons(db_url):
    """{reason's first clause: logins} of the fallback logins' events."""
    engine = sa.create_engine(db_url)
    counts = {}
    try:
        with engine.connect() as conn:
            for (detail,) in conn.execute(sa.text(
                    "SELECT detail FROM events WHERE action = 'login' AND "
                    "result = 'success'")):
                if isinstance(detail, str):
                    detail = json.loads(detail)
                site = (detail or {}).get("site") or {}
                if site.get("role") == "fallback":
                    first = (site.get("fallback") or "-").split(";")[0]
                    counts[first] = counts.get(first, 0) + 1
    finally:
        engine.dispose()
    return counts


def _failure(outcome):
    """A failed login's kind, with the 503's code or pool status."""
    error = (outcome.body or {}).get("error") or {}
    details = error.get("details") or {}
    if details.get("code"):
        return "%s %s" % (outcome.status, details["code"])
    if details.get("pool"):
        return "%s %s %s" % (outcome.status, details["pool"],
                             details.get("status"))
    return outcome.kind


def _phase(outcome, fault_at, restored_at):
    end = outcome.started + outcome.elapsed
    if end < fault_at:
        return "before"
    return "outage" if end <= restored_at else "after"


def _pool_site(name):
    if name == "personal":
        return DOWN_SITE
    return name[len("floating-"):]


def _group_row(label, site, report, fault_at, restored_at):
    outcomes = report.outcomes.get("login", [])
    row = {"group": label, "site": site, "cloud": SITES[site],
           "logins": len(outcomes), "ok": 0, "bound": 0, "same_site": 0,
           "fallback": 0, "failed": 0, "failures": {}, "phases": {}}
    lat = {}
    for o in outcomes:
        phase = row["phases"].setdefault(_phase(o, fault_at, restored_at),
                                         {"ok": 0, "failed": 0})
        if not o.ok:
            row["failed"] += 1
            phase["failed"] += 1
            kind = _failure(o)
            row["failures"][kind] = row["failures"].get(kind, 0) + 1
            continue
        row["ok"] += 1
        phase["ok"] += 1
        lat.setdefault(_phase(o, fault_at, restored_at), []).append(
            o.elapsed)
        if o.body.get("reused"):
            row["bound"] += 1
        elif _pool_site(o.body["pool"]["name"]) == site:
            row["same_site"] += 1
        else:
            row["fallback"] += 1
    for name, phase in row["phases"].items():
        ordered = sorted(lat.get(name, []))
        phase.update(p50=runner.percentile(ordered, 0.5) or 0.0,
                     p95=runner.percentile(ordered, 0.95) or 0.0,
                     max=ordered[-1] if ordered else 0.0)
    every = sorted(o.elapsed for o in outcomes)
    row["max"] = every[-1] if every else 0.0
    return row


def _print_group(row):
    print("  %(group)s (site %(site)s, cloud %(cloud)s): %(logins)d "
          "logins, %(ok)d ok (%(bound)d bound, %(same_site)d same site, "
          "%(fallback)d fallback), %(failed)d failed" % row + (
              " (%s)" % ", ".join("%s x%d" % item for item in
                                  sorted(row["failures"].items()))
              if row["failures"] else ""))
    for name in ("before", "outage", "after"):
        phase = row["phases"].get(name)
        if phase:
            print("    %-6s %4d ok %4d failed; ok logins p50 %.3f s, p95 "
                  "%.3f s, max %.3f s" % (
                      name, phase["ok"], phase["failed"], phase["p50"],
                      phase["p95"], phase["max"]))


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
        database=args.database,
        fill_hook=_site_rules(per_site, args.fallback_spare))
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
    down_users = _site_users(0, per_site)
    users = {GROUPS[0][0]: down_users[0::2], GROUPS[1][0]: down_users[1::2],
             GROUPS[2][0]: _site_users(1, per_site)}
    short = _wait_filled(stack.db_url)
    if short:
        print("  pools not filled before the ramp: %s" % ", ".join(short))
    # The VIPs log in once and out: their personal desktops (cloud east)
    # stay bound to them.
    vips = [u for u in down_users
            if stack_mod.is_vip(int(u[0][len("agent"):]))]
    client = loadgen_client.BrokerClient(
        stack.url, concurrency=args.concurrency,
        timeout=(3.0, CLIENT_TIMEOUT))
    runner.Simulation(client, vips, mode="storm", concurrency=16,
                      logout=True, client_prefix="tc-bind").run()
    # Each site's agents at rate / 2; the down site's in two halves.
    sims = {}
    for label, site, prefix in GROUPS:
        share = 4.0 if site == DOWN_SITE else 2.0
        sims[label] = runner.Simulation(
            client, users[label], mode="ramp", rate=args.rate / share,
            concurrency=max(8, int(args.concurrency / share)),
            client_prefix="tc-%s" % prefix.lower().rstrip("-"),
            seat=lambda i, p=prefix: "%s%05d" % (p, i))
    reports = {}
    threads = []
    for label, sim in sims.items():
        thread = threading.Thread(
            target=lambda s=label, m=sim: reports.__setitem__(s, m.run()),
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
    for label, site, _prefix in GROUPS:
        row = _group_row(label, site, reports[label], fault_at,
                         restored_at)
        rows.append(row)
        _print_group(row)
    for reason, n in sorted(_fallback_reasons(stack.db_url).items()):
        print("  fallback logins whose event says %r: %d" % (reason, n))
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
                   OWN_RABBIT + OWN_STACK)
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
    p.add_argument("--logout", action="store_true",
                   help="Every user logs out again after the login.")
    p.add_argument("--rabbit-port", type=int, default=5687,
                   help="AMQP port of the private RabbitMQ of the "
                        "rabbitmq-restart drill (its distribution port is "
                        "this + 20000).")
    p.add_argument("--cloud-spare", type=int, default=60,
                   help="cloud-down: ready desktops each site's floating "
                        "pool keeps (min_ready); the pool manager refills "
                        "it from the site's cloud as logins take them.")
    p.add_argument("--fallback-spare", type=int, default=None,
                   help="cloud-down: min_ready of the fallback site's "
                        "(nantong's) pool, which serves its own agents "
                        "and the other site's that fall back (default: "
                        "--cloud-spare).")
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
    rabbit = None
    if any(name in OWN_RABBIT for name in args.drills):
        rabbit = PrivateRabbit(args.rabbit_port)
        rabbit.start()
    stack = stack_mod.Stack(users=users_total, ldap_servers=2, nova=nova,
                            headroom=300, conductor_timeout=10,
                            database=args.database,
                            route=proxies.route if proxies else None,
                            database_server=pair,
                            rabbit_url=rabbit.url if rabbit else None)
    try:
        if pair is not None:
            pair.start()
            print("  private PostgreSQL primary :%d, replica :%d (%s)" % (
                pair.ports + ("synchronous" if pair.synchronous
                              else "asynchronous",)), flush=True)
        stack.start()
        drills = make_drills(stack, nova, proxies, args.blackhole_end,
                             pair, rabbit)
        for n, name in enumerate(args.drills):
            users = runner.Users.from_pattern(
                "agent%05d", per_drill, stack_mod.PASSWORD,
                start=n * per_drill)
            results.append(run_drill(stack, nova, drills[name], users,
                                     args))
    finally:
        if any(name in SHARED for name in args.drills):
            # Never leave the shared services down.
            mariadb_start()
            postgresql_start()
        if proxies is not None:
            proxies.close()
        stack.stop()
        if pair is not None:
            pair.stop()
        if rabbit is not None:
            rabbit.stop()
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
