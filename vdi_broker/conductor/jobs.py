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

"""The guest job runner of a conductor (R14).

Every ``[jobs] interval`` seconds a pass (:meth:`JobRunner.run_once`):

1. starts the due jobs (``db.job_start``: one conductor only each) and
   notifies ``job.start``;
2. claims, for every running job, the targets it may run now
   (``db.job_claim``: atomic, within the job's concurrency, skipping
   desktops in use, gone or not ready; a job with ``in_use: wait`` runs
   on desktops in use only while a maintenance window of their pool or
   site is open, conductor/maintenance.py);
3. hands each claimed batch to a thread pool (``[jobs] workers``) that
   calls the guest executor once for the batch, bounded by the job's
   timeout, and records each target's result
   (``db.job_target_finish``); the job's last result notifies
   ``job.finish``.

Every conductor runs it: they share the work through the claims. The
executor is loaded at the first job (a conductor without jobs never
contacts Salt).
"""

import concurrent.futures
import threading

from oslo_log import log as logging
from oslo_utils import timeutils

from vdi_broker.conductor import maintenance
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker.executors import base as executor_base
from vdi_broker import executors
from vdi_broker.jobs import kinds
from vdi_broker.jobs import secrets

LOG = logging.getLogger(__name__)

_JOB_FIELDS = ("id", "name", "kind", "state", "status_reason", "run_at",
               "started_at", "finished_at", "results")


def public_job(job):
    """A job for notifications: no parameters at all."""
    return {k: job.get(k) for k in _JOB_FIELDS}


class JobRunner:

    def __init__(self, conf, host, notifier, executor=None):
        self.conf = conf
        self.host = host
        self.notifier = notifier
        self._executor = executor
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            conf.jobs.workers, thread_name_prefix="vdi-broker-job")
        self._busy = set()

    @property
    def executor(self):
        with self._lock:
            if self._executor is None:
                self._executor = executors.get_driver(self.conf)
            return self._executor

    def _timeout(self, job):
        return job["timeout"] or self.conf.executor.timeout

    def run_once(self, ctxt=None, wait=False):
        """One pass. ``wait``: return when its calls are done (tests)."""
        ctxt = ctxt or vdi_context.get_admin_context()
        for job_id in db.jobs_due(ctxt, timeutils.utcnow()):
            job = db.job_start(ctxt, job_id)
            if job is not None:
                LOG.info("Job %s (%s) started on %d desktops", job_id,
                         job["kind"], sum(job["results"].values()))
                self.notifier.job(ctxt, "job.start", public_job(job))
                if job["state"] == "finished":
                    self.notifier.job(ctxt, "job.finish", public_job(job))
        futures = []
        running = db.jobs_running(ctxt)
        open_pools = self._open_pools(ctxt) if running else set()
        for job_id in running:
            with self._lock:
                if len(self._busy) >= self.conf.jobs.workers:
                    break
            claimed = db.job_claim(ctxt, job_id, self.host,
                                   self.conf.executor.timeout,
                                   self.conf.jobs.claim_grace,
                                   open_pools=open_pools)
            if claimed["finished"]:
                self._finished(ctxt, job_id)
            if not claimed["targets"]:
                continue
            futures.append(self._submit(ctxt, claimed["job"],
                                        claimed["targets"]))
        if wait:
            concurrent.futures.wait(futures)
        return futures

    def _open_pools(self, ctxt):
        """Ids of the pools with a maintenance window open now."""
        windows = db.window_list(ctxt, {"enabled": True})
        if not windows:
            return set()
        return set(maintenance.open_pools(
            windows, db.pool_list(ctxt),
            timeutils.utcnow(with_timezone=True)))

    def _submit(self, ctxt, job, targets):
        key = object()
        with self._lock:
            self._busy.add(key)

        def work():
            try:
                self._run(ctxt, job, targets)
            except Exception:
                LOG.exception("Job %s: recording the results of %d "
                              "desktops failed", job["id"], len(targets))
            finally:
                with self._lock:
                    self._busy.discard(key)
        return self._pool.submit(work)

    def _run(self, ctxt, job, targets):
        views = [executor_base.target_view(t["desktop"], t["pool"])
                 for t in targets]
        try:
            parameters = dict(job["parameters"] or {})
            parameters.update(secrets.unseal(self.conf, job["secret"]))
            results = kinds.run(self.executor, job["kind"], parameters,
                                views, self._timeout(job))
        except exception.VdiBrokerException as e:
            LOG.warning("Job %s: the executor could not run on %d "
                        "desktops: %s", job["id"], len(targets), e)
            results = {}
            reason = str(e)
        except Exception as e:
            # An executor plugin's bug must not leave targets running.
            LOG.exception("Job %s: the executor failed", job["id"])
            results = {}
            reason = "executor error: %s" % type(e).__name__
        else:
            reason = "the executor returned no result for this desktop"
        finished = False
        for target in targets:
            result = results.get(target["desktop_id"]) or \
                executor_base.failed(reason)
            recorded = db.job_target_finish(
                ctxt, target, result, self.conf.executor.output_limit)
            if recorded["state"] is None:
                LOG.warning("Job %s: the claim of desktop %s was taken "
                            "over; its result is dropped", job["id"],
                            target["desktop_id"])
            finished = finished or recorded["finished"]
        if finished:
            self._finished(ctxt, job["id"])

    def _finished(self, ctxt, job_id):
        job = db.job_get(ctxt, job_id)
        LOG.info("Job %s finished: %s", job_id, job["results"])
        self.notifier.job(ctxt, "job.finish", public_job(job))

    def stop(self, wait=True):
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
