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

"""Schedules: a pool's effective min_ready at a given moment.

Pure functions over schedule records (the ``schedules`` table) and a
clock value, so that they can be tested at any frozen time.

A schedule opens on each of its ``days`` (``mon``..``sun``) at
``start_time`` and closes at ``end_time``, both "HH:MM" wall-clock times
in its IANA ``timezone``. An end earlier than (or equal to) the start
closes on the next day: the window runs past midnight, and its day is the
day it opens on. ``prewarm_minutes`` before it opens, the window already
counts, so that the pool manager boots toward its ``min_ready`` at the
throttled rate and the desktops are ready at the start.

Daylight saving time: a start or end that falls into the hour skipped in
spring is taken with the offset before the change (02:30 on a night that
jumps from 02:00 to 03:00 is 03:30); one that occurs twice in autumn is
taken the first time. Windows are compared in UTC, so a window lasts its
real length across a change.
"""

import datetime
import zoneinfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_UTC = datetime.timezone.utc


def parse_time(value):
    """``"HH:MM"`` -> :class:`datetime.time`; ValueError if malformed."""
    hours, sep, minutes = str(value).partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2 or \
            not (hours + minutes).isdigit():
        raise ValueError("%r is not HH:MM" % (value,))
    return datetime.time(int(hours), int(minutes))


def _aware_utc(now):
    """``now`` as an aware UTC datetime (naive values are UTC)."""
    if now.tzinfo is None:
        return now.replace(tzinfo=_UTC)
    return now.astimezone(_UTC)


def _local(day, at, zone):
    return datetime.datetime.combine(day, at, tzinfo=zone).astimezone(_UTC)


def window_bounds(schedule, now):
    """The window of ``schedule`` that matters at ``now``, or None.

    Returns (prewarm_start, start, end) as aware UTC datetimes for the
    window that is open at ``now`` or opens within its prewarm time, None
    when there is none.
    """
    now = _aware_utc(now)
    zone = zoneinfo.ZoneInfo(schedule["timezone"])
    start_at = parse_time(schedule["start_time"])
    end_at = parse_time(schedule["end_time"])
    days = {d.lower() for d in schedule["days"] or ()}
    prewarm = datetime.timedelta(minutes=schedule.get("prewarm_minutes")
                                 or 0)
    today = now.astimezone(zone).date()
    # A window that opened yesterday may still be open (past midnight);
    # one that opens tomorrow may be prewarming already (up to 12 h).
    for offset in (-1, 0, 1):
        day = today + datetime.timedelta(days=offset)
        if DAYS[day.weekday()] not in days:
            continue
        start = _local(day, start_at, zone)
        end_day = day if end_at > start_at else \
            day + datetime.timedelta(days=1)
        end = _local(end_day, end_at, zone)
        if start - prewarm <= now < end:
            return start - prewarm, start, end
    return None


def effective_min_ready(pool, schedules, now):
    """The pool's min_ready at ``now``, raised by its open schedules.

    Returns (min_ready, schedule) where ``schedule`` is the enabled
    schedule that sets it (None when the pool's own min_ready does). The
    result never exceeds the pool's max_size.
    """
    target, source = pool["min_ready"], None
    for schedule in schedules:
        if not schedule.get("enabled", True) or \
                schedule["pool_id"] != pool["id"]:
            continue
        if schedule["min_ready"] > target and \
                window_bounds(schedule, now) is not None:
            target, source = schedule["min_ready"], schedule
    return min(target, pool["max_size"]), source
