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

"""Logins on a three-node Galera cluster, writing to every node at once.

Starts the test suite's throwaway cluster (tests/fixtures/galera.py: three
mariadbd with galera-4 on loopback), a pool of ready desktops and USERS
users, then runs LOGINS logins through the login's storage calls (the login
service's transaction with a decision given) from one process
per node, THREADS threads each: every user logs in ROUNDS times, each
round on another node, so that first logins race for desktops across the
nodes and later ones take the user's desktop over. With ``--kill-at``
the third node is SIGKILLed when that fraction of the logins is done and
started again ``--down`` seconds later; its process's logins fail while
it is down (counted) and go on once it is back.

Afterwards the outcome is checked on every node with the independent
audit (vdi_broker/loadgen/audit.py: no desktop used by two users) and
against the answers: each user was always given the same desktop, and no
desktop was given to two users. Prints logins/s, latency percentiles,
the transactions retried (deadlock errors: certification failures and
brute-force aborts) and the failures per node.

    python benchmarks/galera_logins.py --logins 100000 --users 5000 \\
        --threads 10 --kill-at 0.5 --down 20

Run by hand (root, or a user who may run mariadbd); needs galera-4 and
rsync (tools/test-setup.sh).
"""

import argparse
import collections
import concurrent.futures
import datetime
import hashlib
import multiprocessing
import os
import sys
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from oslo_db import exception as db_exc  # noqa: E402
from oslo_db.sqlalchemy import engines  # noqa: E402
from oslo_utils import timeutils  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from tests.fixtures import galera  # noqa: E402
from tests.fixtures import logins as login_fixture  # noqa: E402
from vdi_broker import context  # noqa: E402
from vdi_broker.db import api as db  # noqa: E402
from vdi_broker.db import migration  # noqa: E402
from vdi_broker.db.sqlalchemy import engine as db_engine  # noqa: E402
from vdi_broker.db.sqlalchemy import models  # noqa: E402
from vdi_broker.loadgen import audit  # noqa: E402

NODES = 3


def _plan(args):
    """(node, username) per login: round r sends user u to node u+r."""
    plan = []
    for rnd in range(args.rounds):
        for u in range(args.users):
            plan.append(((u + rnd) % NODES, "agent%05d" % u))
    return plan[:args.logins]


def _worker(node, url, pool_id, logins, args, done, start, results):
    engine = engines.create_engine(url, max_pool_size=args.threads,
                                   max_overflow=10)
    db_engine.prepare_engine(engine)
    db_engine.main_context_manager.patch_engine(engine)
    errors = collections.Counter()
    lock = threading.Lock()

    def handle_error(ctx):
        text = str(ctx.original_exception)
        kind = "deadlock" if "1213" in text else \
            type(ctx.original_exception).__name__
        with lock:
            errors[kind] += 1

    sa.event.listen(engine, "handle_error", handle_error)

    def login(username):
        token = uuid.uuid4().hex
        began = time.monotonic()
        try:
            result = login_fixture.claim(
                context.get_admin_context(),
                {"username": username, "client_id": "tc-" + username,
                 "seat": None},
                {"pool_id": pool_id, "binding_kind": None,
                 "binding_key": None, "allocator_id": None,
                 "allocator_name": "bench"},
                {"id": str(uuid.uuid4()),
                 "token_hash": hashlib.sha256(token.encode()).hexdigest(),
                 "expires_at": timeutils.utcnow() +
                 datetime.timedelta(hours=8)},
                candidates=args.candidates)
            outcome = (username, result["desktop"]["id"])
        except (db_exc.DBError, Exception) as e:
            outcome = (username, "error:%s" % type(e).__name__)
            # A node that is down: do not spin.
            time.sleep(0.05)
        with done.get_lock():
            done.value += 1
        return outcome, time.monotonic() - began

    start.wait()
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.threads) as executor:
        out = list(executor.map(login, logins))
    results.put((node, time.monotonic() - began, [o for o, _ in out],
                 [d for _, d in out], dict(errors)))


def _audit_engine(url):
    return sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={
        "init_command": "SET SESSION wsrep_sync_wait=1",
        "read_timeout": 600})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logins", type=int, default=10000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=10,
                        help="threads per node")
    parser.add_argument("--candidates", type=int, default=16,
                        help="[allocator] claim_candidates")
    parser.add_argument("--kill-at", type=float, default=None,
                        help="kill the third node when this fraction of "
                             "the logins is done")
    parser.add_argument("--down", type=float, default=10.0,
                        help="seconds the killed node stays down")
    args = parser.parse_args()
    args.rounds = -(-args.logins // args.users)

    cluster = galera.cluster()
    name = "vdi_bench_%s" % uuid.uuid4().hex[:8]
    admin = sa.create_engine(cluster.nodes[0].url(""),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("CREATE DATABASE %s" % name))
    admin.dispose()
    urls = [n.url(name) for n in cluster.nodes]
    db_engine.main_context_manager.configure(connection=urls[0])
    engine = engines.create_engine(urls[0])
    db_engine.prepare_engine(engine)
    migration.db_sync(engine)
    reset = db_engine.main_context_manager.patch_engine(engine)
    ctxt = context.get_admin_context()
    pool = db.pool_create(ctxt, {
        "name": "agents", "flavor": "f", "image": "i", "min_ready": 0,
        "max_size": args.users, "release_action": "keep"})
    db.desktop_create_many(ctxt, [
        {"id": str(uuid.uuid4()), "pool_id": pool["id"],
         "name": "agents-%05d" % i, "server_id": str(uuid.uuid4()),
         "state": models.READY, "address": "10.%d.%d.%d" % (
             i // 65536, i // 256 % 256, i % 256)}
        for i in range(args.users)])
    reset()
    engine.dispose()
    for url in urls:
        # Every node has the desktops before the run starts.
        check = _audit_engine(url)
        with check.connect() as conn:
            conn.execute(sa.text("SELECT COUNT(*) FROM desktops")).scalar()
        check.dispose()

    plan = _plan(args)
    per_node = collections.defaultdict(list)
    for node, username in plan:
        per_node[node].append(username)
    mp = multiprocessing.get_context("fork")
    done = mp.Value("i", 0)
    start = mp.Event()
    results = mp.Queue()
    workers = [mp.Process(target=_worker, args=(
        node, urls[node], pool["id"], per_node[node], args, done, start,
        results)) for node in range(NODES)]
    for worker in workers:
        worker.start()
    time.sleep(2)
    began = time.monotonic()
    start.set()
    finished = threading.Event()

    def progress():
        while not finished.wait(30):
            print("  %.0f s: %d logins done" % (
                time.monotonic() - began, done.value), flush=True)

    threading.Thread(target=progress, daemon=True).start()
    drill = {}
    if args.kill_at is not None:
        victim = NODES - 1
        while done.value < args.kill_at * len(plan):
            time.sleep(0.05)
        drill["killed_after"] = done.value
        cluster.kill(victim)
        killed = time.monotonic()
        time.sleep(args.down)
        cluster.start(victim)
        cluster.wait_for_size(NODES)
        drill["rejoined_after_s"] = round(time.monotonic() - killed, 1)
        drill["done_at_rejoin"] = done.value
    outcomes = [results.get() for _ in workers]
    wall = time.monotonic() - began
    finished.set()
    for worker in workers:
        worker.join()

    durations, errors, answers = [], collections.Counter(), []
    failures = collections.Counter()
    for node, seconds, out, durs, errs in sorted(outcomes):
        durations += durs
        errors.update(errs)
        answers += out
        for _user, desktop in out:
            if desktop.startswith("error:"):
                failures[(node, desktop[6:])] += 1
    durations.sort()

    def pct(p):
        return durations[min(len(durations) - 1, int(len(durations) * p))]

    ok = [(u, d) for u, d in answers if not d.startswith("error:")]
    print("logins %d (ok %d) from %d users, %d threads per node, "
          "candidates %d: %.1f s, %.0f logins/s" % (
              len(answers), len(ok), args.users, args.threads,
              args.candidates, wall, len(answers) / wall))
    print("latency p50 %.3f p95 %.3f p99 %.3f max %.3f s" % (
        pct(0.5), pct(0.95), pct(0.99), durations[-1]))
    print("database errors (each a retried transaction or a failure): %s"
          % dict(errors))
    print("failed logins per (node, error): %s" % dict(failures))
    if drill:
        print("drill: %s" % drill)

    # The answers: one desktop per user, one user per desktop.
    by_user = collections.defaultdict(set)
    by_desktop = collections.defaultdict(set)
    for user, desktop in ok:
        by_user[user].add(desktop)
        by_desktop[desktop].add(user)
    moved = {u: d for u, d in by_user.items() if len(d) > 1}
    shared = {d: u for d, u in by_desktop.items() if len(u) > 1}
    print("answers: users given two desktops %d, desktops given to two "
          "users %d" % (len(moved), len(shared)))
    good = not moved and not shared
    for index, url in enumerate(urls):
        check = _audit_engine(url)
        try:
            found = audit.run(engine=check)
            with check.connect() as conn:
                assigned = dict(conn.execute(sa.text(
                    "SELECT assigned_user, id FROM desktops "
                    "WHERE state = 'assigned'")).all())
        finally:
            check.dispose()
        # Each user holds the desktop every answer named.
        elsewhere = [u for u, d in by_user.items()
                     if assigned.get(u) not in d]
        print("node %d %s\n  users not on their answered desktop %d" % (
            index + 1, found.format(), len(elsewhere)))
        good = good and found.ok and not elsewhere
    print("RESULT %s" % ("OK" if good else "FAILED"))
    cluster.stop()
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
