# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""/metrics under several worker processes (prometheus-client multiprocess).

The API is served by gunicorn with the shipped configuration
(etc/vdi-broker/vdi-broker-api-gunicorn.conf.py), and by uWSGI with the
shipped ini when uWSGI and its python3 plugin are installed, each with two
workers and ``PROMETHEUS_MULTIPROC_DIR``. Logins hit both workers, one
worker is killed and replaced on the way, and every scrape, whichever
worker answers, counts every login once; the database's gauges appear
once, not once per worker; a restart starts from an empty directory.
"""

import concurrent.futures
import configparser
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import fixtures
import sqlalchemy as sa
from testtools import content
import urllib3

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import prometheus
from vdi_broker.db import migration

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GUNICORN_CONF = os.path.join(ROOT, "etc", "vdi-broker",
                             "vdi-broker-api-gunicorn.conf.py")
UWSGI_INI = os.path.join(ROOT, "etc", "vdi-broker",
                         "vdi-broker-api-uwsgi.ini")
SHIPPED_DIR = "/var/lib/vdi-broker/prometheus"
LOGINS = "vdi_login_duration_seconds_count"
NO_ALLOCATOR = {"result": "no_allocator", "allocator": "", "pool": ""}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess(fixtures.Fixture):
    """A command serving the API on ``port``, until the fixture ends."""

    def __init__(self, argv, env, port, name):
        super().__init__()
        self.argv = argv
        self.env = env
        self.port = port
        self.name = name

    def _setUp(self):
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = tempfile.TemporaryFile("w+")
        self.addCleanup(self.log.close)
        self.process = subprocess.Popen(
            self.argv, env=self.env, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.addCleanup(self.stop)
        self.output = ""
        self.addDetail(self.name, content.Content(
            content.UTF8_TEXT,
            lambda: [self.output[-20000:].encode("utf-8")]))
        self.http = urllib3.PoolManager(retries=False, timeout=10)
        self.wait_until_up()

    def wait_until_up(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("%s exited with %s" % (
                    self.name, self.process.returncode))
            try:
                if self.http.request("GET", self.url + "/healthcheck",
                                     timeout=2).status == 200:
                    return
            except urllib3.exceptions.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("%s did not answer within %ds"
                           % (self.name, timeout))

    def stop(self):
        self.log.seek(0)
        self.output = self.log.read()
        if self.process.poll() is None:
            # The whole session: the master and its workers.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


class WorkersTestMixin:
    """Runs the scenario with the server ``server_argv`` describes."""

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.prom_dir = os.path.join(self.tmp, "prometheus")
        config_dir = os.path.join(self.tmp, "etc")
        os.mkdir(config_dir)
        users = os.path.join(self.tmp, "users.json")
        with open(users, "w") as f:
            json.dump(broker_fixture.users_document(), f)
        db_url = "sqlite:///%s/vdi.sqlite" % self.tmp
        engine = sa.create_engine(db_url)
        migration.db_sync(engine)
        engine.dispose()
        with open(os.path.join(config_dir, "vdi-broker.conf"), "w") as f:
            f.write("[DEFAULT]\ntransport_url = fake:/\n"
                    "[api]\nauth_strategy = noauth\n"
                    "[conductor]\nuse_local = true\npool_interval = 60\n"
                    "reconcile_interval = 0\nhealth_check_interval = 0\n"
                    "[database]\nconnection = %s\n"
                    "[identity]\ndriver = static\n"
                    "[static_identity]\nusers_file = %s\n"
                    "[compute]\ndriver = fake\n" % (db_url, users))
        self.env = dict(os.environ, OS_VDI_BROKER_CONFIG_DIR=config_dir,
                        PROMETHEUS_MULTIPROC_DIR=self.prom_dir,
                        PYTHONUNBUFFERED="1")
        # Without the directory's clean-up at start, these would count.
        os.makedirs(self.prom_dir)
        shutil.copy(self.stale_file(), self.prom_dir)

    def stale_file(self):
        """A real multiprocess file holding logins of an 'earlier run'."""
        path = os.path.join(self.tmp, "stale")
        os.mkdir(path)
        code = ("from vdi_broker import metrics; "
                "metrics.LOGIN_DURATION.labels('no_allocator', '', '')"
                ".observe(0.1)")
        subprocess.run([sys.executable, "-c", code], check=True,
                       env=dict(os.environ, PROMETHEUS_MULTIPROC_DIR=path))
        files = glob.glob(os.path.join(path, "histogram_*.db"))
        self.assertEqual(1, len(files))
        return files[0]

    def start(self):
        port = free_port()
        return self.useFixture(ServerProcess(self.server_argv(port),
                                             self.env, port, self.name))

    def logins(self, server, count, first=0):
        def login(i):
            body = json.dumps({"username": "amy",
                               "password": broker_fixture.PASSWORD,
                               "client_id": "tc-%04d" % i})
            return server.http.request(
                "POST", server.url + "/v1/client/sessions",
                body=body.encode(),
                headers={"Content-Type": "application/json"}).status

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(login, range(first, first + count)))
        # No allocator is configured: each login is refused the same way.
        self.assertEqual([403] * count, statuses)

    def worker_pids(self):
        pids = set()
        for path in glob.glob(os.path.join(self.prom_dir, "*.db")):
            match = re.search(r"_(\d+)\.db$", path)
            pids.add(int(match.group(1)))
        return pids

    def scrape(self, server):
        resp = server.http.request("GET", server.url + "/metrics")
        self.assertEqual(200, resp.status, resp.data[:500])
        return resp.data.decode("utf-8")

    def test_every_worker_counted_once(self):
        server = self.start()
        # The stale file is gone, the directory is there.
        self.assertEqual(set(), self.worker_pids())
        self.logins(server, 12)
        first = self.worker_pids()
        self.assertTrue(first)
        # A worker dies (a crash, max-requests): it is replaced, and what
        # it counted stays counted.
        for pid in first:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            time.sleep(0.5)
            try:
                server.wait_until_up(timeout=5)
                self.logins(server, 8, first=100)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
        later = self.worker_pids() - first
        self.assertTrue(later, "no new worker answered")
        for _ in range(6):
            text = self.scrape(server)
            found = prometheus.samples(text)
            self.assertEqual(20, prometheus.sample(found, LOGINS,
                                                   **NO_ALLOCATOR))
            # The database's gauges, once: from the answering worker.
            self.assertEqual(1, len(re.findall(
                r'^vdi_scrape_collector_success\{collector="database"\}',
                text, re.MULTILINE)))
        # A restart starts from zero.
        server.stop()
        server = self.start()
        self.assertEqual(0, prometheus.sample(
            prometheus.samples(self.scrape(server)), LOGINS,
            **NO_ALLOCATOR))


class GunicornWorkersTest(WorkersTestMixin, base.TestCase):

    name = "gunicorn"

    def server_argv(self, port):
        gunicorn = os.path.join(os.path.dirname(sys.executable),
                                "gunicorn")
        return [gunicorn, "-c", GUNICORN_CONF, "--bind",
                "127.0.0.1:%d" % port, "--workers", "2",
                "vdi_broker.wsgi.api:application"]


class UwsgiWorkersTest(WorkersTestMixin, base.TestCase):

    name = "uwsgi"

    def setUp(self):
        if shutil.which("uwsgi") is None or not glob.glob(
                "/usr/lib/uwsgi/plugins/python3_plugin.so"):
            self.skipTest("uWSGI with its python3 plugin is not installed "
                          "(Debian: uwsgi-core, uwsgi-plugin-python3)")
        if os.path.realpath(sys.base_prefix) != "/usr":
            # The plugin embeds the distribution's Python: a virtualenv of
            # another Python cannot be loaded into it.
            self.skipTest("uWSGI's python3 plugin runs the distribution's "
                          "Python, and this virtualenv is made from %s"
                          % sys.base_prefix)
        super().setUp()

    def server_argv(self, port):
        # The shipped ini with this test's socket and directory.
        with open(UWSGI_INI, encoding="utf-8") as f:
            text = f.read().replace(SHIPPED_DIR, self.prom_dir)
        text = re.sub(r"(?m)^http-socket = .*$",
                      "http-socket = 127.0.0.1:%d" % port, text)
        parser = configparser.ConfigParser(interpolation=None,
                                           strict=False)
        parser.read_string(text)
        self.assertEqual("2", parser["uwsgi"]["processes"])
        ini = os.path.join(self.tmp, "uwsgi.ini")
        with open(ini, "w", encoding="utf-8") as f:
            f.write(text + "\nvirtualenv = %s\n" % sys.prefix)
        # The ini's own PROMETHEUS_MULTIPROC_DIR, not the test's.
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return ["uwsgi", "--ini", ini]
