# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""A call centre's shift plan, as workforce-management tools export it.

A CSV file with a header row and one row per date, time slot, department
and site: how many agents the plan expects then::

    date,interval_start,department,site,required_agents
    2026-12-01,08:00,hotel,shanghai,12
    2026-12-01,08:15,hotel,shanghai,18

The columns are found by their header, in any order and case, with
spaces or dashes for underscores: ``date`` (ISO, YYYY-MM-DD);
``interval_start`` (also ``start``, ``interval``, ``time``,
``interval_start_local_time``: the slot's local start, HH:MM or
HH:MM:SS); ``department``; ``site``; ``required_agents`` (also
``required``, ``agents``, ``expected``; a whole number). Other columns
are ignored. The slot length (15 or 30 minutes) is the smallest step
between the starts of one department and site, unless given. This is the
one parser of the shape: the broker's shift-plan import
(``/v1/shift-plans``) reads it, :func:`export` writes it, and the load
generator's day mode replays it.

Times are local to the deployment's time zone (``[monitoring]
timezone``). :func:`to_utc` places each slot on the UTC time line with
zoneinfo, daylight-saving changes included:

* spring forward: a local slot that does not exist that day (02:00-02:59
  in Europe/Paris on the last Sunday of March) may only expect 0 agents
  (workforce tools export it so); it is then left out, and a non-zero
  one is an error naming its line;
* fall back: the repeated hour exists twice. Two rows for one slot give
  its first and its second occurrence (in file order); one row counts for
  both.
"""

import collections
import csv
import datetime
import io
import zoneinfo

COLUMNS = {
    "date": ("date",),
    "start": ("interval_start", "slot_start", "start", "interval", "time",
              "interval_start_local_time", "start_time"),
    "department": ("department", "dept"),
    "site": ("site",),
    "required": ("required_agents", "required", "agents", "expected",
                 "expected_agents"),
}
SLOT_MINUTES = (15, 30)

# ``fold``: 1 for the second occurrence of a repeated local time (fall
# back), as datetime's fold; ``line``: the CSV line (None when built).
Slot = collections.namedtuple("Slot", "date start department site required "
                                      "fold line", defaults=(0, None))
EXPORT_HEADER = ("date", "slot_start", "department", "site", "expected")


def _key(name):
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _columns(header):
    keys = [_key(h) for h in header]
    found = {}
    for column, names in COLUMNS.items():
        for name in names:
            if name in keys:
                found[column] = keys.index(name)
                break
        else:
            raise ValueError("shift plan: no %s column (one of: %s) in the "
                             "header %s" % (column, ", ".join(names),
                                            ",".join(header)))
    return found


def _time(value):
    for fmt in ("%H:%M", "%H:%M:%S"):
        try:
            return datetime.datetime.strptime(value.strip(), fmt).time()
        except ValueError:
            continue
    raise ValueError("%r is not a time (HH:MM)" % value)


class ShiftPlan:
    """The plan's slots, and its slot length in minutes."""

    def __init__(self, slots, slot_minutes):
        self.slots = sorted(slots)
        self.slot_minutes = slot_minutes

    def dates(self):
        return sorted({slot.date for slot in self.slots})

    def teams(self, date=None):
        """The (department, site) pairs of the plan (of one date)."""
        return sorted({(s.department, s.site) for s in self.slots
                       if date is None or s.date == date})

    def required(self, date):
        """{(department, site): {slot start (time): required agents}}."""
        found = collections.defaultdict(dict)
        for slot in self.slots:
            if slot.date == date:
                found[(slot.department, slot.site)][slot.start] = \
                    slot.required
        return dict(found)

    def required_at(self, date, at):
        """{(department, site): agents} of the slot holding time ``at``."""
        step = datetime.timedelta(minutes=self.slot_minutes)
        moment = datetime.datetime.combine(date, at)
        result = {}
        for team, slots in self.required(date).items():
            result[team] = 0
            for start, required in slots.items():
                begin = datetime.datetime.combine(date, start)
                if begin <= moment < begin + step:
                    result[team] = required
        return result


def _rows(reader):
    """The reader's rows; a line the csv module cannot read: ValueError."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ValueError("shift plan line %d: %s" % (reader.line_num, e))
        yield row


def parse(source, slot_minutes=None, timezone=None):
    """A :class:`ShiftPlan` from CSV text or a file object.

    Raises ValueError naming the line of a malformed row, a duplicate
    slot, or a slot length other than 15 or 30 minutes. With
    ``timezone`` (a zoneinfo name or ZoneInfo), a second row for a local
    time that the fall-back change repeats is its second occurrence
    (``fold`` 1) instead of a duplicate.
    """
    tz = _zone(timezone) if timezone is not None else None
    if isinstance(source, str):
        # newline="": the csv module reads the line ends itself (a bare
        # CR, quoted line breaks).
        source = io.StringIO(source, newline="")
    reader = csv.reader(source)
    header = None
    slots = {}
    for row in _rows(reader):
        if not row or not any(cell.strip() for cell in row) or \
                row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = _columns(row)
            continue
        line = reader.line_num
        try:
            values = {column: row[index].strip()
                      for column, index in header.items()}
            slot = Slot(datetime.date.fromisoformat(values["date"]),
                        _time(values["start"]), values["department"],
                        values["site"], int(values["required"]),
                        line=line)
        except (IndexError, ValueError) as e:
            raise ValueError("shift plan line %d: %s" % (line, e))
        if not slot.department or not slot.site:
            raise ValueError("shift plan line %d: no department or site"
                             % line)
        if slot.required < 0:
            raise ValueError("shift plan line %d: required agents must not "
                             "be negative" % line)
        key = slot[:4]
        if key in slots and tz is not None and (key + (1,)) not in slots \
                and _ambiguous(slot.date, slot.start, tz):
            slot = slot._replace(fold=1)
            key = key + (1,)
        if key in slots:
            raise ValueError("shift plan line %d: a second row for %s %s "
                             "%s %s" % (line, slot.date, slot.start,
                                        slot.department, slot.site))
        slots[key] = slot
    if header is None:
        raise ValueError("shift plan: no header row")
    if not slots:
        raise ValueError("shift plan: no slots")
    found = slot_minutes or _slot_minutes(slots.values())
    if found not in SLOT_MINUTES:
        raise ValueError("shift plan: slots of %s minutes; 15 or 30 are "
                         "supported" % found)
    for slot in slots.values():
        if (slot.start.hour * 60 + slot.start.minute) % found or \
                slot.start.second:
            raise ValueError("shift plan: slot %s %s does not start on a "
                             "%d-minute boundary" % (slot.date, slot.start,
                                                     found))
    return ShiftPlan(slots.values(), found)


def _slot_minutes(slots):
    starts = collections.defaultdict(set)
    for slot in slots:
        starts[(slot.date, slot.department, slot.site)].add(
            slot.start.hour * 60 + slot.start.minute)
    steps = []
    for minutes in starts.values():
        ordered = sorted(minutes)
        steps.extend(b - a for a, b in zip(ordered, ordered[1:]))
    # One slot per team only: the smaller of the supported lengths.
    return min(steps) if steps else SLOT_MINUTES[0]


def read(path, slot_minutes=None):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return parse(f, slot_minutes)


# -- the UTC time line -------------------------------------------------------

UTC = datetime.timezone.utc


def _zone(timezone):
    if isinstance(timezone, datetime.tzinfo):
        return timezone
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError("shift plan: unknown time zone %r" % timezone)


def _local(date, start, tz, fold=0):
    return datetime.datetime.combine(date, start, tzinfo=tz).replace(
        fold=fold)


def _exists(date, start, tz):
    """False for a local time the spring-forward change skips."""
    moment = _local(date, start, tz)
    back = moment.astimezone(UTC).astimezone(tz)
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def _ambiguous(date, start, tz):
    """True for a local time the fall-back change repeats."""
    return _exists(date, start, tz) and \
        _local(date, start, tz, 0).utcoffset() != \
        _local(date, start, tz, 1).utcoffset()


def utc_start(date, start, tz, fold=0):
    """The naive UTC datetime of a local slot start (None: it is skipped)."""
    tz = _zone(tz)
    if not _exists(date, start, tz):
        return None
    return _local(date, start, tz, fold).astimezone(UTC).replace(
        tzinfo=None)


def to_utc(plan, timezone):
    """The plan's slots on the UTC time line, as dicts for storage.

    Each dict: department, site, local_date, local_start ("HH:MM"), fold,
    slot_minutes, starts_at and ends_at (naive UTC), expected, line. A
    slot of a repeated local hour given once counts for both of its
    occurrences. Raises ValueError naming the line of a slot that does
    not exist that day and expects agents.
    """
    tz = _zone(timezone)
    step = datetime.timedelta(minutes=plan.slot_minutes)
    given = {slot[:4] + (slot.fold,) for slot in plan.slots}
    result = []
    for slot in plan.slots:
        if not _exists(slot.date, slot.start, tz):
            if slot.required:
                raise ValueError(
                    "shift plan line %s: %s %s does not exist in %s (the "
                    "clocks go forward): it can expect no agents" % (
                        slot.line, slot.date, slot.start.strftime("%H:%M"),
                        tz.key if hasattr(tz, "key") else tz))
            continue
        folds = [slot.fold]
        if slot.fold == 0 and _ambiguous(slot.date, slot.start, tz) and \
                slot[:4] + (1,) not in given:
            folds.append(1)
        for fold in folds:
            starts = _local(slot.date, slot.start, tz, fold).astimezone(
                UTC).replace(tzinfo=None)
            result.append({
                "department": slot.department, "site": slot.site,
                "local_date": slot.date,
                "local_start": slot.start.strftime("%H:%M"),
                "fold": fold, "slot_minutes": plan.slot_minutes,
                "starts_at": starts, "ends_at": starts + step,
                "expected": slot.required, "line": slot.line})
    return result


def export(rows):
    """CSV text of stored slots, in the shape :func:`parse` reads.

    ``rows``: dicts with local_date, local_start, department, site,
    expected, starts_at. Both occurrences of a repeated local hour are
    written, in order.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_HEADER)
    for row in sorted(rows, key=lambda r: (r["local_date"], r["department"],
                                           r["site"], r["starts_at"])):
        date = row["local_date"]
        writer.writerow([date.isoformat() if hasattr(date, "isoformat")
                         else date, row["local_start"], row["department"],
                         row["site"], row["expected"]])
    return out.getvalue()
