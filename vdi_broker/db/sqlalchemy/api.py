"""SQLAlchemy implementation of the broker's database API.

Every function takes a request context and runs in one enginefacade
transaction. Rows never leave this module: callers get plain dicts.

Allocation is the heart of the product. A desktop is claimed with one
compare-and-swap (``UPDATE ... WHERE id = :id AND state = 'ready'``) after a
``SELECT ... FOR UPDATE SKIP LOCKED`` has picked a row no other transaction
holds; bindings are protected by unique keys. Deadlocks, Galera
certification failures and duplicate-binding races roll the whole
transaction back and run it again (``oslo_db.api.wrap_db_retry``), so no
login ever sees half of another one.
"""

import datetime
import functools
import hashlib
import threading

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_log import log as logging
from oslo_utils import uuidutils
import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import keepalive
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

LOG = logging.getLogger(__name__)

_CONTEXT = threading.local()
main_context_manager = enginefacade.transaction_context()


def configure(conf):
    """Configure the engine facade; a facade already in use is kept."""
    try:
        main_context_manager.configure(**dict(conf.database.items()))
    except enginefacade.AlreadyStartedError:
        pass


def _serialize_sqlite_writers(engine):
    """Make SQLite safe and quick for a threaded all-in-one broker.

    pysqlite begins transactions lazily, so two threads that both read
    and then write deadlock on the lock upgrade and fail at once with
    "database is locked"; SQLite's own busy handler then sleeps and polls.
    In the embedded mode every transaction therefore takes a process-wide
    lock at BEGIN (handed over without polling) and the database write
    lock with BEGIN IMMEDIATE (for other processes such as
    vdi-broker-manage). MariaDB and PostgreSQL need none of this.
    """
    if engine.dialect.name != "sqlite" or \
            engine.url.database in (None, "", ":memory:"):
        return
    lock = threading.RLock()

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL survives a crash of the broker; only a power
        # cut may lose the last transactions. FULL costs an fsync per
        # commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    # oslo.db gives file databases a NullPool: a new connection per
    # transaction, and closing each costs more than the transaction.
    # Keep them in a pool, with the same event listeners (as
    # Pool.recreate() does).
    old = engine.pool
    if isinstance(old, sa.pool.NullPool):
        engine.pool = sa.pool.QueuePool(
            old._creator, pool_size=5, max_overflow=20, timeout=60,
            recycle=old._recycle, echo=old.echo,
            reset_on_return=old._reset_on_return,
            _dispatch=old.dispatch, dialect=old._dialect)
        old.dispose()

    # oslo.db's own "begin" listener has just emitted a deferred BEGIN,
    # which holds no lock yet: swap it for an immediate one.
    @sa.event.listens_for(engine, "begin")
    def _begin(connection):
        lock.acquire()
        connection.info["vdi_sqlite_lock"] = True
        connection.exec_driver_sql("ROLLBACK")
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @sa.event.listens_for(engine, "commit")
    @sa.event.listens_for(engine, "rollback")
    def _end(connection):
        if connection.info.pop("vdi_sqlite_lock", False):
            lock.release()


def _release_user_locks_at_checkin(engine):
    """MariaDB/MySQL: drop a login's user lock when its connection returns.

    Registered when the engine is made, before any thread uses it:
    SQLAlchemy iterates a pool's listeners without a lock, so a listener
    added while other threads check connections in fails them with
    "deque mutated during iteration".
    """
    if engine.dialect.name == "mysql" and \
            not sa.event.contains(engine.pool, "checkin",
                                  _release_user_locks):
        sa.event.listen(engine.pool, "checkin", _release_user_locks)


def _read_committed_on_mysql(engine):
    """MariaDB/MySQL: every broker transaction runs in READ COMMITTED.

    As on PostgreSQL: every statement sees the latest commits, and InnoDB
    takes no gap locks, which under REPEATABLE READ turned concurrent
    logins into piles of deadlocks. Set once per connection rather than
    per transaction: switching the level for one transaction costs four
    round trips (SET and COMMIT, then again to reset it at checkin).
    """
    if engine.dialect.name != "mysql":
        return

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(
                "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        finally:
            cursor.close()

    # oslo.db has already opened a connection to test the URL, before this
    # listener existed: drop it, so that every connection gets the level.
    engine.dispose()


def prepare_engine(engine):
    """What every engine of the broker needs (also for test engines)."""
    keepalive.prepare_engine(engine)
    _serialize_sqlite_writers(engine)
    _read_committed_on_mysql(engine)
    _release_user_locks_at_checkin(engine)


main_context_manager.append_on_engine_create(prepare_engine)


def get_engine():
    return main_context_manager.writer.get_engine()


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _retry_on_conflict(f):
    """Run the whole transaction again on deadlock or a lost race.

    A duplicate key means a concurrent login created the same binding
    first; the next attempt finds it and returns it.
    """
    return oslo_db_api.wrap_db_retry(
        max_retries=10, retry_interval=0.02, inc_retry_interval=True,
        max_retry_interval=0.5, jitter=True, retry_on_deadlock=True,
        exception_checker=lambda e: isinstance(e, db_exc.DBDuplicateEntry),
    )(f)


def _dict(row):
    if row is None:
        return None
    if isinstance(row, _RowView):
        return dict(row.__dict__)
    return {c.name: getattr(row, c.key)
            for c in row.__table__.columns}


class _RowView:
    """A row read with Core, with a model instance's attribute access.

    The login's hot path reads and writes with prebuilt Core statements:
    no ORM objects to build, track and flush.
    """

    def __init__(self, values):
        self.__dict__.update(values)


# -- generic helpers -------------------------------------------------------

def _get_by_id_or_name(session, model, ident, not_found, **kw):
    stmt = sa.select(model).where(model.id == ident)
    row = session.execute(stmt).scalar_one_or_none()
    if row is None and hasattr(model, "name"):
        row = session.execute(
            sa.select(model).where(model.name == ident)
        ).scalar_one_or_none()
    if row is None:
        raise not_found(**kw)
    return row


def _paginate(session, model, filters, limit, marker, sort_key, sort_dir,
              not_found):
    """Filtered rows, with keyset pagination on (sort_key, id)."""
    stmt = _apply_filters(sa.select(model), model, filters)
    column = getattr(model, sort_key)
    order = sa.asc if sort_dir == "asc" else sa.desc
    if marker is not None:
        marker_row = session.execute(
            sa.select(model).where(model.id == marker)
        ).scalar_one_or_none()
        if marker_row is None:
            raise not_found()
        value = getattr(marker_row, sort_key)
        cmp = (column > value) if sort_dir == "asc" else (column < value)
        tie = (model.id > marker_row.id) if sort_dir == "asc" else (
            model.id < marker_row.id)
        if value is None:
            stmt = stmt.where(sa.or_(column.is_not(None),
                                     sa.and_(column.is_(None), tie)))
        else:
            stmt = stmt.where(sa.or_(cmp, sa.and_(column == value, tie)))
    stmt = stmt.order_by(order(column), order(model.id))
    if limit:
        stmt = stmt.limit(limit)
    return [_dict(r) for r in session.execute(stmt).scalars()]


def _apply_filters(stmt, model, filters):
    for key, value in (filters or {}).items():
        if value is None:
            continue
        column = getattr(model, key)
        if isinstance(value, (list, tuple, set)):
            stmt = stmt.where(column.in_(list(value)))
        else:
            stmt = stmt.where(column == value)
    return stmt


def _update_revisioned(session, model, row, values, expected_revision,
                       what):
    """Update a row guarded by its revision (optimistic concurrency)."""
    if expected_revision is not None and row.revision != expected_revision:
        raise exception.Conflict(
            reason="%s %s was changed by someone else (revision %s, "
                   "expected %s)" % (what, row.id, row.revision,
                                     expected_revision))
    values = dict(values, revision=row.revision + 1, updated_at=utcnow())
    result = session.execute(
        sa.update(model).where(model.id == row.id,
                               model.revision == row.revision)
        .values(**values))
    if result.rowcount != 1:
        raise exception.Conflict(
            reason="%s %s was changed by someone else" % (what, row.id))
    session.expire(row)
    return row


def _record(session, ctx, kind, action, result="success", **fields):
    """Add an audit event to the current transaction."""
    actor = fields.pop("actor", None)
    event = models.Event(
        kind=kind, action=action, result=result,
        actor=getattr(ctx, "user_id", None) or actor,
        request_id=getattr(ctx, "request_id", None),
        created_at=utcnow(), **fields)
    session.add(event)
    return event


def _event_values(ctx, kind, action, result="success", **fields):
    """An audit event's row, for a plain INSERT."""
    actor = fields.pop("actor", None)
    values = dict.fromkeys(("username", "target_type", "target_id",
                            "pool_id", "desktop_id", "message", "detail"))
    values.update(fields, kind=kind, action=action, result=result,
                  actor=getattr(ctx, "user_id", None) or actor,
                  request_id=getattr(ctx, "request_id", None),
                  created_at=utcnow())
    return values


def _insert_event(connection, ctx, kind, action, **fields):
    """Write an audit event with a plain INSERT (the login's hot path)."""
    connection.execute(_INSERT_EVENT,
                       _event_values(ctx, kind, action, **fields))


def _translate_duplicates(resource, name_key="name"):
    def decorator(f):
        @functools.wraps(f)
        def wrapper(ctx, values, *args, **kwargs):
            try:
                return f(ctx, values, *args, **kwargs)
            except db_exc.DBDuplicateEntry:
                raise exception.DuplicateName(resource=resource,
                                              name=values.get(name_key))
        return wrapper
    return decorator


# -- pools -------------------------------------------------------------------

@_translate_duplicates("pool")
@main_context_manager.writer
def pool_create(ctx, values):
    values = dict(values)
    values.setdefault("id", uuidutils.generate_uuid())
    pool = models.Pool(**values)
    ctx.session.add(pool)
    ctx.session.flush()
    _record(ctx.session, ctx, "admin", "pool.create", target_type="pool",
            target_id=pool.id, pool_id=pool.id, message=pool.name)
    return _dict(pool)


@main_context_manager.reader
def pool_get(ctx, ident):
    return _dict(_get_by_id_or_name(ctx.session, models.Pool, ident,
                                    exception.PoolNotFound, pool=ident))


@main_context_manager.reader
def pool_list(ctx, filters=None, limit=None, marker=None, sort_key="name",
              sort_dir="asc"):
    return _paginate(ctx.session, models.Pool, filters, limit, marker,
                     sort_key, sort_dir,
                     functools.partial(exception.PoolNotFound, pool=marker))


@main_context_manager.writer
def pool_update(ctx, ident, values, expected_revision=None, event=True):
    try:
        row = _get_by_id_or_name(ctx.session, models.Pool, ident,
                                 exception.PoolNotFound, pool=ident)
        _update_revisioned(ctx.session, models.Pool, row, values,
                           expected_revision, "Pool")
    except db_exc.DBDuplicateEntry:
        raise exception.DuplicateName(resource="pool",
                                      name=values.get("name"))
    if event:
        _record(ctx.session, ctx, "admin", "pool.update",
                target_type="pool", target_id=row.id, pool_id=row.id,
                detail={"changed": sorted(values)})
    return _dict(row)


@main_context_manager.writer
def pool_set_status(ctx, pool_id, status, reason):
    """Set a pool's health status without bumping its revision."""
    ctx.session.execute(
        sa.update(models.Pool).where(models.Pool.id == pool_id)
        .values(status=status, status_reason=reason))


@main_context_manager.writer
def pool_build_result(ctx, pool_id, error=None, allowance=None):
    """Record a boot's outcome in the pool's build throttle state.

    A failure (``error``) counts one more failure in a row, sets
    ``failing_since`` at the first one and keeps the error; a success
    resets the count (the last error stays, as history). ``allowance``
    (with a failure): a function of the pool (a dict, before the change)
    giving its new allowed concurrent boots. Returns the pool after the
    change. Without revision bump: not an admin change.
    """
    row = ctx.session.get(models.Pool, pool_id, with_for_update=True)
    if row is None:
        raise exception.PoolNotFound(pool=pool_id)
    if error is not None:
        values = {"build_failures": models.Pool.build_failures + 1,
                  "failing_since": row.failing_since or utcnow(),
                  "last_build_error": error[:1024]}
        if allowance is not None:
            values["build_allowance"] = allowance(_dict(row))
    elif row.build_failures or row.failing_since:
        values = {"build_failures": 0, "failing_since": None}
    else:
        return _dict(row)
    ctx.session.execute(sa.update(models.Pool)
                        .where(models.Pool.id == pool_id).values(**values))
    return _dict(ctx.session.get(models.Pool, pool_id,
                                 populate_existing=True))


@main_context_manager.writer
def pool_delete(ctx, ident):
    row = _get_by_id_or_name(ctx.session, models.Pool, ident,
                             exception.PoolNotFound, pool=ident)
    desktops = ctx.session.execute(
        sa.select(sa.func.count()).select_from(models.Desktop)
        .where(models.Desktop.pool_id == row.id)).scalar()
    if desktops:
        raise exception.InUse(
            resource="Pool", id=row.id,
            reason="it still has %d desktops; set max_size to 0 and wait "
                   "for them to be deleted" % desktops)
    allocators = ctx.session.execute(
        sa.select(models.Allocator.name)
        .where(models.Allocator.pool_id == row.id)).scalars().all()
    if allocators:
        raise exception.InUse(
            resource="Pool", id=row.id,
            reason="allocators %s point at it" % ", ".join(allocators))
    # A pool's schedules have no meaning without it: they go with it.
    ctx.session.execute(sa.delete(models.Schedule)
                        .where(models.Schedule.pool_id == row.id))
    ctx.session.delete(row)
    _record(ctx.session, ctx, "admin", "pool.delete", target_type="pool",
            target_id=row.id, message=row.name)


@main_context_manager.reader
def pool_desktop_counts(ctx, pool_ids=None):
    """Return {pool_id: {state: count}}."""
    stmt = (sa.select(models.Desktop.pool_id, models.Desktop.state,
                      sa.func.count())
            .group_by(models.Desktop.pool_id, models.Desktop.state))
    if pool_ids is not None:
        stmt = stmt.where(models.Desktop.pool_id.in_(list(pool_ids)))
    counts = {}
    for pool_id, state, count in ctx.session.execute(stmt):
        counts.setdefault(pool_id, {})[state] = count
    return counts


# -- desktops ----------------------------------------------------------------

@main_context_manager.writer
def desktop_create(ctx, values):
    values = dict(values)
    values.setdefault("id", uuidutils.generate_uuid())
    desktop = models.Desktop(**values)
    ctx.session.add(desktop)
    ctx.session.flush()
    return _dict(desktop)


@main_context_manager.writer
def desktop_create_many(ctx, rows):
    """Insert desktops in one transaction (a pass's boots)."""
    now = utcnow()
    rows = [dict(row, created_at=row.get("created_at") or now)
            for row in rows]
    if rows:
        ctx.session.execute(sa.insert(models.Desktop), rows)


@main_context_manager.writer
def desktop_transition_many(ctx, changes):
    """Many compare-and-swaps (see desktop_transition), one transaction.

    ``changes`` is a list of (desktop_id, from_states, values). Changes
    of the same shape run as one statement with many parameter sets.
    Returns how many desktops moved (the others had left
    ``from_states``).
    """
    table = models.Desktop.__table__
    groups = {}
    for desktop_id, from_states, values in changes:
        key = (tuple(from_states), tuple(sorted(values)))
        params = {"v_" + k: v for k, v in values.items()}
        params["b_id"] = desktop_id
        groups.setdefault(key, []).append(params)
    moved = 0
    now = utcnow()
    # psycopg2 cannot count the rows of an executemany: one at a time.
    per_row = not ctx.session.bind.dialect.supports_sane_multi_rowcount
    for (from_states, keys), params in groups.items():
        stmt = (sa.update(table)
                # No IN: its expanding parameter cannot be executemany'd.
                .where(table.c.id == sa.bindparam("b_id"),
                       sa.or_(*[table.c.state == state
                                for state in from_states]))
                .values(updated_at=now, generation=table.c.generation + 1,
                        **{k: sa.bindparam("v_" + k) for k in keys}))
        if per_row:
            moved += sum(ctx.session.execute(stmt, one).rowcount
                         for one in params)
        else:
            moved += ctx.session.execute(stmt, params).rowcount
    return moved


@main_context_manager.writer
def desktop_destroy_unbooted(ctx, desktop_ids):
    """Delete building desktops that never got a server (boots not sent)."""
    if desktop_ids:
        ctx.session.execute(
            sa.delete(models.Desktop)
            .where(models.Desktop.id.in_(list(desktop_ids)),
                   models.Desktop.state == models.BUILDING,
                   models.Desktop.server_id.is_(None)))


@main_context_manager.reader
def desktop_get(ctx, desktop_id):
    row = ctx.session.get(models.Desktop, desktop_id)
    if row is None:
        raise exception.DesktopNotFound(desktop=desktop_id)
    return _dict(row)


@main_context_manager.reader
def desktop_list(ctx, filters=None, limit=None, marker=None,
                 sort_key="created_at", sort_dir="asc"):
    return _paginate(ctx.session, models.Desktop, filters, limit, marker,
                     sort_key, sort_dir,
                     functools.partial(exception.DesktopNotFound,
                                       desktop=marker))


@main_context_manager.writer
def desktop_transition(ctx, desktop_id, from_states, values):
    """Compare-and-swap a desktop's state.

    Returns the updated desktop, or None when it was no longer in one of
    ``from_states`` (someone else moved it first).
    """
    values = dict(values, updated_at=utcnow(),
                  generation=models.Desktop.generation + 1)
    result = ctx.session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop_id,
               models.Desktop.state.in_(list(from_states)))
        .values(**values))
    if result.rowcount != 1:
        return None
    return _dict(ctx.session.get(models.Desktop, desktop_id,
                                 populate_existing=True))


@main_context_manager.writer
def desktop_destroy(ctx, desktop_id):
    ctx.session.execute(sa.delete(models.Binding)
                        .where(models.Binding.desktop_id == desktop_id))
    # Sessions outlive their desktop (history); one still active ends now.
    # Done here, not left to ON DELETE SET NULL: SQLite does not enforce
    # foreign keys by default.
    ctx.session.execute(
        sa.update(models.ClientSession)
        .where(models.ClientSession.desktop_id == desktop_id,
               models.ClientSession.state == "active")
        .values(state="closed", closed_at=utcnow(),
                close_reason="desktop deleted", updated_at=utcnow()))
    ctx.session.execute(
        sa.update(models.ClientSession)
        .where(models.ClientSession.desktop_id == desktop_id)
        .values(desktop_id=None))
    ctx.session.execute(sa.delete(models.Desktop)
                        .where(models.Desktop.id == desktop_id))


# -- faults, desktop actions and reconciliation ----------------------------

# States a desktop can be quarantined from: in service or on its way.
QUARANTINABLE = (models.READY, models.ASSIGNED, models.RELEASING,
                 models.ERROR)
# States whose server must exist: a missing one has vanished.
_SERVER_EXPECTED = (models.READY, models.ASSIGNED, models.RELEASING,
                    models.QUARANTINED)
# IN lists are sent in slices of this many ids (SQLite's variable limit
# is 32766, and long lists make slow plans elsewhere).
_IN_CHUNK = 500


def _chunks(items, size=_IN_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _close_sessions(session, desktop_ids, reason):
    """Close the active sessions of these desktops; return how many."""
    closed = 0
    now = utcnow()
    for part in _chunks(desktop_ids):
        closed += session.execute(
            sa.update(models.ClientSession)
            .where(models.ClientSession.desktop_id.in_(part),
                   models.ClientSession.state == "active")
            .values(state="closed", closed_at=now, close_reason=reason,
                    updated_at=now)).rowcount
    return closed


def _add_events(session, ctx, events):
    """Insert many audit events with one statement."""
    if not events:
        return
    now = utcnow()
    rows = []
    for event in events:
        event = dict(event)
        actor = event.pop("actor", None)
        row = {"kind": "admin", "result": "success", "created_at": now,
               "actor": getattr(ctx, "user_id", None) or actor,
               "request_id": getattr(ctx, "request_id", None),
               "username": None, "target_type": "desktop",
               "target_id": None, "pool_id": None, "desktop_id": None,
               "message": None, "detail": None}
        row.update(event)
        rows.append(row)
    session.execute(sa.insert(models.Event.__table__), rows)


@main_context_manager.writer
def events_record(ctx, events):
    """Record many audit events (dicts of Event fields) at once."""
    _add_events(ctx.session, ctx, events)


@_retry_on_conflict
@main_context_manager.writer
def desktops_quarantine(ctx, faults, faulted_by, source="operator",
                        from_states=QUARANTINABLE):
    """Take desktops out of service for a fault, in one transaction.

    ``faults`` maps desktop ids to the fault's reason. Each desktop still
    in one of ``from_states`` moves to ``quarantined`` (compare-and-swap
    under a row lock) with fault_reason/faulted_at/faulted_by set; the
    active sessions on it are closed, so that the user's next login gets
    a healthy desktop; an event ``desktop.quarantine`` records each.

    Returns the quarantined desktops (dicts with ``previous_state`` and
    ``binding``: the desktop's binding id or None). Desktops that were in
    another state are left out.
    """
    session = ctx.session
    table = models.Desktop.__table__
    now = utcnow()
    states = list(from_states)
    rows = []
    # Core statements, not ORM ones: a health check may quarantine
    # hundreds of desktops, and the ORM would match every UPDATE against
    # every object of the session.
    for part in _chunks(faults):
        rows.extend(session.execute(
            sa.select(table.c.id, table.c.pool_id, table.c.state,
                      table.c.server_id, table.c.assigned_user)
            .where(table.c.id.in_(part), table.c.state.in_(states))
            .with_for_update()).all())
    if not rows:
        return []
    session.execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"),
               # (No IN list in an executemany.)
               sa.or_(*(table.c.state == state for state in states)))
        .values(state=models.QUARANTINED,
                state_reason=("quarantined by %s" % source)[:1000],
                # A restart it waited for is dropped (an operator's
                # restart of the quarantined desktop queues anew).
                boot_queued_at=None, boot_started_at=None,
                boot_action=None,
                fault_reason=sa.bindparam("b_reason"), faulted_at=now,
                faulted_by=(faulted_by or source)[:255], updated_at=now,
                generation=table.c.generation + 1),
        [{"b_id": row.id, "b_reason": faults[row.id][:1000]}
         for row in rows])
    previous = {row.id: row.state for row in rows}
    ids = list(previous)
    _close_sessions(session, ids, "desktop quarantined")
    bindings = {}
    for part in _chunks(ids):
        bindings.update(session.execute(
            sa.select(models.Binding.desktop_id, models.Binding.id)
            .where(models.Binding.desktop_id.in_(part))).all())
    _add_events(session, ctx, [{
        "action": "desktop.quarantine",
        "kind": {"operator": "admin", "client": "client",
                 "login": "allocation"}.get(source, "health"),
        "actor": faulted_by, "target_id": row.id, "desktop_id": row.id,
        "pool_id": row.pool_id, "username": row.assigned_user,
        "message": faults[row.id][:1000],
        "detail": {"source": source, "from_state": row.state,
                   "server_id": row.server_id,
                   "binding": bindings.get(row.id)}} for row in rows])
    result = []
    for part in _chunks(ids):
        for row in session.execute(
                sa.select(table).where(table.c.id.in_(part))).mappings():
            desktop = dict(row)
            desktop["previous_state"] = previous[row["id"]]
            desktop["binding"] = bindings.get(row["id"])
            result.append(desktop)
    return result


@_retry_on_conflict
@main_context_manager.writer
def desktop_unquarantine(ctx, desktop_id, action):
    """Put a quarantined desktop back in service.

    ``action`` is ``pool`` (the pool's release action), ``keep`` (back to
    ready as it is), ``reboot``, ``rebuild`` or ``delete``. A desktop that
    is still bound (no ready desktop could take its binding over) goes
    back to its owner as ``assigned`` whatever the action. Returns (the
    desktop, the action taken).
    """
    session = ctx.session
    row = session.get(models.Desktop, desktop_id, with_for_update=True)
    if row is None:
        raise exception.DesktopNotFound(desktop=desktop_id)
    if row.state != models.QUARANTINED:
        raise exception.DesktopNotAvailable(desktop=desktop_id,
                                            state=row.state,
                                            expected=models.QUARANTINED)
    pool = session.get(models.Pool, row.pool_id)
    if action == "pool":
        action = pool.release_action if pool is not None else "delete"
    binding = session.execute(
        sa.select(models.Binding)
        .where(models.Binding.desktop_id == desktop_id)
    ).scalar_one_or_none()
    values = {"fault_reason": None, "faulted_at": None, "faulted_by": None,
              "state_reason": None, "boot_queued_at": None,
              "boot_started_at": None, "boot_action": None}
    if binding is not None and action != "delete":
        values.update(state=models.ASSIGNED,
                      assigned_user=(binding.key if binding.kind == "user"
                                     else None),
                      assigned_at=utcnow())
    elif action == "keep":
        values.update(state=models.READY, assigned_user=None,
                      assigned_at=None)
    elif action == "delete":
        values.update(state=models.DELETING,
                      state_reason="deleted after quarantine")
        if binding is not None:
            # Its owner gets a healthy desktop at the next login.
            session.delete(binding)
    else:
        values.update(state=models.RELEASING, assigned_user=None,
                      assigned_at=None, state_reason="release:%s" % action,
                      boot_queued_at=utcnow(), boot_action=action)
    session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop_id,
               models.Desktop.state == models.QUARANTINED)
        .values(updated_at=utcnow(),
                generation=models.Desktop.generation + 1, **values))
    _record(session, ctx, "admin", "desktop.unquarantine",
            target_type="desktop", target_id=desktop_id,
            desktop_id=desktop_id, pool_id=row.pool_id,
            message=row.fault_reason,
            detail={"action": action, "state": values["state"],
                    "bound": binding is not None})
    session.flush()
    session.expire_all()
    return _dict(session.get(models.Desktop, desktop_id)), action


@_retry_on_conflict
@main_context_manager.writer
def desktop_retire(ctx, desktop_id, from_states, reason, action):
    """Move a desktop to ``deleting`` and close its sessions.

    Compare-and-swap from ``from_states`` (DesktopNotAvailable when it is
    in another state); its binding, if any, is removed with it later
    (desktop_destroy). Records the event ``action``.
    """
    session = ctx.session
    row = session.get(models.Desktop, desktop_id, with_for_update=True)
    if row is None:
        raise exception.DesktopNotFound(desktop=desktop_id)
    if row.state not in from_states:
        raise exception.DesktopNotAvailable(
            desktop=desktop_id, state=row.state,
            expected=" or ".join(from_states))
    previous = row.state
    session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop_id,
               models.Desktop.state == previous)
        .values(state=models.DELETING, state_reason=reason[:1000],
                updated_at=utcnow(),
                generation=models.Desktop.generation + 1))
    closed = _close_sessions(session, [desktop_id], reason[:255])
    _record(session, ctx, "admin", action, target_type="desktop",
            target_id=desktop_id, desktop_id=desktop_id,
            pool_id=row.pool_id, username=row.assigned_user,
            message=reason[:1000],
            detail={"from_state": previous, "sessions_closed": closed})
    session.flush()
    session.expire_all()
    return _dict(session.get(models.Desktop, desktop_id))


@_retry_on_conflict
@main_context_manager.writer
def desktop_move(ctx, desktop_id, username):
    """Give a user-bound desktop (and its binding) to another user.

    The previous owner's sessions on it are closed; the new owner gets it
    at the next login. Conflict when the desktop is not bound to a user,
    when it already is this user's, or when the user already has a user
    binding (one desktop per user binding).
    """
    session = ctx.session
    row = session.get(models.Desktop, desktop_id, with_for_update=True)
    if row is None:
        raise exception.DesktopNotFound(desktop=desktop_id)
    binding = session.execute(
        sa.select(models.Binding)
        .where(models.Binding.desktop_id == desktop_id)
        .with_for_update()).scalar_one_or_none()
    if row.state != models.ASSIGNED:
        raise exception.DesktopNotAvailable(desktop=desktop_id,
                                            state=row.state,
                                            expected=models.ASSIGNED)
    if binding is None or binding.kind != "user":
        raise exception.Conflict(
            reason="desktop %s has no user binding (%s); a floating "
                   "desktop goes back to its pool at logout, bind it "
                   "first" % (desktop_id, "%s binding" % binding.kind
                              if binding is not None else "unbound"))
    if binding.key == username:
        raise exception.Conflict(reason="desktop %s is already bound to "
                                        "user %s" % (desktop_id, username))
    taken = session.execute(
        sa.select(models.Binding.id)
        .where(models.Binding.kind == "user",
               models.Binding.key == username)).first()
    if taken is not None:
        raise exception.BindingExists(kind="user", key=username)
    previous = binding.key
    session.execute(
        sa.update(models.Binding).where(models.Binding.id == binding.id)
        .values(key=username, updated_at=utcnow(),
                revision=models.Binding.revision + 1))
    session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop_id,
               models.Desktop.state == models.ASSIGNED)
        .values(assigned_user=username, assigned_at=utcnow(),
                updated_at=utcnow(),
                generation=models.Desktop.generation + 1))
    closed = _close_sessions(session, [desktop_id], "desktop moved")
    _record(session, ctx, "admin", "desktop.move", target_type="desktop",
            target_id=desktop_id, desktop_id=desktop_id,
            pool_id=row.pool_id, username=username,
            message="from %s to %s" % (previous, username),
            detail={"from_user": previous, "to_user": username,
                    "binding": binding.id, "sessions_closed": closed})
    session.flush()
    session.expire_all()
    return _dict(session.get(models.Desktop, desktop_id))


@main_context_manager.reader
def reconcile_desktops(ctx, pool_ids=None):
    """The desktops the reconciler compares with the cloud, in one query.

    Plain dicts of the columns it needs, and only those (no ORM objects,
    no timestamps to parse: a reconciler pass may read tens of thousands
    of rows, and decoding them is most of its cost on PyMySQL).
    ``pool_ids`` None: all.
    """
    table = models.Desktop.__table__
    stmt = sa.select(table.c.id, table.c.pool_id, table.c.server_id,
                     table.c.state, table.c.address, table.c.host)
    rows = []
    if pool_ids is None:
        rows = ctx.session.execute(stmt).mappings().all()
    else:
        for part in _chunks(pool_ids):
            rows.extend(ctx.session.execute(
                stmt.where(table.c.pool_id.in_(part))).mappings().all())
    return [dict(row) for row in rows]


@main_context_manager.writer
def desktops_adopt(ctx, attach, create):
    """Record servers the broker made but forgot.

    ``attach``: [(desktop_id, server_id)] for building desktops whose
    server id was never written (set only where it is still NULL).
    ``create``: new desktop rows (dicts) for servers of a pool that
    wants them. Returns the number of rows attached and created.
    """
    session = ctx.session
    table = models.Desktop.__table__
    now = utcnow()
    attached = 0
    if attach:
        session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"),
                   table.c.server_id.is_(None),
                   table.c.state == models.BUILDING)
            .values(server_id=sa.bindparam("b_server"), updated_at=now,
                    generation=table.c.generation + 1),
            [{"b_id": d, "b_server": s} for d, s in attach])
        # (An executemany's row count is not reliable on every driver.)
        for part in _chunks(attach):
            attached += session.execute(
                sa.select(sa.func.count()).select_from(table)
                .where(table.c.id.in_([d for d, _ in part]),
                       table.c.server_id.in_([s for _, s in part]))
            ).scalar()
    if create:
        session.execute(sa.insert(table), [
            dict({"state": models.BUILDING, "generation": 1,
                  "created_at": now}, **row) for row in create])
    _add_events(session, ctx, [{
        "kind": "reconcile", "action": "desktop.adopt",
        "actor": "reconciler", "target_id": row["id"],
        "desktop_id": row["id"], "pool_id": row["pool_id"],
        "message": "server %s adopted" % row["server_id"]}
        for row in create] + [{
            "kind": "reconcile", "action": "desktop.adopt",
            "actor": "reconciler", "target_id": desktop_id,
            "desktop_id": desktop_id,
            "message": "server id %s recorded" % server_id}
        for desktop_id, server_id in attach])
    return attached, len(create)


@main_context_manager.writer
def desktops_mark_vanished(ctx, desktop_ids, before):
    """Mark desktops whose server is gone ``error`` ('server vanished').

    Only desktops in a state that needs a server and not changed since
    ``before`` (the time the cloud was listed: a server created since
    then is missing from the listing, not from the cloud). The pool
    manager then replaces them (moving a binding first); their sessions
    are closed. Returns the ids marked.
    """
    session = ctx.session
    table = models.Desktop.__table__
    changed = sa.func.coalesce(table.c.updated_at, table.c.created_at)
    marked = []
    now = utcnow()
    for part in _chunks(desktop_ids):
        rows = session.execute(
            sa.select(table.c.id, table.c.pool_id, table.c.state,
                      table.c.server_id)
            .where(table.c.id.in_(part),
                   table.c.state.in_(list(_SERVER_EXPECTED)),
                   changed < before)
            .with_for_update()).all()
        if not rows:
            continue
        ids = [row.id for row in rows]
        session.execute(
            sa.update(table)
            .where(table.c.id.in_(ids),
                   table.c.state.in_(list(_SERVER_EXPECTED)))
            .values(state=models.ERROR, state_reason="server vanished",
                    updated_at=now, generation=table.c.generation + 1))
        # Nobody can work on them: the users' next logins get others.
        _close_sessions(session, ids, "server vanished")
        _add_events(session, ctx, [{
            "kind": "reconcile", "action": "desktop.vanished",
            "result": "failure", "actor": "reconciler",
            "target_id": row.id, "desktop_id": row.id,
            "pool_id": row.pool_id,
            "message": "server %s vanished" % row.server_id,
            "detail": {"from_state": row.state}} for row in rows])
        marked.extend(ids)
    return marked


@main_context_manager.writer
def desktops_update_placement(ctx, changes):
    """Write the address and host the cloud reports, in bulk.

    ``changes``: [{"id", "address", "host"}]. Only rows still holding a
    server are changed; no state change, no generation bump.
    """
    if not changes:
        return 0
    table = models.Desktop.__table__
    stmt = (sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"),
                   table.c.server_id.is_not(None))
            .values(address=sa.bindparam("b_address"),
                    host=sa.bindparam("b_host"), updated_at=utcnow()))
    ctx.session.execute(stmt, [
        {"b_id": c["id"], "b_address": c["address"], "b_host": c["host"]}
        for c in changes])
    return len(changes)


# -- allocators --------------------------------------------------------------

@_translate_duplicates("allocator")
@main_context_manager.writer
def allocator_create(ctx, values):
    values = dict(values)
    values.setdefault("id", uuidutils.generate_uuid())
    if values.get("pool_id"):
        values["pool_id"] = _get_by_id_or_name(
            ctx.session, models.Pool, values["pool_id"],
            exception.PoolNotFound, pool=values["pool_id"]).id
    if values.get("is_default"):
        _clear_default(ctx.session)
    row = models.Allocator(**values)
    ctx.session.add(row)
    ctx.session.flush()
    _record(ctx.session, ctx, "admin", "allocator.create",
            target_type="allocator", target_id=row.id, message=row.name)
    return _dict(row)


def _clear_default(session, keep=None):
    stmt = sa.update(models.Allocator).where(
        models.Allocator.is_default.is_(True))
    if keep:
        stmt = stmt.where(models.Allocator.id != keep)
    session.execute(stmt.values(is_default=False))


@main_context_manager.reader
def allocator_get(ctx, ident):
    return _dict(_get_by_id_or_name(ctx.session, models.Allocator, ident,
                                    exception.AllocatorNotFound,
                                    allocator=ident))


@main_context_manager.reader
def allocator_list(ctx, filters=None, limit=None, marker=None,
                   sort_key="priority", sort_dir="asc"):
    return _paginate(ctx.session, models.Allocator, filters, limit, marker,
                     sort_key, sort_dir,
                     functools.partial(exception.AllocatorNotFound,
                                       allocator=marker))


@main_context_manager.writer
def allocator_update(ctx, ident, values, expected_revision=None):
    row = _get_by_id_or_name(ctx.session, models.Allocator, ident,
                             exception.AllocatorNotFound, allocator=ident)
    values = dict(values)
    if values.get("pool_id"):
        values["pool_id"] = _get_by_id_or_name(
            ctx.session, models.Pool, values["pool_id"],
            exception.PoolNotFound, pool=values["pool_id"]).id
    if values.get("is_default"):
        _clear_default(ctx.session, keep=row.id)
    try:
        _update_revisioned(ctx.session, models.Allocator, row, values,
                           expected_revision, "Allocator")
    except db_exc.DBDuplicateEntry:
        raise exception.DuplicateName(resource="allocator",
                                      name=values.get("name"))
    _record(ctx.session, ctx, "admin", "allocator.update",
            target_type="allocator", target_id=row.id,
            detail={"changed": sorted(values)})
    return _dict(row)


@main_context_manager.writer
def allocator_delete(ctx, ident):
    row = _get_by_id_or_name(ctx.session, models.Allocator, ident,
                             exception.AllocatorNotFound, allocator=ident)
    ctx.session.delete(row)
    _record(ctx.session, ctx, "admin", "allocator.delete",
            target_type="allocator", target_id=row.id, message=row.name)


def reorder_ids(allocators, idents):
    """Resolve an ordered list of allocator ids or names.

    ``allocators`` is every allocator (dicts or rows with id and name);
    the list must name each exactly once. Raises Invalid otherwise.
    """
    by_key = {}
    for a in allocators:
        by_key[_field(a, "id")] = _field(a, "id")
        by_key.setdefault(_field(a, "name"), _field(a, "id"))
    unknown = [i for i in idents if i not in by_key]
    if unknown:
        raise exception.Invalid(reason="unknown allocators: %s" %
                                ", ".join(unknown[:10]))
    ids, seen, twice = [], set(), []
    for ident in idents:
        allocator_id = by_key[ident]
        if allocator_id in seen:
            twice.append(ident)
        seen.add(allocator_id)
        ids.append(allocator_id)
    if twice:
        raise exception.Invalid(reason="allocators listed more than once: "
                                       "%s" % ", ".join(twice[:10]))
    missing = sorted(_field(a, "name") for a in allocators
                     if _field(a, "id") not in seen)
    if missing:
        raise exception.Invalid(reason="the list must name every "
                                       "allocator; missing: %s" %
                                       ", ".join(missing[:10]))
    return ids


def _field(item, name):
    return item[name] if isinstance(item, dict) else getattr(item, name)


@_retry_on_conflict
@main_context_manager.writer
def allocator_reorder(ctx, idents, expected_ids=None, step=10):
    """Give the allocators priorities step, 2*step, ... in this order.

    One transaction with every allocator row locked: all priorities
    change or none, and a concurrent update of an allocator either waits
    for the reorder or makes it wait. ``expected_ids`` is the set of
    allocators the caller checked the list against: when the set is not
    the same any more (one was created or deleted meanwhile), Conflict.
    Only allocators whose priority changes get a new revision.
    """
    session = ctx.session
    rows = session.execute(
        sa.select(models.Allocator).order_by(models.Allocator.id)
        .with_for_update()).scalars().all()
    if expected_ids is not None and \
            {r.id for r in rows} != set(expected_ids):
        raise exception.Conflict(reason="the allocators changed while "
                                        "they were being reordered; list "
                                        "them again")
    ids = reorder_ids(rows, idents)
    by_id = {r.id: r for r in rows}
    changed = []
    now = utcnow()
    for position, allocator_id in enumerate(ids, start=1):
        row = by_id[allocator_id]
        if row.priority == position * step:
            continue
        session.execute(
            sa.update(models.Allocator)
            .where(models.Allocator.id == row.id)
            .values(priority=position * step, updated_at=now,
                    revision=models.Allocator.revision + 1))
        changed.append(row.name)
    _record(session, ctx, "admin", "allocator.reorder",
            target_type="allocator",
            detail={"order": [by_id[i].name for i in ids],
                    "changed": changed})
    session.flush()
    session.expire_all()
    return [_dict(session.get(models.Allocator, i)) for i in ids]


# -- bindings ----------------------------------------------------------------

@main_context_manager.reader
def binding_get(ctx, binding_id):
    row = ctx.session.get(models.Binding, binding_id)
    if row is None:
        raise exception.BindingNotFound(binding=binding_id)
    return _dict(row)


@main_context_manager.reader
def binding_find(ctx, kind, key):
    row = ctx.session.execute(
        sa.select(models.Binding).where(models.Binding.kind == kind,
                                        models.Binding.key == key)
    ).scalar_one_or_none()
    return _dict(row)


@main_context_manager.reader
def binding_list(ctx, filters=None, limit=None, marker=None,
                 sort_key="created_at", sort_dir="asc"):
    return _paginate(ctx.session, models.Binding, filters, limit, marker,
                     sort_key, sort_dir,
                     functools.partial(exception.BindingNotFound,
                                       binding=marker))


@main_context_manager.writer
def binding_create(ctx, kind, key, desktop_id):
    """Bind an existing desktop to a user, seat or client (admin action).

    The desktop must be ready (it is taken out of the pool) or already
    assigned to that very user without a binding.
    """
    desktop = ctx.session.get(models.Desktop, desktop_id)
    if desktop is None:
        raise exception.DesktopNotFound(desktop=desktop_id)
    existing = ctx.session.execute(
        sa.select(models.Binding).where(
            sa.or_(sa.and_(models.Binding.kind == kind,
                           models.Binding.key == key),
                   models.Binding.desktop_id == desktop_id))
    ).scalars().first()
    if existing is not None:
        if existing.kind == kind and existing.key == key:
            raise exception.BindingExists(kind=kind, key=key)
        raise exception.Conflict(
            reason="desktop %s is already bound to %s %s" % (
                desktop_id, existing.kind, existing.key))
    assignee = key if kind == "user" else None
    result = ctx.session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop_id,
               sa.or_(models.Desktop.state == models.READY,
                      sa.and_(models.Desktop.state == models.ASSIGNED,
                              models.Desktop.assigned_user == key)))
        .values(state=models.ASSIGNED, assigned_user=assignee,
                assigned_at=utcnow(), updated_at=utcnow(),
                generation=models.Desktop.generation + 1))
    if result.rowcount != 1:
        raise exception.DesktopNotAvailable(desktop=desktop_id,
                                            state=desktop.state,
                                            expected="ready")
    binding = models.Binding(id=uuidutils.generate_uuid(), kind=kind,
                             key=key, desktop_id=desktop_id,
                             pool_id=desktop.pool_id, created_at=utcnow())
    ctx.session.add(binding)
    try:
        ctx.session.flush()
    except db_exc.DBDuplicateEntry:
        raise exception.BindingExists(kind=kind, key=key)
    _record(ctx.session, ctx, "admin", "binding.create",
            target_type="binding", target_id=binding.id,
            desktop_id=desktop_id, pool_id=desktop.pool_id,
            username=assignee, message="%s %s" % (kind, key))
    return _dict(binding)


@main_context_manager.writer
def binding_delete(ctx, binding_id, release_desktop=True):
    """Remove a binding; the desktop goes through its pool's release."""
    row = ctx.session.get(models.Binding, binding_id)
    if row is None:
        raise exception.BindingNotFound(binding=binding_id)
    desktop_id = row.desktop_id
    ctx.session.delete(row)
    desktop = None
    if release_desktop:
        active = ctx.session.execute(
            sa.select(sa.func.count()).select_from(models.ClientSession)
            .where(models.ClientSession.desktop_id == desktop_id,
                   models.ClientSession.state == "active")).scalar()
        if not active:
            desktop = ctx.session.get(models.Desktop, desktop_id)
            if desktop is not None and desktop.state == models.ASSIGNED:
                pool = ctx.session.get(models.Pool, desktop.pool_id)
                _start_release(ctx.session, desktop, pool)
    _record(ctx.session, ctx, "admin", "binding.delete",
            target_type="binding", target_id=binding_id,
            desktop_id=desktop_id, message="%s %s" % (row.kind, row.key))
    return _dict(desktop)


@main_context_manager.writer
def binding_move(ctx, binding_id, desktop_id, expected_revision=None):
    """Move a binding to another desktop of its pool (admin action).

    The target must be ready (or, for a user binding, already assigned
    to that user) and bound to nobody. The desktop left behind goes
    through its pool's release action unless a session still uses it
    (then the logout releases it).
    """
    session = ctx.session
    row = session.execute(
        sa.select(models.Binding).where(models.Binding.id == binding_id)
        .with_for_update()).scalar_one_or_none()
    if row is None:
        raise exception.BindingNotFound(binding=binding_id)
    if expected_revision is not None and row.revision != expected_revision:
        raise exception.Conflict(
            reason="binding %s was changed by someone else (revision %s, "
                   "expected %s)" % (row.id, row.revision,
                                     expected_revision))
    if desktop_id == row.desktop_id:
        return _dict(row)
    target = session.get(models.Desktop, desktop_id)
    if target is None:
        raise exception.DesktopNotFound(desktop=desktop_id)
    if target.pool_id != row.pool_id:
        raise exception.Invalid(
            reason="desktop %s is not in the binding's pool %s" % (
                desktop_id, row.pool_id))
    other = session.execute(
        sa.select(models.Binding)
        .where(models.Binding.desktop_id == desktop_id)).scalars().first()
    if other is not None:
        raise exception.Conflict(
            reason="desktop %s is already bound to %s %s" % (
                desktop_id, other.kind, other.key))
    owner = row.key if row.kind == "user" else None
    claimable = models.Desktop.state == models.READY
    if owner is not None:
        claimable = sa.or_(claimable, sa.and_(
            models.Desktop.state == models.ASSIGNED,
            models.Desktop.assigned_user == owner))
    claimed = session.execute(
        sa.update(models.Desktop)
        .where(models.Desktop.id == desktop_id, claimable)
        .values(state=models.ASSIGNED, assigned_user=owner,
                assigned_at=utcnow(), updated_at=utcnow(),
                generation=models.Desktop.generation + 1)).rowcount
    if claimed != 1:
        raise exception.DesktopNotAvailable(desktop=desktop_id,
                                            state=target.state,
                                            expected="ready")
    old_id = row.desktop_id
    try:
        session.execute(
            sa.update(models.Binding).where(models.Binding.id == row.id)
            .values(desktop_id=desktop_id, updated_at=utcnow(),
                    revision=models.Binding.revision + 1))
    except db_exc.DBDuplicateEntry:
        raise exception.Conflict(reason="desktop %s was bound meanwhile" %
                                 desktop_id)
    release = None
    active = session.execute(
        sa.select(sa.func.count()).select_from(models.ClientSession)
        .where(models.ClientSession.desktop_id == old_id,
               models.ClientSession.state == "active")).scalar()
    old = session.get(models.Desktop, old_id, with_for_update=True)
    if not active and old is not None and old.state == models.ASSIGNED:
        release = _start_release(session, old,
                                 session.get(models.Pool, old.pool_id))
    _record(session, ctx, "admin", "binding.update", target_type="binding",
            target_id=row.id, desktop_id=desktop_id, pool_id=row.pool_id,
            username=owner, message="%s %s" % (row.kind, row.key),
            detail={"from_desktop": old_id, "to_desktop": desktop_id,
                    "release": release})
    session.flush()
    session.expire_all()
    return _dict(session.get(models.Binding, row.id))


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


def _ready_statements(exclude):
    """The ready-desktop reads, without the desktops in ``exclude``."""
    if not exclude:
        return _READY, _READY_SKIP_LOCKED, _READY_WAIT
    # A login's next try after a failed connection (rare): built here.
    ready = _READY.where(_DESKTOPS.c.id.not_in(sorted(exclude)))
    return (ready, ready.limit(1).with_for_update(skip_locked=True),
            ready.limit(1).with_for_update())


def _claim_ready(connection, pool_id, username, attempts, candidates,
                 exclude=()):
    """Take one ready desktop of the pool: the atomic claim.

    Returns the claimed desktop (a _RowView with its new values), or None
    when the pool has none (but those in ``exclude``).
    """
    ready, ready_skip_locked, ready_wait = _ready_statements(exclude)
    locking = _locks_rows(connection)
    params = {"p_pool_id": pool_id}
    for _attempt in range(attempts):
        if locking:
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
        else:
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


@_retry_on_conflict
@main_context_manager.writer
def allocate(ctx, request, decision, session_values, attempts=8,
             candidates=16, choose=None, register_seat=False,
             exclude=()):
    """Give the user a desktop according to an allocator's decision.

    ``request`` is the AllocationRequest dict (username, client_id, seat);
    ``decision`` names the pool and, for bound allocators, the binding
    (kind and key). ``session_values`` holds the new session's id, token
    hash and expiry. Everything here is one transaction: the claim, the
    binding, the session and the audit events commit together or not at
    all.

    With ``choose`` (and ``decision`` None), the decision is made inside
    this transaction too: ``choose(inputs)`` gets what
    :func:`allocation_inputs` returns, read in this transaction, and
    returns the decision dict (or raises to refuse the login). A login is
    then a single transaction: the conductor's hot path (R7).

    A ``seat`` no record has is registered with ``register_seat`` (a
    ``seat.register`` event in this transaction), else the login is
    refused (SeatNotRegistered): a session never names a seat the broker
    does not know.

    ``exclude``: desktops a claim from ready must not take (those a
    login tried already: see conductor/login.py).
    """
    session = ctx.session
    username = request["username"]
    # The transaction's connection, for the Core statements of the login
    # (asking the session for it each time costs more than one would
    # think).
    connection = session.connection()
    _lock_user(connection, username)
    pools = {}
    seat_name = request.get("seat")
    if choose is not None:
        inputs = _allocation_inputs(connection, seat_name,
                                    request["client_id"])
        if seat_name and inputs["seat"] is None:
            inputs["seat"] = _unknown_seat(connection, ctx, request,
                                           register_seat)
        decision = choose(inputs)
        # The pools were read in this transaction: no second read.
        pools = {p["id"]: p for p in inputs["pools"]}
    elif seat_name and not _rows(connection, _SEAT_BY_NAME,
                                 {"p_name": seat_name}):
        _unknown_seat(connection, ctx, request, register_seat)
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
        "updated_at": None}
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
                          "reused": reused, "superseded": superseded})
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

    db.allocate committed the claim; the console lookup that followed
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
    # Locks in the order allocate takes them: the desktop, its sessions.
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
    # session has just been given. Locks in the order allocate takes
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


# -- seats and thin clients --------------------------------------------------

@main_context_manager.reader
def allocation_inputs(ctx, seat_name, client_id):
    """What a login needs before the claim, in one read transaction.

    The seat and thin client records (or None), every allocator and
    every pool (both small tables).
    """
    return _allocation_inputs(ctx.session.connection(), seat_name,
                              client_id)


def _rows(connection, stmt, params=None):
    """Plain dicts of a Core SELECT: no ORM objects to build and track."""
    return [dict(row) for row in connection.execute(stmt, params).mappings()]


def _allocation_inputs(connection, seat_name, client_id):
    seat = None
    if seat_name:
        seat = next(iter(_rows(connection, _SEAT_BY_NAME,
                               {"p_name": seat_name})), None)
    client = next(iter(_rows(connection, _CLIENT_BY_ID,
                             {"p_client_id": client_id})), None)
    return {"seat": seat, "client": client,
            "allocators": _rows(connection, _ALL_ALLOCATORS),
            "pools": _rows(connection, _ALL_POOLS)}


@main_context_manager.reader
def seat_find(ctx, name):
    return _dict(ctx.session.execute(
        sa.select(models.Seat).where(models.Seat.name == name)
    ).scalar_one_or_none())


def _seat_row(session, ident):
    return _get_by_id_or_name(session, models.Seat, ident,
                              exception.SeatNotFound, seat=ident)


@_translate_duplicates("seat")
@main_context_manager.writer
def seat_create(ctx, values):
    values = dict(values)
    values.setdefault("id", uuidutils.generate_uuid())
    row = models.Seat(**values)
    ctx.session.add(row)
    ctx.session.flush()
    # As stored: MariaDB keeps no fractions of seconds.
    ctx.session.refresh(row)
    _record(ctx.session, ctx, "admin", "seat.create", target_type="seat",
            target_id=row.id, message=row.name)
    return _dict(row)


@main_context_manager.reader
def seat_get(ctx, ident):
    return _dict(_seat_row(ctx.session, ident))


@main_context_manager.reader
def seat_list(ctx, filters=None, limit=None, marker=None, sort_key="name",
              sort_dir="asc"):
    return _paginate(ctx.session, models.Seat, filters, limit, marker,
                     sort_key, sort_dir,
                     functools.partial(exception.SeatNotFound, seat=marker))


@main_context_manager.writer
def seat_update(ctx, ident, values, expected_revision=None):
    row = _seat_row(ctx.session, ident)
    old_name = row.name
    try:
        _update_revisioned(ctx.session, models.Seat, row, values,
                           expected_revision, "Seat")
        if values.get("name", old_name) != old_name:
            # Seat bindings are keyed by the seat's name (the name a thin
            # client sends at login): they follow the rename.
            ctx.session.execute(
                sa.update(models.Binding)
                .where(models.Binding.kind == "seat",
                       models.Binding.key == old_name)
                .values(key=values["name"], updated_at=utcnow(),
                        revision=models.Binding.revision + 1))
    except db_exc.DBDuplicateEntry:
        raise exception.DuplicateName(resource="seat",
                                      name=values.get("name"))
    _record(ctx.session, ctx, "admin", "seat.update", target_type="seat",
            target_id=row.id, detail={"changed": sorted(values)})
    return _dict(row)


@main_context_manager.writer
def seat_delete(ctx, ident):
    row = _seat_row(ctx.session, ident)
    clients = ctx.session.execute(
        sa.select(models.ThinClient.client_id)
        .where(models.ThinClient.seat_id == row.id).limit(5)
    ).scalars().all()
    if clients:
        raise exception.InUse(resource="Seat", id=row.id,
                              reason="thin clients %s are at it" %
                              ", ".join(clients))
    binding = ctx.session.execute(
        sa.select(models.Binding.id)
        .where(models.Binding.kind == "seat", models.Binding.key == row.name)
    ).scalar_one_or_none()
    if binding is not None:
        raise exception.InUse(resource="Seat", id=row.id,
                              reason="binding %s binds a desktop to it" %
                              binding)
    ctx.session.delete(row)
    _record(ctx.session, ctx, "admin", "seat.delete", target_type="seat",
            target_id=row.id, message=row.name)


def _thin_client_row(session, ident):
    for column in (models.ThinClient.id, models.ThinClient.client_id):
        row = session.execute(
            sa.select(models.ThinClient).where(column == ident)
        ).scalar_one_or_none()
        if row is not None:
            return row
    raise exception.ThinClientNotFound(client=ident)


def _thin_client_dicts(session, rows):
    """Thin clients as dicts, with the name of their seat as ``seat``."""
    seat_ids = {r["seat_id"] for r in rows if r["seat_id"]}
    names = {}
    if seat_ids:
        names = dict(session.execute(
            sa.select(models.Seat.id, models.Seat.name)
            .where(models.Seat.id.in_(list(seat_ids)))).all())
    for row in rows:
        row["seat"] = names.get(row["seat_id"])
    return rows


def _resolve_seat(session, values):
    """``seat`` (a name, an id or None) to ``seat_id``; a typo is a 404."""
    values = dict(values)
    if "seat" in values:
        seat = values.pop("seat")
        values["seat_id"] = (None if seat is None else
                             _seat_row(session, seat).id)
    return values


@_translate_duplicates("thin client", name_key="client_id")
@main_context_manager.writer
def thin_client_create(ctx, values):
    values = _resolve_seat(ctx.session, values)
    values.setdefault("id", uuidutils.generate_uuid())
    row = models.ThinClient(**values)
    ctx.session.add(row)
    ctx.session.flush()
    ctx.session.refresh(row)
    _record(ctx.session, ctx, "admin", "thin_client.create",
            target_type="thin_client", target_id=row.id,
            message=row.client_id)
    return _thin_client_dicts(ctx.session, [_dict(row)])[0]


@main_context_manager.reader
def thin_client_get(ctx, ident):
    return _thin_client_dicts(
        ctx.session, [_dict(_thin_client_row(ctx.session, ident))])[0]


@main_context_manager.reader
def thin_client_list(ctx, filters=None, limit=None, marker=None,
                     sort_key="client_id", sort_dir="asc"):
    filters = dict(filters or {})
    if filters.get("seat") is not None:
        seat = filters.pop("seat")
        seat_id = ctx.session.execute(
            sa.select(models.Seat.id).where(
                sa.or_(models.Seat.id == seat, models.Seat.name == seat))
        ).scalars().first()
        if seat_id is None:
            return []
        filters["seat_id"] = seat_id
    rows = _paginate(ctx.session, models.ThinClient, filters, limit, marker,
                     sort_key, sort_dir,
                     functools.partial(exception.ThinClientNotFound,
                                       client=marker))
    return _thin_client_dicts(ctx.session, rows)


@main_context_manager.writer
def thin_client_update(ctx, ident, values, expected_revision=None):
    row = _thin_client_row(ctx.session, ident)
    values = _resolve_seat(ctx.session, values)
    try:
        _update_revisioned(ctx.session, models.ThinClient, row, values,
                           expected_revision, "Thin client")
    except db_exc.DBDuplicateEntry:
        raise exception.DuplicateName(resource="thin client",
                                      name=values.get("client_id"))
    _record(ctx.session, ctx, "admin", "thin_client.update",
            target_type="thin_client", target_id=row.id,
            detail={"changed": sorted(values)})
    return _thin_client_dicts(ctx.session, [_dict(row)])[0]


@main_context_manager.writer
def thin_client_delete(ctx, ident):
    row = _thin_client_row(ctx.session, ident)
    ctx.session.delete(row)
    _record(ctx.session, ctx, "admin", "thin_client.delete",
            target_type="thin_client", target_id=row.id,
            message=row.client_id)


@_retry_on_conflict
@main_context_manager.writer
def thin_clients_mark_offline(ctx, seen_before, limit=1000):
    """Set offline the online clients last seen before ``seen_before``.

    One event per client (when it went silent matters to asset managers).
    On MariaDB and PostgreSQL the rows are locked and others' locked rows
    skipped, so that two conductors sweeping at once record each client
    once. Returns the client_ids set offline (at most ``limit``).
    """
    connection = ctx.session.connection()
    clients = models.ThinClient.__table__
    stmt = (sa.select(clients.c.id, clients.c.client_id,
                      clients.c.last_seen_at)
            .where(clients.c.status == "online",
                   clients.c.last_seen_at < seen_before)
            .order_by(clients.c.last_seen_at)
            .limit(limit))
    if _locks_rows(connection):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = connection.execute(stmt).all()
    if not rows:
        return []
    # Not an edit either: revision and updated_at stay as they are.
    connection.execute(
        sa.update(clients)
        .where(clients.c.id.in_([row.id for row in rows]),
               clients.c.status == "online")
        .values(status="offline", updated_at=clients.c.updated_at))
    connection.execute(_INSERT_EVENT, [
        _event_values(ctx, "client", "thin_client.offline",
                      actor="vdi-broker", target_type="thin_client",
                      target_id=row.id, message=row.client_id,
                      detail={"last_seen_at": row.last_seen_at.isoformat()
                              if row.last_seen_at else None})
        for row in rows])
    return [row.client_id for row in rows]


@_retry_on_conflict
@main_context_manager.writer
def thin_client_heartbeat(ctx, client_id, values, register=False):
    """Record a thin client's heartbeat: one UPDATE, no event.

    Heartbeats change neither the revision nor updated_at: they are not
    edits, and an operator's If-Match must not go stale every minute.
    With ``register``, an unknown client is created (and that is an
    event). Returns True when the client was created.
    """
    values = dict(values, status="online", last_seen_at=utcnow())
    result = ctx.session.execute(
        sa.update(models.ThinClient)
        .where(models.ThinClient.client_id == client_id)
        .values(updated_at=models.ThinClient.updated_at, **values))
    if result.rowcount == 1:
        return False
    if not register:
        raise exception.ThinClientNotFound(client=client_id)
    row = models.ThinClient(id=uuidutils.generate_uuid(),
                            client_id=client_id, **values)
    ctx.session.add(row)
    # Two first heartbeats at once: the loser's duplicate key runs the
    # transaction again, which then updates the winner's row.
    ctx.session.flush()
    _record(ctx.session, ctx, "client", "thin_client.register",
            actor=client_id, target_type="thin_client", target_id=row.id,
            message=client_id)
    return True


@main_context_manager.reader
def thin_client_find(ctx, client_id):
    return _dict(ctx.session.execute(
        sa.select(models.ThinClient)
        .where(models.ThinClient.client_id == client_id)
    ).scalar_one_or_none())


# -- schedules ---------------------------------------------------------------

def _schedule_row(session, ident):
    row = session.execute(
        sa.select(models.Schedule).where(models.Schedule.id == ident)
    ).scalar_one_or_none()
    if row is None:
        raise exception.ScheduleNotFound(schedule=ident)
    return row


@_translate_duplicates("schedule")
@main_context_manager.writer
def schedule_create(ctx, values):
    values = dict(values)
    values.setdefault("id", uuidutils.generate_uuid())
    # The pool must exist (and may be named): the FK alone would give a
    # database error, not a 404.
    pool = _get_by_id_or_name(ctx.session, models.Pool, values["pool_id"],
                              exception.PoolNotFound, pool=values["pool_id"])
    values["pool_id"] = pool.id
    row = models.Schedule(**values)
    ctx.session.add(row)
    ctx.session.flush()
    _record(ctx.session, ctx, "admin", "schedule.create",
            target_type="schedule", target_id=row.id, pool_id=pool.id,
            message=row.name)
    return _dict(row)


@main_context_manager.reader
def schedule_get(ctx, ident):
    return _dict(_schedule_row(ctx.session, ident))


@main_context_manager.reader
def schedule_list(ctx, filters=None, limit=None, marker=None,
                  sort_key="name", sort_dir="asc"):
    return _paginate(ctx.session, models.Schedule, filters, limit, marker,
                     sort_key, sort_dir,
                     functools.partial(exception.ScheduleNotFound,
                                       schedule=marker))


@main_context_manager.writer
def schedule_update(ctx, ident, values, expected_revision=None):
    row = _schedule_row(ctx.session, ident)
    try:
        _update_revisioned(ctx.session, models.Schedule, row, values,
                           expected_revision, "Schedule")
    except db_exc.DBDuplicateEntry:
        raise exception.DuplicateName(resource="schedule",
                                      name=values.get("name"))
    _record(ctx.session, ctx, "admin", "schedule.update",
            target_type="schedule", target_id=row.id, pool_id=row.pool_id,
            detail={"changed": sorted(values)})
    return _dict(row)


@main_context_manager.writer
def schedule_delete(ctx, ident):
    row = _schedule_row(ctx.session, ident)
    ctx.session.delete(row)
    _record(ctx.session, ctx, "admin", "schedule.delete",
            target_type="schedule", target_id=row.id, pool_id=row.pool_id,
            message=row.name)


# -- events ------------------------------------------------------------------

@main_context_manager.writer
def event_record(ctx, kind, action, result="success", **fields):
    event = _record(ctx.session, ctx, kind, action, result=result, **fields)
    ctx.session.flush()
    return _dict(event)


# Event ids are BIGINT: larger numbers are no event, not a database error.
_MAX_EVENT_ID = 2 ** 63 - 1


@main_context_manager.reader
def event_list(ctx, filters=None, limit=None, marker=None, since=None,
               until=None):
    """Events newest first; ``since`` inclusive, ``until`` exclusive."""
    stmt = _apply_filters(sa.select(models.Event), models.Event, filters)
    if since is not None:
        stmt = stmt.where(models.Event.created_at >= since)
    if until is not None:
        stmt = stmt.where(models.Event.created_at < until)
    stmt = stmt.order_by(models.Event.id.desc())
    if marker is not None:
        stmt = stmt.where(models.Event.id < min(int(marker), _MAX_EVENT_ID))
    if limit:
        stmt = stmt.limit(limit)
    return [_dict(r) for r in ctx.session.execute(stmt).scalars()]


@main_context_manager.reader
def event_get(ctx, event_id):
    try:
        number = int(event_id)
    except (TypeError, ValueError):
        raise exception.EventNotFound(event=event_id)
    row = None
    if 0 < number <= _MAX_EVENT_ID:
        row = ctx.session.get(models.Event, number)
    if row is None:
        raise exception.EventNotFound(event=event_id)
    return _dict(row)
