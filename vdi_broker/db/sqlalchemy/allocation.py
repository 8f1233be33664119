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

The rest of the storage layer lives in one module per resource next to
this one (pools.py, desktops.py, ...), the engine set-up in engine.py and
the shared helpers in common.py.
"""

import contextlib
import functools
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
from vdi_broker.db.sqlalchemy import models
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
    "login_undo",
    "session_close",
    "session_get",
    "session_list",
    "sessions_expired",
)

# The names the allocation transaction below has always used.
main_context_manager = engine.main_context_manager
prepare_engine = engine.prepare_engine
utcnow = timeutils.utcnow
_retry_on_conflict = common.retry_on_conflict
_dict = common.as_dict
_RowView = common.RowView
_paginate = common.paginate
_record = common.record
_insert_event = common.insert_event


# -- allocation --------------------------------------------------------------

def _locks_rows(connection):
    """Whether SELECT ... FOR UPDATE SKIP LOCKED locks rows here.

    MariaDB and PostgreSQL; SQLite writers take turns instead.
    """
    return connection.dialect.name in ("mysql", "postgresql")


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
_KEEP_DESKTOP = (sa.update(_DESKTOPS)
                 .where(_DESKTOPS.c.id == sa.bindparam("p_id"),
                        _DESKTOPS.c.state == models.ASSIGNED,
                        _DESKTOPS.c.assigned_user ==
                        sa.bindparam("p_username"))
                 .values(updated_at=sa.bindparam("p_now")))
_INSERT_SESSION = sa.insert(_SESSIONS)
_INSERT_EVENT = sa.insert(models.Event.__table__)
_SEAT_BY_NAME = sa.select(models.Seat.__table__).where(
    models.Seat.name == sa.bindparam("p_name"))
_CLIENT_BY_ID = sa.select(models.ThinClient.__table__).where(
    models.ThinClient.client_id == sa.bindparam("p_client_id"))
_ALL_ALLOCATORS = sa.select(models.Allocator.__table__)
_ALL_POOLS = sa.select(models.Pool.__table__)
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
    for _attempt in range(attempts):
        rows = []
        if spread:
            ids = connection.execute(ready_ids, dict(
                params, p_limit=_GALERA_WINDOW * candidates)
            ).scalars().all()
            if ids:
                rows = connection.execute(_READY_BY_ID, {
                    "p_id": _RANDOM.choice(ids)}).mappings().all()
        if not rows and locking:
            # Rows another transaction is claiming are skipped, not waited
            # for: concurrent logins spread over different desktops. Only
            # the row this login takes is locked: a window of several
            # locked rows would hide ready desktops from the other logins,
            # which would then report a pool with ready desktops as
            # exhausted. The whole row is read with its lock, so that the
            # claimed desktop needs no second read.
            rows = connection.execute(ready_skip_locked,
                                      params).mappings().all()
            if not rows:
                # Every ready desktop left is locked by a concurrent login
                # (which may still roll back): wait for one, do not report
                # the pool exhausted while it is not.
                rows = connection.execute(ready_wait,
                                          params).mappings().all()
        elif not locking:
            rows = connection.execute(ready.limit(candidates),
                                      params).mappings().all()
        if not rows:
            return None
        for row in rows:
            # The compare-and-swap: only one transaction can move this row
            # out of 'ready', whatever the isolation level or cluster.
            now = utcnow()
            result = connection.execute(_CLAIM, {
                "p_id": row["id"], "p_username": username, "p_now": now})
            if result.rowcount == 1:
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


def _pool_exhausted(session, pool):
    counts = dict(session.execute(
        sa.select(models.Desktop.state, sa.func.count())
        .where(models.Desktop.pool_id == pool.id)
        .group_by(models.Desktop.state)).all())
    return exception.PoolExhausted(
        pool=pool.name, status=pool.status,
        status_reason=pool.status_reason,
        ready=counts.get(models.READY, 0),
        building=counts.get(models.BUILDING, 0))


_USABLE_BOUND_STATES = (models.ASSIGNED, models.READY)

# The close reason of a session a newer login took over.
SUPERSEDED = "superseded"


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
        connection.execute(_PG_XACT_LOCK, {
            "p_key": int.from_bytes(digest[:8], "big", signed=True)})
    elif dialect == "mysql":
        # prepare_engine() made the pool release the lock at checkin.
        connection.info["vdi_user_locks"] = True
        name = _user_lock_name(username, connection.engine.url.database)
        wait = keepalive.lock_wait(_USER_LOCK_TIMEOUT)
        got = connection.execute(_GET_LOCK, {"p_name": name,
                                             "p_timeout": wait}).scalar()
        if got != 1 and _end_lost_lock_holder(connection, name, wait):
            got = connection.execute(_GET_LOCK, {"p_name": name,
                                                 "p_timeout": wait}).scalar()
        if got != 1:
            # Another login of this user holds the lock and is busy:
            # answer now rather than wait again at every retry of the
            # transaction.
            raise exception.LoginInProgress()
        if connection.info.get("vdi_galera"):
            connection.execute(_LOGIN_SERIAL, {
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
_LOGIN_CONNECTION = "vdi_login_connection"


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
    with main_context_manager.writer.using(ctx) as session:
        connection = session.connection()
        _lock_user(connection, username)
        # (The session is this thread's and this transaction's.) The
        # connection is kept at hand: asking the session for it costs
        # more than most of the login's statements.
        session.info[_LOGIN_USER] = username
        session.info[_LOGIN_CONNECTION] = connection
        yield


def _login_session(ctx, username):
    """The session of the login_transaction of ``username``.

    login_register_seat and login_claim run only inside it (no
    transaction of their own): a claim without the user's lock would let
    two first logins of one user each take a desktop.
    """
    try:
        session = ctx.session
    except Exception:
        session = None
    if session is None or session.info.get(_LOGIN_USER) != username:
        raise RuntimeError("login_claim and login_register_seat run inside "
                           "login_transaction(ctx, %r)" % username)
    return session


@main_context_manager.reader
def login_inputs(ctx, seat_name, client_id):
    """What the allocator chain decides on, read up front.

    The seat and thin client records (or None), every allocator and every
    pool (both small tables), as plain dicts. Inside
    :func:`login_transaction`, read in the login's transaction (after the
    user's lock); alone (explain), in a read transaction of its own.
    """
    session = ctx.session
    connection = (session.info.get(_LOGIN_CONNECTION) or
                  session.connection())
    seat = None
    if seat_name:
        seat = next(iter(_rows(connection, _SEAT_BY_NAME,
                               {"p_name": seat_name})), None)
    client = next(iter(_rows(connection, _CLIENT_BY_ID,
                             {"p_client_id": client_id})), None)
    return {"seat": seat, "client": client,
            "allocators": _rows(connection, _ALL_ALLOCATORS),
            "pools": _rows(connection, _ALL_POOLS)}


def login_register_seat(ctx, request, register):
    """A login names a seat that has no record: register it, or refuse.

    As for a thin client's first heartbeat, ``register`` (``[client_session]
    register_unknown_clients``) decides: a ``seat.register`` event in the
    login's transaction, or SeatNotRegistered. A session never names a
    seat the broker does not know. Returns the new seat's row.
    """
    session = _login_session(ctx, request["username"])
    return _unknown_seat(session.info[_LOGIN_CONNECTION], ctx, request,
                         register)


def login_claim(ctx, request, decision, session_values, pool=None,
                attempts=8, candidates=16, exclude=()):
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
    """
    username = request["username"]
    session = _login_session(ctx, username)
    # The transaction's connection, for the Core statements of the login
    # (asking the session for it each time costs more than one would
    # think).
    connection = session.info[_LOGIN_CONNECTION]
    pools = {pool["id"]: pool} if pool is not None else {}
    pool = pools.get(decision["pool_id"])
    if pool is not None:
        pool = _RowView(pool)
    else:
        pool = session.get(models.Pool, decision["pool_id"])
    if pool is None:
        raise exception.PoolNotFound(pool=decision["pool_id"])
    desktop = None
    binding = None
    reused = False
    kind = decision.get("binding_kind")
    if kind:
        key = decision["binding_key"]
        binding = session.execute(
            sa.select(models.Binding).where(models.Binding.kind == kind,
                                            models.Binding.key == key)
        ).scalar_one_or_none()
        if binding is not None:
            # Logins with the same binding take turns from here on: the
            # binding and its desktop stay locked until commit, so that a
            # session takeover or a binding move happens once, not once
            # per concurrent login.
            binding = session.execute(
                sa.select(models.Binding)
                .where(models.Binding.id == binding.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).scalar_one_or_none()
            if binding is None:
                # Deleted meanwhile: start over without it.
                raise db_exc.RetryRequest(exception.Conflict(
                    reason="binding %s:%s was deleted" % (kind, key)))
            desktop = session.get(models.Desktop, binding.desktop_id,
                                  with_for_update=True,
                                  populate_existing=True)
            if desktop is not None and desktop.state in _USABLE_BOUND_STATES:
                reused = True
                if desktop.state == models.READY or \
                        desktop.assigned_user != username:
                    # Seat and client bindings: whoever sits there now
                    # uses the desktop.
                    session.execute(
                        sa.update(models.Desktop)
                        .where(models.Desktop.id == desktop.id)
                        .values(state=models.ASSIGNED,
                                assigned_user=username,
                                assigned_at=utcnow(), updated_at=utcnow(),
                                generation=models.Desktop.generation + 1))
            else:
                # The bound desktop is broken or gone: move the binding to
                # a healthy desktop of the same pool (R1).
                broken = desktop.id if desktop is not None else None
                desktop = _claim_ready(connection, binding.pool_id,
                                       username, attempts, candidates,
                                       exclude)
                if desktop is None:
                    raise _pool_exhausted(
                        session, session.get(models.Pool, binding.pool_id))
                session.execute(
                    sa.update(models.Binding)
                    .where(models.Binding.id == binding.id)
                    .values(desktop_id=desktop.id, updated_at=utcnow(),
                            revision=models.Binding.revision + 1))
                _record(session, ctx, "allocation", "binding.move",
                        username=username, target_type="binding",
                        target_id=binding.id, desktop_id=desktop.id,
                        pool_id=desktop.pool_id,
                        detail={"from_desktop": broken})
                reused = True
        else:
            desktop = _claim_ready(connection, pool.id, username, attempts,
                                   candidates, exclude)
            if desktop is None:
                raise _pool_exhausted(session, pool)
            binding = models.Binding(
                id=uuidutils.generate_uuid(), kind=kind, key=key,
                desktop_id=desktop.id, pool_id=pool.id,
                allocator_id=decision.get("allocator_id"),
                created_at=utcnow())
            session.add(binding)
            # A concurrent first login of the same key fails here with a
            # duplicate entry; the retry finds its binding instead.
            session.flush()
    else:
        # Floating desktop: a user already working on one keeps it (a
        # second TC, or a move to another seat, R2).
        current = connection.execute(_CURRENT_DESKTOP, {
            "p_username": username, "p_pool_id": pool.id}).mappings().first()
        if current is not None:
            # Compare-and-swap: a logout in flight may be releasing it
            # (this waits for it and sees its outcome); then start over.
            now = utcnow()
            kept = connection.execute(_KEEP_DESKTOP, {
                "p_id": current["id"], "p_username": username,
                "p_now": now}).rowcount
            if kept != 1:
                raise db_exc.RetryRequest(exception.Conflict(
                    reason="desktop %s was released meanwhile" %
                    current["id"]))
            desktop = _RowView(current)
            desktop.updated_at = now
            reused = True
        else:
            desktop = _claim_ready(connection, pool.id, username, attempts,
                                   candidates, exclude)
            if desktop is None:
                raise _pool_exhausted(session, pool)

    # One active session per user and desktop: a new login from another
    # TC takes the desktop over. A desktop just claimed from 'ready' has
    # no session to take over (and on InnoDB the range update would only
    # add gap locks, i.e. deadlocks between unrelated logins).
    # They are closed at the new session's created_at: a login undone
    # (login_undo) finds them by it and makes them active again.
    now = utcnow()
    superseded = 0
    if reused:
        superseded = session.execute(
            sa.update(models.ClientSession)
            .where(models.ClientSession.desktop_id == desktop.id,
                   models.ClientSession.state == "active")
            .values(state="closed", closed_at=now,
                    close_reason=SUPERSEDED, updated_at=now)
        ).rowcount
    # Plain INSERTs: the session and the event are written, never read
    # back, so the ORM's unit of work has nothing to add but its cost.
    client_session = {
        "id": session_values["id"],
        "token_hash": session_values["token_hash"], "username": username,
        "client_id": request["client_id"], "seat": request.get("seat"),
        "desktop_id": desktop.id, "pool_id": desktop.pool_id,
        "allocator_id": decision.get("allocator_id"),
        "binding_id": binding.id if binding is not None else None,
        "state": "active", "expires_at": session_values["expires_at"],
        "closed_at": None, "close_reason": None, "created_at": now,
        "updated_at": None,
        # Business monitoring: the user's department (conductor's
        # department_for at login).
        "department": session_values.get("department")}
    session.flush()
    connection.execute(_INSERT_SESSION, client_session)
    _insert_event(connection, ctx, "allocation", "login",
                  actor=username, username=username,
                  target_type="session", target_id=client_session["id"],
                  desktop_id=desktop.id, pool_id=desktop.pool_id,
                  detail={"allocator": decision.get("allocator_name"),
                          "client_id": request["client_id"],
                          "seat": request.get("seat"),
                          "binding": ("%s:%s" % (binding.kind, binding.key)
                                      if binding is not None else None),
                          "reused": reused, "superseded": superseded,
                          # The directory's time (the directory_slow alert).
                          "directory_ms": common.milliseconds(
                              session_values.get("directory_seconds"))})
    return {
        "session": client_session,
        "desktop": _dict(desktop),
        "pool": (pools.get(desktop.pool_id) or
                 _dict(session.get(models.Pool, desktop.pool_id))),
        "binding": _dict(binding) if binding is not None else None,
        "reused": reused,
        "decision": decision,
    }


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


def _dead_token_hash(session_id):
    """A token hash no token has: a closed login's token slot is free.

    (Token hashes are unique; the token of an undone login was never
    handed out and its next try reuses it.)
    """
    return hashlib.sha256(("undone:%s:%s" % (
        session_id, uuidutils.generate_uuid())).encode()).hexdigest()


@_retry_on_conflict
@main_context_manager.writer
def login_undo(ctx, session_id, reason, give_back, claimed,
               binding_id=None, detail=None):
    """Undo a login whose connection failed after its claim (R7).

    db.login_claim committed the claim; the console lookup that followed
    failed, and the thin client gets no session. In one transaction:

    * the session is closed with ``reason`` and its token hash replaced
      (the token was never handed out);
    * with ``give_back`` (the desktop is not at fault): a desktop the
      login took from ready (``claimed``) goes back to ready, without the
      binding ``binding_id`` the login created for it; a desktop the
      login reused gets back the sessions it superseded, or, floating
      and used by nobody, goes through its pool's release action as at a
      logout. Without ``give_back`` the desktop is left as it is (the
      caller quarantines it);
    * the login's event, written by the claim's transaction, becomes a
      failure with ``reason`` (``detail`` added to its detail): one
      event per login, with its outcome.

    Returns {"session", "desktop", "outcome"}: outcome is "ready",
    "restored" (superseded sessions active again), "kept", or the
    release's state ("releasing", "deleting").
    """
    session = ctx.session
    row = session.get(models.ClientSession, session_id)
    if row is None:
        raise exception.SessionNotFound(session=session_id)
    # Locks in the order login_claim takes them: the desktop, its
    # sessions.
    desktop = None
    if row.desktop_id:
        desktop = session.get(models.Desktop, row.desktop_id,
                              with_for_update=True, populate_existing=True)
    row = session.get(models.ClientSession, session_id,
                      with_for_update=True, populate_existing=True)
    now = utcnow()
    session.execute(
        sa.update(models.ClientSession)
        .where(models.ClientSession.id == session_id)
        .values(state="closed", closed_at=row.closed_at or now,
                close_reason=reason[:255],
                token_hash=_dead_token_hash(session_id), updated_at=now))
    outcome = "kept"
    ours = (give_back and desktop is not None and
            desktop.state == models.ASSIGNED and
            desktop.assigned_user == row.username)
    if ours and claimed:
        if binding_id:
            session.execute(
                sa.delete(models.Binding)
                .where(models.Binding.id == binding_id,
                       models.Binding.desktop_id == desktop.id))
        others = _active_sessions(session, desktop.id)
        bound = _bound(session, desktop.id)
        if not others and not bound:
            session.execute(
                sa.update(models.Desktop)
                .where(models.Desktop.id == desktop.id,
                       models.Desktop.state == models.ASSIGNED)
                .values(state=models.READY, assigned_user=None,
                        assigned_at=None, updated_at=now,
                        generation=models.Desktop.generation + 1))
            outcome = models.READY
    elif ours:
        superseded = (
            models.ClientSession.desktop_id == desktop.id,
            models.ClientSession.state == "closed",
            models.ClientSession.close_reason == SUPERSEDED,
            models.ClientSession.closed_at == row.created_at,
            models.ClientSession.expires_at > now)
        users = session.execute(
            sa.select(models.ClientSession.username)
            .where(*superseded)).scalars().all()
        if users:
            session.execute(
                sa.update(models.ClientSession).where(*superseded)
                .values(state="active", closed_at=None, close_reason=None,
                        updated_at=now))
            if users[0] != desktop.assigned_user:
                # A seat or client binding: the desktop goes back to
                # whoever used it before.
                session.execute(
                    sa.update(models.Desktop)
                    .where(models.Desktop.id == desktop.id)
                    .values(assigned_user=users[0], updated_at=now,
                            generation=models.Desktop.generation + 1))
            outcome = "restored"
        elif not _active_sessions(session, desktop.id) and \
                not _bound(session, desktop.id):
            outcome = _start_release(session, desktop,
                                     session.get(models.Pool,
                                                 desktop.pool_id))
    _fail_login_event(session, ctx, row, reason,
                      dict(detail or {}, undone=outcome))
    session.flush()
    session.expire_all()
    return {"session": _dict(session.get(models.ClientSession, row.id)),
            "desktop": _dict(session.get(models.Desktop, row.desktop_id))
            if row.desktop_id else None,
            "outcome": outcome}


def _active_sessions(session, desktop_id):
    return session.execute(
        sa.select(sa.func.count()).select_from(models.ClientSession)
        .where(models.ClientSession.desktop_id == desktop_id,
               models.ClientSession.state == "active")).scalar()


def _bound(session, desktop_id):
    return session.execute(
        sa.select(models.Binding.id)
        .where(models.Binding.desktop_id == desktop_id)).first() is not None


def _fail_login_event(session, ctx, row, reason, detail):
    """Turn the login event of session ``row`` into a failure."""
    event = session.execute(
        sa.select(models.Event)
        .where(models.Event.target_type == "session",
               models.Event.target_id == row.id,
               models.Event.action == "login")
        .order_by(models.Event.id).limit(1)).scalar_one_or_none()
    if event is None:
        _record(session, ctx, "allocation", "login", result="failure",
                actor=row.username, username=row.username,
                target_type="session", target_id=row.id,
                desktop_id=row.desktop_id, pool_id=row.pool_id,
                message=reason[:1024], detail=detail)
        return
    session.execute(
        sa.update(models.Event).where(models.Event.id == event.id)
        .values(result="failure", message=reason[:1024],
                detail=dict(event.detail or {}, **detail)))


def _start_release(session, desktop, pool):
    """Move a desktop that nobody uses any more into its release action."""
    action = pool.release_action if pool is not None else "delete"
    action = _rollout_release_action(action, desktop, pool)
    if action == "keep":
        new_state, values = models.READY, {}
    elif action == "delete":
        new_state, values = models.DELETING, {}
    else:
        # The restart waits for a boot slot (conductor/boot_queue.py).
        new_state, values = models.RELEASING, {
            "state_reason": "release:%s" % action,
            "boot_queued_at": utcnow(), "boot_started_at": None,
            "boot_action": action}
    session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop.id,
               models.Desktop.state == models.ASSIGNED)
        .values(state=new_state, assigned_user=None, assigned_at=None,
                updated_at=utcnow(),
                generation=models.Desktop.generation + 1, **values))
    return new_state


def _rollout_release_action(action, desktop, pool):
    """A desktop left on another image than its pool's is rebuilt.

    (An image roll-out: the desktop its user leaves goes to the new
    image; see db/sqlalchemy/rollouts.py.) Deleted ones stay deleted.
    """
    if action in ("keep", "reboot") and pool is not None and \
            desktop.image is not None and desktop.image != pool.image:
        return "rebuild"
    return action


@_retry_on_conflict
@main_context_manager.writer
def session_close(ctx, session_id, reason):
    """Close a session; a floating desktop nobody uses is released.

    Returns (session, desktop, release_state) where release_state is None
    for bound desktops (they are kept).
    """
    session = ctx.session
    row = session.get(models.ClientSession, session_id)
    if row is None:
        raise exception.SessionNotFound(session=session_id)
    if row.state != "active":
        return _dict(row), None, None
    # A login taking this session over (superseding it) and this logout
    # take turns, so that the logout never releases a desktop the new
    # session has just been given. Locks in the order login_claim takes
    # them: the desktop, then its sessions.
    session.get(models.Desktop, row.desktop_id, with_for_update=True)
    row = session.get(models.ClientSession, session_id,
                      with_for_update=True, populate_existing=True)
    if row.state != "active":
        return _dict(row), None, None
    session.execute(
        sa.update(models.ClientSession)
        .where(models.ClientSession.id == row.id)
        .values(state="closed", closed_at=utcnow(), close_reason=reason,
                updated_at=utcnow()))
    desktop = session.get(models.Desktop, row.desktop_id,
                          with_for_update=True, populate_existing=True)
    release_state = None
    bound = session.execute(
        sa.select(models.Binding.id)
        .where(models.Binding.desktop_id == row.desktop_id)
    ).first() is not None
    others = session.execute(
        sa.select(sa.func.count()).select_from(models.ClientSession)
        .where(models.ClientSession.desktop_id == row.desktop_id,
               models.ClientSession.state == "active",
               models.ClientSession.id != row.id)).scalar()
    if desktop is not None and not bound and not others and \
            desktop.state == models.ASSIGNED and \
            desktop.assigned_user == row.username:
        pool = session.get(models.Pool, desktop.pool_id)
        release_state = _start_release(session, desktop, pool)
    _record(session, ctx, "allocation", "logout", username=row.username,
            actor=getattr(ctx, "user_id", None) or row.username,
            target_type="session", target_id=row.id,
            desktop_id=row.desktop_id, pool_id=row.pool_id,
            detail={"reason": reason, "release": release_state})
    session.flush()
    session.expire_all()
    return (_dict(session.get(models.ClientSession, row.id)),
            _dict(session.get(models.Desktop, row.desktop_id)),
            release_state)


@main_context_manager.reader
def session_get(ctx, session_id):
    row = ctx.session.get(models.ClientSession, session_id)
    if row is None:
        raise exception.SessionNotFound(session=session_id)
    return _dict(row)


@main_context_manager.reader
def session_list(ctx, filters=None, limit=None, marker=None,
                 sort_key="created_at", sort_dir="asc"):
    return _paginate(ctx.session, models.ClientSession, filters, limit, marker,
                     sort_key, sort_dir,
                     functools.partial(exception.SessionNotFound,
                                       session=marker))


@main_context_manager.reader
def sessions_expired(ctx, now, limit=500):
    stmt = (sa.select(models.ClientSession.id)
            .where(models.ClientSession.state == "active",
                   models.ClientSession.expires_at < now)
            .limit(limit))
    return ctx.session.execute(stmt).scalars().all()


def _rows(connection, stmt, params=None):
    """Plain dicts of a Core SELECT: no ORM objects to build and track."""
    return [dict(row) for row in connection.execute(stmt, params).mappings()]


# -- end of the allocation transaction --------------------------------------
