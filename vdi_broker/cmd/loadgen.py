"""vdi-broker-loadgen: simulate many thin clients against a broker.

A login storm (every client at once, over --concurrency threads) or a
ramp (--rate logins per second); optional session look-ups, heartbeats
and logouts; throughput, latency percentiles and errors by kind; and,
with --db-url, an audit of the broker's database at the end. Exit status
1 when a login failed or the audit found a problem.

    vdi-broker-loadgen --url http://127.0.0.1:8783 \\
        --user-pattern agent%05d --users 500 --password demo-Passw0rd \\
        --concurrency 32 --db-url mysql+pymysql://vdi:...@127.0.0.1/vdi
"""

import argparse
import sys

from vdi_broker.loadgen import audit
from vdi_broker.loadgen import client as loadgen_client
from vdi_broker.loadgen import runner


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="vdi-broker-loadgen",
        description=__doc__.split("\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8783",
                   help="The broker's API endpoint.")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--users-file",
                     help="One user a line (username, or username TAB "
                          "password), or a static identity JSON file.")
    who.add_argument("--user-pattern",
                     help="printf pattern of user names, e.g. agent%%05d.")
    p.add_argument("--users", type=int, default=100,
                   help="How many users (with --user-pattern, or the first "
                        "ones of --users-file).")
    p.add_argument("--first", type=int, default=0,
                   help="First number of --user-pattern.")
    p.add_argument("--password", help="Password of every user.")
    p.add_argument("--mode", choices=("storm", "ramp"), default="storm")
    p.add_argument("--concurrency", type=int, default=16,
                   help="Simulated thin clients talking at the same time.")
    p.add_argument("--rate", type=float,
                   help="Ramp: logins started per second.")
    p.add_argument("--show", action="store_true",
                   help="After login, GET the session and its console "
                        "file.")
    p.add_argument("--heartbeats", type=int, default=0,
                   help="Heartbeats per client after login (skipped when "
                        "the broker has no heartbeat API).")
    p.add_argument("--heartbeat-interval", type=float, default=0.0)
    p.add_argument("--logout", action="store_true",
                   help="Log out at the end of each client's run.")
    p.add_argument("--client-prefix", default="tc-loadgen",
                   help="Thin-client ids are PREFIX-NNNNN.")
    p.add_argument("--connect-timeout", type=float, default=3.0)
    p.add_argument("--timeout", type=float, default=30.0,
                   help="Seconds to wait for an answer.")
    p.add_argument("--db-url",
                   help="The broker's database (SQLAlchemy URL): audit it "
                        "at the end.")
    args = p.parse_args(argv)
    if args.mode == "ramp" and not args.rate:
        p.error("--mode ramp needs --rate")
    if args.user_pattern and not args.password:
        p.error("--user-pattern needs --password")
    return args


def load_users(args):
    if args.user_pattern:
        return runner.Users.from_pattern(args.user_pattern, args.users,
                                         args.password, start=args.first)
    users = runner.Users.from_file(args.users_file, args.password)
    return users[:args.users] if args.users else users


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        users = load_users(args)
    except (OSError, ValueError) as e:
        print("vdi-broker-loadgen: %s" % e, file=sys.stderr)
        return 2
    broker = loadgen_client.BrokerClient(
        args.url, concurrency=args.concurrency,
        timeout=(args.connect_timeout, args.timeout))
    simulation = runner.Simulation(
        broker, users, mode=args.mode, concurrency=args.concurrency,
        rate=args.rate, show=args.show, heartbeats=args.heartbeats,
        heartbeat_interval=args.heartbeat_interval, logout=args.logout,
        client_prefix=args.client_prefix)
    print("%s of %d thin clients against %s (%d at a time%s)" % (
        args.mode, len(users), args.url, args.concurrency,
        ", %.1f/s" % args.rate if args.rate else ""), flush=True)
    try:
        report = simulation.run()
    finally:
        broker.close()
    print(report.format())
    if args.heartbeats and broker.heartbeat_supported is False:
        print("heartbeats: the broker has no heartbeat API (404), skipped")
    failed = report.summary()["errors"] > 0
    if args.db_url:
        result = audit.run(args.db_url,
                           logins=report.logins)
        print(result.format())
        failed = failed or not result.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
