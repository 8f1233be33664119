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

"""Operator actions on one desktop, and quarantine.

``POST /v1/desktops/{id}/action`` lands here (through the conductor's
``desktop_action``), as do the thin client's fault report and the
quarantines of the health check and the reconciler.

Quarantine takes a faulty desktop out of service without destroying the
evidence: the desktop row goes to ``quarantined`` with the fault's
reason, who reported it and when (one compare-and-swap per desktop, in
bulk); the sessions on it are closed; its server is locked in Nova with
the reason (microversion 2.73), so that nobody reboots it by accident; a
binding moves at once to a ready desktop of the same pool (or, when none
is ready, at the owner's next login). ``unquarantine`` unlocks the server
and sends the desktop down its pool's release path.

Every state change is a compare-and-swap in the DB API: two operators, an
operator and the pool manager, or two conductors never both move a
desktop.

Reboots and rebuilds go through the boot queue (conductor/boot_queue.py)
like every boot: the restart is queued on the desktop and sent at once
when the limits allow it and nothing waits before it, else in its turn.
"""

from oslo_log import log as logging

from vdi_broker.conductor import boot_queue
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception
from vdi_broker import states

LOG = logging.getLogger(__name__)

ACTIONS = states.DESKTOP_ACTIONS

_TIMES = ("assigned_at", "faulted_at", "created_at", "updated_at")
# The API's desktop view (api/handlers/desktops.py) has the same fields:
# an action answers with the desktop as GET shows it.
_FIELDS = ("id", "name", "pool_id", "server_id", "state", "state_reason",
           "host", "address", "assigned_user", "fault_reason",
           "faulted_by", "image")


def _iso(value):
    if value is None or isinstance(value, str):
        return value
    return value.isoformat() + "Z"


def public_view(desktop):
    """The API's view of a desktop (JSON-ready: times in ISO 8601)."""
    view = {key: desktop.get(key) for key in _FIELDS}
    for key in _TIMES:
        view[key] = _iso(desktop.get(key))
    return view


def _expected(allowed):
    return ", ".join(allowed)


class DesktopActions:
    """The conductor's desktop actions; ``manager`` gives the drivers."""

    def __init__(self, manager):
        self.manager = manager

    @property
    def compute(self):
        """The default cloud's driver."""
        return self.manager.compute

    def compute_of(self, desktop):
        """The driver of the cloud of the desktop's pool."""
        return self.manager.compute_of(desktop["pool_id"])

    @property
    def conf(self):
        return self.manager.conf

    # -- entry points ------------------------------------------------------

    def run(self, ctxt, desktop_id, action, args):
        """Run ``action`` with ``args`` on the desktop; return its view."""
        if action not in ACTIONS:
            raise exception.Invalid(reason="unknown desktop action %s; "
                                           "one of %s" % (
                                               action, ", ".join(ACTIONS)))
        desktop = db.desktop_get(ctxt, desktop_id)
        result = getattr(self, "_" + action)(ctxt, desktop, args or {})
        return public_view(result)

    def report_fault(self, ctxt, session_id, reason):
        """A thin client reports its session's desktop faulty."""
        session = db.session_get(ctxt, session_id)
        if session["state"] != "active" or not session["desktop_id"]:
            raise exception.Conflict(
                reason="session %s is %s; only an active session's desktop "
                       "can be reported" % (session_id, session["state"]))
        reason = reason or "reported faulty by the thin client"
        agent = db.agent_get(ctxt, session["desktop_id"])
        if agent is not None and agent["registered_at"] is not None:
            # A desktop with a guest agent: an incident of the five-minute
            # rule. The session stays; if the desktop is not healthy again
            # within the fix time the session moves to another desktop
            # with the same token (conductor/agents.py).
            self.manager.agent_watch.open_incident(
                ctxt, session["desktop_id"], states.INCIDENT_CLIENT_FAULT,
                "thin client %s: %s" % (session["client_id"], reason))
            return public_view(db.desktop_get(ctxt, session["desktop_id"]))
        by = ("client:%s" % session["client_id"])[:255]
        done = self.quarantine_many(ctxt, {session["desktop_id"]: reason},
                                    by, source="client")
        if not done:
            desktop = db.desktop_get(ctxt, session["desktop_id"])
            raise exception.DesktopNotAvailable(
                desktop=desktop["id"], state=desktop["state"],
                expected=_expected(states.QUARANTINABLE))
        LOG.warning("Thin client %(client)s of user %(user)s reported "
                    "desktop %(desktop)s faulty: %(reason)s",
                    {"client": session["client_id"],
                     "user": session["username"],
                     "desktop": session["desktop_id"], "reason": reason})
        return public_view(done[0])

    # -- quarantine --------------------------------------------------------

    def quarantine_many(self, ctxt, faults, by, source, from_states=None):
        """Quarantine desktops ({id: reason}); return those quarantined.

        The database moves them in one transaction; then each server is
        locked with its reason and each binding moved to a ready desktop.
        A lock or a move that fails is logged: the desktop stays out of
        service either way, and the owner's next login moves the binding.
        """
        done = db.desktops_quarantine(
            ctxt, faults, by, source=source,
            from_states=from_states or states.QUARANTINABLE)
        for desktop in done:
            self.manager.notify_desktop(ctxt, desktop)
            reason = faults[desktop["id"]]
            if desktop["server_id"]:
                try:
                    self.compute_of(desktop).lock_server(
                        desktop["server_id"],
                        ("vdi-broker quarantine: %s" % reason)[:255])
                except exception.VdiBrokerException as e:
                    LOG.warning("Desktop %(id)s quarantined, but its server "
                                "could not be locked: %(error)s",
                                {"id": desktop["id"], "error": e})
            if desktop["binding"]:
                self._rehome(ctxt, desktop)
        if done:
            LOG.info("Quarantined %(n)d desktop(s) (%(source)s, by "
                     "%(by)s)", {"n": len(done), "source": source,
                                 "by": by})
        return done

    def _rehome(self, ctxt, desktop):
        try:
            moved = db.binding_rehome(
                ctxt, desktop["id"],
                attempts=self.conf.allocator.claim_attempts,
                candidates=self.conf.allocator.claim_candidates)
        except exception.VdiBrokerException as e:
            LOG.warning("Binding of quarantined desktop %(id)s not moved: "
                        "%(error)s", {"id": desktop["id"], "error": e})
            return None
        if moved is False:
            LOG.warning("No ready desktop in pool %(pool)s for the binding "
                        "of quarantined desktop %(id)s: it moves at the "
                        "owner's next login",
                        {"pool": desktop["pool_id"], "id": desktop["id"]})
            return None
        return moved

    def _quarantine(self, ctxt, desktop, args):
        reason = args.get("reason") or "quarantined by an operator"
        by = getattr(ctxt, "user_id", None) or "operator"
        done = self.quarantine_many(ctxt, {desktop["id"]: reason}, by,
                                    source="operator")
        if not done:
            current = db.desktop_get(ctxt, desktop["id"])
            raise exception.DesktopNotAvailable(
                desktop=desktop["id"], state=current["state"],
                expected=_expected(states.QUARANTINABLE))
        return done[0]

    def _unquarantine(self, ctxt, desktop, args):
        if desktop["state"] != models.QUARANTINED:
            raise exception.DesktopNotAvailable(
                desktop=desktop["id"], state=desktop["state"],
                expected=models.QUARANTINED)
        action = args.get("action") or \
            self.conf.conductor.unquarantine_action
        if action not in states.UNQUARANTINE_ACTIONS:
            raise exception.Invalid(reason="unquarantine action must be one "
                                           "of %s" % ", ".join(
                                               states.UNQUARANTINE_ACTIONS))
        if desktop["server_id"]:
            try:
                self.compute_of(desktop).unlock_server(desktop["server_id"])
            except exception.ServerNotFound:
                # Nothing to put back: the pool manager replaces it.
                moved = db.desktop_transition(
                    ctxt, desktop["id"], [models.QUARANTINED],
                    {"state": models.ERROR,
                     "state_reason": "server vanished"})
                self.manager.notify_desktop(ctxt, moved)
                db.event_record(ctxt, "admin", "desktop.unquarantine",
                                result="failure", target_type="desktop",
                                target_id=desktop["id"],
                                desktop_id=desktop["id"],
                                pool_id=desktop["pool_id"],
                                message="server vanished")
                return moved or db.desktop_get(ctxt, desktop["id"])
        released, taken = db.desktop_unquarantine(ctxt, desktop["id"],
                                                  action)
        # Back in service as it is (ready, or its owner's again).
        self.manager.notify_desktop(ctxt, released)
        if released["state"] in (models.RELEASING, models.DELETING):
            self._start_release(ctxt, released)
        elif released["state"] == models.ASSIGNED and \
                taken in ("reboot", "rebuild"):
            # Still bound (no ready desktop took the binding over): it is
            # the owner's desktop again, restarted as asked.
            queued = db.desktop_boot_request(ctxt, released["id"],
                                             [models.ASSIGNED], taken)
            if queued is not None:
                self.manager.boot_queue.start_now(ctxt, queued,
                                                  operator=True)
        return db_get_or(ctxt, released)

    def _start_release(self, ctxt, desktop):
        """Start the release now; the pool manager finishes it."""
        try:
            self.manager._process_release(ctxt, desktop)
        except Exception:
            LOG.exception("Release of desktop %s failed; the pool manager "
                          "will retry it", desktop["id"])

    # -- reboot and rebuild ------------------------------------------------

    def _reboot(self, ctxt, desktop, args):
        return self._restart(ctxt, desktop, "reboot",
                             hard=bool(args.get("hard")))

    def _rebuild(self, ctxt, desktop, args):
        return self._restart(ctxt, desktop, "rebuild")

    def _restart(self, ctxt, desktop, action, hard=False):
        """Reboot or rebuild the desktop's server, in the boot queue.

        A ready desktop leaves the pool while it restarts (``releasing``,
        as after a logout: the pool manager puts it back when the server
        is ACTIVE again). An assigned or quarantined one keeps its state.
        The restart is sent now when the boot limits allow it and nothing
        waits before it, else it waits in the queue (the desktop's
        ``boot_queued_at``); a second restart while one waits or runs is
        refused.
        """
        state = desktop["state"]
        if state not in states.RESTARTABLE or not desktop["server_id"]:
            raise exception.DesktopNotAvailable(
                desktop=desktop["id"], state=state,
                expected=_expected(states.RESTARTABLE))
        values = None
        if state == models.READY:
            values = {"state": models.RELEASING,
                      "state_reason": "release:%s" % action}
        queued = db.desktop_boot_request(
            ctxt, desktop["id"], [state], boot_queue.restart_of(action, hard),
            values)
        if queued is None:
            current = db.desktop_get(ctxt, desktop["id"])
            if current["state"] == state:
                raise exception.Conflict(
                    reason="desktop %s: a restart is already queued or "
                           "running" % desktop["id"])
            raise exception.DesktopNotAvailable(
                desktop=desktop["id"], state=current["state"],
                expected=_expected(states.RESTARTABLE))
        self.manager.boot_queue.start_now(ctxt, queued, operator=True)
        db.event_record(ctxt, "admin", "desktop.%s" % action,
                        target_type="desktop", target_id=desktop["id"],
                        desktop_id=desktop["id"], pool_id=desktop["pool_id"],
                        username=desktop["assigned_user"],
                        detail={"state": state, "hard": hard})
        return db_get_or(ctxt, queued)

    def server_restart(self, ctxt, desktop, action, hard=False):
        """Send a reboot or rebuild (the boot queue admitted it).

        A quarantined server is unlocked for it and locked again. Raises
        ComputeUnavailable, or Conflict when Nova refuses (the desktop,
        unless quarantined, is then marked error). Returns the image of a
        rebuild (the pool's), None for a reboot.
        """
        server_id = desktop["server_id"]
        image = None
        locked = desktop["state"] == models.QUARANTINED
        try:
            if locked:
                # Nova refuses actions on a locked server (but to admins).
                self.compute_of(desktop).unlock_server(server_id)
            if action == "rebuild":
                pool = db.pool_get(ctxt, desktop["pool_id"])
                image = pool["image"]
                self.compute_of(desktop).rebuild_server(server_id, image)
            else:
                self.compute_of(desktop).reboot_server(server_id, hard=hard)
        except exception.ComputeUnavailable:
            raise
        except exception.ComputeError as e:
            # Gone, or Nova refuses (a server in ERROR cannot reboot): the
            # pool manager replaces the desktop.
            reason = ("server vanished"
                      if isinstance(e, exception.ServerNotFound)
                      else "%s failed: %s" % (action, e.message))
            if desktop["state"] != models.QUARANTINED:
                self.manager.notify_desktop(ctxt, db.desktop_transition(
                    ctxt, desktop["id"], [desktop["state"]],
                    {"state": models.ERROR,
                     "state_reason": reason[:1000]}))
            raise exception.Conflict(
                reason="desktop %s: %s" % (desktop["id"], reason))
        finally:
            if locked:
                self._relock(desktop)
        return image

    def _relock(self, desktop):
        try:
            self.compute_of(desktop).lock_server(
                desktop["server_id"],
                ("vdi-broker quarantine: %s" % (desktop["fault_reason"] or
                                                "quarantined"))[:255])
        except exception.VdiBrokerException as e:
            LOG.warning("Could not lock the server of quarantined desktop "
                        "%(id)s again: %(error)s",
                        {"id": desktop["id"], "error": e})

    # -- replace and move ----------------------------------------------------

    def _replace(self, ctxt, desktop, args):
        """A fresh desktop for its user; the old one is deleted.

        The binding (if any) moves to a ready desktop of the pool first:
        without one the action is refused and nothing changes.
        """
        if desktop["state"] not in states.REPLACEABLE:
            raise exception.DesktopNotAvailable(
                desktop=desktop["id"], state=desktop["state"],
                expected=_expected(states.REPLACEABLE))
        moved = db.binding_rehome(
            ctxt, desktop["id"],
            attempts=self.conf.allocator.claim_attempts,
            candidates=self.conf.allocator.claim_candidates)
        if moved is False:
            pool = db.pool_get(ctxt, desktop["pool_id"])
            raise exception.Conflict(
                reason="pool %s has no ready desktop to take over the "
                       "binding of desktop %s; try again when one is "
                       "ready" % (pool["name"], desktop["id"]))
        retired = db.desktop_retire(
            ctxt, desktop["id"], states.REPLACEABLE, "replaced by an operator",
            "desktop.replace")
        if desktop["state"] == models.QUARANTINED and desktop["server_id"]:
            try:
                self.compute_of(desktop).unlock_server(desktop["server_id"])
            except exception.VdiBrokerException as e:
                LOG.warning("Unlocking server %(server)s before its "
                            "deletion failed: %(error)s",
                            {"server": desktop["server_id"], "error": e})
        try:
            self.manager._delete_desktop(ctxt, retired)
        except Exception:
            # Left in 'deleting': the pool manager retries.
            LOG.exception("Deleting replaced desktop %s failed",
                          desktop["id"])
        return retired

    def _move(self, ctxt, desktop, args):
        return db.desktop_move(ctxt, desktop["id"], args["user"])


def db_get_or(ctxt, desktop):
    """The desktop as it is now, or ``desktop`` when it is gone."""
    try:
        return db.desktop_get(ctxt, desktop["id"])
    except exception.DesktopNotFound:
        return desktop
