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
from sqlalchemy.orm import attributes as orm_attributes

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


main_context_manager.append_on_engine_create(_serialize_sqlite_writers)


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
    return {c.name: getattr(row, c.key)
            for c in row.__table__.columns}


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


def _insert_event(connection, ctx, kind, action, result="success",
                  **fields):
    """Write an audit event with a plain INSERT (the login's hot path)."""
    actor = fields.pop("actor", None)
    values = dict.fromkeys(("username", "target_type", "target_id",
                            "pool_id", "desktop_id", "message", "detail"))
    values.update(fields, kind=kind, action=action, result=result,
                  actor=getattr(ctx, "user_id", None) or actor,
                  request_id=getattr(ctx, "request_id", None),
                  created_at=utcnow())
    connection.execute(sa.insert(models.Event.__table__), [values])


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


# -- allocation --------------------------------------------------------------

def _claim_ready(session, pool_id, username, attempts, candidates):
    """Take one ready desktop of the pool: the atomic claim.

    Returns the claimed Desktop row, or None when the pool has none.
    """
    dialect = session.bind.dialect.name
    locking = dialect in ("mysql", "postgresql")
    for _attempt in range(attempts):
        stmt = (sa.select(models.Desktop)
                .where(models.Desktop.pool_id == pool_id,
                       models.Desktop.state == models.READY)
                .execution_options(populate_existing=True))
        if locking:
            # Rows another transaction is claiming are skipped, not waited
            # for: concurrent logins spread over different desktops. Only
            # the row this login takes is locked: a window of several
            # locked rows would hide ready desktops from the other logins,
            # which would then report a pool with ready desktops as
            # exhausted. The whole row is read with its lock, so that the
            # claimed desktop needs no second read.
            rows = session.execute(
                stmt.limit(1).with_for_update(skip_locked=True)
            ).scalars().all()
            if not rows:
                # Every ready desktop left is locked by a concurrent login
                # (which may still roll back): wait for one, do not report
                # the pool exhausted while it is not.
                rows = session.execute(
                    stmt.limit(1).with_for_update()).scalars().all()
        else:
            rows = session.execute(stmt.limit(candidates)).scalars().all()
        if not rows:
            return None
        for desktop in rows:
            # The compare-and-swap: only one transaction can move this row
            # out of 'ready', whatever the isolation level or cluster.
            now = utcnow()
            values = {"state": models.ASSIGNED, "assigned_user": username,
                      "assigned_at": now, "updated_at": now}
            result = session.execute(
                sa.update(models.Desktop)
                .where(models.Desktop.id == desktop.id,
                       models.Desktop.state == models.READY)
                .values(generation=models.Desktop.generation + 1,
                        **values)
                .execution_options(synchronize_session=False))
            if result.rowcount == 1:
                # The row was 'ready' and is now ours: locked on MariaDB
                # and PostgreSQL, and SQLite writers take turns, so its
                # new values are known without reading it again.
                values["generation"] = desktop.generation + 1
                for key, value in values.items():
                    orm_attributes.set_committed_value(desktop, key, value)
                return desktop
    return None


class _PoolView:
    """A pool dict read in this transaction, with a row's attributes."""

    def __init__(self, values):
        self.__dict__.update(values)


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


_USER_LOCK_TIMEOUT = 10
_user_lock_release = threading.Lock()


def _release_user_locks(dbapi_connection, connection_record):
    """Pool checkin (after commit or rollback): drop the user locks."""
    if connection_record.info.pop("vdi_user_locks", False) and \
            dbapi_connection is not None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("DO RELEASE_ALL_LOCKS()")
        finally:
            cursor.close()


def _lock_user(session, username):
    """Serialize this transaction with the same user's other logins.

    Without it two first logins of one user each claim a desktop. It must
    be the transaction's first statement: it holds no row lock while it
    waits (no deadlock that the database cannot see) and, on InnoDB, the
    snapshot of the repeatable read starts after the other login commits.

    PostgreSQL: a transaction-scoped advisory lock. MariaDB/MySQL: a named
    lock (GET_LOCK), released when the connection goes back to the pool,
    after the commit or rollback; the transaction runs in READ COMMITTED,
    as on PostgreSQL: every statement sees the latest commits and InnoDB
    takes no gap locks, which under REPEATABLE READ turned concurrent
    logins into piles of deadlocks. SQLite writers are serialized already.
    """
    dialect = session.bind.dialect.name
    digest = hashlib.sha256(
        ("vdi-broker-user:%s" % username).encode("utf-8")).digest()
    if dialect == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(
            int.from_bytes(digest[:8], "big", signed=True))))
    elif dialect == "mysql":
        connection = session.connection(
            execution_options={"isolation_level": "READ COMMITTED"})
        pool = connection.engine.pool
        with _user_lock_release:
            if not sa.event.contains(pool, "checkin", _release_user_locks):
                sa.event.listen(pool, "checkin", _release_user_locks)
        connection.info["vdi_user_locks"] = True
        got = session.execute(sa.select(sa.func.get_lock(
            "vdi-user-" + digest.hex()[:40], _USER_LOCK_TIMEOUT))).scalar()
        if got != 1:
            raise db_exc.DBDeadlock()


@_retry_on_conflict
@main_context_manager.writer
def allocate(ctx, request, decision, session_values, attempts=8,
             candidates=16, choose=None):
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
    """
    session = ctx.session
    username = request["username"]
    _lock_user(session, username)
    pools = {}
    if choose is not None:
        inputs = _allocation_inputs(session, request.get("seat"),
                                    request["client_id"])
        decision = choose(inputs)
        # The pools were read in this transaction: no second read.
        pools = {p["id"]: p for p in inputs["pools"]}
    pool = pools.get(decision["pool_id"])
    if pool is not None:
        pool = _PoolView(pool)
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
                desktop = _claim_ready(session, binding.pool_id, username,
                                       attempts, candidates)
                if desktop is None:
                    raise _pool_exhausted(
                        session, session.get(models.Pool, binding.pool_id))
                session.execute(
                    sa.update(models.Binding)
                    .where(models.Binding.id == binding.id)
                    .values(desktop_id=desktop.id, updated_at=utcnow()))
                _record(session, ctx, "allocation", "binding.move",
                        username=username, target_type="binding",
                        target_id=binding.id, desktop_id=desktop.id,
                        pool_id=desktop.pool_id,
                        detail={"from_desktop": broken})
                reused = True
        else:
            desktop = _claim_ready(session, pool.id, username, attempts,
                                   candidates)
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
        current = session.execute(
            sa.select(models.Desktop)
            .join(models.ClientSession,
                  models.ClientSession.desktop_id == models.Desktop.id)
            .where(models.ClientSession.username == username,
                   models.ClientSession.state == "active",
                   models.ClientSession.pool_id == pool.id,
                   models.Desktop.state == models.ASSIGNED,
                   models.Desktop.assigned_user == username)
            .limit(1)).scalar_one_or_none()
        if current is not None:
            # Compare-and-swap: a logout in flight may be releasing it
            # (this waits for it and sees its outcome); then start over.
            kept = session.execute(
                sa.update(models.Desktop)
                .where(models.Desktop.id == current.id,
                       models.Desktop.state == models.ASSIGNED,
                       models.Desktop.assigned_user == username)
                .values(updated_at=utcnow())).rowcount
            if kept != 1:
                raise db_exc.RetryRequest(exception.Conflict(
                    reason="desktop %s was released meanwhile" % current.id))
            desktop = current
            reused = True
        else:
            desktop = _claim_ready(session, pool.id, username, attempts,
                                   candidates)
            if desktop is None:
                raise _pool_exhausted(session, pool)

    # One active session per user and desktop: a new login from another
    # TC takes the desktop over. A desktop just claimed from 'ready' has
    # no session to take over (and on InnoDB the range update would only
    # add gap locks, i.e. deadlocks between unrelated logins).
    superseded = 0
    if reused:
        superseded = session.execute(
            sa.update(models.ClientSession)
            .where(models.ClientSession.desktop_id == desktop.id,
                   models.ClientSession.state == "active")
            .values(state="closed", closed_at=utcnow(),
                    close_reason="superseded", updated_at=utcnow())
        ).rowcount
    now = utcnow()
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
    connection = session.connection()
    connection.execute(sa.insert(models.ClientSession.__table__),
                       [client_session])
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
    new = _claim_ready(session, binding.pool_id, owner, attempts,
                       candidates)
    if new is None:
        return False
    session.execute(
        sa.update(models.Binding).where(models.Binding.id == binding.id)
        .values(desktop_id=new.id, updated_at=utcnow()))
    _record(session, ctx, "allocation", "binding.move",
            username=owner, target_type="binding", target_id=binding.id,
            desktop_id=new.id, pool_id=binding.pool_id,
            message="bound desktop %s failed" % desktop_id,
            detail={"from_desktop": desktop_id,
                    "binding": "%s:%s" % (binding.kind, binding.key)})
    session.flush()
    return _dict(session.get(models.Binding, binding.id,
                             populate_existing=True))


def _start_release(session, desktop, pool):
    """Move a desktop that nobody uses any more into its release action."""
    action = pool.release_action if pool is not None else "delete"
    if action == "keep":
        new_state, values = models.READY, {}
    elif action == "delete":
        new_state, values = models.DELETING, {}
    else:
        new_state, values = models.RELEASING, {
            "state_reason": "release:%s" % action}
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
    return _allocation_inputs(ctx.session, seat_name, client_id)


def _rows(session, stmt):
    """Plain dicts of a Core SELECT: no ORM objects to build and track."""
    return [dict(row._mapping) for row in session.execute(stmt)]


def _allocation_inputs(session, seat_name, client_id):
    seat = None
    if seat_name:
        seat = next(iter(_rows(session, sa.select(models.Seat.__table__)
                               .where(models.Seat.name == seat_name))),
                    None)
    client = next(iter(_rows(
        session, sa.select(models.ThinClient.__table__)
        .where(models.ThinClient.client_id == client_id))), None)
    return {"seat": seat, "client": client,
            "allocators": _rows(session,
                                sa.select(models.Allocator.__table__)),
            "pools": _rows(session, sa.select(models.Pool.__table__))}


@main_context_manager.reader
def seat_find(ctx, name):
    return _dict(ctx.session.execute(
        sa.select(models.Seat).where(models.Seat.name == name)
    ).scalar_one_or_none())


@_translate_duplicates("seat")
@main_context_manager.writer
def seat_create(ctx, values):
    values = dict(values)
    values.setdefault("id", uuidutils.generate_uuid())
    row = models.Seat(**values)
    ctx.session.add(row)
    ctx.session.flush()
    return _dict(row)


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


@main_context_manager.reader
def event_list(ctx, filters=None, limit=None, marker=None):
    stmt = _apply_filters(sa.select(models.Event), models.Event, filters)
    stmt = stmt.order_by(models.Event.id.desc())
    if marker is not None:
        stmt = stmt.where(models.Event.id < int(marker))
    if limit:
        stmt = stmt.limit(limit)
    return [_dict(r) for r in ctx.session.execute(stmt).scalars()]
