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

"""The allocators and pools of a login, from a per-process cache.

Every login walks the allocator chain over every allocator and every pool
(allocation.py login_inputs). Both tables change a few times a day, yet
reading and decoding them cost about a seventh of a login's CPU. This
keeps their decoded rows, per engine, with the generation they were read
at (the ``allocation`` row of cache_generations). A login reads the
generation (one primary-key read) and reuses the rows while it has not
moved. Every writer of either table moves it in its own transaction
(common.config_changed), so a login never decides on rows older than the
last committed change: the cache is never stale, unlike one with a
lifetime.

The generation is read before the tables, in the same transaction: the
rows read after it are at least as new as it says (READ COMMITTED reads
the newest committed rows at each statement, a snapshot both at once).
The cached rows are shared by every thread of the process: they are
read-only (ReadOnlyDict, tuples), and a caller that needs to change one
copies it.
"""

import collections
import copy
import threading
import weakref

import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import models
from vdi_broker.db.sqlalchemy import prepared

_GENERATIONS = models.CacheGeneration.__table__
_GENERATION = sa.select(_GENERATIONS.c.generation).where(
    _GENERATIONS.c.name == common.ALLOCATION_GENERATION)
_ALL_ALLOCATORS = sa.select(models.Allocator.__table__)
_ALL_POOLS = sa.select(models.Pool.__table__)

#: ``allocators`` and ``pools``: tuples of read-only rows; ``site_aware``:
#: whether an allocator's rules name pools or a site fallback (the login
#: then reads its own bindings up front).
Entry = collections.namedtuple("Entry",
                               "generation allocators pools site_aware")

_SITE_KEYS = frozenset(("pools", "site_fallback"))
_lock = threading.Lock()
# {engine: Entry}: two databases in one process (tests) never share rows.
_entries = weakref.WeakKeyDictionary()


class ReadOnlyDict(dict):
    """A cached row: a dict to read, TypeError to write (copy it first)."""

    __slots__ = ()

    def _read_only(self, *args, **kwargs):
        raise TypeError("a cached row is shared by every login of the "
                        "process: change a copy (dict(row))")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __copy__(self):
        return dict(self)

    def __deepcopy__(self, memo):
        return copy.deepcopy(dict(self), memo)

    def __reduce__(self):
        return dict, (dict(self),)


def _frozen(value):
    if isinstance(value, dict):
        return ReadOnlyDict((k, _frozen(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _read(connection, stmt):
    return tuple(_frozen(row)
                 for row in prepared.executed_rows(connection, stmt))


def allocation_config(connection):
    """Every allocator and every pool as this transaction may see them.

    Returns an Entry: from the cache when the generation has not moved
    since it was filled, else read now (and cached). A database without
    the generation's row (a schema made without the migrations) is read
    every time.
    """
    generation = prepared.scalar(connection, _GENERATION)
    engine = connection.engine
    with _lock:
        entry = _entries.get(engine)
    if entry is not None and generation is not None and \
            entry.generation == generation:
        return entry
    allocators = _read(connection, _ALL_ALLOCATORS)
    entry = Entry(generation, allocators, _read(connection, _ALL_POOLS),
                  any(_SITE_KEYS.intersection(a.get("rules") or ())
                      for a in allocators))
    if generation is not None:
        with _lock:
            _entries[engine] = entry
    return entry


def clear():
    """Forget every cached row (tests)."""
    with _lock:
        _entries.clear()
