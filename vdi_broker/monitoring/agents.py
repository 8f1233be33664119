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

"""Active agents by department, site and pool, against the plan (R15).

An agent is a user in an active session. They are

* ``active`` when their thin client's last heartbeat with input (a
  positive input-event count, in the session) is within ``[monitoring]
  active_interval`` seconds,
* ``idle`` when the thin client is online but reported no input since,
* ``offline`` when the thin client is not online (it went silent and the
  conductor set it offline, or it never reported).

A session's department is the one its user had at login; its site is its
seat's, else its thin client's, else its pool's. Counts of the sessions
without a department or site carry "".

:func:`record_minute` (the conductor's periodic task) writes one row per
department, site and pool, and one per department and site with pool ""
(the totals, with the plan's expected agents) into the history.
"""

import collections
import datetime

from oslo_utils import timeutils

from vdi_broker.db import api as db
from vdi_broker import states


def classify(row, now, active_interval):
    """AGENT_ACTIVE, AGENT_IDLE or AGENT_OFFLINE for one agent session."""
    if row.get("status") != "online":
        return states.AGENT_OFFLINE
    last_input = row.get("last_input_at")
    if last_input is not None and \
            last_input >= now - datetime.timedelta(seconds=active_interval):
        return states.AGENT_ACTIVE
    return states.AGENT_IDLE


def _zero():
    return dict.fromkeys(states.AGENT_STATES, 0)


def count(rows, expected, now, active_interval):
    """(totals, by_pool) of the agent sessions ``rows``.

    ``expected``: {(department, site): agents} of the current slot.
    ``totals``: [{department, site, pool: "", active, idle, offline,
    expected}] for every team with agents or a plan (expected None when
    the team has no slot now); ``by_pool``: the same per pool, without
    expected.
    """
    teams = collections.defaultdict(_zero)
    pools = collections.defaultdict(_zero)
    for row in rows:
        state = classify(row, now, active_interval)
        team = (row.get("department") or "", row.get("site") or "")
        teams[team][state] += 1
        pools[team + (row.get("pool") or "",)][state] += 1
    for team in expected:
        # A team with a plan and nobody logged in.
        teams.setdefault(team, _zero())
    totals = [dict(counts, department=d, site=s, pool="",
                   expected=expected.get((d, s)))
              for (d, s), counts in sorted(teams.items())]
    by_pool = [dict(counts, department=d, site=s, pool=p, expected=None)
               for (d, s, p), counts in sorted(pools.items()) if p]
    return totals, by_pool


def _conf(conf):
    if conf is None:
        from vdi_broker import conf as vdi_conf
        conf = vdi_conf.CONF
    return conf


def snapshot(ctxt, conf=None, now=None):
    """(totals, by_pool) now (see :func:`count`)."""
    conf = _conf(conf)
    now = now or timeutils.utcnow()
    return count(db.agent_sessions(ctxt), db.shift_plan_expected(ctxt, now),
                 now, conf.monitoring.active_interval)


def current_counts(ctxt, conf=None, now=None):
    """The department and site totals now (the Prometheus gauges)."""
    return snapshot(ctxt, conf, now)[0]


def minute_of(moment):
    return moment.replace(second=0, microsecond=0)


def record_minute(ctxt, conf=None, now=None):
    """Count the agents and write the minute's history.

    Returns (minute, totals, written): written is False when another
    conductor wrote this minute first. History older than
    ``[monitoring] history_days`` is purged.
    """
    conf = _conf(conf)
    now = now or timeutils.utcnow()
    totals, by_pool = snapshot(ctxt, conf, now)
    minute = minute_of(now)
    written = db.agent_counts_record(ctxt, minute, totals + by_pool)
    db.agent_counts_purge(ctxt, now - datetime.timedelta(
        days=conf.monitoring.history_days))
    return minute, totals, written
