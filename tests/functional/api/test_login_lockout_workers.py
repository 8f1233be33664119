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

"""Two API worker processes, one MariaDB: one lockout (defect 7).

With the counters in each process's memory, N workers gave an attacker
N times the tries. Here two ``vdi-broker-api`` processes share one
MariaDB database; failed logins alternate between them, and the user name
is locked out after ``user_failure_threshold`` failures in total, on both
workers; the failed-login event counts the failures of both.
"""

import json
import os

import fixtures
import requests

from tests import base
from tests.fixtures import api_server
from tests.fixtures import broker as broker_fixture
from tests.fixtures import database
from tests.fixtures import ini

THRESHOLD = 5


class TwoWorkersLockoutTest(base.TestCase):

    backend = "mysql"

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(database.Database(self.backend))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        users_file = os.path.join(self.tmp, "users.json")
        with open(users_file, "w", encoding="utf-8") as f:
            json.dump(broker_fixture.users_document(), f)
        config_file = os.path.join(self.tmp, "vdi-broker.conf")
        sections = {
            # No conductor: these logins never get past the lockout.
            "DEFAULT": {"transport_url": "fake:/", "debug": "false"},
            "database": {"connection": self.database.url},
            "api": {"auth_strategy": "noauth", "bind_host": "127.0.0.1",
                    "bind_port": "0"},
            "conductor": {"use_local": "false"},
            "compute": {"driver": "fake"},
            "identity": {"driver": "static"},
            "static_identity": {"users_file": users_file},
            "login_throttle": {"user_failure_threshold": str(THRESHOLD),
                               "client_failure_threshold": "0",
                               "lockout_duration": "300"},
        }
        ini.write(config_file, sections)
        self.workers = [
            self.useFixture(api_server.ApiProcess(config_file, name))
            for name in ("api-worker-1", "api-worker-2")]
        self.session = requests.Session()
        self.session.trust_env = False
        self.addCleanup(self.session.close)

    def login(self, worker, username, password, client_id="tc-0001"):
        return self.session.post(
            worker.url + "/v1/client/sessions",
            json={"username": username, "password": password,
                  "client_id": client_id}, timeout=30)

    def test_lockout_holds_across_workers(self):
        first, second = self.workers
        self.assertNotEqual(first.url, second.url)
        # Five wrong passwords, alternating: three on the first worker,
        # two on the second.
        for attempt in range(THRESHOLD):
            worker = self.workers[attempt % 2]
            resp = self.login(worker, "amy", "wrong-%d" % attempt,
                              client_id="tc-%d" % attempt)
            self.assertEqual(401, resp.status_code, resp.text)
        # Now amy is locked out everywhere, even with her password: the
        # second worker has seen only two of the failures.
        for worker in (second, first):
            resp = self.login(worker, "amy", broker_fixture.PASSWORD)
            self.assertEqual(429, resp.status_code, resp.text)
            self.assertLessEqual(int(resp.headers["Retry-After"]), 300)
        # Other names are not locked.
        resp = self.login(second, "bob", "wrong")
        self.assertEqual(401, resp.status_code, resp.text)
        # Both workers added to the same failed-login events.
        events = self.session.get(
            first.url + "/v1/events?username=amy&action=login",
            timeout=30).json()["events"]
        counts = {}
        for event in events:
            reason = event["detail"]["reason"]
            counts[reason] = counts.get(reason, 0) + event["detail"]["count"]
        self.assertEqual({"wrong_password": THRESHOLD, "lockout": 1,
                          "locked_out": 2}, counts)
