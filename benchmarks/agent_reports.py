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

"""Guest-agent reports and thin-client heartbeats through the API stack.

The issue's target: 10,000 desktops reporting every 30 seconds, with the
thin clients' heartbeats beside them, in under 15% of one core. Builds a
broker on a fresh database (SQLite file by default, or a MariaDB /
PostgreSQL URL) with DESKTOPS desktops (an agent secret each, half of
them with an active session) and as many registered thin clients, then
sends one round of reports (every agent once) and one round of
heartbeats through the real WSGI application (middleware, schema, the
secret and rate-limit check, the writes) from THREADS threads, at full
speed. It prints the API process's CPU seconds per request and what a
round every INTERVAL seconds costs as a share of one core; with
--db-pid, also the database server's CPU.

    python benchmarks/agent_reports.py --desktops 10000
    python benchmarks/agent_reports.py --desktops 10000 --db-url \\
        mysql+pymysql://USER:PASSWORD@127.0.0.1/vdi_bench \\
        --db-pid $(pidof mariadbd)

Run by hand; it prints figures and checks that every request got a 2xx.
"""

import argparse
import collections
import concurrent.futures
import datetime
import io
import json
import sys
import tempfile
import time

# benchmarks/heartbeats.py: the database server's CPU is read as there.
import heartbeats
from oslo_db.sqlalchemy import engines
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.cmd import init_backend  # noqa: F401
from vdi_broker.api import deploy
from vdi_broker import conf as vdi_conf
from vdi_broker.conf import opts
from vdi_broker import context
from vdi_broker.db import api as db
from vdi_broker.db import migration
from vdi_broker.db.sqlalchemy import engine as db_engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker.guest_agent import protocol


def cpu_seconds(pid, database=None):
    """CPU seconds of ``pid``, and of its children serving ``database``.

    PostgreSQL's backends are the postmaster's children; those of other
    databases (other tests on a shared server) are not counted.
    """
    return heartbeats.server_cpu({pid}, database is not None, database)


def build(args, tmp):
    conf = vdi_conf.CONF
    opts.set_lib_defaults()
    conf([], project="vdi-broker", default_config_files=[])
    url = args.db_url or "sqlite:///%s/bench.sqlite" % tmp
    conf.set_override("connection", url, "database")
    conf.set_override("max_pool_size", args.threads + 5, "database")
    conf.set_override("driver", "fake", "compute")
    conf.set_override("use_local", True, "conductor")
    conf.set_override("auth_strategy", "noauth", "api")
    conf.set_override("min_report_interval", 0, "agent")
    if args.flush_interval is not None:
        conf.set_override("flush_interval", args.flush_interval, "beats")
    db_engine.configure(conf)
    engine = engines.create_engine(url)
    migration.db_sync(engine)
    ctxt = context.get_admin_context()
    pool = db.pool_create(ctxt, {"name": "agents", "flavor": "f",
                                 "image": "i", "console_type": "rdp",
                                 "max_size": args.desktops})
    now = timeutils.utcnow()
    desktops, agents, sessions, clients = [], [], [], []
    secrets = {}
    for i in range(args.desktops):
        desktop_id = uuidutils.generate_uuid()
        secret = "bench-secret-%06d" % i
        secrets[desktop_id] = secret
        assigned = i % 2 == 0
        desktops.append({
            "id": desktop_id, "pool_id": pool["id"], "name": "d%05d" % i,
            "state": models.ASSIGNED if assigned else models.READY,
            "assigned_user": "agent%05d" % i if assigned else None,
            "generation": 1, "created_at": now})
        agents.append({"desktop_id": desktop_id,
                       "secret_hash": protocol.secret_hash(secret),
                       "registered_at": now, "last_report_at": None,
                       "reports": 1, "created_at": now})
        clients.append({"id": uuidutils.generate_uuid(),
                        "client_id": "tc-%05d" % i, "status": "online",
                        "tags": [], "revision": 1, "created_at": now})
        if assigned:
            sessions.append({
                "id": uuidutils.generate_uuid(),
                "token_hash": uuidutils.generate_uuid(),
                "username": "agent%05d" % i, "client_id": "tc-%05d" % i,
                "desktop_id": desktop_id, "pool_id": pool["id"],
                "state": "active", "created_at": now,
                "expires_at": now + datetime.timedelta(hours=12)})
    with engine.begin() as conn:
        for table, rows in ((models.Desktop, desktops),
                            (models.DesktopAgent, agents),
                            (models.ThinClient, clients),
                            (models.ClientSession, sessions)):
            for start in range(0, len(rows), 1000):
                conn.execute(sa.insert(table.__table__),
                             rows[start:start + 1000])
    engine.dispose()
    return conf, secrets


def call(app, path, body, headers=()):
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path,
        "SERVER_NAME": "bench", "SERVER_PORT": "80",
        "wsgi.url_scheme": "http", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
    }
    for name, value in headers:
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    status = []
    b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    return status[0][:3]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--desktops", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--interval", type=float, default=30.0,
                        help="Seconds between two reports of an agent "
                             "(and two heartbeats of a thin client).")
    parser.add_argument("--target", type=int, default=10000,
                        help="Desktops (and thin clients) the share of a "
                             "core is given for.")
    parser.add_argument("--rounds", type=int, default=2,
                        help="Rounds measured, after the first contact.")
    parser.add_argument("--flush-interval", type=float,
                        help="[beats] flush_interval (0: each written at "
                             "once).")
    parser.add_argument("--db-url")
    parser.add_argument("--db-pid", type=int,
                        help="The database server's process, to count its "
                             "CPU too.")
    parser.add_argument("--db-children", action="store_true",
                        help="Count the CPU of --db-pid's children that "
                             "serve the benchmark's database too "
                             "(PostgreSQL's backends).")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        conf, secrets = build(args, tmp)
        children = (sa.engine.make_url(conf.database.connection).database
                    if args.db_children else None)
        broker_app = deploy.BrokerApp(conf)
        app = deploy.build_app(conf, broker_app)
        # The lean path's buffers (absent before it existed).
        beats = getattr(broker_app, "beats", None)
        statuses = collections.Counter()
        items = list(secrets.items())

        def report(item):
            desktop_id, secret = item
            n = int(secret.rsplit("-", 1)[1])
            body = json.dumps({
                "desktop_id": desktop_id, "display": "running",
                "connection_state": ("connected" if n % 4 == 0
                                     else "disconnected"),
                "username": "agent%05d" % n, "idle_seconds": n % 600,
                "cpu_percent": 12.5, "memory_percent": 40.0,
                "disk_free_mb": 20480}).encode()
            statuses["report " + call(app, "/v1/agent/report", body, (
                (protocol.SECRET_HEADER, secret),))] += 1

        def heartbeat(i):
            body = json.dumps({"client_id": "tc-%05d" % i,
                               "input_events": i % 50}).encode()
            statuses["heartbeat " + call(app, "/v1/client/heartbeat",
                                         body)] += 1

        results = {}
        first = {}
        for name, function, work in (
                ("reports", report, items),
                ("heartbeats", heartbeat, range(args.desktops))):
            with concurrent.futures.ThreadPoolExecutor(args.threads) as ex:
                # First contact: each agent's and client's first request
                # after the API started (imports, connections, the
                # credentials checked by the database and remembered).
                own = time.process_time()
                list(ex.map(function, work))
                if beats is not None:
                    beats.flush()
                first[name] = (time.process_time() - own) / args.desktops
                own = time.process_time()
                db_cpu = (cpu_seconds(args.db_pid, children)
                          if args.db_pid else 0.0)
                start = time.perf_counter()
                for _round in range(args.rounds):
                    list(ex.map(function, work))
                if beats is not None:
                    # What the buffers hold is written within the figures.
                    beats.flush()
                wall = time.perf_counter() - start
                own = time.process_time() - own
            db_cpu = (cpu_seconds(args.db_pid, children) - db_cpu) \
                if args.db_pid \
                else None
            results[name] = (own / args.rounds, db_cpu and
                             db_cpu / args.rounds, wall / args.rounds)

        print("backend %s, %d desktops and thin clients, %d threads" % (
            conf.database.connection.split(":")[0], args.desktops,
            args.threads))
        print("  statuses: %s" % dict(sorted(statuses.items())))
        total_share = 0.0
        for name, (own, db_cpu, wall) in results.items():
            per = own / args.desktops
            # The target's load: --target desktops (and thin clients)
            # every --interval seconds, at the CPU measured per request.
            share = per * args.target / args.interval
            total_share += share
            line = ("  %-10s %.0f/s at full speed; API CPU %.3f ms each "
                    "(the first contact %.3f ms): %d every %g s = "
                    "%.1f%% of one core" % (
                        name, args.desktops / wall, per * 1000,
                        first[name] * 1000, args.target, args.interval,
                        100 * share))
            if db_cpu is not None:
                line += "; database %.3f ms each, %.1f%%" % (
                    1000 * db_cpu / args.desktops,
                    100 * db_cpu / args.desktops * args.target /
                    args.interval)
            print(line)
        print("  together: %.1f%% of one core (API process) for %d "
              "desktops and %d thin clients every %g s" % (
                  100 * total_share, args.target, args.target,
                  args.interval))
        bad = sum(n for k, n in statuses.items()
                  if not k.split()[1].startswith("2"))
        # Every request was written: each agent's reports counted, each
        # active session's connection state from its agent, each thin
        # client seen.
        engine = engines.create_engine(conf.database.connection)
        with engine.connect() as conn:
            agents = conn.execute(sa.select(sa.func.sum(
                models.DesktopAgent.reports))).scalar()
            connected = conn.execute(sa.select(sa.func.count()).where(
                models.ClientSession.connection_state.is_not(None))
            ).scalar()
            seen = conn.execute(sa.select(sa.func.count()).where(
                models.ThinClient.last_seen_at.is_not(None))).scalar()
        engine.dispose()
        # One report counted at registration, then the first contact's
        # and the measured rounds'.
        expected = args.desktops * (args.rounds + 2)
        print("  written: %d reports counted (%d expected), %d sessions "
              "with a connection state, %d thin clients seen" % (
                  agents, expected, connected, seen))
        wrong = (agents != expected or seen != args.desktops or
                 connected != (args.desktops + 1) // 2)
        return 1 if bad or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
