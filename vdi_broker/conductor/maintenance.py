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

"""Maintenance windows: when desktops in use may be taken (R14).

Pure functions over window records (the ``maintenance_windows`` table)
and a clock value, so that they can be tested at any frozen time, and
:class:`WindowKeeper`, the conductor's part: at each pool manager pass it
works out which windows are open, drains the pools of open windows with
``drain`` (their ``drain_until``: the login path refuses new logins to
them until then, see :func:`pool_draining`) and announces each opening
once (events; the users bound to or using the pools' desktops are
warned by an event each).

A recurring window has a ``cron`` expression of five fields (minute,
hour, day of month, month, day of week), local to its IANA ``timezone``
(``*``, numbers, ranges ``a-b``, lists ``a,b``, steps ``*/n`` or
``a-b/n``, and the names ``mon``..``sun``, ``jan``..``dec``; day of week
0 or 7 is Sunday; when both day fields are restricted, either matches,
as in cron). Each match opens the window for ``duration_minutes``.
Daylight saving time: an opening in the hour skipped in spring is taken
with the offset before the change, one that occurs twice in autumn is
taken the first time. A one-off window is open from ``starts_at`` to
``ends_at`` (UTC).
"""

import datetime
import zoneinfo

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

_UTC = datetime.timezone.utc
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                "sep", "oct", "nov", "dec")
# (low, high, names and their first value) of the five fields.
_FIELDS = ((0, 59, None, 0), (0, 23, None, 0), (1, 31, None, 1),
           (1, 12, _MONTH_NAMES, 1), (0, 7, _DAY_NAMES, 0))
# The longest window the search looks back over, and forward for the
# next opening.
MAX_DURATION_MINUTES = 7 * 24 * 60
_LOOK_AHEAD_DAYS = 400


def _value(text, names, base):
    text = text.strip().lower()
    if names and text in names:
        return names.index(text) + base
    if not text.isdigit():
        raise ValueError("%r is not a number" % text)
    return int(text)


def _field(text, low, high, names, base):
    values = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, _, step_text = part.partition("/")
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError("bad step %r" % step_text)
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            first, _, last = part.partition("-")
            start, end = _value(first, names, base), _value(last, names,
                                                            base)
        else:
            start = _value(part, names, base)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high) or \
                start > end:
            raise ValueError("%r is out of %d-%d" % (part, low, high))
        values.update(range(start, end + 1, step))
    return values


class Cron:
    """A parsed five-field cron expression."""

    def __init__(self, expression):
        parts = str(expression).split()
        if len(parts) != 5:
            raise ValueError("a cron expression has 5 fields (minute hour "
                             "day-of-month month day-of-week), not %d" %
                             len(parts))
        fields = [_field(text, *spec) for text, spec in zip(parts, _FIELDS)]
        self.minutes, self.hours, self.days, self.months, dows = fields
        self.weekdays = {d % 7 for d in dows}
        self.any_day = parts[2] == "*"
        self.any_weekday = parts[4] == "*"

    def day_matches(self, day):
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        # date.weekday(): Monday 0; cron: Sunday 0.
        in_week = (day.weekday() + 1) % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def times(self, day, zone):
        """The matches on a local day, as aware UTC datetimes, in order."""
        if not self.day_matches(day):
            return []
        found = []
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                local = datetime.datetime.combine(
                    day, datetime.time(hour, minute), tzinfo=zone)
                found.append(local.astimezone(_UTC))
        return found


def validate(window):
    """Raise ValueError when a window's record is unusable."""
    if window.get("cron"):
        Cron(window["cron"])
        zoneinfo.ZoneInfo(window.get("timezone") or "UTC")
        minutes = window.get("duration_minutes")
        if not minutes or not 1 <= minutes <= MAX_DURATION_MINUTES:
            raise ValueError("a recurring window needs duration_minutes "
                             "from 1 to %d" % MAX_DURATION_MINUTES)
    elif window.get("starts_at") and window.get("ends_at"):
        if window["ends_at"] <= window["starts_at"]:
            raise ValueError("ends_at must be after starts_at")
    else:
        raise ValueError("a window is recurring (cron and duration_minutes)"
                         " or one-off (starts_at and ends_at)")


def _aware(value):
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC)


def opening(window, now):
    """The opening of ``window`` in effect at ``now``: (start, end) or None.

    Aware UTC datetimes; None when the window is closed (or disabled).
    """
    if not window.get("enabled", True):
        return None
    now = _aware(now)
    if not window.get("cron"):
        start, end = _aware(window["starts_at"]), _aware(window["ends_at"])
        return (start, end) if start <= now < end else None
    cron = Cron(window["cron"])
    zone = zoneinfo.ZoneInfo(window.get("timezone") or "UTC")
    duration = datetime.timedelta(minutes=window["duration_minutes"])
    today = now.astimezone(zone).date()
    first = (now - duration).astimezone(zone).date() - \
        datetime.timedelta(days=1)
    day = first
    latest = None
    while day <= today:
        for start in cron.times(day, zone):
            if start <= now < start + duration:
                latest = start
        day += datetime.timedelta(days=1)
    if latest is None:
        return None
    return latest, latest + duration


def next_opening(window, now):
    """The next opening after ``now``: (start, end), or None."""
    if not window.get("enabled", True):
        return None
    now = _aware(now)
    if not window.get("cron"):
        start, end = _aware(window["starts_at"]), _aware(window["ends_at"])
        return (start, end) if start > now else None
    cron = Cron(window["cron"])
    zone = zoneinfo.ZoneInfo(window.get("timezone") or "UTC")
    duration = datetime.timedelta(minutes=window["duration_minutes"])
    day = now.astimezone(zone).date()
    for _ in range(_LOOK_AHEAD_DAYS):
        for start in cron.times(day, zone):
            if start > now:
                return start, start + duration
        day += datetime.timedelta(days=1)
    return None


def covers(window, pool):
    """Whether a window is one of the pool's (its own, or its site's)."""
    if window.get("pool_id"):
        return window["pool_id"] == pool["id"]
    return bool(window.get("site")) and window["site"] == pool.get("site")


def open_windows(windows, now):
    """[(window, (start, end))] of the windows open at ``now``.

    A window whose record cannot be used is left out (and logged).
    """
    found = []
    for window in windows:
        try:
            bounds = opening(window, now)
        except (ValueError, LookupError) as e:
            LOG.warning("Maintenance window %s is ignored: %s",
                        window.get("name"), e)
            continue
        if bounds is not None:
            found.append((window, bounds))
    return found


def open_pools(windows, pools, now):
    """{pool_id: [(window, (start, end))]} of pools with a window open."""
    result = {}
    for window, bounds in open_windows(windows, now):
        for pool in pools:
            if covers(window, pool):
                result.setdefault(pool["id"], []).append((window, bounds))
    return result


def pool_draining(pool, now):
    """Whether a draining maintenance window holds logins to the pool.

    The login path's check (vdi_broker/login/chain.py): the pool's
    ``drain_until``, set by the conductor that keeps the pool when the
    window opened, is still ahead.
    """
    until = pool.get("drain_until")
    return until is not None and _aware(until) > _aware(now)


def _naive(value):
    return value.astimezone(_UTC).replace(tzinfo=None)


class WindowKeeper:
    """The conductor's part of the maintenance windows (see above)."""

    def __init__(self, db, clock):
        self.db = db
        self.clock = clock

    def run(self, ctxt, pools):
        """One pass over ``pools``.

        Every pool, not only those this conductor keeps: a site's window
        covers pools other conductors keep (draining and announcing are
        idempotent).

        Returns {pool_id: [(window, (start, end))]} of the pools with a
        window open now.
        """
        now = self.clock()
        windows = self.db.window_list(ctxt, {"enabled": True})
        if not windows:
            return {}
        by_pool = open_pools(windows, pools, now)
        drains = {}
        for pool in pools:
            ends = [bounds[1] for window, bounds in by_pool.get(
                pool["id"], ()) if window["drain"]]
            if ends:
                drains.setdefault(_naive(max(ends)), []).append(pool["id"])
        for until, pool_ids in drains.items():
            if self.db.pools_drain(ctxt, pool_ids, until):
                LOG.info("Maintenance: pools %s drained (no new logins) "
                         "until %s UTC", ", ".join(sorted(pool_ids)),
                         until.isoformat(timespec="seconds"))
        for window, bounds in open_windows(windows, now):
            self._announce(ctxt, window, bounds, pools)
        return by_pool

    def _announce(self, ctxt, window, bounds, pools):
        start, end = bounds
        if window.get("announced_start") is not None and \
                _aware(window["announced_start"]) == start:
            return
        covered = [p for p in pools if covers(window, p)]
        if not covered:
            return
        message = "maintenance window %s open from %s to %s UTC%s" % (
            window["name"], _naive(start).isoformat(timespec="minutes"),
            _naive(end).isoformat(timespec="minutes"),
            ": no new logins" if window["drain"] else "")
        events = [{"action": "maintenance.open",
                   "target_type": "maintenance_window",
                   "target_id": window["id"], "pool_id": pool["id"],
                   "message": message} for pool in covered]
        if window["drain"]:
            users = self.db.bound_users(ctxt, [p["id"] for p in covered])
            for pool in covered:
                for username in users.get(pool["id"], ()):
                    events.append({
                        "action": "maintenance.warning",
                        "target_type": "maintenance_window",
                        "target_id": window["id"], "pool_id": pool["id"],
                        "username": username,
                        "message": "%s: log out and save your work; the "
                                   "desktop may be restarted" % message})
        if self.db.window_announce(ctxt, window["id"], _naive(start),
                                   events):
            LOG.info("Pool %s: %s", ", ".join(p["name"] for p in covered),
                     message)
