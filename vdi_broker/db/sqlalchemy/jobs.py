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

"""Guest jobs' storage: jobs, their targets, and the atomic claim.

A job is *scheduled* until its ``run_at``; then one conductor starts it
(:func:`job_start_due`: a compare-and-swap of the job's state, so one
conductor only) and writes one target row per desktop its target spec
names at that moment. Conductors then take targets in turns with
:func:`job_claim`, one transaction that first writes the job's row (its
``claims`` counter): claims of one job serialize on that row lock (and
conflict at commit on Galera, where the loser runs again), so the
concurrency limit holds and no target is claimed twice. A claim lapses
after its ``claim_expires_at``: a conductor that died leaves no target
running for ever (it is tried again, or fails once out of attempts).

Results come back through :func:`job_target_finish`, a compare-and-swap
on the claim (target running, same conductor, same attempt). A job ends
(*finished*) when no target is pending or running, and its encrypted
secret is erased then, or at cancellation.
"""

import datetime

from oslo_utils import timeutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

__all__ = ("job_create", "job_get", "job_list", "job_target_list",
           "job_cancel", "jobs_due", "jobs_running", "job_start",
           "job_claim", "job_target_finish")

main_context_manager = engine.main_context_manager

_JOBS = models.GuestJob.__table__
_TARGETS = models.GuestJobTarget.__table__
_DESKTOPS = models.Desktop.__table__
_POOLS = models.Pool.__table__
_SESSIONS = models.ClientSession.__table__
_BINDINGS = models.Binding.__table__
_SEATS = models.Seat.__table__
_DEPARTMENTS = models.Department.__table__

_OPEN = (models.JOB_SCHEDULED, models.JOB_RUNNING)
_UNDONE = (models.TARGET_PENDING, models.TARGET_RUNNING)
# Desktops a job may run on; the others are skipped with their state.
_RUNNABLE = (models.READY, models.ASSIGNED)
REASON_LENGTH = 1024
# A target of an ``in_use: wait`` job whose desktop is in use.
_WAITING = "in use: waiting for a maintenance window"


def _reason(text):
    return text[:REASON_LENGTH] if text else text


def _job(row):
    return dict(row) if row is not None else None


def _counts(session, job_ids):
    counts = {job_id: dict.fromkeys(models.TARGET_STATES, 0)
              for job_id in job_ids}
    for part in common.chunks(list(job_ids)):
        for job_id, state, count in session.execute(
                sa.select(_TARGETS.c.job_id, _TARGETS.c.state,
                          sa.func.count())
                .where(_TARGETS.c.job_id.in_(part))
                .group_by(_TARGETS.c.job_id, _TARGETS.c.state)):
            counts[job_id][state] = count
    return counts


def _with_counts(session, jobs):
    counts = _counts(session, [j["id"] for j in jobs])
    for job in jobs:
        job["results"] = counts[job["id"]]
    return jobs


@main_context_manager.writer
def job_create(ctx, values):
    """Store a new job (``values``: the columns; state scheduled)."""
    now = timeutils.utcnow()
    values = dict(values, state=models.JOB_SCHEDULED, created_at=now,
                  claims=0)
    values.setdefault("run_at", now)
    ctx.session.execute(sa.insert(_JOBS).values(**values))
    common.record(ctx.session, ctx, "job", "job.create",
                  target_type="job", target_id=values["id"],
                  message="%s job %s scheduled for %s UTC" % (
                      values["kind"], values.get("name") or values["id"],
                      values["run_at"].isoformat(timespec="seconds")))
    return _job_get(ctx.session, values["id"])


def _job_get(session, job_id):
    row = session.execute(sa.select(_JOBS).where(
        _JOBS.c.id == job_id)).mappings().first()
    if row is None:
        raise exception.JobNotFound(job=job_id)
    return _with_counts(session, [dict(row)])[0]


@main_context_manager.reader
def job_get(ctx, job_id):
    return _job_get(ctx.session, job_id)


@main_context_manager.reader
def job_list(ctx, filters=None, limit=None, marker=None,
             sort_key="created_at", sort_dir="desc"):
    jobs = common.paginate(ctx.session, models.GuestJob, filters, limit,
                           marker, sort_key, sort_dir,
                           lambda: exception.JobNotFound(job=marker))
    return _with_counts(ctx.session, jobs)


@main_context_manager.reader
def job_target_list(ctx, job_id, state=None):
    _job_get(ctx.session, job_id)
    stmt = sa.select(_TARGETS).where(_TARGETS.c.job_id == job_id)
    if state:
        stmt = stmt.where(_TARGETS.c.state == state)
    return [dict(r) for r in
            ctx.session.execute(stmt.order_by(_TARGETS.c.id)).mappings()]


@common.retry_on_conflict
@main_context_manager.writer
def job_cancel(ctx, job_id):
    """Cancel a scheduled or running job.

    Its pending targets are skipped ("job cancelled"); running ones end
    with the result their executor call returns. The secret is erased.
    """
    session = ctx.session
    now = timeutils.utcnow()
    job = _job_get(session, job_id)
    done = session.execute(
        sa.update(_JOBS).where(_JOBS.c.id == job_id,
                               _JOBS.c.state.in_(_OPEN))
        .values(state=models.JOB_CANCELLED, secret=None, updated_at=now,
                status_reason="cancelled by %s" % (
                    getattr(ctx, "user_id", None) or "an operator"),
                claims=_JOBS.c.claims + 1))
    if done.rowcount != 1:
        raise exception.Conflict(reason="job %s is %s already" % (
            job_id, job["state"]))
    session.execute(
        sa.update(_TARGETS).where(_TARGETS.c.job_id == job_id,
                                  _TARGETS.c.state == models.TARGET_PENDING)
        .values(state=models.TARGET_SKIPPED, reason="job cancelled",
                finished_at=now, updated_at=now))
    if not _undone(session, job_id):
        session.execute(sa.update(_JOBS).where(_JOBS.c.id == job_id)
                        .values(finished_at=now))
    common.record(session, ctx, "job", "job.cancel", target_type="job",
                  target_id=job_id, message="job %s cancelled" % (
                      job["name"] or job_id))
    return _job_get(session, job_id)


def _undone(session, job_id):
    return session.execute(
        sa.select(sa.func.count()).select_from(_TARGETS)
        .where(_TARGETS.c.job_id == job_id,
               _TARGETS.c.state.in_(_UNDONE))).scalar()


@main_context_manager.reader
def jobs_due(ctx, now):
    """Ids of scheduled jobs whose time has come, oldest first."""
    return ctx.session.execute(
        sa.select(_JOBS.c.id).where(_JOBS.c.state == models.JOB_SCHEDULED,
                                    _JOBS.c.run_at <= now)
        .order_by(_JOBS.c.run_at, _JOBS.c.id)).scalars().all()


@main_context_manager.reader
def jobs_running(ctx):
    return ctx.session.execute(
        sa.select(_JOBS.c.id).where(_JOBS.c.state == models.JOB_RUNNING)
        .order_by(_JOBS.c.run_at, _JOBS.c.id)).scalars().all()


def _resolve(session, spec):
    """The desktops a target spec names now: [(id, name)], notes."""
    desktops = _DESKTOPS
    found, notes = {}, []
    pools = list(spec.get("pools") or ())
    if pools:
        rows = session.execute(sa.select(_POOLS.c.id, _POOLS.c.name).where(
            sa.or_(_POOLS.c.id.in_(pools),
                   _POOLS.c.name.in_(pools)))).all()
        known = {r.id for r in rows} | {r.name for r in rows}
        missing = [p for p in pools if p not in known]
        if missing:
            notes.append("unknown pools: %s" % ", ".join(missing))
        for row in session.execute(
                sa.select(desktops.c.id, desktops.c.name).where(
                    desktops.c.pool_id.in_([r.id for r in rows]),
                    desktops.c.state != models.DELETING)):
            found[row.id] = row.name
    sites = list(spec.get("sites") or ())
    if sites:
        for row in session.execute(
                sa.select(desktops.c.id, desktops.c.name)
                .join(_POOLS, _POOLS.c.id == desktops.c.pool_id)
                .where(_POOLS.c.site.in_(sites),
                       desktops.c.state != models.DELETING)):
            found[row.id] = row.name
    names = list(spec.get("desktops") or ())
    if names:
        rows = session.execute(
            sa.select(desktops.c.id, desktops.c.name).where(
                sa.or_(desktops.c.id.in_(names),
                       desktops.c.name.in_(names)))).all()
        known = {r.id for r in rows} | {r.name for r in rows}
        missing = [n for n in names if n not in known]
        if missing:
            notes.append("unknown desktops: %s" % ", ".join(missing))
        for row in rows:
            found[row.id] = row.name
    wanted = list(spec.get("departments") or ())
    if wanted:
        rows = session.execute(
            sa.select(_DEPARTMENTS.c.id, _DEPARTMENTS.c.name).where(
                sa.or_(_DEPARTMENTS.c.id.in_(wanted),
                       _DEPARTMENTS.c.name.in_(wanted)))).all()
        known = {r.id for r in rows} | {r.name for r in rows}
        missing = [d for d in wanted if d not in known]
        if missing:
            notes.append("unknown departments: %s" % ", ".join(missing))
        for row in session.execute(_department_desktops(
                [r.name for r in rows])):
            found[row.id] = row.name
    return sorted(found.items(), key=lambda item: (item[1], item[0])), notes


def _department_desktops(names):
    """The desktops of departments' agents and seats.

    A department's agents are the users whose logins the login service
    tagged with it (sessions.department: the department rules are matched
    against the directory at login, not here); their desktops are the ones
    they hold now and the ones bound to them, plus the desktops bound to
    the department's seats.
    """
    desktops = _DESKTOPS
    agents = sa.select(_SESSIONS.c.username).where(
        _SESSIONS.c.department.in_(names)).distinct()
    seats = sa.select(_SEATS.c.name).where(_SEATS.c.department.in_(names))
    bound = sa.select(_BINDINGS.c.desktop_id).where(sa.or_(
        sa.and_(_BINDINGS.c.kind == "user", _BINDINGS.c.key.in_(agents)),
        sa.and_(_BINDINGS.c.kind == "seat", _BINDINGS.c.key.in_(seats))))
    return sa.select(desktops.c.id, desktops.c.name).where(
        desktops.c.state != models.DELETING,
        sa.or_(desktops.c.assigned_user.in_(agents),
               desktops.c.id.in_(bound)))


@common.retry_on_conflict
@main_context_manager.writer
def job_start(ctx, job_id, now=None):
    """Start a due job: scheduled -> running, and its target rows.

    A compare-and-swap on the state: of conductors starting the same job
    at once one only does. Returns the job, or None (not due, or started
    by someone else).
    """
    session = ctx.session
    now = now or timeutils.utcnow()
    done = session.execute(
        sa.update(_JOBS).where(_JOBS.c.id == job_id,
                               _JOBS.c.state == models.JOB_SCHEDULED,
                               _JOBS.c.run_at <= now)
        .values(state=models.JOB_RUNNING, started_at=now, updated_at=now,
                claims=_JOBS.c.claims + 1))
    if done.rowcount != 1:
        return None
    job = dict(session.execute(sa.select(_JOBS).where(
        _JOBS.c.id == job_id)).mappings().one())
    targets, notes = _resolve(session, job["targets"] or {})
    if targets:
        session.execute(sa.insert(_TARGETS), [
            {"job_id": job_id, "desktop_id": desktop_id,
             "desktop_name": name, "state": models.TARGET_PENDING,
             "attempts": 0, "updated_at": now}
            for desktop_id, name in targets])
    values = {}
    if notes:
        values["status_reason"] = _reason("; ".join(notes))
    if not targets:
        values.update(state=models.JOB_FINISHED, finished_at=now,
                      secret=None)
        values["status_reason"] = _reason("; ".join(
            ["no desktop to run on"] + notes))
    if values:
        session.execute(sa.update(_JOBS).where(_JOBS.c.id == job_id)
                        .values(**values))
    common.record(session, ctx, "job", "job.start", target_type="job",
                  target_id=job_id, message="job %s started on %d "
                  "desktops" % (job["name"] or job_id, len(targets)),
                  detail={"targets": len(targets), "notes": notes})
    return _job_get(session, job_id)


def _in_use(session, desktop_ids):
    """The desktops of ``desktop_ids`` someone works on now."""
    if not desktop_ids:
        return set()
    busy = set(session.execute(
        sa.select(_SESSIONS.c.desktop_id).where(
            _SESSIONS.c.desktop_id.in_(desktop_ids),
            _SESSIONS.c.state == "active")).scalars())
    busy |= set(session.execute(
        sa.select(_DESKTOPS.c.id).where(
            _DESKTOPS.c.id.in_(desktop_ids),
            _DESKTOPS.c.state == models.ASSIGNED)).scalars())
    return busy


@common.retry_on_conflict
@main_context_manager.writer
def job_claim(ctx, job_id, host, default_timeout, grace, now=None,
              open_pools=()):
    """Take the job's next targets for ``host``, within its concurrency.

    A claim lapses after the job's timeout (``default_timeout`` when it
    has none) and ``grace`` seconds.

    ``open_pools``: ids of the pools with a maintenance window open now.
    A job with ``in_use: wait`` runs on a desktop in use only there; its
    other in-use desktops stay pending ("waiting for a maintenance
    window") until a later claim finds their window open.

    Skips (with why) the targets whose desktop is gone, not ready or
    assigned, or in use when the job may not touch in-use desktops.
    Returns ``{"job": job row, "targets": [claimed targets, each with
    "desktop" and "pool" dicts], "skipped": n, "finished": bool}``;
    ``finished``: this claim ended the job (nothing left to run).
    """
    session = ctx.session
    now = now or timeutils.utcnow()
    # Write the job row first: every claim of this job waits here.
    done = session.execute(
        sa.update(_JOBS).where(_JOBS.c.id == job_id,
                               _JOBS.c.state == models.JOB_RUNNING)
        .values(claims=_JOBS.c.claims + 1))
    result = {"job": None, "targets": [], "skipped": 0, "finished": False}
    if done.rowcount != 1:
        return result
    job = dict(session.execute(sa.select(_JOBS).where(
        _JOBS.c.id == job_id)).mappings().one())
    result["job"] = job
    claim_seconds = (job["timeout"] or default_timeout) + grace
    _reclaim_lapsed(session, job, now)
    running = session.execute(
        sa.select(sa.func.count()).select_from(_TARGETS).where(
            _TARGETS.c.job_id == job_id,
            _TARGETS.c.state == models.TARGET_RUNNING)).scalar()
    free = job["concurrency"] - running
    waiting = set()
    while free > 0:
        stmt = sa.select(_TARGETS).where(
            _TARGETS.c.job_id == job_id,
            _TARGETS.c.state == models.TARGET_PENDING,
            sa.or_(_TARGETS.c.next_attempt_at.is_(None),
                   _TARGETS.c.next_attempt_at <= now))
        if waiting:
            stmt = stmt.where(_TARGETS.c.id.not_in(sorted(waiting)))
        batch = session.execute(
            stmt.order_by(_TARGETS.c.id).limit(free * 2)).mappings().all()
        if not batch:
            break
        ids = [t["desktop_id"] for t in batch]
        desktops = {d["id"]: dict(d) for d in session.execute(
            sa.select(_DESKTOPS).where(_DESKTOPS.c.id.in_(ids))).mappings()}
        pools = {p["id"]: dict(p) for p in session.execute(
            sa.select(_POOLS).where(_POOLS.c.id.in_(
                {d["pool_id"] for d in desktops.values()}))).mappings()}
        busy = _in_use(session, ids) if job["in_use"] != "run" else set()
        for target in batch:
            desktop = desktops.get(target["desktop_id"])
            skip = None
            if desktop is None:
                skip = "desktop deleted"
            elif desktop["state"] not in _RUNNABLE:
                skip = "desktop %s" % desktop["state"]
            elif desktop["id"] in busy and job["in_use"] == "wait":
                if desktop["pool_id"] not in open_pools:
                    waiting.add(target["id"])
                    if target["reason"] != _WAITING:
                        session.execute(
                            sa.update(_TARGETS)
                            .where(_TARGETS.c.id == target["id"])
                            .values(reason=_WAITING, updated_at=now))
                    continue
            elif desktop["id"] in busy:
                skip = "in use"
            if skip:
                session.execute(
                    sa.update(_TARGETS).where(_TARGETS.c.id == target["id"])
                    .values(state=models.TARGET_SKIPPED, reason=skip,
                            finished_at=now, updated_at=now))
                result["skipped"] += 1
                continue
            if free <= 0:
                break
            attempts = target["attempts"] + 1
            session.execute(
                sa.update(_TARGETS).where(
                    _TARGETS.c.id == target["id"],
                    _TARGETS.c.state == models.TARGET_PENDING)
                .values(state=models.TARGET_RUNNING, attempts=attempts,
                        claimed_by=host, started_at=now, updated_at=now,
                        claim_expires_at=now + datetime.timedelta(
                            seconds=claim_seconds)))
            result["targets"].append(dict(
                target, state=models.TARGET_RUNNING, attempts=attempts,
                claimed_by=host, desktop=desktop,
                pool=pools.get(desktop["pool_id"])))
            free -= 1
    if not result["targets"] and _finish_if_done(session, ctx, job, now):
        result["finished"] = True
    return result


def _reclaim_lapsed(session, job, now):
    """Targets whose conductor stopped answering: again, or failed."""
    lapsed = session.execute(
        sa.select(_TARGETS).where(
            _TARGETS.c.job_id == job["id"],
            _TARGETS.c.state == models.TARGET_RUNNING,
            _TARGETS.c.claim_expires_at < now)).mappings().all()
    for target in lapsed:
        why = "the claim of %s lapsed (conductor stopped?)" % (
            target["claimed_by"])
        again = target["attempts"] <= job["max_retries"]
        session.execute(
            sa.update(_TARGETS).where(_TARGETS.c.id == target["id"],
                                      _TARGETS.c.state ==
                                      models.TARGET_RUNNING)
            .values(state=(models.TARGET_PENDING if again
                           else models.TARGET_FAILED),
                    reason=_reason(why), updated_at=now, claimed_by=None,
                    claim_expires_at=None,
                    finished_at=None if again else now))


def _finish_if_done(session, ctx, job, now):
    """End a running job with nothing left to run. True if it did."""
    if _undone(session, job["id"]):
        return False
    done = session.execute(
        sa.update(_JOBS).where(_JOBS.c.id == job["id"],
                               _JOBS.c.state == models.JOB_RUNNING)
        .values(state=models.JOB_FINISHED, finished_at=now, secret=None,
                updated_at=now))
    if done.rowcount != 1:
        # Cancelled: it ends when its last running target does.
        session.execute(
            sa.update(_JOBS).where(_JOBS.c.id == job["id"],
                                   _JOBS.c.finished_at.is_(None))
            .values(finished_at=now))
        return False
    counts = _counts(session, [job["id"]])[job["id"]]
    failed = counts[models.TARGET_FAILED]
    common.record(session, ctx, "job", "job.finish",
                  result="failure" if failed else "success",
                  target_type="job", target_id=job["id"],
                  message="job %s finished: %s" % (
                      job["name"] or job["id"],
                      ", ".join("%d %s" % (counts[s], s)
                                for s in models.TARGET_STATES
                                if counts[s])),
                  detail={"results": counts})
    return True


@common.retry_on_conflict
@main_context_manager.writer
def job_target_finish(ctx, target, result, output_limit, now=None):
    """Record a claimed target's result.

    ``target``: the claimed target (its id, job_id, claimed_by and
    attempts make the compare-and-swap: a lapsed claim taken over by
    another conductor is not overwritten). ``result``: an executor
    result. A failure is tried again after the job's retry_delay while
    attempts remain (and the job is not cancelled). Returns ``{"state":
    what was recorded or None, "finished": the job ended}``.
    """
    session = ctx.session
    now = now or timeutils.utcnow()
    job = dict(session.execute(sa.select(_JOBS).where(
        _JOBS.c.id == target["job_id"]).with_for_update()).mappings().one())
    state = result["state"]
    values = {"reason": _reason(result.get("reason")),
              "output": _truncate(result.get("output"), output_limit),
              "updated_at": now, "claim_expires_at": None}
    if state == models.TARGET_FAILED and \
            target["attempts"] <= job["max_retries"] and \
            job["state"] == models.JOB_RUNNING:
        state = models.TARGET_PENDING
        values["reason"] = _reason("attempt %d failed: %s; again at %s "
                                   "UTC" % (target["attempts"],
                                            result.get("reason"),
                                            (now + datetime.timedelta(
                                                seconds=job["retry_delay"])
                                             ).isoformat(timespec="seconds")))
        values["next_attempt_at"] = now + datetime.timedelta(
            seconds=job["retry_delay"])
    else:
        values["finished_at"] = now
    done = session.execute(
        sa.update(_TARGETS).where(
            _TARGETS.c.id == target["id"],
            _TARGETS.c.state == models.TARGET_RUNNING,
            _TARGETS.c.claimed_by == target["claimed_by"],
            _TARGETS.c.attempts == target["attempts"])
        .values(state=state, **values))
    if done.rowcount != 1:
        return {"state": None, "finished": False}
    finished = False
    if job["state"] == models.JOB_RUNNING:
        finished = _finish_if_done(session, ctx, job, now)
    elif not _undone(session, job["id"]):
        session.execute(sa.update(_JOBS).where(_JOBS.c.id == job["id"])
                        .values(finished_at=now))
    return {"state": state, "finished": finished}


def _truncate(text, limit):
    if not text or len(text) <= limit:
        return text
    marker = "\n[... %d characters cut]" % (len(text) - limit)
    return text[:limit] + marker
