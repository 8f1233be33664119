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

"""The login's allocation transaction.

One login is one transaction (login_transaction): the user's lock, the
chain's inputs, the claim, the session and the events. The allocator
chain's decision (vdi_broker/login/chain.py) is applied here. A desktop
is claimed with one compare-and-swap (``UPDATE ... WHERE id = :id AND
state = 'ready'``) after a ``SELECT ... FOR UPDATE SKIP
LOCKED`` has picked a row no other transaction holds; bindings are
protected by unique keys. Deadlocks, Galera certification failures and
duplicate-binding races roll the whole transaction back and run it again
(``oslo_db.api.wrap_db_retry``), so no login ever sees half of another one.

What follows a login (its undo, the logout and the release, the
session reads) is in sessions.py. The rest of the storage layer lives in
one module per resource next to this one (pools.py, desktops.py, ...),
the engine set-up in engine.py and the shared helpers in common.py.
"""

import contextlib
import hashlib
import random

from oslo_db import exception as db_exc
from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import keepalive
from vdi_broker.db.sqlalchemy import login_cache
from vdi_broker.db.sqlalchemy import models
from vdi_broker.db.sqlalchemy import prepared
from vdi_broker import exception

LOG = logging.getLogger(__name__)
# Which ready desktop a claim on Galera tries first (no secret), among
# how many (times [allocator] claim_candidates): measured on three nodes
# with 60 concurrent logins, 16 candidates left 0.7 certification
# failures per login, 64 left 0.3 (0.9 without the random pick).
_RANDOM = random.SystemRandom()
_GALERA_WINDOW = 4

__all__ = (
    "login_transaction",
    "login_retry",
    "login_inputs",
    "login_register_seat",
    "login_claim",
    "binding_rehome",
)

# The names the allocation transaction below has always used.
main_context_manager = engine.main_context_manager
prepare_engine = engine.prepare_engine
utcnow = timeutils.utcnow
_retry_on_conflict = common.retry_on_conflict
_dict = common.as_dict
_RowView = common.RowView
_record = common.record
_insert_event = common.insert_event


# -- allocation --------------------------------------------------------------

def _locks_rows(connection):
    """Whether SELECT ... FOR UPDATE SKIP LOCKED locks rows here.

    MariaDB and PostgreSQL; SQLite writers take turns instead.
    """
    return connection.dialect.name in ("mysql", "postgresql")


# The close reason of a session a newer login took over.
SUPERSEDED = "superseded"

# The login's statements, built once: SQLAlchemy then only looks their
# compiled form up (building a statement and its cache key on every login
# cost more than running it).
_DESKTOPS = models.Desktop.__table__
_SESSIONS = models.ClientSession.__table__
_READY = (sa.select(_DESKTOPS)
          .where(_DESKTOPS.c.pool_id == sa.bindparam("p_pool_id"),
                 _DESKTOPS.c.state == models.READY))
_READY_SKIP_LOCKED = _READY.limit(1).with_for_update(skip_locked=True)
# Galera: one of the first ready desktops, read without a lock, then
# locked by its id (see _claim_ready).
_READY_IDS = (sa.select(_DESKTOPS.c.id)
              .where(_DESKTOPS.c.pool_id == sa.bindparam("p_pool_id"),
                     _DESKTOPS.c.state == models.READY)
              .limit(sa.bindparam("p_limit")))
_READY_BY_ID = (sa.select(_DESKTOPS)
                .where(_DESKTOPS.c.id == sa.bindparam("p_id"),
                       _DESKTOPS.c.state == models.READY)
                .with_for_update(skip_locked=True))
_READY_WAIT = _READY.limit(1).with_for_update()
_CLAIM = (sa.update(_DESKTOPS)
          .where(_DESKTOPS.c.id == sa.bindparam("p_id"),
                 _DESKTOPS.c.state == models.READY)
          .values(state=models.ASSIGNED,
                  assigned_user=sa.bindparam("p_username"),
                  assigned_at=sa.bindparam("p_now"),
                  updated_at=sa.bindparam("p_now"),
                  generation=_DESKTOPS.c.generation + 1))
_CURRENT_DESKTOP = (
    sa.select(_DESKTOPS)
    .join(_SESSIONS, _SESSIONS.c.desktop_id == _DESKTOPS.c.id)
    .where(_SESSIONS.c.username == sa.bindparam("p_username"),
           _SESSIONS.c.state == "active",
           _SESSIONS.c.pool_id == sa.bindparam("p_pool_id"),
           _DESKTOPS.c.state == models.ASSIGNED,
           _DESKTOPS.c.assigned_user == sa.bindparam("p_username"))
    .limit(1))
# The same among several pools (a site-aware allocator's candidates).
_CURRENT_DESKTOP_OF_POOLS = (
    sa.select(_DESKTOPS)
    .join(_SESSIONS, _SESSIONS.c.desktop_id == _DESKTOPS.c.id)
    .where(_SESSIONS.c.username == sa.bindparam("p_username"),
           _SESSIONS.c.state == "active",
           _SESSIONS.c.pool_id.in_(sa.bindparam("p_pool_ids",
                                                expanding=True)),
           _DESKTOPS.c.state == models.ASSIGNED,
           _DESKTOPS.c.assigned_user == sa.bindparam("p_username"))
    .limit(1))
_KEEP_DESKTOP = (sa.update(_DESKTOPS)
                 .where(_DESKTOPS.c.id == sa.bindparam("p_id"),
                        _DESKTOPS.c.state == models.ASSIGNED,
                        _DESKTOPS.c.assigned_user ==
                        sa.bindparam("p_username"))
                 .values(updated_at=sa.bindparam("p_now")))
_INSERT_SESSION = sa.insert(_SESSIONS)
_SUPERSEDE = (sa.update(_SESSIONS)
              .where(_SESSIONS.c.desktop_id == sa.bindparam("p_desktop_id"),
                     _SESSIONS.c.state == "active")
              .values(state="closed", closed_at=sa.bindparam("p_now"),
                      close_reason=SUPERSEDED,
                      updated_at=sa.bindparam("p_now")))
_POOL_BY_ID = sa.select(models.Pool.__table__).where(
    models.Pool.__table__.c.id == sa.bindparam("p_id"))
# A bound login: the binding and its desktop, locked until commit.
_BOUND_DESKTOP = (sa.select(_DESKTOPS)
                  .where(_DESKTOPS.c.id == sa.bindparam("p_id"))
                  .with_for_update())
_TAKE_OVER = (sa.update(_DESKTOPS)
              .where(_DESKTOPS.c.id == sa.bindparam("p_id"))
              .values(state=models.ASSIGNED,
                      assigned_user=sa.bindparam("p_username"),
                      assigned_at=sa.bindparam("p_now"),
                      updated_at=sa.bindparam("p_now"),
                      generation=_DESKTOPS.c.generation + 1))
_SEAT_BY_NAME = sa.select(models.Seat.__table__).where(
    models.Seat.name == sa.bindparam("p_name"))
_CLIENT_BY_ID = sa.select(models.ThinClient.__table__).where(
    models.ThinClient.client_id == sa.bindparam("p_client_id"))
_BINDINGS = models.Binding.__table__
# The login's own bindings (user, seat, thin client), read up front when
# an allocator is site-aware (login/sites.py: a bound desktop stays).
_BINDING_FOR_UPDATE = (sa.select(_BINDINGS)
                       .where(_BINDINGS.c.kind == sa.bindparam("p_kind"),
                              _BINDINGS.c.key == sa.bindparam("p_key"))
                       .with_for_update())
_INSERT_BINDING = sa.insert(_BINDINGS)
_MOVE_BINDING = (sa.update(_BINDINGS)
                 .where(_BINDINGS.c.id == sa.bindparam("p_id"))
                 .values(desktop_id=sa.bindparam("p_desktop_id"),
                         updated_at=sa.bindparam("p_now"),
                         revision=_BINDINGS.c.revision + 1))
_LOGIN_BINDINGS = sa.select(_BINDINGS).where(sa.or_(
    sa.and_(_BINDINGS.c.kind == "user",
            _BINDINGS.c.key == sa.bindparam("p_user")),
    sa.and_(_BINDINGS.c.kind == "seat",
            _BINDINGS.c.key == sa.bindparam("p_seat")),
    sa.and_(_BINDINGS.c.kind == "client",
            _BINDINGS.c.key == sa.bindparam("p_client"))))
_GET_LOCK = sa.select(sa.func.get_lock(sa.bindparam("p_name"),
                                       sa.bindparam("p_timeout")))
_LOCK_HOLDER = sa.text(
    "SELECT id, command, time FROM information_schema.processlist "
    "WHERE id = IS_USED_LOCK(:p_name)")
_PG_XACT_LOCK = sa.select(sa.func.pg_advisory_xact_lock(
    sa.bindparam("p_key", type_=sa.BigInteger)))
# Galera: every login of a user writes the user's row (see _lock_user).
_LOGIN_SERIAL = mysql.insert(models.LoginSerial.__table__).values(
    id=sa.bindparam("p_id"), logins=1, updated_at=sa.bindparam("p_now"))
_LOGIN_SERIAL = _LOGIN_SERIAL.on_duplicate_key_update(
    logins=models.LoginSerial.__table__.c.logins + 1,
    updated_at=_LOGIN_SERIAL.inserted.updated_at)


def _ready_statements(exclude):
    """The ready-desktop reads, without the desktops in ``exclude``."""
    if not exclude:
        return _READY, _READY_SKIP_LOCKED, _READY_WAIT, _READY_IDS
    # A login's next try after a failed connection (rare): built here.
    ready = _READY.where(_DESKTOPS.c.id.not_in(sorted(exclude)))
    return (ready, ready.limit(1).with_for_update(skip_locked=True),
            ready.limit(1).with_for_update(),
            _READY_IDS.where(_DESKTOPS.c.id.not_in(sorted(exclude))))


def _claim_ready(connection, pool_id, username, attempts, candidates,
                 exclude=()):
    """Take one ready desktop of the pool: the atomic claim.

    Returns the claimed desktop (a _RowView with its new values), or None
    when the pool has none (but those in ``exclude``).
    """
    ready, ready_skip_locked, ready_wait, ready_ids = _ready_statements(
        exclude)
    locking = _locks_rows(connection)
    params = {"p_pool_id": pool_id}
    # Galera: row locks are local to a node, so the logins of all nodes
    # would take the same first ready desktop and all but one fail at
    # certification (and run again). A login there picks one of the first
    # _GALERA_WINDOW * candidates ready desktops at random instead, read
    # without a lock, and locks it by id (skipped if a login of this node
    # holds it, then the usual way).
    spread = locking and connection.info.get("vdi_galera", False)
    # The statements built for an exclude list go through SQLAlchemy
    # (prepared caches only statements built once).
    run = prepared.executed_rows if exclude else prepared.rows
    for _attempt in range(attempts):
        rows = []
        if spread:
            ids = [r["id"] for r in run(connection, ready_ids, dict(
                params, p_limit=_GALERA_WINDOW * candidates))]
            if ids:
                rows = prepared.rows(connection, _READY_BY_ID, {
                    "p_id": _RANDOM.choice(ids)})
        if not rows and locking:
            # Rows another transaction is claiming are skipped, not waited
            # for: concurrent logins spread over different desktops. Only
            # the row this login takes is locked: a window of several
            # locked rows would hide ready desktops from the other logins,
            # which would then report a pool with ready desktops as
            # exhausted. The whole row is read with its lock, so that the
            # claimed desktop needs no second read.
            rows = run(connection, ready_skip_locked, params)
            if not rows:
                # Every ready desktop left is locked by a concurrent login
                # (which may still roll back): wait for one, do not report
                # the pool exhausted while it is not.
                rows = run(connection, ready_wait, params)
        elif not locking:
            rows = connection.execute(ready.limit(candidates),
                                      params).mappings().all()
        if not rows:
            return None
        for row in rows:
            # The compare-and-swap: only one transaction can move this row
            # out of 'ready', whatever the isolation level or cluster.
            now = utcnow()
            claimed = prepared.write(connection, _CLAIM, {
                "p_id": row["id"], "p_username": username, "p_now": now})
            if claimed == 1:
                # The row was 'ready' and is now ours: locked on MariaDB
                # and PostgreSQL, and SQLite writers take turns, so its
                # new values are known without reading it again.
                desktop = _RowView(row)
                desktop.state = models.ASSIGNED
                desktop.assigned_user = username
                desktop.assigned_at = desktop.updated_at = now
                desktop.generation = row["generation"] + 1
                return desktop
    return None


def _pool_exhausted(connection, pool):
    counts = dict(connection.execute(
        sa.select(models.Desktop.state, sa.func.count())
        .where(models.Desktop.pool_id == pool.id)
        .group_by(models.Desktop.state)).all())
    return exception.PoolExhausted(
        pool=pool.name, status=pool.status,
        status_reason=pool.status_reason,
        ready=counts.get(models.READY, 0),
        building=counts.get(models.BUILDING, 0))


_USABLE_BOUND_STATES = (models.ASSIGNED, models.READY)


_USER_LOCK_TIMEOUT = 10


def _release_user_locks(dbapi_connection, connection_record):
    """Pool checkin (after commit or rollback): drop the user locks.

    The transaction is over: a connection lost now must neither fail the
    request (the error would escape oslo.db as a 500) nor stay out of the
    pool. It is closed instead; the session the server may still keep,
    with the lock, is ended by the user's next login
    (_end_lost_lock_holder).
    """
    if connection_record.info.pop("vdi_user_locks", False) and \
            dbapi_connection is not None:
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("DO RELEASE_ALL_LOCKS()")
            finally:
                cursor.close()
        except Exception as e:
            LOG.warning("Could not release a login's user lock, closing "
                        "its database connection: %s", e)
            connection_record.invalidate(e)


def _user_lock_digest(username):
    return hashlib.sha256(
        ("vdi-broker-user:%s" % username).encode("utf-8")).digest()


def _user_lock_name(username, database):
    """The MariaDB named lock of a user (at most 64 characters).

    Named locks belong to the server, not to a database: the database's
    name is part of the lock's, so that two brokers (or two test runs)
    sharing one server never wait for each other's users.
    """
    return "vdi-user-" + _user_lock_digest(
        "%s/%s" % (database, username)).hex()[:40]


def _lock_user(connection, username):
    """Serialize this transaction with the same user's other logins.

    Without it two first logins of one user each claim a desktop. It must
    be the transaction's first statement: it holds no row lock while it
    waits (no deadlock that the database cannot see) and, on InnoDB, the
    snapshot of the repeatable read starts after the other login commits.

    PostgreSQL: a transaction-scoped advisory lock. MariaDB/MySQL: a named
    lock (GET_LOCK), released when the connection goes back to the pool,
    after the commit or rollback; the transaction runs in READ COMMITTED
    (set on every connection by prepare_engine). A login waits for the
    lock at most _USER_LOCK_TIMEOUT seconds (less with a short
    ``[database_network] read_timeout``), takes it over from a session
    whose connection was lost, and otherwise answers 503. SQLite writers
    are serialized already.

    Galera (a multi-writer cluster): GET_LOCK is local to the node, so the
    login also writes the user's row of login_serials. Two logins of one
    user on two nodes then write the same row: certification lets the
    first to commit win and fails the other with a deadlock (1213), and
    the transaction runs again (retry_on_conflict), this time seeing the
    first one's desktop. On the same node the row lock serializes them
    too.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        digest = _user_lock_digest(username)
        prepared.rows(connection, _PG_XACT_LOCK, {
            "p_key": int.from_bytes(digest[:8], "big", signed=True)})
    elif dialect == "mysql":
        # prepare_engine() made the pool release the lock at checkin.
        connection.info["vdi_user_locks"] = True
        name = _user_lock_name(username, connection.engine.url.database)
        wait = keepalive.lock_wait(_USER_LOCK_TIMEOUT)
        got = prepared.scalar(connection, _GET_LOCK, {"p_name": name,
                                                      "p_timeout": wait})
        if got != 1 and _end_lost_lock_holder(connection, name, wait):
            got = prepared.scalar(connection, _GET_LOCK, {
                "p_name": name, "p_timeout": wait})
        if got != 1:
            # Another login of this user holds the lock and is busy:
            # answer now rather than wait again at every retry of the
            # transaction.
            raise exception.LoginInProgress()
        if connection.info.get("vdi_galera"):
            prepared.write(connection, _LOGIN_SERIAL, {
                "p_id": _user_lock_digest(username).hex(),
                "p_now": utcnow()})


def _end_lost_lock_holder(connection, name, idle):
    """End the session holding a user lock if it is silent (MariaDB).

    A login holds its user's lock from its first statement until its
    connection is back in the pool, a few milliseconds. When the network
    loses that connection (a firewall drops it silently) the server keeps
    the session, and the lock, until its wait_timeout (8 hours by
    default): every later login of the user would fail. A holder that has
    run nothing for ``idle`` seconds while a login waited for its lock is
    such a session: end it (KILL of a session of the same database user
    needs no privilege). Named locks are per server, so the holder found
    is on the server this connection talks to. Returns True when the lock
    may be free now.
    """
    holder = connection.execute(_LOCK_HOLDER, {"p_name": name}).first()
    if holder is None:
        return True
    if holder.command != "Sleep" or holder.time < idle:
        return False
    LOG.warning("Ending database session %d: it holds a user's login lock "
                "and has been silent for %d s (connection lost?)",
                holder.id, holder.time)
    try:
        connection.exec_driver_sql("KILL CONNECTION %d" % int(holder.id))
    except db_exc.DBError as e:
        # Gone meanwhile, or a session of another database user.
        LOG.warning("Could not end database session %d: %s", holder.id, e)
    return True


# -- one login: one transaction -----------------------------------------------
#
# The login service (vdi_broker/login/service.py) runs, in order:
#
#   with db.login_transaction(ctx, username):         # the user's lock first
#       inputs = db.login_inputs(ctx, seat, client_id)
#       db.login_register_seat(ctx, request, register)  # an unknown seat
#       ... the allocator chain decides on ``inputs`` (no storage access) ...
#       result = db.login_claim(ctx, request, decision, session_values)
#
# and the whole block again on a deadlock or a lost race
# (db.login_retry). Every function below joins the transaction
# login_transaction opened (enginefacade nests them): the lock, the reads,
# the claim, the session and the events commit together or not at all.
# Nothing here calls back into the layers above.

_LOGIN_USER = "vdi_login_user"


def login_retry(f):
    """Run a whole login transaction again on deadlock or a lost race.

    For the function that opens :func:`login_transaction`: the user's lock
    is taken again, the inputs read again and the chain asked again.
    """
    return _retry_on_conflict(f)


@contextlib.contextmanager
def login_transaction(ctx, username):
    """One login's writer transaction, serialized with the user's others.

    Takes the user's lock (:func:`_lock_user`) as the transaction's first
    statement; the login_* functions called inside the block join this
    transaction. Commits when the block ends, rolls back when it raises.
    """
    # A Core connection, no ORM session: every statement of the login is a
    # prebuilt Core one, and the session's set-up, commit and tear-down
    # cost about a tenth of the login's CPU.
    with main_context_manager.writer.connection.using(ctx) as connection:
        # (Connection.info lives as long as the pooled connection: the
        # mark is removed when the transaction ends, through the dict
        # itself: a connection lost meanwhile refuses every use, and its
        # error must reach the caller as it is.)
        info = connection.info
        _lock_user(connection, username)
        info[_LOGIN_USER] = username
        try:
            yield
        finally:
            info.pop(_LOGIN_USER, None)


def _login_connection(ctx, username):
    """The connection of the login_transaction of ``username``.

    login_register_seat and login_claim run only inside it (no
    transaction of their own): a claim without the user's lock would let
    two first logins of one user each take a desktop.
    """
    try:
        connection = ctx.connection
    except Exception:
        connection = None
    if connection is None or connection.info.get(_LOGIN_USER) != username:
        raise RuntimeError("login_claim and login_register_seat run inside "
                           "login_transaction(ctx, %r)" % username)
    return connection


@main_context_manager.reader.connection
def login_inputs(ctx, seat_name, client_id, username=None):
    """What the allocator chain decides on, read up front.

    The seat and thin client records (or None) as plain dicts; every
    allocator and every pool (both small tables) as tuples of read-only
    dicts, from the process's cache while their generation has not moved
    (login_cache.py); when an allocator is site-aware (rules with
    ``pools`` or ``site_fallback``), the login's own bindings too
    (``bindings``: {(kind, key): row} of the user ``username``, the seat
    and the thin client). Inside :func:`login_transaction`, read in the
    login's transaction (after the user's lock); alone (explain), in a
    read transaction of its own. Not for a transaction that changed the
    pools or allocators itself (its generation moves at commit).
    """
    connection = ctx.connection
    seat = None
    if seat_name:
        seat = prepared.first(connection, _SEAT_BY_NAME,
                              {"p_name": seat_name})
    client = prepared.first(connection, _CLIENT_BY_ID,
                            {"p_client_id": client_id})
    config = login_cache.allocation_config(connection)
    bindings = {}
    if config.site_aware:
        bindings = {(b["kind"], b["key"]): b for b in prepared.rows(
            connection, _LOGIN_BINDINGS, {"p_user": username,
                                          "p_seat": seat_name,
                                          "p_client": client_id})}
    return {"seat": seat, "client": client,
            "allocators": config.allocators, "pools": config.pools,
            "bindings": bindings}


def login_register_seat(ctx, request, register):
    """A login names a seat that has no record: register it, or refuse.

    As for a thin client's first heartbeat, ``register`` (``[client_session]
    register_unknown_clients``) decides: a ``seat.register`` event in the
    login's transaction, or SeatNotRegistered. A session never names a
    seat the broker does not know. Returns the new seat's row.
    """
    return _unknown_seat(_login_connection(ctx, request["username"]), ctx,
                         request, register)


def login_claim(ctx, request, decision, session_values, pool=None,
                attempts=8, candidates=16, exclude=(), keep_pools=None):
    """Give the user a desktop according to the chain's decision.

    Runs inside :func:`login_transaction`. ``request`` is the
    AllocationRequest dict (username, client_id, seat); ``decision``
    names the pool (``pool_id``) and, for bound allocators, the binding
    (``binding_kind`` and ``binding_key``), with ``allocator_id`` and
    ``allocator_name``; ``pool`` is that pool's row as
    :func:`login_inputs` read it (read again when not given).
    ``session_values`` holds the new session's id, token hash and expiry.
    The claim (or the reuse of the user's or the binding's desktop), the
    binding, the session and the login's event are written here.

    ``exclude``: desktops a claim from ready must not take (those a
    login tried already: see vdi_broker/login/compensation.py).
    ``keep_pools``: the pool ids in which a floating desktop the user
    works on is kept (a site-aware allocator's candidate pools; None:
    the decision's pool). ``decision["site"]`` (site-aware allocators:
    the agent's site, the pool's role, a fallback's reason) goes into
    the login's event.
    """
    username = request["username"]
    connection = _login_connection(ctx, username)
    pools = {pool["id"]: pool} if pool is not None else {}
    pool = pools.get(decision["pool_id"]) or _pool(connection,
                                                   decision["pool_id"])
    if pool is None:
        raise exception.PoolNotFound(pool=decision["pool_id"])
    pool = _RowView(pool)
    binding = None
    kind = decision.get("binding_kind")
    if kind:
        desktop, binding, reused = _claim_bound(
            connection, ctx, username, kind, decision["binding_key"], pool,
            decision, attempts, candidates, exclude)
    else:
        desktop, reused = _claim_floating(
            connection, username, pool, keep_pools, attempts, candidates,
            exclude)

    # One active session per user and desktop: a new login from another
    # TC takes the desktop over. A desktop just claimed from 'ready' has
    # no session to take over (and on InnoDB the range update would only
    # add gap locks, i.e. deadlocks between unrelated logins).
    # They are closed at the new session's created_at: a login undone
    # (login_undo) finds them by it and makes them active again.
    now = utcnow()
    superseded = 0
    if reused:
        superseded = prepared.write(connection, _SUPERSEDE, {
            "p_desktop_id": desktop.id, "p_now": now})
    # Plain INSERTs: the session and the event are written, never read
    # back.
    client_session = {
        "id": session_values["id"],
        "token_hash": session_values["token_hash"], "username": username,
        "client_id": request["client_id"], "seat": request.get("seat"),
        "desktop_id": desktop.id, "pool_id": desktop.pool_id,
        "allocator_id": decision.get("allocator_id"),
        "binding_id": binding["id"] if binding is not None else None,
        "state": "active", "expires_at": session_values["expires_at"],
        "closed_at": None, "close_reason": None, "created_at": now,
        "updated_at": None,
        # Business monitoring: the user's department (conductor's
        # department_for at login).
        "department": session_values.get("department"),
        # The agent's site (the seat's, else the thin client's).
        "site": (decision.get("site") or {}).get("site")}
    prepared.write(connection, _INSERT_SESSION, client_session)
    _insert_event(connection, ctx, "allocation", "login",
                  actor=username, username=username,
                  target_type="session", target_id=client_session["id"],
                  desktop_id=desktop.id, pool_id=desktop.pool_id,
                  detail={"allocator": decision.get("allocator_name"),
                          "client_id": request["client_id"],
                          "seat": request.get("seat"),
                          "binding": ("%s:%s" % (binding["kind"],
                                                 binding["key"])
                                      if binding is not None else None),
                          "reused": reused, "superseded": superseded,
                          # The directory's time (the directory_slow alert).
                          "directory_ms": common.milliseconds(
                              session_values.get("directory_seconds")),
                          **({"site": decision["site"]}
                             if decision.get("site") else {})})
    return {
        "session": client_session,
        "desktop": _dict(desktop),
        "pool": (pools.get(desktop.pool_id) or
                 _pool(connection, desktop.pool_id)),
        "binding": binding,
        "reused": reused,
        "decision": decision,
    }


def _pool(connection, pool_id):
    """A pool's row as a dict (None: no such pool)."""
    return prepared.first(connection, _POOL_BY_ID, {"p_id": pool_id})


def _take_over(connection, desktop, username):
    """A bound desktop, ready or another user's, becomes the user's.

    Seat and client bindings: whoever sits there now uses the desktop.
    The row is locked (_BOUND_DESKTOP); its new values are known.
    """
    now = utcnow()
    prepared.write(connection, _TAKE_OVER, {
        "p_id": desktop.id, "p_username": username, "p_now": now})
    desktop.state = models.ASSIGNED
    desktop.assigned_user = username
    desktop.assigned_at = desktop.updated_at = now
    desktop.generation += 1


def _claim_bound(connection, ctx, username, kind, key, pool, decision,
                 attempts, candidates, exclude):
    """The desktop of a binding (made now, or moved off a broken desktop).

    Returns (desktop, binding dict, reused).
    """
    # Logins with the same binding take turns from here on: the binding
    # and its desktop stay locked until commit, so that a session
    # takeover or a binding move happens once, not once per concurrent
    # login.
    binding = prepared.first(connection, _BINDING_FOR_UPDATE,
                             {"p_kind": kind, "p_key": key})
    if binding is None:
        desktop = _claim_ready(connection, pool.id, username, attempts,
                               candidates, exclude)
        if desktop is None:
            raise _pool_exhausted(connection, pool)
        binding = {"id": uuidutils.generate_uuid(), "kind": kind,
                   "key": key, "desktop_id": desktop.id,
                   "pool_id": pool.id,
                   "allocator_id": decision.get("allocator_id"),
                   "revision": 1, "created_at": utcnow(),
                   "updated_at": None}
        # A concurrent first login of the same key fails here with a
        # duplicate entry; the retry finds its binding instead.
        prepared.write(connection, _INSERT_BINDING, binding)
        return desktop, binding, False
    rows = prepared.rows(connection, _BOUND_DESKTOP,
                         {"p_id": binding["desktop_id"]})
    desktop = _RowView(rows[0]) if rows else None
    if desktop is not None and desktop.state in _USABLE_BOUND_STATES:
        if desktop.state == models.READY or \
                desktop.assigned_user != username:
            _take_over(connection, desktop, username)
        return desktop, binding, True
    # The bound desktop is broken or gone: move the binding to a healthy
    # desktop of the same pool (R1).
    broken = desktop.id if desktop is not None else None
    desktop = _claim_ready(connection, binding["pool_id"], username,
                           attempts, candidates, exclude)
    if desktop is None:
        raise _pool_exhausted(connection, _RowView(
            _pool(connection, binding["pool_id"])))
    now = utcnow()
    prepared.write(connection, _MOVE_BINDING, {"p_id": binding["id"],
                                               "p_desktop_id": desktop.id,
                                               "p_now": now})
    binding.update(desktop_id=desktop.id, updated_at=now,
                   revision=binding["revision"] + 1)
    _insert_event(connection, ctx, "allocation", "binding.move",
                  username=username, target_type="binding",
                  target_id=binding["id"], desktop_id=desktop.id,
                  pool_id=desktop.pool_id, detail={"from_desktop": broken})
    return desktop, binding, True


def _claim_floating(connection, username, pool, keep_pools, attempts,
                    candidates, exclude):
    """A floating desktop: the user's current one, or a ready one.

    A user already working on one keeps it (a second TC, or a move to
    another seat, R2). Returns (desktop, reused).
    """
    if keep_pools and set(keep_pools) != {pool.id}:
        current = connection.execute(_CURRENT_DESKTOP_OF_POOLS, {
            "p_username": username,
            "p_pool_ids": sorted(keep_pools)}).mappings().first()
    else:
        current = prepared.first(connection, _CURRENT_DESKTOP, {
            "p_username": username, "p_pool_id": pool.id})
    if current is not None:
        # Compare-and-swap: a logout in flight may be releasing it (this
        # waits for it and sees its outcome); then start over.
        now = utcnow()
        kept = prepared.write(connection, _KEEP_DESKTOP, {
            "p_id": current["id"], "p_username": username, "p_now": now})
        if kept != 1:
            raise db_exc.RetryRequest(exception.Conflict(
                reason="desktop %s was released meanwhile" %
                current["id"]))
        desktop = _RowView(current)
        desktop.updated_at = now
        return desktop, True
    desktop = _claim_ready(connection, pool.id, username, attempts,
                           candidates, exclude)
    if desktop is None:
        raise _pool_exhausted(connection, pool)
    return desktop, False


def _unknown_seat(connection, ctx, request, register):
    """A login names a seat that has no record: register it, or refuse.

    As for a thin client's first heartbeat, ``[client_session]
    register_unknown_clients`` decides. Returns the new seat's row.
    """
    name = request["seat"]
    if not register:
        LOG.warning("Login of %(user)s from client %(client)s refused: "
                    "seat %(seat)s is not registered",
                    {"user": request["username"],
                     "client": request["client_id"], "seat": name})
        raise exception.SeatNotRegistered(seat=name)
    seat = {"id": uuidutils.generate_uuid(), "name": name, "site": None,
            "location": None, "department": None, "tags": [],
            "description": None, "revision": 1, "created_at": utcnow(),
            "updated_at": None}
    # A concurrent first login from the same seat inserts it too: the
    # duplicate key runs the login again, which then finds it.
    connection.execute(sa.insert(models.Seat.__table__), seat)
    _insert_event(connection, ctx, "client", "seat.register",
                  username=request["username"], target_type="seat",
                  target_id=seat["id"], message=name,
                  detail={"client_id": request["client_id"]})
    return seat


@_retry_on_conflict
@main_context_manager.writer
def binding_rehome(ctx, desktop_id, attempts=8, candidates=16):
    """Move the binding of a broken desktop to a ready one (R1).

    Returns None when the desktop has no binding, False when its pool has
    no ready desktop right now (the binding stays, the caller tries again
    later), else the moved binding.
    """
    session = ctx.session
    binding = session.execute(
        sa.select(models.Binding)
        .where(models.Binding.desktop_id == desktop_id)
        .with_for_update()).scalar_one_or_none()
    if binding is None:
        return None
    owner = binding.key if binding.kind == "user" else None
    new = _claim_ready(session.connection(), binding.pool_id, owner,
                       attempts, candidates)
    if new is None:
        return False
    session.execute(
        sa.update(models.Binding).where(models.Binding.id == binding.id)
        .values(desktop_id=new.id, updated_at=utcnow(),
                revision=models.Binding.revision + 1))
    _record(session, ctx, "allocation", "binding.move",
            username=owner, target_type="binding", target_id=binding.id,
            desktop_id=new.id, pool_id=binding.pool_id,
            message="bound desktop %s failed" % desktop_id,
            detail={"from_desktop": desktop_id,
                    "binding": "%s:%s" % (binding.kind, binding.key)})
    session.flush()
    return _dict(session.get(models.Binding, binding.id,
                             populate_existing=True))


# -- end of the allocation transaction --------------------------------------
