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

"""A session's connection state from both ends: the desktop and the seat.

Two ends report whether a viewer shows the session's desktop: the
desktop's guest agent (``connection_state`` of its reports, stored on the
session as ``connection_state`` and ``connection_since``) and the thin
client (its heartbeat's ``viewer``, API 1.2, stored as ``viewer_state``,
``viewer_since`` and ``viewer_at``). The rule, one end decides
(doc/source/admin/guest-agent.rst, "Session state from both ends"):

1. What each end says now. The agent: its state, while its last report
   is fresh (``[agent] silent_after``); a silent agent says nothing (its
   desktop is an incident of the five-minute rule). The thin client: its
   viewer's state, while its heartbeats are fresh (the offline time,
   ``[client_session] client_offline_after``); a thin client that fell
   silent after saying anything is counted *disconnected* since it was
   last heard connected (a crashed or switched-off thin client shows
   nothing), or since its viewer's disconnection.
2. A thin client that never said anything of its viewer (older than
   1.2): the agent's last word, fresh or not (as before 1.2).
3. Only one end speaks: that end.
4. Both speak: the end that sees the display connection decides, state
   and since. That is the agent where the display server runs in the
   guest (the pool's console type in ``states.GUEST_DISPLAY_CONSOLES``:
   RDP, whose server sees the real connection, from any device); it is
   the thin client on consoles served by the hypervisor (SPICE, VNC),
   which the guest cannot see: there the Windows agent says "connected"
   for any logged-on console session, the Linux agent watches a port no
   viewer uses.

:func:`combine` is the rule; ``db/sqlalchemy/agents.sessions_timed_out``
selects the disconnected sessions with the same rule in SQL and decides
with this function; :func:`kept_at_expiry` (session expiry) and the
admin session document's ``connection`` (API 1.2) use it too.
"""

import collections
import datetime

from vdi_broker import states

AGENT = "agent"
THIN_CLIENT = "thin_client"

# What one end said: its state (connected, disconnected, None), since
# when, and when it said it last (None: never).
End = collections.namedtuple("End", ("state", "since", "at"))
# The session's state, since when, and which end decided (None: no end
# said anything).
Combined = collections.namedtuple("Combined", ("state", "since", "source"))


def _silent(end, now, silent_after):
    """Never heard, or not for ``silent_after`` seconds (0: never)."""
    return end.at is None or (bool(silent_after) and
                              (now - end.at).total_seconds() > silent_after)


def agent_view(agent, now, silent_after):
    """(state, since) of the agent's fresh report, or None."""
    if agent is None or agent.state is None or \
            _silent(agent, now, silent_after):
        return None
    return agent.state, agent.since


def thin_client_view(viewer, now, silent_after):
    """(state, since) the thin client says now, or None (it never said).

    Silent: disconnected since its viewer's disconnection, or since it
    was last heard connected.
    """
    if viewer is None or viewer.state is None or viewer.at is None:
        return None
    if not _silent(viewer, now, silent_after):
        return viewer.state, viewer.since
    if viewer.state == states.DISCONNECTED and viewer.since is not None:
        return states.DISCONNECTED, viewer.since
    return states.DISCONNECTED, viewer.at


def agent_decides(console_type):
    """Whether the agent decides when both ends speak.

    It does where the display server runs in the guest.
    """
    return console_type in states.GUEST_DISPLAY_CONSOLES


def combine(agent, viewer, console_type, now, agent_silent_after,
            client_silent_after):
    """The session's :class:`Combined` state from its two :class:`End`.

    ``agent_silent_after``: ``[agent] silent_after``;
    ``client_silent_after``: the thin clients' offline time (0: never).
    """
    said = thin_client_view(viewer, now, client_silent_after)
    if said is None:
        if agent is None or agent.state is None:
            return Combined(None, None, None)
        return Combined(agent.state, agent.since, AGENT)
    fresh = agent_view(agent, now, agent_silent_after)
    if fresh is not None and agent_decides(console_type):
        return Combined(fresh[0], fresh[1], AGENT)
    return Combined(said[0], said[1], THIN_CLIENT)


def kept_at_expiry(agent, viewer, console_type, now, agent_silent_after,
                   client_silent_after):
    """The end whose word keeps a session at its expiry, or None.

    The agent's fresh "connected", as before 1.2 (expiry never reboots a
    desktop whose agent says a user is connected); else :func:`combine`'s
    "connected" decided by the thin client (hypervisor consoles, or the
    agent silent or absent). The thin client cannot speak after the
    expiry (its token stops working): its word keeps the session for at
    most its offline time, then counts disconnected (rule 1).
    """
    fresh = agent_view(agent, now, agent_silent_after)
    if fresh is not None and fresh[0] == states.CONNECTED:
        return AGENT
    combined = combine(agent, viewer, console_type, now,
                       agent_silent_after, client_silent_after)
    if combined.source == THIN_CLIENT and \
            combined.state == states.CONNECTED:
        return THIN_CLIENT
    return None


def viewer_values(viewer, now):
    """A heartbeat's ``viewer`` (API 1.2) as the session's end.

    {"viewer_state", "viewer_since"}: since counted back from ``now``,
    the heartbeat's arrival (a thin client's clock is not trusted); None
    without ``seconds`` (the write keeps the since of an unchanged state,
    else takes the arrival).
    """
    seconds = viewer.get("seconds")
    return {"viewer_state": (states.CONNECTED if viewer["connected"]
                             else states.DISCONNECTED),
            "viewer_since": (now - datetime.timedelta(seconds=seconds)
                             if seconds else None)}
