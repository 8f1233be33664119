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

"""vdi-broker-shift-demo: a short simulated shift against a running broker.

Agents log in from thin clients at their seats all at once, some log out,
and those come back from another seat. At the end it prints who got which
kind of desktop and checks the two promises: no desktop was handed to two
people at the same time, and bound users got their own desktop back.
"""

import argparse
import collections
import concurrent.futures
import json
import statistics
import sys
import time

import requests


class Broker:
    def __init__(self, url, timeout=30):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.timeout = timeout

    def admin(self, path):
        r = self.http.get(self.url + path, timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def admin_list(self, path, key):
        """Every item of a collection, following its 'next' links."""
        items = []
        url = self.url + path
        while url:
            r = self.http.get(url, timeout=self.timeout)
            r.raise_for_status()
            page = r.json()
            items.extend(page[key])
            url = next((link["href"] for link in page.get("links", ())
                        if link["rel"] == "next"), None)
        return items

    def login(self, username, password, client_id, seat):
        body = {"username": username, "password": password,
                "client_id": client_id}
        if seat:
            body["seat"] = seat
        start = time.monotonic()
        r = self.http.post(self.url + "/v1/client/sessions", json=body,
                           timeout=self.timeout)
        return r, time.monotonic() - start

    def heartbeat(self, client_id, session=None, input_events=None):
        body = {"client_id": client_id}
        if input_events is not None:
            body["input_events"] = input_events
        headers = {}
        if session:
            body["session_id"] = session["id"]
            headers["X-Session-Token"] = session["token"]
        r = self.http.post(self.url + "/v1/client/heartbeat", json=body,
                           headers=headers, timeout=self.timeout)
        return r.status_code

    def logout(self, session):
        r = self.http.delete(
            "%s/v1/client/sessions/%s" % (self.url, session["id"]),
            headers={"X-Session-Token": session["token"]},
            timeout=self.timeout)
        return r.status_code


PROGRESS_INTERVAL = 10


def wait_for_pools(broker, timeout):
    """Wait until every enabled pool has min_ready desktops ready.

    Prints a progress line when it has changed, at most one every
    PROGRESS_INTERVAL seconds, and the last one when the wait is over.
    """
    deadline = time.monotonic() + timeout
    printed = {"line": None, "at": None}

    def say(line, final=False):
        now = time.monotonic()
        if line == printed["line"]:
            return
        if not final and printed["at"] is not None and \
                now - printed["at"] < PROGRESS_INTERVAL:
            return
        print(line, flush=True)
        printed.update(line=line, at=now)

    while True:
        try:
            pools = broker.admin("/v1/pools")["pools"]
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            say("  waiting for the broker at %s" % broker.url)
            time.sleep(1)
            continue
        short = [p for p in pools
                 if p["enabled"] and p["desktops"]["ready"] < p["min_ready"]]
        line = "  ready desktops: " + ", ".join(
            "%s %d/%d" % (p["name"], p["desktops"]["ready"],
                          p["min_ready"])
            for p in pools)
        over = time.monotonic() > deadline
        say(line, final=not short or over)
        if not short:
            return True
        if over:
            print("  gave up waiting after %d s: %s not full yet" % (
                timeout, ", ".join(p["name"] for p in short)), flush=True)
            return False
        time.sleep(2)


def heartbeats(broker, sessions=()):
    """The seats' thin clients say they are alive (the portal's asset page).

    Every registered client that is neither faulty nor offline (the demo
    set some up so, see demo/setup.py) sends one heartbeat; ``sessions``
    (login answers) send theirs with their session, so the page shows who
    works at them. Returns how many were accepted.
    """
    sent = 0
    for client in broker.admin_list("/v1/thin-clients", "thin_clients"):
        if client["status"] in ("faulty", "offline"):
            continue
        sent += broker.heartbeat(client["client_id"]) == 204
    for answer in sessions:
        sent += broker.heartbeat(answer["client_id"],
                                 answer["session"]) == 204
    return sent


def keep_alive(broker, interval):
    """Heartbeats every ``interval`` seconds until interrupted."""
    while True:
        print("  %d thin clients sent a heartbeat" % heartbeats(broker),
              flush=True)
        time.sleep(interval)


def _seat_for(i):
    if i < 8:
        return "SH-TR-%02d" % (i + 1)
    return None


def run(args):
    broker = Broker(args.url)
    with open(args.users_file, encoding="utf-8") as f:
        users = [u["username"] for u in json.load(f)["users"]][:args.agents]
    print("Waiting for the pool manager to boot desktops ...", flush=True)
    wait_for_pools(broker, args.wait)

    results = {}
    latencies = []
    errors = collections.Counter()

    def login(i, username, round_name):
        seat = _seat_for(i) if round_name == "morning" else (
            _seat_for(i) or "SH-2F-%03d" % (i % 40 + 1))
        client_id = "tc-%s-%04d" % (round_name, i)
        r, elapsed = broker.login(username, args.password, client_id, seat)
        latencies.append(elapsed)
        if r.status_code != 201:
            errors["%d %s" % (r.status_code,
                              r.json()["error"]["title"])] += 1
            return None
        return dict(r.json(), client_id=client_id)

    print("Morning shift: %d agents log in at once ..." % len(users),
          flush=True)
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
        futures = {pool.submit(login, i, u, "morning"): u
                   for i, u in enumerate(users)}
        for future in concurrent.futures.as_completed(futures):
            results[futures[future]] = future.result()
    elapsed = time.monotonic() - start
    ok = {u: r for u, r in results.items() if r}
    print("  %d agents served, %d refused; all %d answered in %.1f s "
          "(%.0f logins/s, refused ones included)" % (
              len(ok), len(users) - len(ok), len(users), elapsed,
              len(users) / elapsed))

    print("Thin clients send their heartbeats ...", flush=True)
    print("  %d heartbeats accepted" % heartbeats(broker, ok.values()),
          flush=True)

    leaving = [u for i, u in enumerate(users)
               if ok.get(u) and i % 3 == 0][:args.agents // 3]
    print("Break: %d agents log out ..." % len(leaving), flush=True)
    with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(lambda u: broker.logout(ok[u]["session"]), leaving))

    # A break lasts minutes; a few seconds let the pool manager refill.
    time.sleep(args.break_seconds)
    print("They come back from other thin clients ...", flush=True)
    again = {}
    index = {u: i for i, u in enumerate(users)}
    with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
        futures = {pool.submit(login, index[u], u, "return"): u
                   for u in leaving}
        for future in concurrent.futures.as_completed(futures):
            again[futures[future]] = future.result()

    # The agents at work type: their heartbeats carry input events.
    working = [r for u, r in ok.items() if u not in again] + \
        [r for r in again.values() if r]
    for answer in working:
        broker.heartbeat(answer["client_id"], answer["session"],
                         input_events=12)
    kept = summarize(broker, users, ok, again, latencies, errors)
    chart(broker)
    return 0 if kept else 1


def chart(broker, width=40):
    """Active agents against the shift plan, one bar pair per team.

    ``#`` active agents, ``.`` the rest of the plan; the portal draws
    the real chart from /v1/agents/history.
    """
    try:
        teams = broker.admin("/v1/agents")["agents"]
    except requests.RequestException as e:
        print("active agents: not available (%s)" % e)
        return
    teams = [t for t in teams if t["department"]]
    if not teams:
        return
    top = max(max(t["active"] + t["idle"], t["expected"] or 0)
              for t in teams) or 1
    print()
    print("Active agents against the shift plan (# active, . planned):")
    for team in teams:
        planned = team["expected"] or 0
        active = round(team["active"] * width / top)
        plan = round(planned * width / top)
        bar = "#" * active + "." * max(0, plan - active)
        print("%-8s %-9s %-*s %3d of %3s planned (%d idle, %d offline)" % (
            team["department"], team["site"], width, bar, team["active"],
            team["expected"] if team["expected"] is not None else "-",
            team["idle"], team["offline"]))


def summarize(broker, users, first, again, latencies, errors):
    by_allocator = collections.defaultdict(lambda: [0, set(), None])
    for r in list(first.values()) + [r for r in again.values() if r]:
        row = by_allocator[r["allocator"]["name"]]
        row[0] += 1
        row[1].add(r["desktop"]["id"])
        row[2] = (r["binding"]["kind"] + " binding") if r["binding"] \
            else "floating"
    print()
    print("Logins served by each allocator (morning and return), and the")
    print("desktops they were served on:")
    print("%-18s %-16s %7s %9s" % ("allocator", "kind", "logins",
                                   "desktops"))
    for name, (count, desktops, kind) in sorted(by_allocator.items()):
        print("%-18s %-16s %7d %9d" % (name, kind, count, len(desktops)))

    bound_same = bound_total = 0
    for user, r in again.items():
        if r and r["binding"]:
            bound_total += 1
            bound_same += r["desktop"]["id"] == first[user]["desktop"]["id"]
    active = broker.admin_list("/v1/sessions?state=active", "sessions")
    per_desktop = collections.Counter(s["desktop_id"] for s in active)
    doubled = [d for d, n in per_desktop.items() if n > 1]
    lat = sorted(latencies)
    print()
    if lat:
        print("login latency (every answer, refusals included): p50 %.1f "
              "ms, p95 %.1f ms, max %.1f ms" % (
                  statistics.median(lat) * 1000,
                  lat[int(len(lat) * 0.95) - 1] * 1000, lat[-1] * 1000))
    print("refused logins: %s" % (dict(errors) or "none"))
    print("active sessions: %d on %d desktops" % (len(active),
                                                  len(per_desktop)))
    # The two promises; a 503 while a pool refills is not a broken one.
    checks = [
        ("no desktop held by two people (%d desktops with two users)"
         % len(doubled), not doubled),
        ("bound users back on their own desktop (%d of %d)"
         % (bound_same, bound_total), bound_same == bound_total),
    ]
    print()
    for text, passed in checks:
        print("%s  %s" % ("PASS" if passed else "FAIL", text))
    return all(passed for _text, passed in checks)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8783")
    parser.add_argument("--users-file", required=True)
    parser.add_argument("--password", default="demo-Passw0rd")
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--wait", type=int, default=None,
                        help="Seconds to wait for the pools to fill "
                             "(default: 120, plus 6 s per 100 agents "
                             "over 300).")
    parser.add_argument("--break-seconds", type=float, default=10,
                        help="Seconds between the logouts and the "
                             "returns.")
    parser.add_argument("--heartbeats-every", type=float, default=None,
                        metavar="SECONDS",
                        help="Instead of a shift: the thin clients send "
                             "a heartbeat every SECONDS until "
                             "interrupted (they stay online).")
    args = parser.parse_args(argv)
    if args.heartbeats_every:
        try:
            keep_alive(Broker(args.url), args.heartbeats_every)
        except KeyboardInterrupt:
            return 0
    if args.wait is None:
        args.wait = 120 + max(0, args.agents - 300) * 6 // 100
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
