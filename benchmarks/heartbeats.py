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

"""Thin-client heartbeats: the CPU they cost the API (R15).

10,000 thin clients sending a heartbeat every 30 seconds make 333
heartbeats a second. This builds a broker on a fresh database (a SQLite
file by default, or a MariaDB / PostgreSQL URL), registers CLIENTS thin
clients, logs LOGGED_IN of them into sessions (rows written directly,
with known tokens), then sends ROUNDS rounds of one heartbeat per client
through the real WSGI application (middleware, schema, the session
token's check for the logged-in ones, input events, the one UPDATE),
from THREADS threads, and reports the CPU seconds a heartbeat costs and
what 10,000 clients every 30 s cost in percent of one core:

* this process (the API's Python, and SQLite's work for a SQLite file);
* with ``--server-pid`` (MariaDB's mariadbd; PostgreSQL's postmaster
  with ``--server-children``: its backends that serve the benchmark's
  database are counted, not those of other tests on a shared server),
  the database server's CPU too, read from /proc.

    python benchmarks/heartbeats.py
    python benchmarks/heartbeats.py --db-url \\
        mysql+pymysql://openstack_citest:openstack_citest@127.0.0.1/vdi_hb \\
        --server-pid $(pidof mariadbd)

Run by hand; it prints figures and checks that every heartbeat got its
204 (200 with ``--viewer``) and that the logged-in clients' input (and
viewer) was recorded. ``--viewer``: version 1.2 heartbeats whose
logged-in clients say their viewer is connected, to measure what the
viewer costs beside the same run without it.
"""

import argparse
import concurrent.futures
import io
import json
import os
import sys
import tempfile
import time
import uuid

if not os.environ.get("PYTHONPATH"):
    # This tree's broker; with PYTHONPATH, that one's (a side-by-side
    # comparison runs this script against another tree).
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))

from oslo_db.sqlalchemy import engines  # noqa: E402
from oslo_utils import timeutils  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from vdi_broker.cmd import init_backend  # noqa: E402,F401
from vdi_broker.api import client_auth  # noqa: E402
from vdi_broker.api import deploy  # noqa: E402
from vdi_broker import conf as vdi_conf  # noqa: E402
from vdi_broker.conf import opts  # noqa: E402
from vdi_broker.db import migration  # noqa: E402
from vdi_broker.db.sqlalchemy import engine as db_engine  # noqa: E402
from vdi_broker.db.sqlalchemy import models  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


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
    if args.flush_interval is not None:
        conf.set_override("flush_interval", args.flush_interval, "beats")
    db_engine.configure(conf)
    engine = engines.create_engine(url)
    migration.db_sync(engine)
    now = timeutils.utcnow()
    clients, sessions = [], []
    for i in range(args.clients):
        client_id = "tc-%05d" % i
        clients.append({"id": str(uuid.uuid4()), "client_id": client_id,
                        "site": "shanghai", "tags": [], "status": "online",
                        "last_seen_at": now, "revision": 1,
                        "created_at": now})
        if i < args.clients * args.logged_in:
            token = "token-%05d" % i
            sessions.append({
                "id": str(uuid.uuid4()),
                "token_hash": client_auth.token_hash(token),
                "username": "agent%05d" % i, "client_id": client_id,
                "pool_id": "bench-pool", "state": "active",
                "department": "hotel", "created_at": now,
                "expires_at": now.replace(year=now.year + 1),
                "_token": token})
    with engine.begin() as conn:
        conn.execute(sa.insert(models.ThinClient.__table__), clients)
        conn.execute(sa.insert(models.ClientSession.__table__),
                     [{k: v for k, v in s.items() if k != "_token"}
                      for s in sessions])
    engine.dispose()
    requests = []
    by_client = {s["client_id"]: s for s in sessions}
    for client in clients:
        session = by_client.get(client["client_id"])
        body = {"client_id": client["client_id"], "input_events": 7}
        headers = {}
        if session:
            body["session_id"] = session["id"]
            headers["HTTP_X_SESSION_TOKEN"] = session["_token"]
            if args.viewer:
                body["viewer"] = {"connected": True, "seconds": 60}
        if args.viewer or args.api_version:
            headers["HTTP_OPENSTACK_API_VERSION"] = "vdi %s" % (
                args.api_version or "1.2")
        requests.append((json.dumps(body).encode(), headers))
    return conf, url, requests


def call(app, body, headers):
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/v1/client/heartbeat",
        "SERVER_NAME": "bench", "SERVER_PORT": "80",
        "REMOTE_ADDR": "10.1.2.3",
        "wsgi.url_scheme": "http", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
    }
    environ.update(headers)
    status = []
    chunks = app(environ, lambda s, h, e=None: status.append(s))
    b"".join(chunks)
    return status[0]


def _serves(pid, database):
    """Whether a PostgreSQL backend serves ``database`` (its title says)."""
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            title = f.read().decode("utf-8", "replace")
    except OSError:
        return False
    return (" %s " % database) in title


def server_cpu(pids, children, database=None):
    """CPU seconds of the database server's processes (utime + stime).

    ``children``: the children of ``pids`` too, those serving
    ``database`` alone when given (the other tests on a shared server
    are not this benchmark's).
    """
    total = 0
    wanted = set(pids)
    if children:
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open("/proc/%s/stat" % name) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) in pids and (
                        database is None or _serves(name, database)):
                    wanted.add(int(name))
    for pid in wanted:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10000)
    parser.add_argument("--logged-in", type=float, default=0.8,
                        help="Share of the clients in a session (their "
                             "heartbeat carries its token).")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--flush-interval", type=float,
                        help="[beats] flush_interval (0: each written at "
                             "once).")
    parser.add_argument("--interval", type=float, default=30.0,
                        help="Seconds between two heartbeats of a client.")
    parser.add_argument("--viewer", action="store_true",
                        help="API version 1.2: the logged-in clients' "
                             "heartbeats say their viewer is connected "
                             "(one more UPDATE of the session each).")
    parser.add_argument("--api-version",
                        help="Ask for this API version (X.Y); --viewer "
                             "asks for 1.2. The baseline of --viewer: "
                             "--api-version 1.2 without it.")
    parser.add_argument("--db-url")
    parser.add_argument("--server-pid", type=int, action="append",
                        default=[])
    parser.add_argument("--server-children", action="store_true",
                        help="Count the children of --server-pid that "
                             "serve the benchmark's database too "
                             "(PostgreSQL's backends).")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        conf, url, requests = build(args, tmp)
        broker_app = deploy.BrokerApp(conf)
        app = deploy.build_app(conf, broker_app)
        # The lean path's buffers (absent before it existed).
        beats = getattr(broker_app, "beats", None)
        statuses = {}

        def one_round(pool):
            for status in pool.map(lambda r: call(app, *r), requests):
                statuses[status] = statuses.get(status, 0) + 1

        with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
            # First contact: every client's first heartbeat after the API
            # started (connections, imports, the credentials checked by
            # the database and remembered).
            cpu_before = time.process_time()
            one_round(pool)
            if beats is not None:
                beats.flush()
            first = (time.process_time() - cpu_before) / len(requests)
            database = sa.engine.make_url(url).database
            server_before = server_cpu(args.server_pid,
                                       args.server_children, database)
            cpu_before = time.process_time()
            started = time.perf_counter()
            for _round in range(args.rounds):
                one_round(pool)
            if beats is not None:
                # What the buffers hold is written within the figures.
                beats.flush()
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu_before
        server = server_cpu(args.server_pid, args.server_children,
                            database) - server_before
        sent = len(requests) * args.rounds
        answer = "200 OK" if args.viewer or args.api_version not in (
            None, "1.0") else "204 No Content"
        assert statuses == {answer: sent + len(requests)}, statuses
        engine = engines.create_engine(url)
        with engine.connect() as conn:
            active = conn.execute(sa.select(sa.func.count()).where(
                models.ThinClient.last_input_at.is_not(None))).scalar()
            viewers = conn.execute(sa.select(sa.func.count()).where(
                models.ClientSession.viewer_state.is_not(None))).scalar() \
                if args.viewer else 0
        engine.dispose()
        logged_in = int(args.clients * args.logged_in)
        assert active >= logged_in, (active, logged_in)
        if args.viewer:
            assert viewers >= logged_in, (viewers, logged_in)
            print("viewer (API 1.2) in the logged-in clients' heartbeats")
        rate = 10000 / args.interval
        print("database: %s" % url.split("://")[0])
        print("%d heartbeats (%d clients x %d rounds, %d logged in), "
              "%d threads: %.1f s wall, %.0f heartbeats/s" % (
                  sent, args.clients, args.rounds, logged_in, args.threads,
                  wall, sent / wall))
        per = cpu / sent
        print("first heartbeat of each client: %.3f ms CPU" % (
            first * 1000))
        print("API process: %.3f ms CPU per heartbeat; 10,000 clients "
              "every %.0f s (%.0f/s): %.1f%% of one core" % (
                  per * 1000, args.interval, rate, per * rate * 100))
        if beats is not None:
            print("lean path: flush interval %.1f s" % (
                conf.beats.flush_interval))
        if args.server_pid:
            per_server = server / sent
            print("database server: %.3f ms CPU per heartbeat: %.1f%% of "
                  "one core; together %.1f%%" % (
                      per_server * 1000, per_server * rate * 100,
                      (per + per_server) * rate * 100))


if __name__ == "__main__":
    main()
