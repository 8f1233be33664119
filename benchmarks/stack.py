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

"""The whole broker on this machine, started and stopped by a benchmark.

:class:`Stack` brings up, each in its own throwaway place:

* ``slapd`` servers (one or more replicas of the same data) with a call
  centre of N users, bulk-loaded offline with ``slapadd`` (memberOf
  written into the LDIF, as the memberof overlay would have);
* a fresh MariaDB database (``vdi-broker-manage db sync``);
* a RabbitMQ virtual host of its own, so that nothing else on the bus
  (other benchmarks, the tests) sees its messages;
* ``vdi-broker-conductor`` (fake compute driver, its cloud in-process)
  and the API under gunicorn (``vdi_broker.wsgi.api:application``);
* pools pre-filled with ready desktops, written directly in the
  database, as a pool manager would have left them after a night.

Everything is torn down in :meth:`Stack.stop`, also after a failure.
Needs slapd, ldap-utils, MariaDB (the oslo.db test account of
tools/test-setup.sh), RabbitMQ (rabbitmqctl, run as root) and gunicorn
(``pip install gunicorn``).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import requests
import sqlalchemy as sa

# oslo.service's threading backend, before anything imports oslo.service
# (the conductor manager does): no eventlet in the benchmark either.
from vdi_broker.cmd import init_backend  # noqa: F401

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from tests.fixtures import slapd as slapd_fixture  # noqa: E402,I202

PASSWORD = "agent-Pa55word"
SUFFIX = slapd_fixture.SUFFIX
MYSQL_ADMIN = os.environ.get(
    "VDI_TEST_MYSQL_URL",
    "mysql+pymysql://openstack_citest:openstack_citest@127.0.0.1/")
POSTGRESQL_ADMIN = os.environ.get(
    "VDI_TEST_POSTGRESQL_URL",
    "postgresql+psycopg2://openstack_citest:openstack_citest@"
    "127.0.0.1/postgres")
# The database servers a stack can run on: (admin URL, route kind, port).
DATABASES = {"mariadb": (MYSQL_ADMIN, "mysql", 3306),
             "postgresql": (POSTGRESQL_ADMIN, "postgresql", 5432)}
BIN = os.path.dirname(sys.executable)
VIP_EVERY = 10

#: What a change of the pools or allocators by hand must run in its
#: transaction (vdi_broker/db/sqlalchemy/common.py config_changed).
BUMP_GENERATION = sa.text(
    "UPDATE cache_generations SET generation = generation + 1 "
    "WHERE name = 'allocation'")


def default_db_driver():
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        return "pymysql"
    return "mysqldb"


def username(i):
    return "agent%05d" % i


def is_vip(i):
    return i % VIP_EVERY == 0


def _run(cmd, **kw):
    kw.setdefault("timeout", 120)
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, **kw)


def cpu_seconds(pids):
    """User + system CPU seconds used so far by these processes."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / float(os.sysconf("SC_CLK_TCK"))


def _wait_port(port, timeout, proc=None, what="service"):
    import socket
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("%s did not listen on %d within %ss" % (
                    what, port, timeout))
            time.sleep(0.1)


# -- the directory -----------------------------------------------------------

def directory_ldif(users):
    """The call centre for slapadd: users with memberOf already filled.

    Agents are in ou=<dept>,ou=<site>; 1 in VIP_EVERY is a VIP (group
    vip-agents, a user-bound desktop), the others are in ``agents``;
    both groups are members of ``all-agents`` (one level of nesting).
    """
    out = []

    def add(dn, *lines):
        out.append("dn: %s\n%s\n" % (dn, "\n".join(lines)))

    groups = "ou=groups," + SUFFIX

    def gdn(cn):
        return "cn=%s,%s" % (cn, groups)

    add(SUFFIX, "objectClass: dcObject", "objectClass: organization",
        "dc: example", "o: Example Call Centre")
    add("ou=services," + SUFFIX, "objectClass: organizationalUnit",
        "ou: services")
    add(slapd_fixture.SERVICE_DN, "objectClass: person", "cn: vdi-broker",
        "sn: vdi-broker", "userPassword: " + slapd_fixture.SERVICE_PASSWORD)
    add(groups, "objectClass: organizationalUnit", "ou: groups")
    for site in ("shanghai", "nantong"):
        add("ou=%s,%s" % (site, SUFFIX), "objectClass: organizationalUnit",
            "ou: " + site)
        for dept in ("hotel", "flight", "vip"):
            add("ou=%s,ou=%s,%s" % (dept, site, SUFFIX),
                "objectClass: organizationalUnit", "ou: " + dept)
    members = {"agents": [], "vip-agents": []}
    for i in range(users):
        uid = username(i)
        site = "shanghai" if i % 2 == 0 else "nantong"
        dept = "vip" if is_vip(i) else ("hotel" if i % 3 else "flight")
        group = "vip-agents" if is_vip(i) else "agents"
        dn = "uid=%s,ou=%s,ou=%s,%s" % (uid, dept, site, SUFFIX)
        members[group].append(dn)
        add(dn, "objectClass: inetOrgPerson", "uid: " + uid,
            "cn: Agent %05d" % i, "sn: %05d" % i, "userPassword: " + PASSWORD,
            "departmentNumber: " + dept, "title: agent",
            "employeeType: fulltime", "l: " + site,
            "memberOf: " + gdn(group))
    for cn, dns in members.items():
        add(gdn(cn), "objectClass: groupOfNames", "cn: " + cn,
            *["member: " + dn for dn in dns], "memberOf: " + gdn("all-agents"))
    add(gdn("all-agents"), "objectClass: groupOfNames", "cn: all-agents",
        "member: " + gdn("agents"), "member: " + gdn("vip-agents"))
    return "\n".join(out)


class Slapd:
    """One slapd on free ports from a private directory (no TLS used)."""

    def __init__(self, root, name, ldif_path):
        self.binary = slapd_fixture.find_slapd()
        if not self.binary:
            raise RuntimeError("slapd is not installed (apt-get install "
                               "slapd ldap-utils)")
        self.dir = os.path.join(root, name)
        os.makedirs(os.path.join(self.dir, "data"))
        os.makedirs(os.path.join(self.dir, "slapd.d"))
        module_path = next(
            (p for p in slapd_fixture.MODULE_PATHS
             if os.path.exists(os.path.join(p, "back_mdb.so")) or
             os.path.exists(os.path.join(p, "back_mdb.la"))),
            slapd_fixture.MODULE_PATHS[0])
        schema_dir = next(
            (d for d in slapd_fixture.SCHEMA_DIRS if os.path.exists(
                os.path.join(d, "inetorgperson.ldif"))),
            slapd_fixture.SCHEMA_DIRS[0])
        tls = slapd_fixture.make_tls_material(self.dir)
        config = os.path.join(self.dir, "config.ldif")
        with open(config, "w") as f:
            f.write(slapd_fixture._config_ldif(self.dir, module_path,
                                               schema_dir, tls)
                    .replace("olcDbMaxSize: 67108864",
                             "olcDbMaxSize: 1073741824"))
        slapadd = os.path.join(os.path.dirname(self.binary), "slapadd")
        _run([slapadd, "-n", "0", "-F", os.path.join(self.dir, "slapd.d"),
              "-l", config])
        # -q: quick mode, no consistency checks: a fresh database.
        _run([slapadd, "-q", "-n", "1", "-F",
              os.path.join(self.dir, "slapd.d"), "-l", ldif_path],
             timeout=600)
        self.port = slapd_fixture.free_port()
        self.url = "ldap://127.0.0.1:%d" % self.port
        self.process = None

    def start(self):
        if self.process and self.process.poll() is None:
            return
        log = open(os.path.join(self.dir, "slapd.log"), "ab")
        self.process = subprocess.Popen(
            [self.binary, "-F", os.path.join(self.dir, "slapd.d"), "-h",
             self.url + "/", "-d", "0"], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        _wait_port(self.port, 30, self.process, "slapd")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def restart(self):
        self.stop()
        self.start()


# -- the stack ---------------------------------------------------------------

CONFIG = """[DEFAULT]
transport_url = {transport_url}
debug = false
log_file = {log}
rpc_response_timeout = 30

[database]
connection = {db_url}
max_pool_size = {db_pool}
max_overflow = 20
pool_timeout = 10
connection_recycle_time = 3600

[api]
auth_strategy = noauth
conductor_timeout = {conductor_timeout}

[conductor]
use_local = false
topic = {topic}
pool_interval = 5

[identity]
driver = ldap

[ldap]
urls = {ldap_urls}
use_tls = false
bind_dn = {bind_dn}
bind_password = {bind_password}
user_base = {suffix}
group_base = ou=groups,{suffix}
pool_size = {ldap_pool}
connect_timeout = 1
receive_timeout = 3
server_dead_retry = 5
pool_wait_timeout = 5
group_cache_ttl = 60

[compute]
driver = {compute}

[fake_compute]
boot_time = {boot_time}
"""


class Stack:
    def __init__(self, users=10000, api_workers=2, api_threads=16,
                 ldap_servers=1, conductor_timeout=10, boot_time=2.0,
                 extra_conf="", spare_desktops=200, nova=None,
                 headroom=0, conductors=1, db_driver=None,
                 api_server="gunicorn", route=None, database="mariadb",
                 database_server=None, clouds=None, sites=None,
                 rabbit_url=None, fill_hook=None):
        self.users = users
        # fill_hook(conn, pools): more rows (seats, other allocators) in
        # the transaction that fills a several-sites stack; ``pools`` maps
        # pool names to ids.
        self.fill_hook = fill_hook
        # A RabbitMQ of the caller's (a drill's private server, which it
        # may restart): its URL; None: a vhost of the machine's RabbitMQ.
        self.rabbit_url = rabbit_url
        # A private server instead of the machine's shared one (the
        # PostgreSQL failover drill's tests/fixtures/pg_replica.py pair):
        # its admin_url() (called each time: the primary may have moved)
        # and url(database), the broker's connection.
        self.database_server = database_server
        # Several clouds (the cloud-down drill): {name: NovaEmulator} as
        # [compute] clouds, and {site: cloud name}: each site's agents
        # get a floating pool of their own in their site's cloud (by an
        # allocator whose rules name the site's OU); the VIPs' personal
        # pool lives in the first site's cloud. The floor pool stays in
        # the default cloud (``nova``).
        self.clouds = clouds or {}
        self.sites = sites or {}
        # The shared server the broker's database lives on: "mariadb" or
        # "postgresql" (psycopg2).
        if database not in DATABASES:
            raise ValueError("unknown database %r" % database)
        self.database = database
        # route(kind, host, port) -> (host, port): where the broker's
        # processes connect to reach the "mysql", "rabbit" or "ldap"
        # server at host:port (a drill's proxy); by default, the server.
        self.route = route or (lambda kind, host, port: (host, port))
        # gunicorn (gthread workers) or uwsgi (what DevStack and Kolla run).
        self.api_server = api_server
        # The MariaDB DB-API driver of the broker's processes: mysqlclient
        # (mysqldb, the C driver the performance guide recommends) when it
        # is installed, else PyMySQL.
        self.db_driver = db_driver or default_db_driver()
        self.api_workers = api_workers
        self.api_threads = api_threads
        self.ldap_count = ldap_servers
        self.conductor_timeout = conductor_timeout
        self.boot_time = boot_time
        self.extra_conf = extra_conf
        self.spare = spare_desktops
        # A NovaEmulator (tests/fixtures/nova_emulator.py), set up by the
        # caller: the conductor then boots through the nova driver.
        self.nova = nova
        # Room above the pre-filled desktops: the pool manager boots this
        # many more as logins take ready ones.
        self.headroom = headroom
        # More than one: active-active conductors sharing the pools
        # through a tooz file backend (every process takes logins).
        self.conductor_count = conductors
        self.more_conductors = []
        self.name = "vdi_storm_%s" % uuid.uuid4().hex[:8]
        self.dir = tempfile.mkdtemp(prefix="vdi-storm-")
        self.ldap = []
        self.api = None
        self.conductor = None
        self._cleanups = []

    # -- start -----------------------------------------------------------

    def start(self, log=print):
        t = time.monotonic()
        ldif = os.path.join(self.dir, "directory.ldif")
        with open(ldif, "w") as f:
            f.write(directory_ldif(self.users))
        for n in range(self.ldap_count):
            server = Slapd(self.dir, "slapd%d" % n, ldif)
            server.start()
            self.ldap.append(server)
            self._cleanups.append(server.stop)
        log("  slapd x%d with %d users: %.1f s" % (
            self.ldap_count, self.users, time.monotonic() - t))
        t = time.monotonic()
        self._create_database()
        if self.rabbit_url:
            self.transport_url = self.rabbit_url
        else:
            self._create_vhost()
        self.config_file = os.path.join(self.dir, "vdi-broker.conf")
        with open(self.config_file, "w") as f:
            f.write(CONFIG.format(
                transport_url=self.transport_url, db_url=self.db_url,
                log=os.path.join(self.dir, "%(name)s.log"),
                db_pool=max(10, self.api_threads + 5),
                conductor_timeout=self.conductor_timeout,
                topic=self.name,
                ldap_urls=",".join(
                    "ldap://%s:%d" % self.route("ldap", "127.0.0.1", s.port)
                    for s in self.ldap),
                bind_dn=slapd_fixture.SERVICE_DN,
                bind_password=slapd_fixture.SERVICE_PASSWORD,
                suffix=SUFFIX, ldap_pool=max(8, self.api_threads),
                boot_time=self.boot_time,
                compute="nova" if self.nova else "fake") +
                self._nova_conf() + self._clouds_conf() +
                self._coordination_conf() + self.extra_conf)
        if self.clouds:
            with open(self.config_file) as f:
                text = f.read()
            with open(self.config_file, "w") as f:
                f.write(text.replace("[compute]\n", "[compute]\nclouds = %s\n"
                                     % ",".join(self.clouds), 1))
        self._fix_log_names()
        _run([os.path.join(BIN, "vdi-broker-manage"), "--config-file",
              self.config_file, "db", "sync"])
        self.fill()
        log("  %s %s (driver %s), RabbitMQ vhost, %d desktops: %.1f s" % (
            "PostgreSQL" if self.database == "postgresql" else "MariaDB",
            self.name, sa.engine.make_url(self.db_url).get_driver_name(),
            self.desktop_count, time.monotonic() - t))
        t = time.monotonic()
        self.start_conductor()
        self.start_api()
        log("  conductor and API (%s, %d workers x %d threads): "
            "%.1f s" % (self.api_server, self.api_workers,
                        self.api_threads, time.monotonic() - t))

    def _nova_conf(self):
        if not self.nova:
            return ""
        lines = ["", "[nova]", "timeout = 5", "retries = 1"]
        lines += ["%s = %s" % item for item in
                  sorted(self.nova.nova_options().items())]
        return "\n".join(lines) + "\n"

    def _clouds_conf(self):
        if not self.clouds:
            return ""
        lines = []
        for name, nova in self.clouds.items():
            lines += ["", "[cloud:%s]" % name, "driver = nova",
                      "timeout = 3", "retries = 0",
                      "down_after_failures = 2", "down_retry_interval = 5"]
            lines += ["%s = %s" % item for item in
                      sorted(nova.nova_options().items())]
        return "\n".join(lines) + "\n"

    def _coordination_conf(self):
        if self.conductor_count < 2:
            return ""
        return "\n[coordination]\nbackend_url = file://%s\n" % (
            os.path.join(self.dir, "coordination"))

    def _fix_log_names(self):
        # One log file per service, next to the config.
        self.conductor_conf = self.config_file + ".conductor"
        self.api_conf_dir = os.path.join(self.dir, "api")
        os.makedirs(self.api_conf_dir)
        with open(self.config_file) as f:
            text = f.read()
        with open(self.conductor_conf, "w") as f:
            f.write(text.replace("%(name)s", "conductor"))
        with open(os.path.join(self.api_conf_dir, "vdi-broker.conf"),
                  "w") as f:
            f.write(text.replace("%(name)s", "api"))
        with open(self.config_file, "w") as f:
            f.write(text.replace("%(name)s", "manage"))

    def _admin_engine(self):
        admin_url = (self.database_server.admin_url()
                     if self.database_server else DATABASES[self.database][0])
        return sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def _create_database(self):
        admin_url, kind, default_port = DATABASES[self.database]
        engine = self._admin_engine()
        with engine.connect() as conn:
            conn.execute(sa.text(
                "CREATE DATABASE %s%s" % (self.name, (
                    " CHARACTER SET utf8mb4" if kind == "mysql" else ""))))
        engine.dispose()
        self._cleanups.append(self._drop_database)
        if self.database_server is not None:
            self.db_url = self.database_server.url(self.name)
            return
        url = sa.engine.make_url(admin_url).set(database=self.name)
        if kind == "mysql":
            url = url.set(drivername="mysql+%s" % self.db_driver)
        host, port = self.route(kind, url.host or "127.0.0.1",
                                url.port or default_port)
        url = url.set(host=host, port=port)
        self.db_url = url.render_as_string(hide_password=False) + (
            "?charset=utf8mb4" if kind == "mysql" else "")

    def _drop_database(self):
        engine = self._admin_engine()
        with engine.connect() as conn:
            conn.execute(sa.text("DROP DATABASE IF EXISTS %s%s" % (
                self.name,
                " WITH (FORCE)" if self.database == "postgresql" else "")))
        engine.dispose()

    def _create_vhost(self):
        _run(["rabbitmqctl", "-q", "add_vhost", self.name])
        self._cleanups.append(
            lambda: _run(["rabbitmqctl", "-q", "delete_vhost", self.name]))
        _run(["rabbitmqctl", "-q", "set_permissions", "-p", self.name,
              "guest", ".*", ".*", ".*"])
        self.transport_url = "rabbit://guest:guest@%s:%d/%s" % (
            self.route("rabbit", "127.0.0.1", 5672) + (self.name,))

    def fill(self):
        """Pools, allocators and ready desktops, straight into the DB.

        A floating pool for the agents, a personal pool (user binding)
        for the VIPs, and a ``floor`` pool whose desktops only the floor
        measurement claims. Each pool is exactly full (max_size), so the
        pool manager has nothing to boot during the storm.
        """
        engine = sa.create_engine(self.db_url)
        now = sa.func.now()
        vips = sum(1 for i in range(self.users) if is_vip(i))
        sizes = {"floating": self.users - vips + self.spare,
                 "personal": vips + self.spare, "floor": 1000}
        if self.sites:
            return self._fill_sites(engine, vips)
        pools = {}
        with engine.begin() as conn:
            for name, size in sizes.items():
                pools[name] = str(uuid.uuid4())
                conn.execute(sa.text(
                    "INSERT INTO pools (id, name, flavor, image, networks, "
                    "server_metadata, min_ready, max_size, "
                    "max_concurrent_builds, release_action, console_type, "
                    "enabled, status, build_failures, revision, created_at)"
                    " VALUES (:id, :name, :flavor, :image, :networks, "
                    "'{}', :size, :max_size, 50, :release, 'rdp', :yes, "
                    "'active', 0, 1, NOW())"),
                    {"id": pools[name], "name": name, "size": size,
                     "max_size": size + (self.headroom
                                         if name == "floating" else 0),
                     "release": "keep" if name != "floating" else "reboot",
                     "yes": True, **self._flavor_image()})
            for name, plugin, priority, pool, rules in (
                    ("vip", "user", 10, "personal",
                     '{"groups": ["vip-agents"]}'),
                    ("agents", "pool", 20, "floating",
                     '{"groups": ["agents"]}')):
                conn.execute(sa.text(
                    "INSERT INTO allocators (id, name, priority, plugin, "
                    "pool_id, rules, options, is_default, enabled, "
                    "revision, created_at) VALUES (:id, :name, :priority, "
                    ":plugin, :pool, :rules, '{}', :no, :yes, 1, NOW())"),
                    {"id": str(uuid.uuid4()), "name": name,
                     "priority": priority, "plugin": plugin,
                     "pool": pools[pool], "rules": rules, "no": False,
                     "yes": True})
            rows = []
            n = 0
            for name, size in sizes.items():
                for _ in range(size):
                    rows.append({
                        "id": str(uuid.uuid4()), "pool": pools[name],
                        "name": "vdi-%s-%05d" % (name, n),
                        "address": "10.%d.%d.%d" % (
                            n // 65536, n // 256 % 256, n % 256)})
                    n += 1
            conn.execute(sa.text(
                "INSERT INTO desktops (id, pool_id, name, state, address, "
                "generation, created_at) VALUES (:id, :pool, :name, "
                "'ready', :address, 1, NOW())"), rows)
            # Pools and allocators written by hand: the logins' cached
            # copies are read again (db/sqlalchemy/login_cache.py).
            conn.execute(BUMP_GENERATION)
        del now
        engine.dispose()
        self.pools = pools
        self.desktop_count = sum(sizes.values())

    def _fill_sites(self, engine, vips):
        """Pools per site in the site's cloud (see ``sites``).

        Each site's floating pool has ``spare`` ready desktops and room
        for ``headroom`` more: the pool manager keeps it refilled from
        the site's cloud as logins take them.
        """
        first_site, first = next(iter(self.sites.items()))
        pools = {}
        sizes = {}
        with engine.begin() as conn:
            def pool(name, site, cloud, ready, room, release):
                pools[name] = str(uuid.uuid4())
                sizes[name] = ready
                conn.execute(sa.text(
                    "INSERT INTO pools (id, name, site, cloud, flavor, "
                    "image, networks, server_metadata, min_ready, "
                    "max_size, max_concurrent_builds, release_action, "
                    "console_type, enabled, status, build_failures, "
                    "revision, created_at) VALUES (:id, :name, :site, "
                    ":cloud, :flavor, :image, :networks, '{}', :size, "
                    ":max_size, 50, :release, 'rdp', :yes, 'active', 0, "
                    "1, NOW())"),
                    {"id": pools[name], "name": name,
                     "site": site, "cloud": cloud, "size": ready,
                     "max_size": ready + room, "release": release,
                     "yes": True, **self._flavor_image()})

            def allocator(name, plugin, priority, pool_name, rules):
                conn.execute(sa.text(
                    "INSERT INTO allocators (id, name, priority, plugin, "
                    "pool_id, rules, options, is_default, enabled, "
                    "revision, created_at) VALUES (:id, :name, :priority, "
                    ":plugin, :pool, :rules, '{}', :no, :yes, 1, NOW())"),
                    {"id": str(uuid.uuid4()), "name": name,
                     "priority": priority, "plugin": plugin,
                     "pool": pools[pool_name], "rules": rules, "no": False,
                     "yes": True})

            pool("personal", first_site, first, vips + self.spare, 0,
                 "keep")
            allocator("vip", "user", 10, "personal",
                      '{"groups": ["vip-agents"]}')
            for n, (site, cloud) in enumerate(self.sites.items()):
                pool("floating-" + site, site, cloud, self.spare,
                     self.headroom, "reboot")
                allocator("agents-" + site, "pool", 20 + n,
                          "floating-" + site,
                          '{"groups": ["agents"], "ou": ["%s"]}' % site)
            if self.fill_hook is not None:
                self.fill_hook(conn, pools)
            rows = []
            n = 0
            for name, size in sizes.items():
                for _ in range(size):
                    rows.append({
                        "id": str(uuid.uuid4()), "pool": pools[name],
                        "name": "vdi-%s-%05d" % (name, n),
                        "address": "10.%d.%d.%d" % (
                            n // 65536, n // 256 % 256, n % 256)})
                    n += 1
            conn.execute(sa.text(
                "INSERT INTO desktops (id, pool_id, name, state, address, "
                "generation, created_at) VALUES (:id, :pool, :name, "
                "'ready', :address, 1, NOW())"), rows)
            # Pools and allocators written by hand: the logins' cached
            # copies are read again (db/sqlalchemy/login_cache.py).
            conn.execute(BUMP_GENERATION)
        engine.dispose()
        self.pools = pools
        self.desktop_count = sum(sizes.values())

    def _flavor_image(self):
        import json
        if self.nova:
            from tests.fixtures import nova_emulator
            return {"flavor": "vdi.small",
                    "image": nova_emulator.DEFAULT_IMAGE,
                    "networks": json.dumps([nova_emulator.DEFAULT_NETWORK])}
        return {"flavor": "win10-4c8g", "image": "win10-golden",
                "networks": "[]"}

    def kill_conductor(self):
        """SIGKILL the conductor and its worker, as a crash would."""
        for pid in reversed(self.conductor_pids()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.conductor.wait(10)

    def start_conductor(self):
        log = open(os.path.join(self.dir, "conductor.out"), "ab")
        self.conductor = subprocess.Popen(
            [os.path.join(BIN, "vdi-broker-conductor"), "--config-file",
             self.conductor_conf], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._wait_conductor()
        while len(self.more_conductors) < self.conductor_count - 1:
            log = open(os.path.join(self.dir, "conductor%d.out" % (
                len(self.more_conductors) + 2)), "ab")
            self.more_conductors.append(subprocess.Popen(
                [os.path.join(BIN, "vdi-broker-conductor"),
                 "--config-file", self.conductor_conf],
                stdout=log, stderr=subprocess.STDOUT))
            log.close()

    def _wait_conductor(self, timeout=90):
        from vdi_broker import context
        deadline = time.monotonic() + timeout
        while True:
            try:
                # A ping sent before the conductor has declared its queue
                # is dropped by the bus: ask again after a second rather
                # than wait for the API's whole conductor_timeout.
                self.rpc().client.prepare(version="1.2", timeout=1).call(
                    context.get_admin_context(), "ping")
                return
            except Exception:
                if self.conductor.poll() is not None:
                    raise RuntimeError("the conductor exited, see %s" %
                                       self.dir)
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def rpc(self):
        """A ConductorAPI client of this stack, in this process."""
        if getattr(self, "_rpc", None) is None:
            from oslo_config import cfg
            from vdi_broker.conductor import rpcapi
            from vdi_broker.conf import opts
            from vdi_broker import conf as vdi_conf
            import oslo_messaging as messaging
            conf = vdi_conf.CONF
            opts.set_lib_defaults()
            try:
                conf([], project="vdi-broker",
                     default_config_files=[self.config_file])
            except cfg.Error:
                pass
            messaging.TransportURL.parse(conf, self.transport_url)
            conf.set_override("transport_url", self.transport_url)
            self._rpc = rpcapi.ConductorAPI(conf)
            self.conf = conf
        return self._rpc

    def ping(self):
        from vdi_broker import context
        return self.rpc().ping(context.get_admin_context())

    def start_api(self, port=None):
        self.api_port = port or slapd_fixture.free_port()
        self.url = "http://127.0.0.1:%d" % self.api_port
        env = dict(os.environ, OS_VDI_BROKER_CONFIG_DIR=self.api_conf_dir)
        log = open(os.path.join(self.dir, "%s.out" % self.api_server), "ab")
        if self.api_server == "uwsgi":
            # As etc/vdi-broker/vdi-broker-api-uwsgi.ini, but HTTP/1.1
            # with keep-alive: the simulated thin clients keep their
            # connections, as they would to a load balancer. uWSGI then
            # ties a worker thread to each connection: more clients than
            # workers x threads wait for seconds (use gunicorn for those;
            # a plain http-socket with "Connection: close", or uWSGI's
            # HTTP router, cost more CPU per login).
            cmd = [os.path.join(BIN, "uwsgi"), "--master",
                   "--processes", str(self.api_workers),
                   "--threads", str(self.api_threads), "--enable-threads",
                   "--http11-socket", "127.0.0.1:%d" % self.api_port,
                   "--module", "vdi_broker.wsgi.api:application",
                   "--lazy-apps", "--die-on-term", "--thunder-lock",
                   "--buffer-size", "65535", "--harakiri", "60",
                   "--listen", "1024", "--disable-logging"]
        else:
            cmd = [os.path.join(BIN, "gunicorn"), "--workers",
                   str(self.api_workers), "--threads", str(self.api_threads),
                   "--worker-class", "gthread", "--bind",
                   "127.0.0.1:%d" % self.api_port, "--backlog", "4096",
                   "--keep-alive", "30", "--timeout", "120",
                   "vdi_broker.wsgi.api:application"]
        self.api = subprocess.Popen(cmd, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
        log.close()
        _wait_port(self.api_port, 60, self.api, self.api_server)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.url + "/", timeout=5).status_code < 500:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not answer, see %s" %
                                   self.dir)
            time.sleep(0.3)

    def conductor_pids(self):
        """The conductors' processes: each launcher and its worker."""
        pids = []
        for proc in [self.conductor] + self.more_conductors:
            out = subprocess.run(["pgrep", "-P", str(proc.pid)],
                                 stdout=subprocess.PIPE, text=True).stdout
            pids += [proc.pid] + [int(p) for p in out.split()]
        return pids

    def cpu_groups(self):
        """Process ids by part, for CPU accounting.

        MariaDB and RabbitMQ are the machine's shared servers: their
        figures include whatever else uses them meanwhile.
        """
        def pgrep(*args):
            out = subprocess.run(["pgrep"] + list(args),
                                 stdout=subprocess.PIPE, text=True).stdout
            return [int(p) for p in out.split()]

        database = ({"PostgreSQL (shared)": pgrep("-x", "postgres")}
                    if self.database == "postgresql" else
                    {"MariaDB (shared)": pgrep("-x", "mariadbd") or
                     pgrep("-x", "mysqld")})
        return {"API workers": self.api_worker_pids(),
                "conductor": self.conductor_pids(),
                **database,
                "RabbitMQ (shared)": pgrep("-x", "beam.smp"),
                "slapd": [s.process.pid for s in self.ldap
                          if s.process and s.process.poll() is None]}

    def api_worker_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.api.pid)],
                             stdout=subprocess.PIPE, text=True).stdout
        return [int(p) for p in out.split()]

    # -- stop ------------------------------------------------------------

    def _stop_process(self, proc):
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def stop(self, keep_dir=False):
        self._stop_process(self.api)
        self._stop_process(self.conductor)
        for proc in self.more_conductors:
            self._stop_process(proc)
        if getattr(self, "_rpc", None) is not None:
            from vdi_broker import rpc
            rpc.cleanup()
        for cleanup in reversed(self._cleanups):
            try:
                cleanup()
            except Exception as e:  # keep tearing the rest down
                print("  cleanup: %s" % e)
        if not keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
