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

"""Admin API: guest jobs on desktops and their results (R14).

The API stores a job; the conductors run it when its time comes
(vdi_broker/conductor/jobs.py). Secret parameters (a password job's new
password) are encrypted before they are stored, never returned (shown
as ``"***"``) and never logged.
"""

from oslo_utils import timeutils
from oslo_utils import uuidutils

from vdi_broker.api.schemas import jobs as schema
from vdi_broker.api import util
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker.jobs import kinds
from vdi_broker.jobs import secrets
from vdi_broker import policy

SORT_KEYS = ("created_at", "run_at", "name", "state")
FILTERS = ("state", "kind")
FIELDS = ("id", "name", "kind", "targets", "in_use", "max_retries",
          "retry_delay", "concurrency", "timeout", "state", "status_reason",
          "created_by", "results")
TARGET_FIELDS = ("desktop_id", "desktop_name", "state", "attempts",
                 "reason", "output", "claimed_by")


def _view(job):
    view = {k: job.get(k) for k in FIELDS}
    view["parameters"] = kinds.public(job["kind"], job["parameters"] or {})
    for key in ("run_at", "started_at", "finished_at", "created_at",
                "updated_at"):
        view[key] = util.iso(job.get(key))
    return view


def _target_view(target):
    view = {k: target[k] for k in TARGET_FIELDS}
    for key in ("started_at", "finished_at", "next_attempt_at"):
        view[key] = util.iso(target[key])
    return view


def _run_at(value):
    if value is None:
        return timeutils.utcnow()
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(value))
    except (ValueError, OverflowError):
        raise exception.Invalid(reason="run_at must be an ISO 8601 time "
                                       "such as 2026-11-26T20:00:00Z")


def _no_nul(value, where="parameters"):
    # PostgreSQL stores no NUL in text or JSON: a 400, not a 500.
    if isinstance(value, str):
        util.check_text(where, value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key, where)
            _no_nul(item, where)
    elif isinstance(value, list):
        for item in value:
            _no_nul(item, where)


def create(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:jobs:create")
    body = util.read_json(req, schema.create)
    kind, parameters = body["kind"], body["parameters"]
    if not isinstance(parameters, dict):
        raise exception.Invalid(reason="parameters must be an object")
    problems = kinds.errors(kind, parameters)
    if problems:
        raise exception.Invalid(reason="parameters of a %s job: %s" % (
            kind, problems))
    _no_nul(parameters)
    stored, secret = kinds.split(kind, parameters)
    values = {
        "id": uuidutils.generate_uuid(), "name": body.get("name"),
        "kind": kind, "parameters": stored,
        "secret": secrets.seal(util.app(req).conf, secret),
        "targets": body["targets"], "run_at": _run_at(body.get("run_at")),
        # A message is for the people at the desktops: it runs on
        # desktops in use unless told otherwise.
        "in_use": body.get("in_use",
                           "run" if kind == "message" else "skip"),
        "max_retries": body.get("max_retries", 0),
        "retry_delay": body.get("retry_delay", 60),
        "concurrency": body.get("concurrency", 10),
        "timeout": body.get("timeout"),
        "created_by": getattr(ctxt, "user_id", None)}
    job = db.job_create(ctxt, values)
    return util.json_response(
        {"job": _view(job)}, status=201,
        headers={"Location": "%s/v1/jobs/%s" % (req.application_url,
                                                job["id"])})


def list_jobs(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:jobs:list")
    page = util.pagination(req, SORT_KEYS, "created_at")
    items = db.job_list(ctxt, util.filters(req, FILTERS), **page)
    return util.json_response({
        "jobs": [_view(j) for j in items],
        "links": util.links(req, "jobs", items, page["limit"])})


def show(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:jobs:show")
    job = db.job_get(ctxt, req.urlvars["job_id"])
    return util.json_response({"job": _view(job)})


def targets(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:jobs:show")
    state = req.GET.get("state")
    if state is not None and state not in (
            "pending", "running", "ok", "failed", "skipped"):
        raise exception.Invalid(reason="state must be one of pending, "
                                       "running, ok, failed, skipped")
    items = db.job_target_list(ctxt, req.urlvars["job_id"], state)
    return util.json_response({"targets": [_target_view(t)
                                           for t in items]})


def cancel(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:jobs:cancel")
    job = db.job_cancel(ctxt, req.urlvars["job_id"])
    return util.json_response({"job": _view(job)})
