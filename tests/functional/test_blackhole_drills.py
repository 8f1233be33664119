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

"""Black-hole drills: a long-lived connection goes silent during logins (R12).

A firewall that drops an idle connection, or a network path that fails,
neither closes nor resets anything: packets just go nowhere. Each drill
puts a :class:`tests.fixtures.blackhole_proxy.BlackholeProxy` between the
broker and one real server (MariaDB with PyMySQL and with mysqlclient,
PostgreSQL, RabbitMQ, slapd), serves the API over HTTP and keeps thin
clients logging in (a login every 0.1 s, each from its own thread, with
the load generator's client). Then the proxy forwards nothing, and
either resumes after 10 s (what was held is delivered) or, after 2 s,
drops the old connections for good (the firewall forgot them; only new
connections work).

Each drill asserts what the broker promises:

* every login answers, 201 or a JSON 503, never a hang: no login takes
  longer than the bound the timeouts of that connection give, none runs
  into the client's timeout, none gets a 500;
* the broker recovers by itself within 30 s of the hole closing: from
  then on every login succeeds;
* the database audit holds (no desktop with two users, no lost binding).

The timeouts of the database and the directory are shortened for speed
(``[database_network] read_timeout = 3``, ``[ldap] receive_timeout = 2``)
and so is ``[api] conductor_timeout`` (3 s); the AMQP heartbeat keeps the
broker's default, which is what the RabbitMQ drills prove. A drill takes
20-45 s; the RabbitMQ drop drill is the slowest (it waits for two missed
heartbeats).
"""

import threading
import time
import urllib.parse
import uuid

import testscenarios
from testtools import content

from tests import base
from tests.fixtures import blackhole_proxy
from tests.fixtures import broker as broker_fixture
from tests.fixtures import database
from tests.fixtures import http_server
from tests.fixtures import slapd
from tests.functional.identity import ldap_base
from tests.functional import test_rpc
from vdi_broker.cmd import init_backend  # noqa: F401  (threading backend)
from vdi_broker.db.sqlalchemy import allocation
from vdi_broker.loadgen import audit
from vdi_broker.loadgen import client as loadgen_client
from vdi_broker import rpc
from vdi_broker import service

load_tests = testscenarios.load_tests_apply_scenarios

AGENTS = 12
RECOVERY_GOAL = 30.0
# Seconds a login may take beyond the timeouts that bound it: the
# threads of 64 waiting clients, the broker and the servers share two
# cores (9.2 s were seen against 6 s of timeouts at load average 10).
SLACK = 5
# resume: a long hole, longer than every bound, then what was held is
# delivered: a login waiting for the hole to close would exceed its bound.
# drop: a short hole, then the old connections are lost for good: the
# broker has to find out by itself, which takes longest after a short
# hole (an AMQP heartbeat was received just before).
ENDINGS = [("resume", {"ending": "resume", "hold": 16.0}),
           ("drop", {"ending": "drop", "hold": 2.0})]


def agents():
    return [broker_fixture._user(
            "agent%02d" % i, "uid=agent%02d,ou=hotel,ou=shanghai,%s" % (
                i, broker_fixture.BASE_DN), ["agents"],
            {"department": ["hotel"]})
            for i in range(AGENTS)]


class LoginLoad:
    """Thin clients logging in at a steady rate, each from its own thread.

    A login stuck behind the hole does not hold the next ones back, as
    with real thin clients. :meth:`results` gives (start, outcome) pairs,
    the start in seconds since the load began, in start order.
    """

    def __init__(self, url, users, interval=0.1, timeout=60.0):
        self.client = loadgen_client.BrokerClient(
            url, concurrency=64, timeout=(5.0, timeout))
        self.users = users
        self.interval = interval
        self._outcomes = []
        self._launched = []
        self._threads = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.start = time.monotonic()
        self._feeder = threading.Thread(target=self._feed, daemon=True,
                                        name="drill-feeder")
        self._feeder.start()

    def now(self):
        return time.monotonic() - self.start

    def _feed(self):
        n = 0
        while not self._stop.is_set():
            username, password = self.users[n % len(self.users)]
            thread = threading.Thread(target=self._login, daemon=True,
                                      args=(username, password),
                                      name="drill-login")
            self._launched.append(self.now())
            thread.start()
            self._threads.append(thread)
            n += 1
            self._stop.wait(self.interval)

    def _login(self, username, password):
        outcome = self.client.login(username, password, "tc-%s" % username)
        with self._lock:
            self._outcomes.append(outcome)

    def results(self, until=None):
        """(start, outcome) of the finished logins, in start order.

        With ``until``: those started before it, or None while one of
        those has not answered yet.
        """
        with self._lock:
            outcomes = list(self._outcomes)
            launched = list(self._launched)
        results = sorted(((o.started - self.start, o) for o in outcomes),
                         key=lambda pair: pair[0])
        if until is None:
            return results
        results = [(s, o) for s, o in results if s < until]
        if len(results) < sum(1 for s in launched if s < until):
            return None
        return results

    def stop(self, wait):
        """Stop sending; wait for the logins under way.

        Returns the threads still waiting for an answer after ``wait``
        seconds.
        """
        self._stop.set()
        self._feeder.join(5)
        deadline = time.monotonic() + wait
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.client.close()
        return [t for t in self._threads if t.is_alive()]


def steady_since(results, after, steady):
    """Start of the last run of successes after ``after``, or None.

    None also when that run has fewer than ``steady`` logins: the broker
    is steady again when nothing failed after a long enough run.
    """
    run, since = 0, None
    for started, outcome in results:
        if started < after:
            continue
        if outcome.ok:
            if run == 0:
                since = started
            run += 1
        else:
            run, since = 0, None
    return since if run >= steady else None


class BlackholeDrill(testscenarios.WithScenarios):
    """A drill (a mixin); subclasses put the proxy in front of a server."""

    scenarios = ENDINGS
    ending = "drop"
    # Seconds the proxy forwards nothing.
    hold = 2.0
    WARM_UP = 1.5
    # Successful logins in a row that end a drill.
    STEADY = 15
    # The longest a login may take (seconds): set by the subclass from
    # the timeouts it configures.
    bound = None
    # Whether logins may fail (503) while the connection is silent.
    logins_may_fail = True

    def setUp(self):
        super().setUp()
        self.proxy = self.make_proxy()
        self.broker = self.make_broker()
        # Close the proxied connections before the database is dropped:
        # the server still holds the transactions of dropped ones.
        self.addCleanup(self.proxy.close_connections)
        self.broker.create_pool("floating", min_ready=AGENTS,
                                max_size=AGENTS, release_action="keep")
        self.broker.create_allocator("everyone", pool="floating",
                                     priority=10, is_default=True)
        self.prepare()
        self.server = self.useFixture(
            http_server.WSGIServer(self.broker.app.app))

    def make_proxy(self):
        raise NotImplementedError()

    def make_broker(self):
        raise NotImplementedError()

    def prepare(self):
        self.broker.fill_pools()

    def login_users(self):
        return [(u["username"], broker_fixture.PASSWORD) for u in agents()]

    def test_logins_through_a_black_hole(self):
        load = LoginLoad(self.server.url, self.login_users())
        self.addCleanup(load.stop, 1)
        time.sleep(self.WARM_UP)
        # On a loaded machine the first logins take longer than the
        # warm-up: the hole opens once one has answered.
        warm_deadline = time.monotonic() + 30
        while not load.results() and time.monotonic() < warm_deadline:
            time.sleep(0.1)
        hole_at = load.now()
        self.proxy.blackhole()
        time.sleep(self.hold)
        end_at = load.now()
        getattr(self.proxy, self.ending)()
        # Logins go on until STEADY in a row succeeded, or the goal passed.
        # Only logins that must have answered count (those started more
        # than the bound ago): one under way may still fail.
        deadline = end_at + RECOVERY_GOAL + self.bound + 5
        while load.now() < deadline:
            time.sleep(0.5)
            settled = load.results(until=load.now() - self.bound)
            if settled and steady_since(settled, end_at,
                                        self.STEADY) is not None:
                break
        hung = load.stop(wait=self.bound + 5)
        results = load.results()
        steady_at = steady_since(results, end_at, self.STEADY)
        report = self.report(results, hole_at, end_at, steady_at)
        self.addDetail("drill", content.text_content(report))

        self.assertEqual([], hung, "logins still waiting: " + report)
        before = [o for started, o in results
                  if started + o.elapsed < hole_at]
        self.assertTrue(before, report)
        self.assertEqual({"ok"}, {o.kind for o in before}, report)
        if not self.logins_may_fail:
            self.assertEqual({"ok"}, {o.kind for _s, o in results}, report)
        for _started, o in results:
            self.assertIn(o.kind, ("ok", "http 503"), report)
            if not o.ok:
                self.assertEqual(503, o.body["error"]["code"], o.body)
            self.assertLessEqual(o.elapsed, self.bound, report)
        self.assertIsNotNone(steady_at, "never recovered: " + report)
        self.assertLessEqual(steady_at - end_at, RECOVERY_GOAL, report)
        found = audit.run(engine=self.broker.database.engine)
        self.assertTrue(found.ok, found.format())

    def report(self, results, hole_at, end_at, steady_at):
        failed = [o for _s, o in results if not o.ok]
        in_hole = [o for s, o in results if hole_at <= s < end_at]
        longest_at, longest = max(results, key=lambda r: r[1].elapsed,
                                  default=(0, None))
        return ("%s/%s: %d logins, %d failed (%s), %d sent into the hole; "
                "longest %.1f s (bound %.1f s), started at %.1f s; hole "
                "%.1f-%.1f s; steady again %s" % (
                    type(self).__name__, self.ending, len(results),
                    len(failed), ", ".join(sorted({o.kind for o in failed}))
                    or "none", len(in_hole),
                    longest.elapsed if longest else 0,
                    self.bound, longest_at, hole_at, end_at,
                    "%.1f s after the hole closed" % (steady_at - end_at)
                    if steady_at is not None else "never"))


# -- the database -------------------------------------------------------------

class DatabaseDrill(BlackholeDrill):
    """The connections of the API and conductor to the database.

    A login stuck on a silent connection fails after read_timeout, the
    pool tries a new connection (connect_timeout while the hole lasts)
    and the client gets a 503.
    """

    backend = None
    driver = None
    READ_TIMEOUT = 3
    CONNECT_TIMEOUT = 2
    # The pool's ping of a silent pooled connection waits read_timeout;
    # the new connection that replaces it waits for the server's greeting
    # (connect_timeout, or read_timeout with PyMySQL); then 503.
    bound = READ_TIMEOUT + max(READ_TIMEOUT, CONNECT_TIMEOUT) + SLACK

    def make_proxy(self):
        return self.useFixture(blackhole_proxy.BlackholeProxy(
            *database.server_address(self.backend)))

    def make_broker(self):
        self.flags(group="database_network", read_timeout=self.READ_TIMEOUT,
                   connect_timeout=self.CONNECT_TIMEOUT)
        return broker_fixture.use_broker(
            self, backend=self.backend, users=agents(),
            database_options={"driver": self.driver,
                              "via": (self.proxy.host, self.proxy.port)})


class MariaDBPyMySQLDrill(DatabaseDrill, base.TestCase):
    backend = "mysql"


class MariaDBMysqlclientDrill(DatabaseDrill, base.TestCase):
    backend = "mysql"
    driver = "mysqldb"


class PostgreSQLDrill(DatabaseDrill, base.TestCase):
    backend = "postgresql"


# -- the message bus ----------------------------------------------------------

class RabbitMQDrill(BlackholeDrill, base.TestCase):
    """The API's and the conductor's connections to RabbitMQ.

    Logins do not use the bus (the API runs them, vdi_broker/login): none
    fails and none waits while it is silent. AMQP heartbeats find the dead
    connections, which oslo.messaging opens again.
    """

    CONDUCTOR_TIMEOUT = 3
    bound = CONDUCTOR_TIMEOUT + 2 + SLACK
    logins_may_fail = False

    def make_proxy(self):
        if not test_rpc._rabbit_reachable():
            message = "RabbitMQ is not reachable at %s" % test_rpc.RABBIT_URL
            if database.required():
                self.fail(message)
            self.skipTest(message)
        url = urllib.parse.urlsplit(test_rpc.RABBIT_URL)
        return self.useFixture(blackhole_proxy.BlackholeProxy(
            url.hostname, url.port or 5672))

    def make_broker(self):
        url = urllib.parse.urlsplit(test_rpc.RABBIT_URL)
        netloc = "%s@%s:%d" % (url.netloc.rpartition("@")[0],
                               self.proxy.host, self.proxy.port)
        transport_url = urllib.parse.urlunsplit(url._replace(netloc=netloc))
        self.topic = "vdi-broker-drill-%s" % uuid.uuid4().hex[:12]
        rpc.cleanup()
        self.addCleanup(rpc.cleanup)
        broker = broker_fixture.use_broker(
            self, local=False, users=agents(), flags={
                (None, "transport_url"): transport_url,
                ("conductor", "topic"): self.topic,
                ("api", "conductor_timeout"): self.CONDUCTOR_TIMEOUT,
            })
        self.conductor = service.ConductorService(
            self.conf, broker.manager, host="drill-%s" % self.topic)
        self.conductor.start()
        self.addCleanup(self.conductor.stop)
        return broker


# -- the directory ------------------------------------------------------------

class LdapDrill(ldap_base.ClassSlapdMixin, BlackholeDrill, base.TestCase):
    """The identity driver's pooled connections to the directory.

    A search or bind on a silent connection fails after receive_timeout;
    the only server is then skipped for server_dead_retry (logins answer
    503 at once) and tried again with new connections.
    """

    RECEIVE_TIMEOUT = 2
    CONNECT_TIMEOUT = 1
    # The service search, then the user's bind, each can wait once.
    bound = 2 * (RECEIVE_TIMEOUT + CONNECT_TIMEOUT) + SLACK

    def make_proxy(self):
        return self.useFixture(blackhole_proxy.BlackholeProxy(
            "127.0.0.1", self.slapd.port))

    def make_broker(self):
        broker = broker_fixture.use_broker(self, flags={
            ("identity", "driver"): "ldap",
            ("ldap", "urls"): ["ldap://%s:%d" % (self.proxy.host,
                                                 self.proxy.port)],
            ("ldap", "use_tls"): False,
            ("ldap", "bind_dn"): slapd.SERVICE_DN,
            ("ldap", "bind_password"): slapd.SERVICE_PASSWORD,
            ("ldap", "user_base"): slapd.USER_BASE,
            ("ldap", "group_base"): slapd.GROUP_BASE,
            ("ldap", "receive_timeout"): self.RECEIVE_TIMEOUT,
            ("ldap", "connect_timeout"): self.CONNECT_TIMEOUT,
        })
        self.addCleanup(broker.broker_app.identity.close)
        return broker

    def login_users(self):
        return [(uid, slapd.USERS[uid][3])
                for uid in ("amy", "bob", "carol", "dave", "erin")]


class LostUserLockTest(testscenarios.WithScenarios, base.TestCase):
    """A login's connection goes silent right after it took the user lock.

    The login serializes with the same user's other logins through a lock
    in the database (MariaDB GET_LOCK, PostgreSQL advisory lock). When
    the network drops the connection at that moment, the server keeps the
    session, and the lock, of a client that will never come back, and the
    same user logs in again at once (the thin client retries). That login
    must answer within its bound, and the user must get in again: on
    PostgreSQL once the server has rolled the silent transaction back
    (``[database_network] idle_transaction_timeout``), on MariaDB (where
    the lock outlives transactions) once the login has waited for the
    lock and ended the silent session that holds it.
    """

    scenarios = [
        ("mysql", {"backend": "mysql"}),
        ("postgresql", {"backend": "postgresql"}),
    ]
    IDLE_TRANSACTION_TIMEOUT = 4
    # The default read timeout (10 s) bounds the wait for the lock on
    # PostgreSQL; on MariaDB, GET_LOCK's own 8 s (read_timeout - 2) do,
    # then the takeover.
    bound = 15

    def setUp(self):
        super().setUp()
        self.proxy = self.useFixture(blackhole_proxy.BlackholeProxy(
            *database.server_address(self.backend)))
        self.flags(group="database_network",
                   idle_transaction_timeout=self.IDLE_TRANSACTION_TIMEOUT)
        self.broker = broker_fixture.use_broker(
            self, backend=self.backend, users=agents(),
            database_options={"via": (self.proxy.host, self.proxy.port)})
        self.addCleanup(self.proxy.close_connections)
        self.broker.create_pool("floating", min_ready=2, max_size=2,
                                release_action="keep")
        self.broker.create_allocator("everyone", pool="floating",
                                     priority=10, is_default=True)
        self.broker.fill_pools()
        self.server = self.useFixture(
            http_server.WSGIServer(self.broker.app.app))
        self.client = loadgen_client.BrokerClient(
            self.server.url, timeout=(5.0, self.bound + 10))
        self.addCleanup(self.client.close)

    def login(self):
        return self.client.login("agent00", broker_fixture.PASSWORD,
                                 "tc-agent00")

    def test_login_after_its_lock_was_lost(self):
        self.assertTrue(self.login().ok)
        # What a login does first, on a connection of the broker's pool;
        # then the network loses that connection for good.
        stuck = self.broker.database.engine.connect()
        self.addCleanup(stuck.invalidate)
        stuck.begin()
        allocation._lock_user(stuck, "agent00")
        self.proxy.blackhole()
        self.proxy.drop()

        lost_at = time.monotonic()
        retry = self.login()
        while not retry.ok:
            # Each answer within the bound: one wait for the lock, not
            # one per retry of the transaction; a clear 503 meanwhile.
            self.assertLessEqual(retry.elapsed, self.bound, retry.kind)
            self.assertEqual("http 503", retry.kind, retry.body)
            # The server rolls the dead session back after
            # idle_transaction_timeout: the user gets in again.
            self.assertLess(time.monotonic() - lost_at,
                            self.IDLE_TRANSACTION_TIMEOUT + self.bound,
                            retry.body)
            time.sleep(0.5)
            retry = self.login()
        self.assertLessEqual(retry.elapsed, self.bound)
        self.addDetail("lost lock", content.text_content(
            "logged in again %.1f s after the lock was lost" % (
                time.monotonic() - lost_at)))
