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

"""vdi-broker-loadgen: simulate many thin clients against a broker.

A login storm (every client at once, over --concurrency threads) or a
ramp (--rate logins per second); optional session look-ups, heartbeats
and logouts; throughput, latency percentiles and errors by kind; and,
with --db-url, an audit of the broker's database at the end. Exit status
1 when a login failed or the audit found a problem.

    vdi-broker-loadgen --url http://127.0.0.1:8783 \\
        --user-pattern agent%05d --users 500 --password demo-Passw0rd \\
        --concurrency 32 --db-url mysql+pymysql://vdi:...@127.0.0.1/vdi

--mode probe logs one probe user in through the whole path every
--interval seconds and exports the results as Prometheus metrics;
--mode day replays a shift plan's day in compressed time; --mode agents
plays the guest agents of many desktops (--desktops-file), with hangs,
display drops and crashes on a schedule (see the CLI guide).
"""

import argparse
import datetime
import signal
import socket
import sys
import threading

import prometheus_client

from vdi_broker.loadgen import agents as agents_mode
from vdi_broker.loadgen import audit
from vdi_broker.loadgen import client as loadgen_client
from vdi_broker.loadgen import day as day_mode
from vdi_broker.loadgen import probe as probe_mode
from vdi_broker.loadgen import runner
from vdi_broker.monitoring import shift_plan


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="vdi-broker-loadgen",
        description=__doc__.split("\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8783",
                   help="The broker's API endpoint.")
    who = p.add_mutually_exclusive_group()
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
    p.add_argument("--mode", choices=("storm", "ramp", "probe", "day",
                                      "agents"),
                   default="storm",
                   help="storm, ramp: many thin clients log in; probe: one "
                        "probe user round the clock; day: a shift plan's "
                        "day in compressed time; agents: desktops' guest "
                        "agents report.")
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
    probe = p.add_argument_group("probe mode")
    probe.add_argument("--username",
                       help="The probe user (else the first of "
                            "--users-file).")
    probe.add_argument("--client-id",
                       help="The probe's thin-client id (default "
                            "tc-probe-HOSTNAME).")
    probe.add_argument("--seat", help="The seat the probe logs in from.")
    probe.add_argument("--interval", type=float, default=300.0,
                       help="Seconds between two runs (default 300).")
    probe.add_argument("--runs", type=int, default=0,
                       help="Runs before exiting; 0 (the default): until "
                            "stopped. With runs, the exit status is the "
                            "last run's.")
    probe.add_argument("--probe-name",
                       help="The probe label of its metrics (default the "
                            "user name).")
    probe.add_argument("--metrics-port", type=int, default=0,
                       help="Serve the probe's metrics on this port "
                            "(GET /metrics); 0: none.")
    probe.add_argument("--metrics-host", default="127.0.0.1",
                       help="Address of the metrics port (default "
                            "127.0.0.1).")
    probe.add_argument("--textfile",
                       help="Write the metrics to this file after each run "
                            "(node_exporter's textfile collector: a .prom "
                            "file in its directory).")
    day = p.add_argument_group("day mode")
    day.add_argument("--plan",
                     help="The shift plan CSV (date, interval_start, "
                          "department, site, required_agents).")
    day.add_argument("--date", type=datetime.date.fromisoformat,
                     help="The day of the plan to replay (default its "
                          "first).")
    day.add_argument("--agents-file",
                     help="CSV of agents: username, department, site[, "
                          "password]. Else --user-pattern users are "
                          "given to the plan's teams in order.")
    day.add_argument("--speed", type=float, default=60.0,
                     help="Plan seconds per real second (default 60: an "
                          "hour a minute).")
    day.add_argument("--late-share", type=float, default=0.1,
                     help="Share of shifts that start late (default 0.1).")
    day.add_argument("--late-minutes", type=int, default=20,
                     help="At most this late (default 20 minutes).")
    day.add_argument("--break-minutes", type=int, default=15,
                     help="A break in each long shift (default 15 "
                          "minutes; 0: none).")
    day.add_argument("--break-after", type=int, default=120,
                     help="Shifts of this many minutes or more get a "
                          "break (default 120).")
    day.add_argument("--outage", action="append", default=[],
                     metavar="SITE@HH:MM-HH:MM",
                     help="A site's network is down then (no heartbeat, "
                          "login or logout); repeatable.")
    day.add_argument("--slot-minutes", type=int, choices=(15, 30),
                     help="The plan's slot length (default: found in the "
                          "plan).")
    day.add_argument("--seed", type=int, default=0,
                     help="Seed of the day's randomness (default 0).")
    day.add_argument("--viewer", action="store_true",
                     help="Heartbeats say whether the viewer is connected "
                          "(API 1.2): while logged in, but in a display "
                          "drop.")
    day.add_argument("--viewer-drop-share", type=float, default=0.0,
                     help="With --viewer: the share of the shifts whose "
                          "display drops once (default 0).")
    day.add_argument("--viewer-drop-minutes", type=int, default=10,
                     help="How long a display drop lasts (default 10 "
                          "minutes).")
    agents = p.add_argument_group("agents mode")
    agents.add_argument("--desktops-file",
                        help="CSV of the simulated desktops: desktop_id, "
                             "agent secret (the servers' vdi_desktop and "
                             "vdi_agent_secret metadata).")
    agents.add_argument("--report-interval", type=float, default=30.0,
                        help="Seconds between two reports of an agent "
                             "(default 30).")
    agents.add_argument("--duration", type=float, default=60.0,
                        help="Seconds to run (default 60).")
    agents.add_argument("--connected", action="store_true",
                        help="The agents report a connected display.")
    for kind, what in (("hang", "hang (the agent falls silent for good)"),
                       ("display", "lose their display service for "
                                   "--fault-duration seconds"),
                       ("crash", "crash (silent for --fault-duration "
                                 "seconds, then register again)")):
        agents.add_argument("--%s-share" % kind, type=float, default=0.0,
                            help="Share of the desktops that %s." % what)
    agents.add_argument("--fault-start", type=float, default=10.0,
                        help="Seconds after the start when faults begin.")
    agents.add_argument("--fault-window", type=float, default=30.0,
                        help="Faults start at random within this many "
                             "seconds.")
    agents.add_argument("--fault-duration", type=float, default=60.0,
                        help="Seconds a display drop or a crash lasts.")
    args = p.parse_args(argv)
    if args.mode == "agents":
        if not args.desktops_file:
            p.error("--mode agents needs --desktops-file")
        if args.report_interval <= 0 or args.duration <= 0:
            p.error("--report-interval and --duration must be positive")
    if args.mode == "ramp" and not args.rate:
        p.error("--mode ramp needs --rate")
    if args.user_pattern and not args.password:
        p.error("--user-pattern needs --password")
    if args.mode in ("storm", "ramp") and not (args.users_file or
                                               args.user_pattern):
        p.error("one of the arguments --users-file --user-pattern is "
                "required")
    if args.mode == "probe":
        if not (args.username or args.users_file):
            p.error("--mode probe needs --username (and --password) or "
                    "--users-file")
        if args.username and not args.password:
            p.error("--username needs --password")
        if args.interval <= 0:
            p.error("--interval must be positive")
    if args.mode == "day":
        if not args.plan:
            p.error("--mode day needs --plan")
        if not (args.agents_file or args.user_pattern):
            p.error("--mode day needs --agents-file or --user-pattern")
        if args.speed <= 0:
            p.error("--speed must be positive")
    return args


def load_users(args):
    if args.user_pattern:
        return runner.Users.from_pattern(args.user_pattern, args.users,
                                         args.password, start=args.first)
    users = runner.Users.from_file(args.users_file, args.password)
    return users[:args.users] if args.users else users


def _probe(args):
    if args.username:
        username, password = args.username, args.password
    else:
        username, password = runner.Users.from_file(args.users_file,
                                                    args.password)[0]
    client_id = args.client_id or "tc-probe-%s" % socket.gethostname()
    name = args.probe_name or username
    broker = loadgen_client.BrokerClient(
        args.url, concurrency=1,
        timeout=(args.connect_timeout, args.timeout))
    probe = probe_mode.Probe(broker, username, password, client_id,
                             seat=args.seat,
                             connect_timeout=args.connect_timeout)
    metrics = probe_mode.ProbeMetrics(name, args.interval)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    server = None
    if args.metrics_port:
        server, _thread = prometheus_client.start_http_server(
            args.metrics_port, args.metrics_host, metrics.registry)
        print("probe %s: metrics on http://%s:%d/metrics" % (
            name, args.metrics_host, args.metrics_port), flush=True)
    try:
        result = probe_mode.run(
            probe, metrics, args.interval, runs=args.runs,
            textfile=args.textfile, stop=stop,
            report=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        result = None
    finally:
        broker.close()
        if server is not None:
            server.shutdown()
    return 0 if result is None or result.ok else 1


def _day_agents(args, plan, date):
    if args.agents_file:
        return day_mode.read_agents(args.agents_file, args.password)
    agents = []
    number = args.first
    for department, site in plan.teams(date):
        wanted = max(plan.required(date)[(department, site)].values())
        for _ in range(wanted):
            username = args.user_pattern % number
            agents.append(day_mode.Agent(
                username, args.password, department, site,
                "%s-%05d" % (args.client_prefix, number)))
            number += 1
    return agents


def _day(args):
    try:
        plan = shift_plan.read(args.plan, args.slot_minutes)
        date = args.date or plan.dates()[0]
        agents = _day_agents(args, plan, date)
        outages = [day_mode.parse_outage(value, date)
                   for value in args.outage]
        schedule = day_mode.generate(
            plan, date, agents, late_share=args.late_share,
            late_minutes=args.late_minutes,
            break_minutes=args.break_minutes,
            break_after_minutes=args.break_after, outages=outages,
            seed=args.seed)
    except (OSError, ValueError) as e:
        print("vdi-broker-loadgen: %s" % e, file=sys.stderr)
        return 2
    hours = (schedule.end - schedule.start).total_seconds() / 3600.0
    print("day %s, %s to %s, %d agents in %d teams, %.1f min at speed "
          "%g" % (date, schedule.start.strftime("%H:%M"),
                  schedule.end.strftime("%H:%M"), len(schedule.agents),
                  len(schedule.required), hours * 60.0 / args.speed,
                  args.speed), flush=True)
    for team, missing in sorted(schedule.unstaffed.items()):
        if missing:
            print("  %s at %s: %d planned agents have nobody" % (
                team[0], team[1], missing))
    broker = loadgen_client.BrokerClient(
        args.url, concurrency=args.concurrency,
        timeout=(args.connect_timeout, args.timeout))
    replay = day_mode.DayReplay(
        broker, schedule, speed=args.speed,
        heartbeat_interval=args.heartbeat_interval or 1.0,
        concurrency=args.concurrency, seed=args.seed, viewer=args.viewer,
        viewer_drops=day_mode.plan_viewer_drops(
            schedule, args.viewer_drop_share, args.viewer_drop_minutes,
            seed=args.seed) if args.viewer else None)
    if replay.viewer_drops:
        print("  %d display drops of %d minutes" % (
            sum(len(d) for d in replay.viewer_drops.values()),
            args.viewer_drop_minutes))
    try:
        report = replay.run()
    finally:
        broker.close()
    print(report.format(schedule))
    return 1 if report.errors else 0


def _agents(args):
    try:
        agents = agents_mode.read_agents(args.desktops_file)
    except (OSError, ValueError) as e:
        print("vdi-broker-loadgen: %s" % e, file=sys.stderr)
        return 2
    for agent in agents:
        agent.connected = args.connected
    faults = agents_mode.schedule_faults(
        agents, {"hang": args.hang_share, "display": args.display_share,
                 "crash": args.crash_share},
        args.fault_start, args.fault_window, args.fault_duration,
        seed=args.seed)
    print("%d guest agents against %s, a report every %g s, for %g s; "
          "%d faults scheduled" % (len(agents), args.url,
                                   args.report_interval, args.duration,
                                   len(faults)), flush=True)
    for kind, desktop_id, at in faults:
        print("  fault %s of desktop %s at +%.1f s" % (kind, desktop_id,
                                                       at))
    simulation = agents_mode.AgentSimulation(
        args.url, agents, interval=args.report_interval,
        duration=args.duration, concurrency=args.concurrency,
        timeout=(args.connect_timeout, args.timeout))
    report = simulation.run()
    print(report.format())
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.mode == "agents":
        return _agents(args)
    if args.mode == "probe":
        return _probe(args)
    if args.mode == "day":
        return _day(args)
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
