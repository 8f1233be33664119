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

"""Maintenance: guest jobs on desktops and their results per desktop.

A job runs one operation (a command, a state, a package, a file, a local
password, a data recovery, a message) on the desktops of pools, sites,
departments or a list, at a set time (``/v1/jobs``, see
doc/source/admin/maintenance.rst). Operators schedule and cancel jobs;
every persona reads them.

A password job's new password is never written into a page: between
the form and its confirmation it waits in the server-side session,
under a one-time reference the confirmation page carries instead.
"""

import json
import secrets
import urllib.parse

import webob

from vdi_broker.portal import api
from vdi_broker.portal.views import common
from vdi_broker.portal import web
from vdi_broker import states

N_ = web.N_
JOB_STATES = states.JOB_STATES
TARGET_STATES = states.TARGET_STATES
OPEN = (states.JOB_SCHEDULED, states.JOB_RUNNING)
FILTERS = ("state", "kind")

# kind -> (label, [(parameter, field label, input, required)]).
# input: "text", "textarea", "lines" (one item a line), "json",
# "number", "password".
KINDS = {
    "command": (N_("Command"), [
        ("command", N_("Command line (as the executor runs it)"),
         "textarea", True)]),
    "state": (N_("State"), [
        ("state", N_("State name"), "text", True),
        ("pillar", N_("Pillar data (JSON object)"), "json", False)]),
    "software_install": (N_("Software install"), [
        ("package", N_("Package"), "text", True),
        ("version", N_("Version"), "text", False)]),
    "file_push": (N_("File push"), [
        ("path", N_("Path on the desktop"), "text", True),
        ("contents", N_("Contents"), "textarea", False),
        ("mode", N_("Mode (e.g. 0644)"), "text", False)]),
    "password": (N_("Local password"), [
        ("username", N_("Local account"), "text", True),
        ("password", N_("New password (at least 8 characters)"),
         "password", True)]),
    "data_recovery": (N_("Data recovery"), [
        ("paths", N_("Paths to recover (one a line)"), "lines", True),
        ("destination", N_("Destination"), "text", True)]),
    "message": (N_("Message to the agents"), [
        ("message", N_("Message"), "textarea", True),
        ("seconds", N_("Seconds shown"), "number", False)]),
}
SECRET = {"password": ("password",)}
SECRETS_KEY = "job_secrets"


def _kinds(req):
    return [(kind, req.gettext(label),
             [(name, req.gettext(text), kind_input, required)
              for name, text, kind_input, required in fields])
            for kind, (label, fields) in KINDS.items()]


def index(req):
    page = common.listing(req, "/jobs", "jobs", FILTERS,
                          sort_key="created_at", sort_dir="desc")
    return req.render("jobs.html", page=page, job_states=JOB_STATES,
                      kinds=_kinds(req), open_states=OPEN)


def new(req):
    """The form of a new job (``?desktop=``, ``?pool=``: prefilled)."""
    pools, _ = req.api().all("/pools", "pools")
    prefill = {"desktops": req.GET.get("desktop", "").strip(),
               "pools": req.GET.getall("pool"),
               "kind": req.GET.get("kind", "command")}
    return req.render("job_new.html", pools=sorted(
        pools, key=lambda p: p["name"]), kinds=_kinds(req),
        prefill=prefill)


def _parameters(req, kind):
    parameters = {}
    missing = []
    for name, label, kind_input, required in KINDS[kind][1]:
        if name in SECRET.get(kind, ()):
            continue  # see _take_secret
        raw = req.POST.get("p_%s_%s" % (kind, name), "")
        if kind_input not in ("textarea", "password"):
            raw = raw.strip()
        if kind_input == "lines":
            value = [line.strip() for line in raw.splitlines()
                     if line.strip()] or None
        elif kind_input == "json":
            value = None
            if raw:
                try:
                    value = json.loads(raw)
                except ValueError as e:
                    raise ValueError(req.gettext(
                        "%(field)s is not valid JSON: %(error)s",
                        field=req.gettext(label), error=e))
                if not isinstance(value, dict):
                    raise ValueError(req.gettext(
                        "%(field)s must be a JSON object.",
                        field=req.gettext(label)))
        elif kind_input == "number":
            value = None
            if raw:
                try:
                    value = int(raw)
                except ValueError:
                    raise ValueError(req.gettext(
                        "%(field)s must be a whole number.",
                        field=req.gettext(label)))
        else:
            value = raw if raw != "" or (name == "contents") else None
        if value is None:
            if required:
                missing.append(req.gettext(label))
            continue
        parameters[name] = value
    return parameters, missing


def _optional_int(req, name):
    if not req.POST.get(name, "").strip():
        return None
    return common.integer(req, name)


def _body(req):
    """The job's body for POST /v1/jobs from the form; ValueError."""
    kind = req.POST.get("kind")
    if kind not in KINDS:
        raise ValueError(req.gettext("Choose the kind of job."))
    parameters, missing = _parameters(req, kind)
    targets = {}
    pools = [p for p in req.POST.getall("pools") if p]
    if pools:
        targets["pools"] = pools
    for key in ("sites", "departments", "desktops"):
        values = common.words(req.POST.get(key))
        if values:
            targets[key] = values
    body = {"kind": kind, "parameters": parameters, "targets": targets}
    name = common.optional(req.POST.get("name"))
    if name:
        body["name"] = name
    run_at = req.POST.get("run_at", "").strip()
    if run_at:
        converted = common.local_to_utc(run_at, req.POST.get("tz"),
                                        req.POST.get("tz_offset"))
        if not converted:
            raise ValueError(req.gettext("The time is not a time."))
        body["run_at"] = converted
    in_use = req.POST.get("in_use")
    if in_use in ("skip", "run"):
        body["in_use"] = in_use
    for key in ("max_retries", "retry_delay", "concurrency", "timeout"):
        value = _optional_int(req, key)
        if value is not None:
            body[key] = value
    return body, missing


def _describe_targets(req, body, pool_names):
    parts = []
    targets = body["targets"]
    if targets.get("pools"):
        parts.append(req.gettext("pools %(names)s", names=", ".join(
            pool_names.get(p, p) for p in targets["pools"])))
    if targets.get("sites"):
        parts.append(req.gettext("sites %(names)s",
                                 names=", ".join(targets["sites"])))
    if targets.get("departments"):
        parts.append(req.gettext("departments %(names)s",
                                 names=", ".join(targets["departments"])))
    if targets.get("desktops"):
        parts.append(req.gettext("desktops %(names)s",
                                 names=", ".join(targets["desktops"])))
    return "; ".join(parts)


def _take_secret(req, kind, confirmed):
    """The password of a password job: kept in the session until asked.

    Before the confirmation: moved from the form into the session, under
    a new reference (returned as the confirmation page's extra field).
    At the confirmation: taken back out of the session (once).
    """
    names = SECRET.get(kind, ())
    if not names:
        return {}, ()
    held = req.session.setdefault(SECRETS_KEY, {})
    req.session_changed = True
    if confirmed:
        values = held.pop(req.POST.get("secret_ref", ""), None)
        if values is None:
            raise ValueError(req.gettext(
                "The password was not kept: enter it again."))
        return values, ()
    values = {n: req.POST.get("p_%s_%s" % (kind, n), "") for n in names}
    ref = secrets.token_urlsafe(16)
    # One job form at a time per session: older ones are forgotten.
    held.clear()
    held[ref] = values
    return values, (("secret_ref", ref),)


def create(req):
    back = "/jobs/new"
    confirmed = req.POST.get("confirmed") == "1"
    kind = req.POST.get("kind")
    try:
        body, missing = _body(req)
        secret, extra = _take_secret(req, kind, confirmed)
    except ValueError as e:
        return req.done(("error", str(e)), back)
    body["parameters"].update(secret)
    missing.extend(req.gettext(label) for name, label, _i, _r
                   in KINDS[kind][1] if name in secret and not secret[name])
    if missing:
        req.session.pop(SECRETS_KEY, None)
        return req.done(("error", req.gettext(
            "Fill in: %(fields)s.", fields=", ".join(missing))), back)
    if not body["targets"]:
        req.session.pop(SECRETS_KEY, None)
        return req.done(("error", req.gettext(
            "Choose the targets: pools, sites, departments or desktops.")),
            back)
    client = req.api()
    name = body.get("name") or req.gettext(KINDS[kind][0])
    if not confirmed:
        pool_names = {p["id"]: p["name"] for p in
                      client.all("/pools", "pools")[0]}
        when = (req.gettext("at %(time)s UTC", time=body["run_at"][:16]
                            .replace("T", " "))
                if body.get("run_at") else req.gettext("now"))
        in_use = body.get("in_use", "run" if kind == "message" else "skip")
        question = req.gettext(
            "Run the %(kind)s job %(name)s on %(targets)s, %(when)s?",
            kind=req.gettext(KINDS[kind][0]), name=name,
            targets=_describe_targets(req, body, pool_names), when=when)
        if in_use == "run":
            question += " " + req.gettext(
                "It also runs on desktops in use: the agents working on "
                "them may be disturbed.")
        else:
            question += " " + req.gettext(
                "Desktops in use are skipped.")
        return req.confirm(
            req.gettext("Schedule a job"), question,
            danger=in_use == "run",
            omit=["p_%s_%s" % (k, n) for k, names in SECRET.items()
                  for n in names],
            extra=extra)
    try:
        job = client.request("POST", "/jobs", body=body)["job"]
    except api.ApiError as e:
        return req.done(req.api_failure(e, req.gettext(
            "Scheduling job %(name)s", name=name)), back)
    req.flash("ok", req.gettext("Job %(name)s scheduled.", name=name))
    return req.redirect("/jobs/" + api.quote(job["id"]))


def _target_page(req, targets):
    """A page of a job's targets (the API answers them all)."""
    size = req.portal.conf.portal.page_size
    try:
        start = max(0, int(req.GET.get("start", "0")))
    except ValueError:
        start = 0
    query = {k: v for k, v in (("state", req.GET.get("state", "")),)
             if v}
    next_url = first_url = None
    if start + size < len(targets):
        next_url = req.path + "?" + urllib.parse.urlencode(
            dict(query, start=start + size))
    if start:
        first_url = req.path + ("?" + urllib.parse.urlencode(query)
                                if query else "")
    return {"items": targets[start:start + size], "next_url": next_url,
            "first_url": first_url, "start": start, "total": len(targets)}


def show(req):
    client = req.api()
    job_id = req.urlvars["job_id"]
    job = client.get("/jobs/" + api.quote(job_id), "job")
    state = req.GET.get("state", "")
    params = {"state": state} if state in TARGET_STATES else None
    targets = client.request("GET", "/jobs/%s/targets" % api.quote(
        job["id"]), params=params)["targets"]
    events, _ = client.page("/events", "events",
                            {"target_id": job["id"], "limit": 20})
    pools = common.pools_by_id(req)
    pools.update({p["name"]: p for p in list(pools.values())})
    return req.render(
        "job.html", job=job, target_labels={
            "pools": req.gettext("Pools"), "sites": req.gettext("Sites"),
            "departments": req.gettext("Departments"),
            "desktops": req.gettext("Desktops")},
        refresh=req.portal.conf.portal.refresh_interval,
        page=_target_page(req, targets),
        state=state if params else "", target_states=TARGET_STATES,
        events=events, pools=pools, kind_label=req.gettext(
            KINDS[job["kind"]][0]) if job["kind"] in KINDS else job["kind"],
        open=job["state"] in OPEN,
        total=sum((job.get("results") or {}).values()))


def data_json(req):
    """A job's state and counts, for its page's refresh while it runs."""
    job = req.api().get("/jobs/" + api.quote(req.urlvars["job_id"]),
                        "job")
    response = webob.Response(content_type="application/json",
                              charset="UTF-8")
    response.json_body = {
        "id": job["id"], "state": job["state"],
        "open": job["state"] in OPEN,
        "status_reason": job.get("status_reason"),
        "results": job.get("results") or {},
        "total": sum((job.get("results") or {}).values())}
    return response


def cancel(req):
    job_id = req.urlvars["job_id"]
    back = "/jobs/" + api.quote(job_id)
    name = req.POST.get("name") or job_id
    asked = req.confirm(req.gettext("Cancel a job"), req.gettext(
        "Cancel job %(name)s? Desktops not started yet are skipped; those "
        "running keep the result their call returns.", name=name),
        danger=True)
    if asked:
        return asked
    return common.run(
        req, req.gettext("Cancelling job %(name)s", name=name),
        lambda: req.api().request("POST", "/jobs/%s/cancel" %
                                  api.quote(job_id)),
        lambda result: req.ngettext(
            "Job %(name)s cancelled: %(num)s desktop skipped.",
            "Job %(name)s cancelled: %(num)s desktops skipped.",
            ((result or {}).get("job", {}).get("results") or {}).get(
                "skipped", 0), name=name), back)
