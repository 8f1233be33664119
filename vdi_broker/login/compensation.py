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

"""A login delivers a usable session or leaves nothing behind (R7).

The claim (the login service's transaction, db.login_claim) commits the
desktop, the binding, the session and the login's event together; the
connection details come after it, outside the transaction, from the
pool's console driver, which may ask the cloud (spice-direct,
spice-html5, noVNC; each call bounded by ``[nova] console_timeout``).
When that fails, the claim is undone:

* when the desktop is at fault (the cloud says its server cannot give a
  console in its state, Nova's 409, or the server is gone), the desktop is
  quarantined as a thin client's fault report would (its server locked,
  a binding moved to a ready desktop: DesktopActions.quarantine_many and
  db.binding_rehome);
* otherwise (the cloud does not answer in time, answers 5xx, does not
  offer the console type, a driver error) the desktop goes back to ready,
  or to the sessions the login took it from (db.login_undo);

the session is closed with the reason, the login's event becomes a
failure, and the login tries another desktop: at most ``[allocator]
connect_attempts`` in all, none after the login's deadline. When none can
be connected, LoginNotConnected (503 with Retry-After).

The functions here know the DB API and three callables, nothing of RPC:
the API process runs them (vdi_broker/login/service.py).
"""

from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import uuidutils

from vdi_broker.db import api as db
from vdi_broker import exception

LOG = logging.getLogger(__name__)

# Whose fault a failed connection is.
DESKTOP_FAULT = "desktop"
CLOUD_FAULT = "cloud"

# The quarantine's source and the event detail's stage.
SOURCE = "login"


def fault_of(error):
    """DESKTOP_FAULT when ``error`` says the desktop itself is broken.

    Only a server that cannot give a console in its state, or that is
    gone, is the desktop's fault. A timeout, a 5xx, a console type the
    cloud does not offer or a driver's bug would quarantine healthy
    desktops one login after the other: those are the cloud's.
    """
    if isinstance(error, (exception.ConsoleNotReady,
                          exception.ServerNotFound)):
        return DESKTOP_FAULT
    return CLOUD_FAULT


def describe(error):
    """A reason fit for logs, events and the client: no secret in it.

    Broker exceptions are written for clients (the Nova driver keeps
    console URLs and tokens out of them); anything else is a bug whose
    text may hold anything: only its type is named.
    """
    if isinstance(error, exception.VdiBrokerException):
        return error.message
    return "unexpected %s from the console driver" % type(error).__name__


def undo(ctxt, claim, error, quarantine, attempt):
    """Undo one claim whose connection failed; return its outcome.

    ``claim`` is db.login_claim's result; ``quarantine(ctxt, faults, by,
    source)`` is DesktopActions.quarantine_many. The outcome is what
    became of the desktop: "quarantined", "ready", "restored", "kept" or
    a release state.
    """
    desktop = claim["desktop"]
    session = claim["session"]
    fault = fault_of(error)
    reason = describe(error)
    quarantined = False
    if fault == DESKTOP_FAULT:
        # First: a crash after it leaves the desktop quarantined and the
        # session closed, never a desktop assigned to nobody.
        try:
            quarantined = bool(quarantine(
                ctxt, {desktop["id"]: "console failed at login: %s"
                       % reason},
                "login:%s" % session["username"], SOURCE))
        except Exception:
            LOG.exception("Desktop %s could not be quarantined after its "
                          "console failed; it goes back to its pool",
                          desktop["id"])
    binding = claim.get("binding")
    created = binding["id"] if binding and not claim["reused"] else None
    undone = db.login_undo(
        ctxt, session["id"], "login failed: %s" % reason,
        give_back=not quarantined, claimed=not claim["reused"],
        binding_id=created,
        detail={"stage": "console", "fault": fault, "attempt": attempt,
                "error": type(error).__name__})
    outcome = "quarantined" if quarantined else undone["outcome"]
    LOG.warning("Login of %(user)s: no connection to desktop %(desktop)s "
                "(try %(attempt)d), session %(session)s closed, desktop "
                "%(outcome)s: %(reason)s",
                {"user": session["username"], "desktop": desktop["id"],
                 "attempt": attempt, "reason": reason,
                 "session": session["id"], "outcome": outcome})
    return outcome


def _passed(deadline):
    return deadline is not None and timeutils.utcnow() >= deadline


def connect(ctxt, session_id, claim, get_connection, quarantine, attempts,
            deadline=None):
    """Claim a desktop and connect it, or undo and try another.

    ``claim(session_id, exclude)`` runs the login's transaction with a
    session id and the desktops not to take; ``get_connection(result)`` returns
    the connection details of a claim. The first try uses
    ``session_id``, each later one a new id (with the same token).
    ``deadline``: a naive UTC datetime after which no try starts, and a
    connection that comes later is undone too (nobody waits for it).

    Returns (the claim's result, connection). Raises what the first
    claim raises (no allocator, pool exhausted...), or LoginNotConnected
    when no try succeeded.
    """
    tried = []
    pool = None
    last = None
    for attempt in range(1, attempts + 1):
        try:
            result = claim(session_id, frozenset(tried))
        except exception.PoolExhausted:
            if last is None:
                raise
            break
        pool = result["pool"]
        try:
            connection = get_connection(result)
            if _passed(deadline):
                raise exception.ConductorUnavailable()
        except Exception as e:
            last = e
            outcome = undo(ctxt, result, e, quarantine, attempt)
            tried.append(result["desktop"]["id"])
            if not _another_desktop_possible(result, outcome) or \
                    _passed(deadline):
                break
            session_id = uuidutils.generate_uuid()
            continue
        return result, connection
    raise exception.LoginNotConnected(
        pool=pool["name"] if pool else None, tries=len(tried),
        reason=describe(last))


def _another_desktop_possible(result, outcome):
    """Whether the next try can get another desktop than this one.

    A desktop taken from ready went back (the next claim leaves it out)
    with the binding the try created; a quarantined desktop's binding
    moved to a ready one. A desktop the login reused and kept (bound, or
    given back to the sessions it took it from) would only be tried
    again.
    """
    if outcome == "quarantined" or not result["reused"]:
        return True
    return outcome not in ("restored", "kept")
