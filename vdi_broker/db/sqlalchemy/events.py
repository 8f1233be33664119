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

"""Audit events: what happened to which desktop, by whom."""


import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import common
from vdi_broker.db.sqlalchemy import engine
from vdi_broker.db.sqlalchemy import models
from vdi_broker import exception

__all__ = (
    "events_record",
    "event_record",
    "event_list",
    "event_get",
)


@engine.main_context_manager.writer
def events_record(ctx, events):
    """Record many audit events (dicts of Event fields) at once."""
    common.add_events(ctx.session, ctx, events)


@engine.main_context_manager.writer
def event_record(ctx, kind, action, result="success", **fields):
    event = common.record(ctx.session, ctx, kind, action,
                          result=result, **fields)
    ctx.session.flush()
    return common.as_dict(event)


# Event ids are BIGINT: larger numbers are no event, not a database error.
_MAX_EVENT_ID = 2 ** 63 - 1


@engine.main_context_manager.reader
def event_list(ctx, filters=None, limit=None, marker=None, since=None,
               until=None):
    """Events newest first; ``since`` inclusive, ``until`` exclusive."""
    stmt = common.apply_filters(sa.select(models.Event), models.Event, filters)
    if since is not None:
        stmt = stmt.where(models.Event.created_at >= since)
    if until is not None:
        stmt = stmt.where(models.Event.created_at < until)
    stmt = stmt.order_by(models.Event.id.desc())
    if marker is not None:
        stmt = stmt.where(models.Event.id < min(int(marker), _MAX_EVENT_ID))
    if limit:
        stmt = stmt.limit(limit)
    return [common.as_dict(r) for r in ctx.session.execute(stmt).scalars()]


@engine.main_context_manager.reader
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
    return common.as_dict(row)
