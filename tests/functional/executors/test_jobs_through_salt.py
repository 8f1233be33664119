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

"""A guest job runs through real Salt: API storage, conductor, salt-api.

The job runner of a conductor starts the job, claims its desktops and
calls the salt executor, which talks to a real salt-api in front of a
real master and minions (tests/fixtures/salt.py); the results per
desktop are read back from the database.
"""

import os

from oslo_utils import uuidutils

from tests import base
from tests.fixtures import database
from tests.fixtures import salt as salt_fixture
from vdi_broker.conductor import jobs as job_runner
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import notifications


class JobsThroughSaltTest(base.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salt = salt_fixture.SaltFixture(
            minions=["desk-1", "desk-2", "desk-3"])
        cls.salt.setUp()
        cls.addClassCleanup(cls.salt.cleanUp)
        # desk-3's key is accepted, but its minion no longer answers.
        cls.salt.stop_minion("desk-3")

    def setUp(self):
        super().setUp()
        self.useFixture(database.Database("sqlite"))
        self.ctxt = vdi_context.get_admin_context()
        for key, value in (("url", self.salt.url),
                           ("username", salt_fixture.USERNAME),
                           ("password", salt_fixture.PASSWORD),
                           ("eauth", "file"), ("poll_interval", 0.3)):
            self.flags(group="salt", **{key: value})
        self.flags(group="executor", driver="salt")
        pool = db.pool_create(self.ctxt, {
            "name": "agents", "flavor": "f", "image": "i",
            "console_type": "rdp", "min_ready": 0, "max_size": 10})
        for name in ("desk-1", "desk-2", "desk-3"):
            db.desktop_create(self.ctxt, {
                "pool_id": pool["id"], "name": name,
                "server_id": uuidutils.generate_uuid(),
                "state": models.READY})
        self.runner = job_runner.JobRunner(
            self.conf, "conductor-1",
            notifications.get_notifier(self.conf, "test"))
        self.addCleanup(self.runner.stop)

    def job(self, kind, parameters, **values):
        return db.job_create(self.ctxt, dict({
            "id": uuidutils.generate_uuid(), "kind": kind,
            "parameters": parameters, "targets": {"pools": ["agents"]},
            "in_use": "skip", "max_retries": 0, "retry_delay": 0,
            "concurrency": 10, "timeout": 20}, **values))

    def results(self, job_id):
        self.runner.run_once(self.ctxt, wait=True)
        self.assertEqual("finished", db.job_get(self.ctxt, job_id)["state"])
        return {t["desktop_name"]: t for t in
                db.job_target_list(self.ctxt, job_id)}

    def test_state_job(self):
        path = os.path.join(self.salt.output_dir, "job-state")
        job = self.job("state", {"state": "vdi_test", "pillar": {
            "vdi_path": path, "vdi_text": "rolled out by a job"}},
            timeout=8)
        results = self.results(job["id"])
        for name in ("desk-1", "desk-2"):
            self.assertEqual("ok", results[name]["state"], results[name])
            self.assertIn("ok vdi_test_file:", results[name]["output"])
        with open(path) as f:
            self.assertEqual("rolled out by a job", f.read().strip())
        silent = results["desk-3"]
        self.assertEqual("failed", silent["state"])
        self.assertIn("no answer from minion desk-3 within 8 s",
                      silent["reason"])

    def test_failing_command_job(self):
        job = self.job("command", {"command": "echo partial; exit 5"},
                       targets={"desktops": ["desk-1"]})
        result = self.results(job["id"])["desk-1"]
        self.assertEqual(("failed", "exit status 5", "partial"),
                         (result["state"], result["reason"],
                          result["output"]))
        events = db.event_list(self.ctxt, {"action": "job.finish"})
        self.assertEqual("failure", events[0]["result"])
