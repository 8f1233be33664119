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

"""Session state from the guest agents, and the five-minute rule (R1).

One pass every ``[agent] interval`` seconds, over the pools this
conductor keeps:

1. sessions past their pool's ``disconnect_timeout`` (the display has
   been disconnected that long: the thin client crashed or was switched
   off; the guest agent's and the thin client's reports combined by
   :mod:`vdi_broker.session_state`) or ``idle_timeout`` are logged off:
   closed, and the pool's release action runs;
2. incidents open for ready or assigned desktops whose agent fell silent
   (``[agent] silent_after``) or whose display service stopped (thin
   clients open theirs with a fault report);
3. each open incident is probed: healthy again, it ends as recovered;
   still broken at its deadline (the pool's ``fix_time``, else ``[agent]
   fix_time``: five minutes), its session moves to a healthy desktop of
   the same pool, keeping its id and token (the thin client's next
   session poll gets the new connection details), and the broken desktop
   goes to error for the pool manager to replace. A desktop without a
   session goes to error at its deadline.

The time from the fault to a working desktop is recorded on the incident
and observed in ``vdi_incident_fix_seconds``.
"""

import datetime

from oslo_log import log as logging
from oslo_utils import timeutils

from vdi_broker.conductor import probes
from vdi_broker.conf import client_session as client_session_conf
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker import metrics
from vdi_broker import states

LOG = logging.getLogger(__name__)

TIMEOUT_REASONS = {"disconnected": "disconnect timeout",
                   "idle": "idle timeout"}
_WATCHED = (states.READY, states.ASSIGNED)


def healthy(incident):
    """None when the incident's desktop looks healthy again, else why not.

    From the agent's last report (``incidents_open`` rows): it reported
    since the fault, its display service runs, and after a thin client's
    fault the display was connected again since the fault.
    """
    opened = incident["opened_at"]
    last = incident["last_report_at"]
    if last is None or last <= opened:
        return "no agent report since the fault"
    if incident["display"] == states.DISPLAY_STOPPED:
        return "the display service is stopped"
    if incident["kind"] == states.INCIDENT_CLIENT_FAULT:
        since = incident["connection_since"]
        if incident["connection_state"] != states.CONNECTED or \
                since is None or since <= opened.replace(microsecond=0):
            return "the display was not connected again since the fault"
    return None


class AgentWatch:
    """The pass; ``manager`` is the ConductorManager."""

    def __init__(self, manager):
        self.manager = manager
        self.conf = manager.conf

    def run_once(self, ctxt=None):
        ctxt = ctxt or vdi_context.get_admin_context()
        pools = {p["id"]: p for p in self.manager._owned_pools(ctxt)}
        pool_ids = None if self.manager.ownership is None else list(pools)
        result = {"timed_out": self.log_off_timed_out(ctxt, pools)}
        result["opened"] = self.open_incidents(ctxt, pool_ids)
        result.update(self.follow_incidents(ctxt, pools, pool_ids))
        return result

    # -- session timeouts --------------------------------------------------

    def log_off_timed_out(self, ctxt, pools):
        done = 0
        for session in db.sessions_timed_out(
                ctxt, timeutils.utcnow(),
                agent_silent_after=self.conf.agent.silent_after,
                client_silent_after=client_session_conf.offline_after(
                    self.conf)):
            if session["pool_id"] not in pools:
                continue
            reason = TIMEOUT_REASONS[session["reason"]]
            try:
                self.manager.close_session(ctxt, session["id"], reason)
            except exception.VdiBrokerException as e:
                LOG.warning("Session %s: %s not applied: %s", session["id"],
                            reason, e)
                continue
            LOG.info("Session %(id)s of %(user)s on desktop %(desktop)s "
                     "logged off: %(reason)s",
                     {"id": session["id"], "user": session["username"],
                      "desktop": session["desktop_id"], "reason": reason})
            done += 1
        return done

    # -- incidents ---------------------------------------------------------

    def open_incident(self, ctxt, desktop_id, kind, reason):
        incident, opened = db.incident_open(ctxt, desktop_id, kind, reason,
                                            self.conf.agent.fix_time)
        if opened:
            LOG.warning("Incident %(id)s: desktop %(desktop)s: %(reason)s "
                        "(session %(session)s; fix by %(deadline)s UTC)",
                        {"id": incident["id"], "desktop": desktop_id,
                         "reason": incident["reason"],
                         "session": incident["session_id"],
                         "deadline": incident["deadline"].isoformat(
                             timespec="seconds")})
        return incident, opened

    def open_incidents(self, ctxt, pool_ids):
        opened = 0
        cutoff = timeutils.utcnow() - datetime.timedelta(
            seconds=self.conf.agent.silent_after)
        for row in db.agents_silent(ctxt, cutoff, pool_ids):
            opened += self.open_incident(
                ctxt, row["id"], states.INCIDENT_AGENT_SILENT,
                "the guest agent has not reported since %s UTC" %
                row["last_report_at"].isoformat(timespec="seconds"))[1]
        for row in db.agents_display_stopped(ctxt, pool_ids):
            opened += self.open_incident(
                ctxt, row["id"], states.INCIDENT_DISPLAY_STOPPED,
                "the guest agent reports the display service stopped")[1]
        return opened

    def follow_incidents(self, ctxt, pools, pool_ids):
        counts = {"recovered": 0, "moved": 0, "closed": 0, "waiting": 0}
        for incident in db.incidents_open(ctxt, pool_ids):
            try:
                counts[self._follow(ctxt, pools, incident)] += 1
            except exception.ComputeUnavailable as e:
                LOG.warning("Incident %s: cloud unavailable: %s",
                            incident["id"], e)
                counts["waiting"] += 1
            except Exception:
                LOG.exception("Incident %s could not be followed",
                              incident["id"])
                counts["waiting"] += 1
        return counts

    def _probe(self, pool, incident):
        failure = healthy(incident)
        if failure is None and pool is not None and \
                probes.probe_kind(self.conf, pool) in probes.PORT_PROBES:
            port = probes.probe_port(self.conf, pool["console_type"])
            if port:
                failure = probes.tcp_probe(
                    incident["address"], port,
                    self.conf.pool_manager.probe_connect_timeout)
        return failure

    def _follow(self, ctxt, pools, incident):
        if incident["desktop_state"] not in _WATCHED:
            # Released, restarted, quarantined, deleted: no longer a
            # desktop in service whose fault is open.
            db.incident_resolve(
                ctxt, incident["id"], states.INCIDENT_CLOSED,
                "the desktop is %s" % (incident["desktop_state"] or
                                       "deleted"))
            return "closed"
        pool = pools.get(incident["pool_id"])
        failure = self._probe(pool, incident)
        if failure is None:
            ended = db.incident_resolve(ctxt, incident["id"],
                                        states.INCIDENT_RECOVERED,
                                        "the desktop is healthy again")
            if ended is not None:
                self._observe(ended)
                LOG.info("Incident %s: desktop %s recovered after %.0f s",
                         ended["id"], ended["desktop_id"], ended["seconds"])
            return "recovered"
        if failure != incident["probe_result"]:
            db.incident_probed(ctxt, incident["id"], failure)
        if timeutils.utcnow() < incident["deadline"]:
            return "waiting"
        if incident["session_id"]:
            return self._move(ctxt, incident, failure)
        # Nobody works on it: out of service; the pool manager replaces
        # it (and hands a binding on).
        moved = db.desktop_transition(
            ctxt, incident["desktop_id"], list(_WATCHED),
            {"state": states.ERROR,
             "state_reason": ("incident %s: not healthy within the fix "
                              "time: %s" % (incident["id"],
                                            failure))[:1000]})
        if moved:
            self.manager.notify_desktop(ctxt, moved)
        db.incident_resolve(ctxt, incident["id"], states.INCIDENT_CLOSED,
                            "not healthy within the fix time (%s); no "
                            "session: the desktop is replaced" % failure)
        return "closed"

    def _move(self, ctxt, incident, failure):
        result = db.incident_move_session(
            ctxt, incident["id"],
            attempts=self.conf.allocator.claim_attempts,
            candidates=self.conf.allocator.claim_candidates)
        if result is None:
            LOG.warning("Incident %s: desktop %s not healthy within the fix "
                        "time (%s) and its pool has no ready desktop yet",
                        incident["id"], incident["desktop_id"], failure)
            return "waiting"
        if result["desktop"] is None:
            return "closed"
        ended = result["incident"]
        self._observe(ended)
        LOG.warning("Incident %s: desktop %s not healthy within the fix "
                    "time (%s): session %s moved to desktop %s, %.0f s "
                    "after the fault", ended["id"], ended["desktop_id"],
                    failure, ended["session_id"], result["desktop"]["id"],
                    ended["seconds"])
        self.manager.notify_desktop(ctxt, result["desktop"])
        return "moved"

    @staticmethod
    def _observe(incident):
        if incident and incident.get("seconds") is not None:
            metrics.incident_fixed(incident["kind"], incident["state"],
                                   incident["seconds"])
