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

"""Benchmark thin-client logins through the ldap identity driver.

Starts a throwaway slapd with the call-centre test data (the fixture of the
functional tests, tests/fixtures/slapd.py), then runs N logins (find the
user, bind as the user, read nested groups) at 1 and at 8 threads:

* ``raw ldap3``: the same requests written directly with ldap3 (SYNC
  strategy, ``get_info=NONE``, one service and one user connection per
  thread, memberOf walk) - the baseline;
* ``driver``: ``LdapIdentityDriver.authenticate()``;
* ``before`` (with ``--driver-from FILE``): the driver of another
  identity/ldap.py, e.g. a previous commit's, for a before/after.

They are run alternately in rounds (``--rounds``) so that a busy
machine slows them alike.

Each is measured without and with a cache of group -> parent groups, and
the script prints p50 / p99 latency, logins per second, the CPU of this
process per login (the client's CPU, median of the rounds: slapd is
another process) and the ratio of each p50 to the baseline's. Run from
the top of the tree::

    python benchmarks/ldap_login.py            # 1,000 logins per case
    python benchmarks/ldap_login.py -n 5000 --threads 1 8 16
    git show main:vdi_broker/identity/ldap.py > /tmp/ldap_before.py
    python benchmarks/ldap_login.py --threads 1 --driver-from \
        /tmp/ldap_before.py

Needs slapd and ldap-utils (Debian: apt-get install slapd ldap-utils).
"""

import argparse
import importlib.util
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import ldap3  # noqa: E402,VB305 - the raw baseline needs ldap3 itself
from ldap3.utils.conv import escape_filter_chars  # noqa: E402,VB305
from oslo_config import cfg  # noqa: E402

from tests.fixtures import slapd  # noqa: E402
from vdi_broker.conf import ldap as ldap_conf  # noqa: E402
from vdi_broker.identity import ldap as ldap_driver  # noqa: E402

LOGINS = [(uid, slapd.USERS[uid][3]) for uid in
          ("amy", "bob", "carol", "dave", "erin")]


class RawLdap3Login:
    """A full login written directly with ldap3: the baseline."""

    def __init__(self, url, cache):
        self.url = url
        self.cache = {} if cache else None
        self.local = threading.local()

    def _conns(self):
        if not hasattr(self.local, "svc"):
            server = ldap3.Server(self.url, get_info=ldap3.NONE)
            self.local.svc = ldap3.Connection(
                server, slapd.SERVICE_DN, slapd.SERVICE_PASSWORD,
                auto_bind=True, read_only=True)
            self.local.usr = ldap3.Connection(server)
            self.local.usr.open()
        return self.local.svc, self.local.usr

    def _parents(self, svc, dn):
        if self.cache is not None and dn in self.cache:
            return self.cache[dn]
        svc.search(dn, "(objectClass=groupOfNames)", ldap3.BASE,
                   attributes=["cn", "memberOf"])
        attrs = svc.response[0]["raw_attributes"]
        value = (attrs["cn"][0].decode(),
                 [v.decode() for v in attrs.get("memberOf", [])])
        if self.cache is not None:
            self.cache[dn] = value
        return value

    def login(self, username, password):
        svc, usr = self._conns()
        svc.search(slapd.USER_BASE,
                   "(&(objectClass=inetOrgPerson)(uid=%s))" %
                   escape_filter_chars(username), ldap3.SUBTREE,
                   attributes=["uid", "cn", "departmentNumber", "title",
                               "employeeType", "memberOf"], size_limit=2)
        entry = svc.response[0]
        usr.rebind(entry["dn"], password)
        groups, frontier = {}, [v.decode() for v in
                                entry["raw_attributes"]["memberOf"]]
        while frontier:
            following = []
            for dn in frontier:
                if dn not in groups:
                    name, parents = self._parents(svc, dn)
                    groups[dn] = name
                    following.extend(parents)
            frontier = following
        return groups


def make_driver(url, cache, module=ldap_driver):
    conf = cfg.ConfigOpts()
    ldap_conf.register_opts(conf)  # noqa: VB301 - a private ConfigOpts
    conf([], default_config_files=[], default_config_dirs=[])
    for name, value in dict(
            urls=[url], use_tls=False, bind_dn=slapd.SERVICE_DN,
            bind_password=slapd.SERVICE_PASSWORD, user_base=slapd.USER_BASE,
            group_base=slapd.GROUP_BASE, pool_size=8,
            group_cache_ttl=300 if cache else 0).items():
        conf.set_override(name, value, "ldap")
    return module.LdapIdentityDriver(conf)


def load_driver_module(path):
    """identity/ldap.py of another checkout (the rest from this tree)."""
    spec = importlib.util.spec_from_file_location("ldap_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(login, total, threads):
    """Run total logins over threads.

    Returns (latencies in ms, elapsed seconds, CPU seconds of the process).
    """
    per_thread = max(1, total // threads)
    latencies = [[] for _i in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def worker(i):
        out = latencies[i]
        barrier.wait()
        for n in range(per_thread):
            username, password = LOGINS[(i + n) % len(LOGINS)]
            start = time.perf_counter()
            login(username, password)
            out.append((time.perf_counter() - start) * 1000.0)

    pool = [threading.Thread(target=worker, args=(i,))
            for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    cpu = time.process_time()
    for t in pool:
        t.join()
    return ([x for lat in latencies for x in lat],
            time.perf_counter() - start, time.process_time() - cpu)


def compare(clients, total, threads, rounds):
    """Alternate the clients in rounds, returning their figures.

    Both see the same load of the machine. Returns
    ``{name: {p50, p99, rate, cpu, n}}`` (cpu: the median over the
    rounds of the CPU per login, in ms).
    """
    samples = {name: ([], [0.0], []) for name in clients}
    for _r in range(rounds):
        for name, login in clients.items():
            lat, elapsed, cpu = run(login, total // rounds, threads)
            samples[name][0].extend(lat)
            samples[name][1][0] += elapsed
            samples[name][2].append(cpu * 1000.0 / len(lat))
    results = {}
    for name, (lat, elapsed, cpu) in samples.items():
        lat.sort()
        results[name] = {"p50": statistics.median(lat),
                         "p99": lat[min(len(lat) - 1, int(len(lat) * .99))],
                         "rate": len(lat) / elapsed[0],
                         "cpu": statistics.median(cpu), "n": len(lat)}
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--logins", type=int, default=1000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10,
                        help="alternate baseline and driver this many "
                             "times per case")
    parser.add_argument("--driver-from", metavar="FILE",
                        help="also run the driver of this identity/ldap.py "
                             "(e.g. a previous commit's), as 'before'")
    args = parser.parse_args(argv)

    before = args.driver_from and load_driver_module(args.driver_from)
    server = slapd.SlapdFixture()
    server.setUp()
    try:
        print("slapd %s, %d logins per case, users %s" % (
            server.url, args.logins, ", ".join(u for u, _p in LOGINS)))
        print("load average %s" % " ".join(
            open("/proc/loadavg").read().split()[:3]))
        print("%-8s %-7s %-11s %9s %9s %10s %11s %14s" % (
            "threads", "cache", "client", "p50 ms", "p99 ms", "logins/s",
            "CPU ms", "p50 vs ldap3"))
        for threads in args.threads:
            for cache in (False, True):
                raw = RawLdap3Login(server.url, cache)
                driver = make_driver(server.url, cache)
                clients = {"raw ldap3": raw.login,
                           "driver": driver.authenticate}
                if before:
                    old = make_driver(server.url, cache, before)
                    clients["before"] = old.authenticate
                for login in clients.values():
                    run(login, args.warmup * threads, threads)
                results = compare(clients, args.logins, threads,
                                  args.rounds)
                driver.close()
                if before:
                    old.close()
                base = results["raw ldap3"]["p50"]
                for name, r in results.items():
                    ratio = "" if name == "raw ldap3" else "%.2fx" % (
                        r["p50"] / base)
                    print("%-8d %-7s %-11s %9.2f %9.2f %10.0f %11.3f %14s"
                          % (threads, "on" if cache else "off", name,
                             r["p50"], r["p99"], r["rate"], r["cpu"],
                             ratio))
    finally:
        server.cleanUp()


if __name__ == "__main__":
    main()
