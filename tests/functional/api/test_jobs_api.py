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

"""Guest jobs through the API and the conductor's runner (fake executor).

A job is created over /v1/jobs, run by the conductor's job runner with
the in-memory executor, and read back per desktop: in-use desktops are
skipped, failures are retried then recorded with their output, a
password never leaves the broker in clear (not in the API, the events,
the notifications' payloads, nor the database's job row, and is erased
when the job ends).
"""

import sqlalchemy as sa

from tests import base
from tests.fixtures import broker as broker_fixture
from vdi_broker.db import api as db
from vdi_broker.executors import fake as fake_executor

PASSWORD = "N3w-Local-Pa55"


class JobsApiTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(group="jobs", secret_keys=["first-key-0f3a9c", ""])
        self.broker = broker_fixture.use_broker(self)
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt
        fake_executor.reset()
        self.addCleanup(fake_executor.reset)

    def assertError(self, resp, status, title=None):
        return broker_fixture.assert_error(self, resp, status, title)

    def run_jobs(self):
        self.broker.manager.job_runner.run_once(self.ctxt, wait=True)

    def create(self, status=201, **body):
        body.setdefault("targets", {"pools": ["sh-agents"]})
        return self.app.post_json("/v1/jobs", body, status=status,
                                  expect_errors=status >= 400)

    def targets(self, job_id, **query):
        path = "/v1/jobs/%s/targets" % job_id
        if query:
            path += "?" + "&".join("%s=%s" % kv for kv in query.items())
        return self.app.get(path).json["targets"]

    def test_command_job_skips_the_desktop_in_use(self):
        amy = self.broker.login("amy").json
        job = self.create(kind="command", name="inventory",
                          parameters={"command": "hostname"}).json["job"]
        self.assertEqual(("scheduled", "skip"), (job["state"],
                                                 job["in_use"]))
        self.run_jobs()
        job = self.app.get("/v1/jobs/%s" % job["id"]).json["job"]
        self.assertEqual("finished", job["state"])
        results = {t["desktop_id"]: t for t in self.targets(job["id"])}
        busy = amy["desktop"]["id"]
        self.assertEqual(("skipped", "in use"), (results[busy]["state"],
                                                 results[busy]["reason"]))
        ran = [t for d, t in results.items() if d != busy]
        self.assertTrue(ran)
        for target in ran:
            self.assertEqual("ok", target["state"])
            self.assertEqual("fake: ran 'hostname' on %s" %
                             target["desktop_name"], target["output"])
        self.assertEqual(sorted(results[d]["desktop_id"] for d in results
                                if d != busy),
                         sorted(fake_executor.calls("run_command")[0][
                             "targets"]))
        self.assertEqual(1, job["results"]["skipped"])
        actions = [e["action"] for e in db.event_list(
            self.ctxt, {"target_id": job["id"]})]
        self.assertEqual(sorted(["job.create", "job.start", "job.finish"]),
                         sorted(actions))

    def test_failed_target_retried_then_failed_with_output(self):
        names = [d["name"] for d in db.desktop_list(self.ctxt)
                 if d["state"] == "ready"][:2]
        self.flags(group="fake_executor", fail_targets=[names[0]])
        job = self.create(kind="software_install",
                          parameters={"package": "7zip"},
                          targets={"desktops": names}, max_retries=1,
                          retry_delay=0).json["job"]
        self.run_jobs()
        self.run_jobs()
        job = self.app.get("/v1/jobs/%s" % job["id"]).json["job"]
        self.assertEqual("finished", job["state"])
        failed = self.targets(job["id"], state="failed")
        self.assertEqual([names[0]], [t["desktop_name"] for t in failed])
        self.assertEqual(2, failed[0]["attempts"])
        self.assertEqual("fake: installed 7zip latest failed",
                         failed[0]["output"])
        self.assertEqual(1, job["results"]["ok"])
        # One call for the batch of both, one for the retry.
        calls = fake_executor.calls("install_software")
        self.assertEqual([2, 1], [len(c["targets"]) for c in calls])

    def test_password_never_in_clear(self):
        resp = self.create(kind="password", parameters={
            "username": "agent", "password": PASSWORD})
        job = resp.json["job"]
        self.assertEqual({"username": "agent", "password": "***"},
                         job["parameters"])
        self.assertNotIn(PASSWORD, resp.text)
        with self.broker.database.engine.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT parameters, secret FROM guest_jobs")).one()
        self.assertNotIn(PASSWORD, str(row.parameters))
        self.assertTrue(row.secret)
        self.assertNotIn(PASSWORD, row.secret)
        self.run_jobs()
        calls = fake_executor.calls("set_password")
        self.assertEqual({"username": "agent", "password_given": True},
                         calls[0]["args"])
        with self.broker.database.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT secret FROM guest_jobs")).all()
            events = conn.execute(sa.text(
                "SELECT message, detail FROM events")).all()
        self.assertEqual([(None,)], rows)
        self.assertNotIn(PASSWORD, str(events))
        listed = self.app.get("/v1/jobs")
        self.assertNotIn(PASSWORD, listed.text)

    def test_password_job_without_a_key_is_refused(self):
        self.flags(group="jobs", secret_keys=[])
        resp = self.create(400, kind="password", parameters={
            "username": "agent", "password": PASSWORD})
        self.assertError(resp, 400)
        self.assertIn("secret_keys", resp.json["error"]["message"])

    def test_bad_parameters_do_not_echo_secrets(self):
        resp = self.create(400, kind="password", parameters={
            "username": "agent", "password": "short"})
        self.assertIn("password: minLength", resp.json["error"]["message"])
        self.assertNotIn("short", resp.json["error"]["message"])
        for body in ({"kind": "reboot", "parameters": {}},
                     {"kind": "command", "parameters": {"cmd": "x"}},
                     {"kind": "command", "parameters": "x"},
                     {"kind": "command", "parameters": {"command": "a\x00"}},
                     {"kind": "message", "parameters": {"message": "hi"},
                      "run_at": "tomorrow"},
                     {"kind": "message", "parameters": {"message": "hi"},
                      "targets": {}}):
            self.assertError(self.create(400, **body), 400)

    def test_scheduled_job_cancelled(self):
        job = self.create(kind="message", parameters={"message": "bye"},
                          run_at="2099-01-01T08:00:00+08:00").json["job"]
        self.assertEqual("2099-01-01T00:00:00Z", job["run_at"])
        # Messages are for the people at work: in-use desktops too.
        self.assertEqual("run", job["in_use"])
        self.run_jobs()
        self.assertEqual("scheduled", self.app.get(
            "/v1/jobs/%s" % job["id"]).json["job"]["state"])
        cancelled = self.app.post("/v1/jobs/%s/cancel" % job["id"]).json
        self.assertEqual("cancelled", cancelled["job"]["state"])
        self.assertError(self.app.post("/v1/jobs/%s/cancel" % job["id"],
                                       expect_errors=True), 409)
        self.assertError(self.app.get("/v1/jobs/nope", expect_errors=True),
                         404)
        self.assertEqual([], fake_executor.calls())
        listed = self.app.get("/v1/jobs?state=cancelled").json["jobs"]
        self.assertEqual([job["id"]], [j["id"] for j in listed])
