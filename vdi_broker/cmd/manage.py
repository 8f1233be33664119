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

"""vdi-broker-manage: database, identity and demo administration.

    vdi-broker-manage db sync | db version
    vdi-broker-manage identity hash-password
    vdi-broker-manage demo setup --users-file FILE [--users N]
    vdi-broker-manage agent rekey --pool POOL --output FILE
    vdi-broker-manage monitoring purge [--days N]
"""

import datetime
import getpass
import logging
import os
import secrets
import sys

from oslo_config import cfg
from oslo_utils import timeutils

from vdi_broker.cmd import init_backend  # noqa: F401  (threading first)
from vdi_broker import conf as vdi_conf
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db import migration
from vdi_broker.guest_agent import protocol
from vdi_broker.identity import static
from vdi_broker import wsgi


def _db_sync():
    # A migration may run longer than any statement of the services.
    vdi_conf.CONF.set_override("read_timeout", 0, "database_network")
    vdi_conf.CONF.set_override("idle_transaction_timeout", 0,
                               "database_network")
    migration.db_sync()
    print("Database schema at revision %s" % migration.db_version())


def _db_version():
    # Only the revision on stdout, for scripts.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    print(migration.db_version() or "(empty database)")


def _hash_password():
    password = getpass.getpass("Password: ") if sys.stdin.isatty() \
        else sys.stdin.readline().rstrip("\n")
    if not password:
        print("An empty password cannot be hashed.", file=sys.stderr)
        return 1
    print(static.hash_password(
        password, iterations=vdi_conf.CONF.command.iterations))


def _demo_setup():
    from vdi_broker.demo import setup as demo_setup
    ctxt = vdi_context.get_admin_context()
    summary = demo_setup.setup(ctxt, vdi_conf.CONF.command.users_file,
                               vdi_conf.CONF.command.users,
                               vdi_conf.CONF.command.password,
                               vdi_conf.CONF.monitoring.timezone)
    for line in summary:
        print(line)


def agent_rekey(ctxt, pool_ident, output):
    """New agent secrets for a pool's desktops, written to a CSV file.

    For simulated agents (vdi-broker-loadgen --mode agents) on the fake
    cloud, whose servers' metadata no other process can read. A real
    desktop's agent keeps the secret of its metadata and is refused
    afterwards: never on a pool of real desktops. Returns the pool and
    how many desktops got a secret.
    """
    pool = db.pool_get(ctxt, pool_ident)
    desktops = db.desktop_list(ctxt, {"pool_id": pool["id"]})
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("desktop_id,secret\n")
        for desktop in desktops:
            secret = secrets.token_urlsafe(32)
            db.agent_secret_set(ctxt, desktop["id"],
                                protocol.secret_hash(secret))
            f.write("%s,%s\n" % (desktop["id"], secret))
    return pool, len(desktops)


def _agent_rekey():
    command = vdi_conf.CONF.command
    pool, count = agent_rekey(vdi_context.get_admin_context(),
                              command.pool, command.output)
    print("%d desktops of pool %s have new agent secrets, in %s" % (
        count, pool["name"], command.output))


def _monitoring_purge():
    """Delete old agent counts and resolved alerts.

    Agent counts older than [monitoring] history_days (or --days), alerts
    resolved more than [alerts] resolved_days ago.
    """
    from vdi_broker.db import api as db
    conf = vdi_conf.CONF
    ctxt = vdi_context.get_admin_context()
    now = timeutils.utcnow()
    days = conf.command.days or conf.monitoring.history_days
    counts = db.agent_counts_purge(ctxt, now - datetime.timedelta(days=days))
    alerts = db.alerts_purge(ctxt, now - datetime.timedelta(
        days=conf.alerts.resolved_days))
    print("Deleted %d agent counts older than %d days and %d resolved "
          "alerts" % (counts, days, alerts))


def add_command_parsers(subparsers):
    db = subparsers.add_parser("db", help="Database schema.")
    db_sub = db.add_subparsers(dest="action")
    db_sub.required = True
    db_sub.add_parser("sync", help="Upgrade the schema to the newest "
                                   "revision.").set_defaults(func=_db_sync)
    db_sub.add_parser("version", help="Print the schema revision.") \
        .set_defaults(func=_db_version)

    identity = subparsers.add_parser("identity",
                                     help="Static identity driver.")
    id_sub = identity.add_subparsers(dest="action")
    id_sub.required = True
    hp = id_sub.add_parser("hash-password",
                           help="Hash a password (read from the terminal "
                                "or one line of stdin) for a users file.")
    hp.add_argument("--iterations", type=int,
                    default=static.DEFAULT_ITERATIONS)
    hp.set_defaults(func=_hash_password)

    demo = subparsers.add_parser("demo", help="The all-in-one demo.")
    demo_sub = demo.add_subparsers(dest="action")
    demo_sub.required = True
    ds = demo_sub.add_parser(
        "setup", help="Write a demo directory of call-centre users and "
                      "create the demo pools, seats and allocators.")
    ds.add_argument("--users-file", required=True)
    ds.add_argument("--users", type=int, default=400)
    ds.add_argument("--password", default="demo-Passw0rd",
                    help="The password every demo user gets.")
    ds.set_defaults(func=_demo_setup)

    agent = subparsers.add_parser("agent", help="Guest agents.")
    agent_sub = agent.add_subparsers(dest="action")
    agent_sub.required = True
    rk = agent_sub.add_parser(
        "rekey", help="Give a pool's desktops new agent secrets and write "
                      "them (desktop_id,secret) to a file, for simulated "
                      "agents on the fake cloud. Real desktops' agents "
                      "keep their metadata's secret and are refused "
                      "afterwards.")
    rk.add_argument("--pool", required=True, help="Pool name or ID.")
    rk.add_argument("--output", required=True,
                    help="The CSV file to write (mode 0600).")
    rk.set_defaults(func=_agent_rekey)
    monitoring = subparsers.add_parser("monitoring",
                                       help="Business monitoring.")
    mon_sub = monitoring.add_subparsers(dest="action")
    mon_sub.required = True
    purge = mon_sub.add_parser(
        "purge", help="Delete the agent counts older than [monitoring] "
                      "history_days and the alerts resolved before "
                      "[alerts] resolved_days.")
    purge.add_argument("--days", type=int, default=None,
                       help="Keep this many days of agent counts instead.")
    purge.set_defaults(func=_monitoring_purge)


command_opt = cfg.SubCommandOpt("command", title="Commands",
                                help="Available commands",
                                handler=add_command_parsers)


def main(argv=None):
    vdi_conf.CONF.register_cli_opt(command_opt)
    wsgi.parse_config(sys.argv[1:] if argv is None else argv)
    return vdi_conf.CONF.command.func() or 0
