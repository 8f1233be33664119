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

"""Guest jobs in the database: one start, atomic claims, results.

Several conductors (threads, each its own host name) start and claim the
same jobs at once: a job starts once, no target is claimed twice, the
job's concurrency limit holds, and every target ends with one result. On
SQLite, MariaDB and PostgreSQL.
"""

import concurrent.futures
import datetime
import hashlib
import threading

from oslo_utils import timeutils
from oslo_utils import uuidutils
import testscenarios

from tests import base
from tests.fixtures import database
from tests.fixtures import logins
from vdi_broker.conductor import jobs as job_runner
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker.executors import fake as fake_executor
from vdi_broker import notifications

load_tests = testscenarios.load_tests_apply_scenarios

CONDUCTORS = 4


class GuestJobsTest(testscenarios.WithScenarios, base.TestCase):

    scenarios = [
        ("sqlite", {"backend": "sqlite"}),
        ("mysql", {"backend": "mysql"}),
        ("postgresql", {"backend": "postgresql"}),
    ]

    def setUp(self):
        super().setUp()
        self.useFixture(database.Database(self.backend))
        self.ctxt = vdi_context.get_admin_context()
        self.pool = db.pool_create(self.ctxt, {
            "name": "agents", "flavor": "f", "image": "i", "site": "sh",
            "console_type": "rdp", "min_ready": 0, "max_size": 100})
        self.desktops = [db.desktop_create(self.ctxt, {
            "pool_id": self.pool["id"], "name": "d%02d" % i,
            "server_id": uuidutils.generate_uuid(),
            "state": models.READY}) for i in range(30)]

    def _job(self, **values):
        job = dict({"id": uuidutils.generate_uuid(), "kind": "command",
                    "parameters": {"command": "true"},
                    "targets": {"pools": ["agents"]}, "in_use": "skip",
                    "max_retries": 0, "retry_delay": 0, "concurrency": 5,
                    "run_at": timeutils.utcnow()}, **values)
        return db.job_create(self.ctxt, job)

    def _login(self, username):
        return logins.claim(
            self.ctxt,
            {"username": username, "client_id": "tc-" + username,
             "seat": None},
            {"pool_id": self.pool["id"], "binding_kind": None,
             "binding_key": None, "allocator_id": None,
             "allocator_name": "test"},
            {"id": uuidutils.generate_uuid(),
             "token_hash": hashlib.sha256(username.encode()).hexdigest(),
             "expires_at": timeutils.utcnow() + datetime.timedelta(hours=1)})

    def _claim(self, job_id, host="c0"):
        return db.job_claim(self.ctxt, job_id, host, 60, 60)

    def _finish(self, target, state="ok", reason=None, output=""):
        return db.job_target_finish(
            self.ctxt, target, {"state": state, "reason": reason,
                                "output": output}, 100)

    def test_started_once_by_many_conductors(self):
        job = self._job()
        with concurrent.futures.ThreadPoolExecutor(CONDUCTORS * 2) as pool:
            started = [f.result() for f in [
                pool.submit(db.job_start, self.ctxt, job["id"])
                for _ in range(CONDUCTORS * 2)]]
        winners = [s for s in started if s is not None]
        self.assertEqual(1, len(winners))
        self.assertEqual("running", winners[0]["state"])
        targets = db.job_target_list(self.ctxt, job["id"])
        self.assertEqual(sorted(d["id"] for d in self.desktops),
                         sorted(t["desktop_id"] for t in targets))
        events = db.event_list(self.ctxt, {"action": "job.start"})
        self.assertEqual(1, len(events))

    def test_concurrent_claims_run_each_target_once(self):
        job = self._job(concurrency=5)
        db.job_start(self.ctxt, job["id"])
        claimed, lock = [], threading.Lock()
        in_flight = {"now": 0, "max": 0}

        def conductor(host):
            while True:
                got = self._claim(job["id"], host)
                if got["job"] is None:
                    return
                with lock:
                    claimed.extend(t["desktop_id"] for t in got["targets"])
                    in_flight["now"] += len(got["targets"])
                    in_flight["max"] = max(in_flight["max"],
                                           in_flight["now"])
                for target in got["targets"]:
                    with lock:
                        in_flight["now"] -= 1
                    self._finish(target, output="ran on " + host)

        with concurrent.futures.ThreadPoolExecutor(CONDUCTORS) as pool:
            for f in [pool.submit(conductor, "c%d" % n)
                      for n in range(CONDUCTORS)]:
                f.result()
        self.assertEqual(len(self.desktops), len(claimed))
        self.assertEqual(len(self.desktops), len(set(claimed)))
        self.assertLessEqual(in_flight["max"], 5)
        self.assertGreater(in_flight["max"], 0)
        job = db.job_get(self.ctxt, job["id"])
        self.assertEqual("finished", job["state"])
        self.assertEqual(len(self.desktops), job["results"]["ok"])
        self.assertEqual(1, len(db.event_list(self.ctxt,
                                              {"action": "job.finish"})))

    def test_two_conductors_runners_call_each_desktop_once(self):
        # Whole runners (claim, executor call, results) in two threads.
        fake_executor.reset()
        self.addCleanup(fake_executor.reset)
        self.flags(group="fake_executor", delay=0.02)
        self.flags(group="jobs", workers=2)
        job = self._job(concurrency=4, kind="message",
                        parameters={"message": "hello"})
        runners = [job_runner.JobRunner(
            self.conf, "conductor-%d" % n,
            notifications.get_notifier(self.conf, "test"))
            for n in range(2)]
        for runner in runners:
            self.addCleanup(runner.stop)

        def conductor(runner):
            for _ in range(200):
                runner.run_once(self.ctxt, wait=True)
                if db.job_get(self.ctxt, job["id"])["state"] == "finished":
                    return

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for f in [pool.submit(conductor, r) for r in runners]:
                f.result()
        called = [t for c in fake_executor.calls("send_message")
                  for t in c["targets"]]
        self.assertEqual(sorted(d["id"] for d in self.desktops),
                         sorted(called))
        self.assertTrue(all(len(c["targets"]) <= 4 for c in
                            fake_executor.calls()))
        hosts = {t["claimed_by"] for t in
                 db.job_target_list(self.ctxt, job["id"])}
        self.assertLessEqual(hosts, {"conductor-0", "conductor-1"})
        self.assertEqual(len(self.desktops), db.job_get(
            self.ctxt, job["id"])["results"]["ok"])

    def test_in_use_desktops_skipped_unless_allowed(self):
        session = self._login("amy")
        busy = session["desktop"]["id"]
        # A ready desktop beside it (the login took any of them).
        free = next(d["id"] for d in self.desktops if d["id"] != busy)
        for in_use, expected in (("skip", "skipped"), ("run", "running")):
            job = self._job(in_use=in_use, concurrency=100,
                            targets={"desktops": [session["desktop"]["name"],
                                                  free]})
            db.job_start(self.ctxt, job["id"])
            self._claim(job["id"])
            states = {t["desktop_id"]: (t["state"], t["reason"])
                      for t in db.job_target_list(self.ctxt, job["id"])}
            self.assertEqual(expected, states[busy][0], in_use)
            if in_use == "skip":
                self.assertEqual("in use", states[busy][1])
            self.assertEqual("running", states[free][0])

    def test_in_use_desktops_wait_for_a_maintenance_window(self):
        fake_executor.reset()
        self.addCleanup(fake_executor.reset)
        session = self._login("amy")
        busy = session["desktop"]["id"]
        free = next(d["id"] for d in self.desktops if d["id"] != busy)
        job = self._job(in_use="wait", concurrency=100,
                        targets={"desktops": [busy, free]})
        runner = job_runner.JobRunner(
            self.conf, "conductor-0",
            notifications.get_notifier(self.conf, "test"))
        self.addCleanup(runner.stop)
        for _ in range(3):
            runner.run_once(self.ctxt, wait=True)
        targets = {t["desktop_id"]: t
                   for t in db.job_target_list(self.ctxt, job["id"])}
        self.assertEqual("ok", targets[free]["state"])
        self.assertEqual("pending", targets[busy]["state"])
        self.assertEqual("in use: waiting for a maintenance window",
                         targets[busy]["reason"])
        self.assertEqual("running", db.job_get(self.ctxt, job["id"])["state"])
        # A window of another site changes nothing; one of the pool's
        # site lets the job run on the desktop in use.
        now = timeutils.utcnow()
        for name, site in (("elsewhere", "bj"), ("here", "sh")):
            db.window_create(self.ctxt, {
                "name": name, "site": site, "timezone": "UTC",
                "starts_at": now - datetime.timedelta(minutes=5),
                "ends_at": now + datetime.timedelta(hours=1)})
            runner.run_once(self.ctxt, wait=True)
            state = {t["desktop_id"]: t["state"] for t in
                     db.job_target_list(self.ctxt, job["id"])}[busy]
            self.assertEqual("pending" if name == "elsewhere" else "ok",
                             state, name)
        self.assertEqual("finished",
                         db.job_get(self.ctxt, job["id"])["state"])

    def test_retries_then_failure_with_output(self):
        job = self._job(max_retries=1, concurrency=1,
                        targets={"desktops": ["d00"]})
        db.job_start(self.ctxt, job["id"])
        target = self._claim(job["id"])["targets"][0]
        self.assertEqual("pending", self._finish(
            target, "failed", "exit status 3", "x" * 500)["state"])
        again = self._claim(job["id"])["targets"]
        self.assertEqual(2, again[0]["attempts"])
        self.assertEqual("failed", self._finish(
            again[0], "failed", "exit status 3", "y" * 500)["state"])
        result = db.job_target_list(self.ctxt, job["id"])[0]
        self.assertEqual("exit status 3", result["reason"])
        self.assertTrue(result["output"].startswith("y" * 100))
        self.assertIn("[... 400 characters cut]", result["output"])
        job = db.job_get(self.ctxt, job["id"])
        self.assertEqual("finished", job["state"])
        self.assertEqual(1, job["results"]["failed"])

    def test_cancel_skips_pending_and_erases_the_secret(self):
        job = self._job(concurrency=2, kind="password",
                        parameters={"username": "agent"},
                        secret="gAAAA-ciphertext")
        db.job_start(self.ctxt, job["id"])
        running = self._claim(job["id"])["targets"]
        cancelled = db.job_cancel(self.ctxt, job["id"])
        self.assertEqual("cancelled", cancelled["state"])
        self.assertIsNone(cancelled["secret"])
        self.assertEqual(len(self.desktops) - 2,
                         cancelled["results"]["skipped"])
        self.assertRaises(exception.Conflict, db.job_cancel, self.ctxt,
                          job["id"])
        # Running targets still record their result; then the job ends.
        for target in running:
            self.assertEqual("ok", self._finish(target)["state"])
        job = db.job_get(self.ctxt, job["id"])
        self.assertEqual("cancelled", job["state"])
        self.assertIsNotNone(job["finished_at"])
        self.assertEqual({"skipped": 28, "ok": 2}, {
            k: v for k, v in job["results"].items() if v})

    def test_lapsed_claim_taken_over(self):
        job = self._job(max_retries=1, concurrency=1,
                        targets={"desktops": ["d01"]})
        db.job_start(self.ctxt, job["id"])
        lost = self._claim(job["id"], "dead")["targets"][0]
        later = timeutils.utcnow() + datetime.timedelta(seconds=600)
        taken = db.job_claim(self.ctxt, job["id"], "alive", 60, 60,
                             now=later)["targets"]
        self.assertEqual("alive", taken[0]["claimed_by"])
        # The dead conductor's late result is dropped.
        self.assertIsNone(self._finish(lost)["state"])
        self.assertEqual("ok", self._finish(taken[0])["state"])

    def test_targets_by_site_and_unknown_names(self):
        job = self._job(targets={"sites": ["sh"], "desktops": ["nope"],
                                 "departments": ["hotel"]})
        started = db.job_start(self.ctxt, job["id"])
        self.assertEqual(len(self.desktops), started["results"]["pending"])
        self.assertIn("unknown desktops: nope", started["status_reason"])
        self.assertIn("unknown departments: hotel", started["status_reason"])

    def test_targets_by_department(self):
        db.department_create(self.ctxt, {
            "id": uuidutils.generate_uuid(), "name": "hotel",
            "rules": {"groups": ["hotel-agents"]}})
        # amy's login was tagged with the department, bob's with another.
        amy = logins.claim(
            self.ctxt, {"username": "amy", "client_id": "tc-amy",
                        "seat": None},
            logins.decision(self.pool),
            dict(logins.session_values(), department="hotel"))
        logins.claim(
            self.ctxt, {"username": "bob", "client_id": "tc-bob",
                        "seat": None},
            logins.decision(self.pool),
            dict(logins.session_values(), department="flights"))
        # A desktop bound to a seat of the department.
        db.seat_create(self.ctxt, {"name": "sh-h-001", "site": "sh",
                                   "department": "hotel"})
        # One the logins left ready (the claim's pick order differs by
        # backend).
        seat_desktop = next(
            d for d in self.desktops
            if db.desktop_get(self.ctxt, d["id"])["state"] == models.READY)
        db.binding_create(self.ctxt, "seat", "sh-h-001", seat_desktop["id"])
        job = self._job(targets={"departments": ["hotel"]}, in_use="run")
        started = db.job_start(self.ctxt, job["id"])
        self.assertIsNone(started["status_reason"])
        targets = {t["desktop_id"] for t in
                   db.job_target_list(self.ctxt, job["id"])}
        self.assertEqual({amy["desktop"]["id"], seat_desktop["id"]}, targets)

    def test_not_due_not_started(self):
        job = self._job(
            run_at=timeutils.utcnow() + datetime.timedelta(hours=1))
        self.assertNotIn(job["id"], db.jobs_due(self.ctxt, timeutils.utcnow()))
        self.assertIsNone(db.job_start(self.ctxt, job["id"]))
