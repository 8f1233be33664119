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

"""Logins through the whole API stack, in one process.

Builds a broker on a fresh database (SQLite file by default, or a MariaDB /
PostgreSQL URL), fills a floating pool and a user-bound pool with ready
desktops directly in the database, then sends LOGINS thin-client logins
through the real WSGI application (middleware, schema, static identity,
allocator chain, atomic claim, console) from THREADS threads, and prints
p50 / p99 latency and logins per second. The conductor runs in-process
([conductor] use_local), so this measures the API + allocation path
without the message bus.

    python benchmarks/login_api.py --logins 2000 --threads 1
    python benchmarks/login_api.py --logins 2000 --threads 8
    python benchmarks/login_api.py --db-url \
        mysql+pymysql://openstack_citest:openstack_citest@127.0.0.1/vdi_bench

Run by hand; it prints figures and asserts nothing but correctness (no
desktop handed out twice).
"""

import argparse
import collections
import concurrent.futures
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid

from oslo_db.sqlalchemy import engines

from vdi_broker.cmd import init_backend  # noqa: F401
from vdi_broker.api import deploy
from vdi_broker import conf as vdi_conf
from vdi_broker.conf import opts
from vdi_broker import context
from vdi_broker.db import api as db
from vdi_broker.db import migration
from vdi_broker.db.sqlalchemy import engine as db_engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker.identity import static

PASSWORD = "bench-Passw0rd"


def build(args, tmp):
    users = [{"username": "agent%05d" % i,
              "dn": "uid=agent%05d,ou=%s,ou=shanghai,dc=example" % (
                  i, "vip" if i % 10 == 0 else "hotel"),
              "groups": ["vip-agents"] if i % 10 == 0 else ["agents"],
              "attributes": {"department": ["hotel"]},
              "password_hash": static.hash_password(
                  PASSWORD, iterations=args.iterations)}
             for i in range(args.logins)]
    users_file = os.path.join(tmp, "users.json")
    with open(users_file, "w") as f:
        json.dump({"users": users}, f)

    conf = vdi_conf.CONF
    opts.set_lib_defaults()
    conf([], project="vdi-broker", default_config_files=[])
    url = args.db_url or "sqlite:///%s/bench.sqlite" % tmp
    conf.set_override("connection", url, "database")
    conf.set_override("max_pool_size", args.threads + 5, "database")
    conf.set_override("driver", "static", "identity")
    conf.set_override("users_file", users_file, "static_identity")
    conf.set_override("driver", "fake", "compute")
    conf.set_override("use_local", True, "conductor")
    conf.set_override("auth_strategy", "noauth", "api")
    # The throttle is on by default in a deployment: --throttle measures
    # its read too.
    conf.set_override("enabled", args.throttle, "login_throttle")
    db_engine.configure(conf)
    engine = engines.create_engine(url)
    migration.db_sync(engine)
    engine.dispose()

    ctxt = context.get_admin_context()
    floating = db.pool_create(ctxt, {"name": "floating", "flavor": "f",
                                     "image": "i", "console_type": "rdp",
                                     "max_size": args.logins})
    bound = db.pool_create(ctxt, {"name": "bound", "flavor": "f",
                                  "image": "i", "console_type": "rdp",
                                  "max_size": args.logins,
                                  "release_action": "keep"})
    for i in range(args.logins):
        pool = bound if i % 10 == 0 else floating
        db.desktop_create(ctxt, {"pool_id": pool["id"], "name": "d%d" % i,
                                 "state": models.READY,
                                 "address": "198.18.%d.%d" % (i // 250,
                                                              i % 250 + 1)})
    db.allocator_create(ctxt, {"name": "vip", "priority": 10,
                               "plugin": "user", "pool_id": bound["id"],
                               "rules": {"groups": ["vip-agents"]}})
    db.allocator_create(ctxt, {"name": "agents", "priority": 20,
                               "plugin": "pool", "pool_id": floating["id"],
                               "rules": {"ou": ["shanghai"]}})
    return conf, [u["username"] for u in users]


def call(app, body):
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/v1/client/sessions",
        "SERVER_NAME": "bench", "SERVER_PORT": "80",
        "wsgi.url_scheme": "http", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": __import__("io").BytesIO(body),
        "wsgi.errors": sys.stderr,
    }
    status = []
    chunks = app(environ, lambda s, h, e=None: status.append(s))
    return status[0], b"".join(chunks)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=1000,
                        help="PBKDF2 rounds of the test users' hashes "
                             "(the static driver's cost, not the "
                             "broker's).")
    parser.add_argument("--db-url")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile on the process's CPU clock.")
    parser.add_argument("--profile-lines", type=int, default=40)
    parser.add_argument("--throttle", action="store_true",
                        help="The login throttle on (as deployed); off by "
                             "default, as in earlier rounds.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        conf, users = build(args, tmp)
        app = deploy.build_app(conf)
        latencies = []
        statuses = collections.Counter()
        desktops = {}

        def login(username):
            body = json.dumps({"username": username, "password": PASSWORD,
                               "client_id": "tc-" + uuid.uuid4().hex[:8]}
                              ).encode()
            start = time.perf_counter()
            status, payload = call(app, body)
            latencies.append(time.perf_counter() - start)
            statuses[status] += 1
            if status.startswith("201"):
                desktops[username] = json.loads(payload)["desktop"]["id"]

        profiler = (cProfile.Profile(time.process_time) if args.profile
                    else None)
        if profiler:
            profiler.enable()
        start = time.perf_counter()
        cpu = time.process_time()
        if args.threads == 1:
            # In this thread: cProfile sees only the thread it runs in.
            for user in users:
                login(user)
        else:
            with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
                list(pool.map(login, users))
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - start
        if profiler:
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(args.profile_lines)
            stats.sort_stats("tottime").print_stats(args.profile_lines)

        lat = sorted(latencies)
        print("backend %s, %d logins, %d threads, PBKDF2 %d rounds" % (
            conf.database.connection.split(":")[0], len(users),
            args.threads, args.iterations))
        print("  statuses: %s" % dict(statuses))
        print("  p50 %.2f ms  p99 %.2f ms  max %.2f ms" % (
            statistics.median(lat) * 1000,
            lat[int(len(lat) * 0.99) - 1] * 1000, lat[-1] * 1000))
        print("  %.0f logins/s (wall %.2f s)" % (len(users) / wall, wall))
        # This process's CPU (the API and, with use_local, the conductor;
        # not the database server's).
        print("  CPU per login, this process: %.3f ms%s" % (
            cpu / len(users) * 1000,
            " (under cProfile)" if profiler else ""))
        distinct = len(set(desktops.values()))
        print("  desktops handed out: %d to %d users (must be equal)" % (
            distinct, len(desktops)))
        return 0 if distinct == len(desktops) else 1


if __name__ == "__main__":
    sys.exit(main())
