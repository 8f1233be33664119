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

"""The thin client's end of a session's connection state (API 1.2).

A heartbeat that names its session and says whether the viewer is
connected sets the session's ``viewer_state``, ``viewer_since`` (kept
while the state stays the same) and ``viewer_at``, in the heartbeat's
transaction: one more UPDATE (per batch on MariaDB and PostgreSQL),
only for heartbeats that carry a viewer.
:mod:`vdi_broker.session_state` combines it with the guest agent's end.
Used by thin_clients.py (no facade function: the heartbeats write it).
"""

import sqlalchemy as sa

from vdi_broker.db.sqlalchemy import models
from vdi_broker.db.sqlalchemy import multirow
from vdi_broker import states

_SESSIONS = models.ClientSession.__table__
_P_STATE = sa.bindparam("p_viewer_state", type_=sa.String())
_P_NOW = sa.bindparam("p_now", type_=sa.DateTime())

# viewer_since first: MariaDB sets from left to right, so the CASE must
# read the state before the statement changes it. The session must be
# active and the client's (the API checked the token, maybe against its
# cache), and an older heartbeat still in a buffer changes nothing.
_WRITE = (
    sa.update(_SESSIONS)
    .where(_SESSIONS.c.id == sa.bindparam("p_session"),
           _SESSIONS.c.client_id == sa.bindparam("p_client_id"),
           _SESSIONS.c.state == states.SESSION_ACTIVE,
           sa.or_(_SESSIONS.c.viewer_at.is_(None),
                  _SESSIONS.c.viewer_at <= _P_NOW))
    .ordered_values(
        (_SESSIONS.c.viewer_since, sa.case(
            (_SESSIONS.c.viewer_state == _P_STATE,
             _SESSIONS.c.viewer_since),
            else_=sa.bindparam("p_viewer_since", type_=sa.DateTime()))),
        (_SESSIONS.c.viewer_state, _P_STATE),
        (_SESSIONS.c.viewer_at, _P_NOW)))

# The same for many rows (multirow.Update), viewer_since first again.
_MULTI_WRITE = multirow.Update(
    _SESSIONS, "p_session",
    [("p_session", sa.String()), ("p_client_id", sa.String()),
     ("p_viewer_state", sa.String()), ("p_viewer_since", sa.DateTime()),
     ("p_now", sa.DateTime())],
    "t.id = v.p_session",
    [("viewer_since", "CASE WHEN t.viewer_state = v.p_viewer_state "
                      "THEN t.viewer_since ELSE v.p_viewer_since END"),
     ("viewer_state", "v.p_viewer_state"),
     ("viewer_at", "v.p_now")],
    where="t.client_id = v.p_client_id AND t.state = '%s' AND "
          "(t.viewer_at IS NULL OR t.viewer_at <= v.p_now)"
          % states.SESSION_ACTIVE)


def write(connection, heartbeats):
    """Write the viewers of ``heartbeats`` (as the batch's records).

    Those with a ``session_id`` and a ``viewer_state``; ``viewer_since``
    is when the thin client says the state began (else ``now``). Returns
    the number of sessions updated.
    """
    rows = [{"p_session": b["session_id"], "p_client_id": b["client_id"],
             "p_viewer_state": b["viewer_state"],
             "p_viewer_since": b.get("viewer_since") or b["now"],
             "p_now": b["now"]}
            for b in heartbeats
            if b.get("session_id") and b.get("viewer_state")]
    if not rows:
        return 0
    if not multirow.supported(connection):
        return max(connection.execute(_WRITE, rows).rowcount, 0)
    # MariaDB, PostgreSQL: one statement per batch, as the heartbeats'
    # own (a 1.2 thin client names its viewer in every heartbeat).
    return sum(_MULTI_WRITE.execute(connection, one_round)
               for one_round in multirow.rounds(
                   rows, key=lambda row: row["p_session"]))
