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

"""A login is one LDAP bind and one database transaction.

The API process runs the login itself, the way Placement claims
allocations; no message bus and no conductor on the hot path:

1. **authenticate**: one bind of the identity driver, behind the login
   throttle (:meth:`LoginService.authenticate`);
2. **one writer transaction** (:meth:`LoginService._claim`):

   - the user's lock, first (``db.login_transaction``: GET_LOCK on
     MariaDB, an advisory lock on PostgreSQL);
   - the chain's inputs, read up front (``db.login_inputs``: the seat, the
     thin client, the allocators, the pools);
   - an unknown seat registered or refused per configuration
     (``db.login_register_seat``);
   - the allocator chain's decision, a pure function of those inputs
     (login/chain.py);
   - the claim or reuse of the binding's, the user's or a ready desktop
     (``SELECT ... FOR UPDATE SKIP LOCKED`` and a compare-and-swap), the
     session and the login's event (``db.login_claim``);

   the whole block again on a deadlock or a lost race;
3. **after the commit**, the connection details, which may ask Nova
   (spice-direct, spice-html5, noVNC; bounded by ``[nova]
   console_timeout`` and the login's deadline). When they fail, the claim
   is undone (login/compensation.py) and another desktop tried.

The conductor keeps the slow and periodic work (boots, releases,
reconciliation, healing, schedules) and learns about logins from the
database: its pool manager counts the ready desktops at every pass.

Refused logins (no allocator, a disabled or exhausted pool, an unknown
seat refused) write an aggregated, bounded event, as failed passwords do
(identity/failure_events.py).
"""

import datetime
import functools
import threading

from oslo_log import log as logging
from oslo_utils import timeutils

from vdi_broker import consoles
from vdi_broker import context
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker.login import chain
from vdi_broker.login import compensation
from vdi_broker.login import sites
from vdi_broker import notifications
from vdi_broker import states

LOG = logging.getLogger(__name__)

# The reasons of the refusal events (identity/failure_events.py).
SEAT_NOT_REGISTERED = "seat_not_registered"
POOL_EXHAUSTED = "pool_exhausted"


def parse_time(value):
    """A naive UTC datetime from a datetime or an ISO 8601 string."""
    if value is None or isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(value).replace(tzinfo=None)


def deadline(conf):
    """When a login started now must stop trying (naive UTC)."""
    return timeutils.utcnow() + datetime.timedelta(
        seconds=conf.api.conductor_timeout)


class LoginService:
    """Logins, their dry run (explain), a session's connection, logouts.

    ``refusals``: the login throttle (identity/throttle.py), whose
    ``refusal()`` writes the bounded refusal events; None: a throttle of
    its own. ``compute``: a zero-argument callable that returns the
    compute driver, asked only when a console or a quarantine needs the
    cloud (None: the configured driver, loaded then). ``quarantine``:
    DesktopActions.quarantine_many of a conductor in this process (None:
    one built on first use). ``notifier``: notifications
    (None: the process's, published as ``vdi-broker-api``). ``clouds``:
    a zero-argument callable that returns the clouds' registry
    (compute/registry.py; None: one of its own), for pools of a named
    cloud.
    """

    def __init__(self, conf, refusals=None, compute=None, quarantine=None,
                 notifier=None, clouds=None):
        self.conf = conf
        if refusals is None:
            from vdi_broker.identity import throttle
            refusals = throttle.LoginThrottle(conf)
        self.refusals = refusals
        self._compute_provider = compute
        self._compute = None
        self._clouds_provider = clouds
        self._clouds = None
        self._quarantine = quarantine
        self._actions = None
        self._consoles = {}
        self._lock = threading.Lock()
        self.notifier = notifier or notifications.get_notifier(
            conf, "vdi-broker-api")

    # -- drivers, loaded when a login first needs them ---------------------

    @property
    def compute(self):
        if self._compute is None:
            with self._lock:
                if self._compute is None:
                    if self._compute_provider is not None:
                        self._compute = self._compute_provider()
                    else:
                        # Imported here: an API whose pools need no cloud
                        # for their consoles never loads a compute driver.
                        from vdi_broker import compute
                        self._compute = compute.get_driver(self.conf)
        return self._compute

    @property
    def clouds(self):
        """The registry of the named clouds (compute/registry.py)."""
        if self._clouds is None:
            with self._lock:
                if self._clouds is None:
                    if self._clouds_provider is not None:
                        self._clouds = self._clouds_provider()
                    else:
                        from vdi_broker import compute
                        self._clouds = compute.clouds(self.conf)
        return self._clouds

    def _cloud(self, pool):
        from vdi_broker.compute import registry as clouds
        return clouds.cloud_of(self.conf, pool)

    def compute_of(self, pool):
        """The driver of the cloud of ``pool`` (a row or an id)."""
        if not self.conf.compute.clouds:
            return self.compute
        if isinstance(pool, str):
            pool = db.pool_get(context.get_admin_context(), pool)
        cloud = self._cloud(pool)
        return self.compute if cloud is None else self.clouds.get(cloud)

    def _console(self, console_type, pool=None):
        cloud = self._cloud(pool) if self.conf.compute.clouds else None
        driver = self._consoles.get((cloud, console_type))
        if driver is None:
            driver = consoles.get_driver(
                console_type, self.conf,
                _LazyCompute(self) if cloud is None
                else self.clouds.get(cloud))
            self._consoles[(cloud, console_type)] = driver
        return driver

    def connection(self, desktop, pool):
        """The connection details of a desktop of ``pool``."""
        console = self._console(pool["console_type"], pool)
        view = dict(desktop, pool={"id": pool["id"], "name": pool["name"]})
        return console.get_connection(view)

    def notify_desktop(self, ctxt, desktop, state=None):
        """(DesktopActions calls it after a quarantine.)"""
        if self.notifier.enabled and desktop:
            self.notifier.desktop(ctxt, desktop, state)

    def quarantine(self, ctxt, faults, by, source):
        """Quarantine desktops whose console failed (DesktopActions')."""
        if self._quarantine is None:
            with self._lock:
                if self._actions is None:
                    # Imported here: only a login whose console failed
                    # on the desktop's fault needs it.
                    from vdi_broker.conductor import desktop_actions
                    self._actions = desktop_actions.DesktopActions(self)
            return self._actions.quarantine_many(ctxt, faults, by, source)
        return self._quarantine(ctxt, faults, by, source)

    # -- the login ---------------------------------------------------------

    def authenticate(self, ctxt, identity, username, password, client_id,
                     detail=None):
        """The directory's bind, behind the login throttle."""
        return self.refusals.authenticate(ctxt, identity, username,
                                          password, client_id,
                                          detail=detail)

    def login(self, ctxt, login):
        """Give an authenticated user a desktop and open a session.

        ``login`` holds the principal (a dict), client_id, seat, and the
        new session's id, token_hash and expires_at (a datetime or ISO
        8601); ``deadline`` (optional) is when to stop trying. Returns the
        session, desktop, pool, allocator, binding, reused and connection.
        """
        until = parse_time(login.get("deadline")) or deadline(self.conf)
        if timeutils.utcnow() > until:
            # (A login that reached a conductor over RPC after the API
            # gave up on it: claiming a desktop now would leak it.)
            LOG.warning("Dropping a login of %s that arrived after its "
                        "deadline", login["principal"]["username"])
            raise exception.ConductorUnavailable()
        username = login["principal"]["username"]
        request = {"username": username, "client_id": login["client_id"],
                   "seat": login.get("seat")}
        values = {"token_hash": login["token_hash"],
                  "expires_at": parse_time(login["expires_at"]),
                  "department": self.department_for(login["principal"]),
                  "directory_seconds": login.get("directory_seconds")}

        def claim(session_id, exclude):
            return self._claim(ctxt, login, request,
                               dict(values, id=session_id), exclude)

        def connect(result):
            return self.connection(result["desktop"], result["pool"])

        try:
            result, connection = compensation.connect(
                ctxt, login["session_id"], claim, connect,
                self.quarantine, self.conf.allocator.connect_attempts,
                deadline=until)
        except _Refused as refused:
            self._refused(ctxt, login, refused)
            raise refused.error
        except _Exhausted as e:
            # No ready desktop for the first try (a later try's would have
            # ended the tries: LoginNotConnected).
            self._refused(ctxt, login, _Refused(POOL_EXHAUSTED, e,
                                                e.outcome))
            raise exception.PoolExhausted(**e.kwargs)
        if self.notifier.enabled:
            self.notifier.session(ctxt, "session.login", result["session"],
                                  result["desktop"], result["pool"],
                                  result["allocator"]["name"])
            if not result["reused"]:
                self.notifier.desktop(ctxt, result["desktop"])
        return public_result(result, connection)

    @db.login_retry
    def _claim(self, ctxt, login, request, values, exclude):
        """The login's one transaction (again on a deadlock or lost race)."""
        username = request["username"]
        with db.login_transaction(ctxt, username):
            inputs = db.login_inputs(ctxt, request["seat"],
                                     request["client_id"], username)
            if request["seat"] and inputs["seat"] is None:
                try:
                    inputs["seat"] = db.login_register_seat(
                        ctxt, request, self.conf.client_session.
                        register_unknown_clients)
                except exception.SeatNotRegistered as e:
                    raise _Refused(SEAT_NOT_REGISTERED, e, None)
            now = timeutils.utcnow()
            outcome = chain.decide(self.conf, inputs,
                                   chain.request_for(login, inputs),
                                   now=now)
            refused = chain.refusal(outcome, username, now=now)
            if refused is not None:
                if refused[0] == chain.NO_POOL:
                    LOG.error("Allocator %s points at pool %s, which does "
                              "not exist", outcome.record["name"],
                              outcome.decision.pool)
                raise _Refused(refused[0], refused[1], outcome)
            result = self._claim_first(ctxt, request, outcome, values,
                                       exclude)
        result["allocator"] = outcome.record
        return result

    def _claim_first(self, ctxt, request, outcome, values, exclude):
        """Claim from the first candidate pool that has a desktop.

        One pool but for site-aware allocators (login/sites.py): the
        agent's site's pools, then the fallback ones the rule allows; a
        pool with no ready desktop passes to the next, and the reason
        goes into the login's event. PoolExhausted of the last one.
        """
        tried = chain.candidates(outcome)
        keep = ({c["pool"]["id"] for c in tried} if len(tried) > 1
                else None)
        passed = []
        for i, candidate in enumerate(tried):
            try:
                return db.login_claim(
                    ctxt, request,
                    chain.claim_decision(outcome, candidate, passed),
                    values, pool=candidate["pool"],
                    attempts=self.conf.allocator.claim_attempts,
                    candidates=self.conf.allocator.claim_candidates,
                    exclude=exclude, keep_pools=keep)
            except exception.PoolExhausted as e:
                if i + 1 == len(tried):
                    raise _Exhausted(e, outcome)
                passed.append(sites.exhausted_note(candidate["pool"]))

    def _refused(self, ctxt, login, refused):
        """The bounded event of a refused login."""
        username = login["principal"]["username"]
        outcome = refused.outcome
        detail = {"seat": login.get("seat")}
        if outcome is not None:
            detail["allocator"] = (outcome.record["name"]
                                   if outcome.record else None)
            detail["pool"] = outcome.pool["name"] if outcome.pool else None
            if outcome.record is None:
                detail["tried"] = chain.brief(outcome.trace)
            placement = outcome.placement
            if placement is not None and placement["site"] is not None:
                detail["site"] = {
                    "site": placement["site"],
                    "source": placement["site_source"],
                    "refusal": placement["refusal"],
                    "pools": [c["pool"]["name"]
                              for c in placement["candidates"]]}
        if refused.reason == POOL_EXHAUSTED:
            LOG.warning("Pool %s has no ready desktop for %s",
                        detail["pool"], username)
        self.refusals.refusal(ctxt, username, login["client_id"],
                              refused.reason, detail)

    # -- the logout ----------------------------------------------------------

    def logout(self, ctxt, session_id, reason, release=None):
        """End a session in this process: one database transaction.

        The session is closed and, for a floating desktop nobody uses any
        more, the pool's release action recorded on the desktop
        (``releasing`` with ``release:<action>`` queued for a boot slot,
        or ``deleting``): db.session_close. Running that action (a reboot,
        a rebuild, a delete in the cloud) is the conductor's work; its
        pool manager finds the desktop at its next pass. ``release``: a
        callable(ctxt, desktop_id) that asks a conductor to start it now
        (the API's cast, ConductorMethods.release_desktop; the conductor's
        own release_desktop), called after the commit; the logout never
        waits for a conductor.

        Returns {"session", "desktop", "release"}: release is the state
        the desktop went to (None: it was kept, or the session was closed
        already).
        """
        session, desktop, state = db.session_close(ctxt, session_id, reason)
        if self.notifier.enabled and desktop is not None:
            # (None: the session was closed already; nothing changed.)
            self.notifier.session_closed(ctxt, session, reason, desktop)
        if release is not None and state in (states.RELEASING,
                                             states.DELETING):
            release(ctxt, desktop["id"])
        return {"session": session, "desktop": desktop, "release": state}

    # -- business monitoring (vdi_broker/monitoring) -----------------------

    @functools.cached_property
    def departments(self):
        from vdi_broker.monitoring import departments
        return departments.Cache(
            lambda: db.department_list(context.get_admin_context()),
            self.conf.monitoring.departments_cache_time)

    def department_for(self, principal):
        """The name of the user's department (None: none, or unknown).

        Tags the session at login (the active-agent counts); read from a
        cache, and never fails a login.
        """
        try:
            return self.departments.department_for(principal)
        except Exception:
            LOG.exception("The departments could not be read: the session "
                          "of %s gets no department",
                          principal.get("username"))
            return None

    # -- explain and connections -------------------------------------------

    def explain(self, ctxt, login):
        """Dry-run the allocator chain: which allocator, and why.

        The same inputs and the same decision as a login, read in a read
        transaction; nothing is written.
        """
        inputs = db.login_inputs(ctxt, login.get("seat"),
                                 login["client_id"],
                                 login["principal"]["username"])
        request = chain.request_for(login, inputs)
        outcome = chain.decide(self.conf, inputs, request,
                               now=timeutils.utcnow())
        answer = {"allocator": None, "decision": None}
        if outcome.record is not None:
            decision = outcome.decision
            answer["allocator"] = outcome.record["name"]
            answer["decision"] = {"pool": decision.pool,
                                  "binding_kind": decision.binding_kind,
                                  "binding_key": decision.binding_key,
                                  "reason": decision.reason}
            if decision.binding_kind:
                binding = db.binding_find(ctxt, decision.binding_kind,
                                          decision.binding_key)
                answer["binding"] = (public_binding(binding)
                                     if binding else None)
            pool = outcome.pool
            if pool is None:
                answer["pool"] = None
            else:
                counts = db.pool_desktop_counts(ctxt, [pool["id"]])
                answer["pool"] = {
                    "id": pool["id"], "name": pool["name"],
                    "site": pool.get("site"), "status": pool["status"],
                    "ready": counts.get(pool["id"], {}).get(states.READY,
                                                            0)}
            answer["site"] = self._explain_site(ctxt, outcome)
        return {"request": request.to_dict(), "trace": outcome.trace,
                "outcome": answer}

    def _explain_site(self, ctxt, outcome):
        """The placement as a login would use it now.

        The candidates in order with their ready desktops; ``pool`` names
        the one a login would claim from (the first with a ready
        desktop), and ``fallback`` why, when it is another site's. The
        refusal a login would get when no pool of the site may serve.
        """
        placement = sites.public(outcome.placement)
        if placement is None:
            return None
        refused = chain.refusal(outcome, "-", now=timeutils.utcnow())
        placement["refused"] = (
            {"reason": refused[0], "message": str(refused[1])}
            if refused else None)
        ids = [c["id"] for c in placement["candidates"]]
        counts = db.pool_desktop_counts(ctxt, ids) if ids else {}
        passed = []
        placement["pool"] = placement["fallback"] = None
        rows = [c["pool"] for c in outcome.placement["candidates"]]
        for c, row in zip(placement["candidates"], rows):
            c["ready"] = counts.get(c["id"], {}).get(states.READY, 0)
            if placement["pool"] is None and (c["ready"] or
                                              c is placement[
                                                  "candidates"][-1]):
                placement["pool"] = c["pool"]
                if c["role"] == sites.FALLBACK or passed:
                    placement["fallback"] = "; ".join(
                        passed + [c["reason"]])
            elif placement["pool"] is None:
                passed.append(sites.exhausted_note(row))
        return placement

    def get_connection(self, ctxt, session_id):
        """Connection details of an active session's desktop."""
        session = db.session_get(ctxt, session_id)
        desktop = db.desktop_get(ctxt, session["desktop_id"])
        pool = db.pool_get(ctxt, desktop["pool_id"])
        return self.connection(desktop, pool)


class _LazyCompute:
    """The compute driver, loaded when a console driver first uses it."""

    def __init__(self, service):
        self._service = service

    def __getattr__(self, name):
        return getattr(self._service.compute, name)


class _Refused(Exception):
    """A refusal out of the transaction (rolled back), with its outcome."""

    def __init__(self, reason, error, outcome):
        super().__init__(str(error))
        self.reason = reason
        self.error = error
        self.outcome = outcome


class _Exhausted(exception.PoolExhausted):
    """PoolExhausted with the outcome that chose the pool.

    compensation.connect treats it as any PoolExhausted (a later try
    finds no desktop: the tries end); a first try's is a refusal.
    """

    def __init__(self, error, outcome):
        super().__init__(**error.kwargs)
        self.outcome = outcome


def _iso(value):
    return value.isoformat() + "Z" if value else None


def public_session(session):
    return {"id": session["id"], "username": session["username"],
            "client_id": session["client_id"], "seat": session["seat"],
            "state": session["state"],
            "created_at": _iso(session["created_at"]),
            "expires_at": _iso(session["expires_at"]),
            "closed_at": _iso(session["closed_at"]),
            "close_reason": session["close_reason"]}


def public_desktop(desktop):
    return {"id": desktop["id"], "name": desktop["name"],
            "pool_id": desktop["pool_id"], "state": desktop["state"],
            "address": desktop["address"], "server_id": desktop["server_id"]}


def public_binding(binding):
    return {"id": binding["id"], "kind": binding["kind"],
            "key": binding["key"], "desktop_id": binding["desktop_id"]}


def public_result(result, connection):
    record = result["allocator"]
    return {
        "session": public_session(result["session"]),
        "desktop": public_desktop(result["desktop"]),
        "pool": {"id": result["pool"]["id"],
                 "name": result["pool"]["name"]},
        "allocator": {"id": record["id"], "name": record["name"],
                      "plugin": record["plugin"]},
        "binding": (public_binding(result["binding"])
                    if result["binding"] else None),
        "reused": result["reused"],
        "connection": connection,
    }
