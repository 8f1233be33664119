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

"""Schedule windows and effective min_ready at frozen clocks."""

import datetime
import zoneinfo

import testtools

from vdi_broker.conductor import schedules

UTC = datetime.timezone.utc
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
POOL = {"id": "p1", "min_ready": 2, "max_size": 40}


def _schedule(**values):
    schedule = {"name": "day-shift", "pool_id": "p1",
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "start_time": "09:00", "end_time": "17:00",
                "timezone": "Europe/Paris", "min_ready": 30,
                "prewarm_minutes": 30, "enabled": True}
    schedule.update(values)
    return schedule


def _at(year, month, day, hour, minute, zone=PARIS):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=zone)


def _target(schedule_list, now, pool=POOL):
    return schedules.effective_min_ready(pool, schedule_list, now)[0]


class TestWindows(testtools.TestCase):

    def test_weekday_window_with_prewarm(self):
        day = [_schedule()]
        # Thursday 2026-11-26.
        self.assertEqual(2, _target(day, _at(2026, 11, 26, 8, 29)))
        self.assertEqual(30, _target(day, _at(2026, 11, 26, 8, 30)))
        self.assertEqual(30, _target(day, _at(2026, 11, 26, 12, 0)))
        self.assertEqual(30, _target(day, _at(2026, 11, 26, 16, 59)))
        self.assertEqual(2, _target(day, _at(2026, 11, 26, 17, 0)))
        # Saturday: not one of its days.
        self.assertEqual(2, _target(day, _at(2026, 11, 28, 10, 0)))

    def test_naive_and_other_zone_clocks_are_utc_instants(self):
        day = [_schedule()]
        # 08:30 in Paris (UTC+1 in November) is 07:30 UTC.
        naive = datetime.datetime(2026, 11, 26, 7, 30)
        self.assertEqual(30, _target(day, naive))
        self.assertEqual(2, _target(day, naive - datetime.timedelta(
            minutes=1)))
        tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
        self.assertEqual(30, _target(
            day, _at(2026, 11, 26, 16, 30, zone=tokyo)))

    def test_bounds(self):
        prewarm, start, end = schedules.window_bounds(
            _schedule(), _at(2026, 11, 26, 8, 45))
        self.assertEqual(datetime.datetime(2026, 11, 26, 7, 30,
                                           tzinfo=UTC), prewarm)
        self.assertEqual(datetime.datetime(2026, 11, 26, 8, 0,
                                           tzinfo=UTC), start)
        self.assertEqual(datetime.datetime(2026, 11, 26, 16, 0,
                                           tzinfo=UTC), end)

    def test_window_across_midnight_belongs_to_its_start_day(self):
        night = [_schedule(days=["fri"], start_time="22:00",
                           end_time="06:00", prewarm_minutes=0)]
        # Friday 2026-11-27 22:00 to Saturday 06:00.
        self.assertEqual(2, _target(night, _at(2026, 11, 27, 21, 59)))
        self.assertEqual(30, _target(night, _at(2026, 11, 27, 22, 0)))
        self.assertEqual(30, _target(night, _at(2026, 11, 28, 5, 59)))
        self.assertEqual(2, _target(night, _at(2026, 11, 28, 6, 0)))
        # Thursday night is not a Friday window.
        self.assertEqual(2, _target(night, _at(2026, 11, 26, 23, 0)))
        self.assertEqual(2, _target(night, _at(2026, 11, 27, 1, 0)))

    def test_prewarm_reaches_into_the_previous_day(self):
        early = [_schedule(days=["mon"], start_time="01:00",
                           end_time="05:00", prewarm_minutes=120)]
        # Monday 2026-11-30 01:00: prewarm from Sunday 23:00.
        self.assertEqual(2, _target(early, _at(2026, 11, 29, 22, 59)))
        self.assertEqual(30, _target(early, _at(2026, 11, 29, 23, 0)))

    def test_equal_start_and_end_is_a_whole_day(self):
        whole = [_schedule(days=["wed"], start_time="07:00",
                           end_time="07:00", prewarm_minutes=0)]
        self.assertEqual(30, _target(whole, _at(2026, 11, 25, 7, 0)))
        self.assertEqual(30, _target(whole, _at(2026, 11, 26, 6, 59)))
        self.assertEqual(2, _target(whole, _at(2026, 11, 26, 7, 0)))

    def test_spring_forward(self):
        # Paris, Sunday 2026-03-29: 02:00 jumps to 03:00.
        night = [_schedule(days=["sat"], start_time="22:00",
                           end_time="06:00", prewarm_minutes=0)]
        # The window lasts 7 real hours: 21:00 to 04:00 UTC.
        self.assertEqual(30, _target(night, datetime.datetime(
            2026, 3, 29, 3, 59, tzinfo=UTC)))
        self.assertEqual(2, _target(night, datetime.datetime(
            2026, 3, 29, 4, 0, tzinfo=UTC)))
        # A start in the skipped hour is taken with the winter offset:
        # 02:30 is 01:30 UTC (03:30 summer time).
        gap = [_schedule(days=["sun"], start_time="02:30",
                         end_time="08:00", prewarm_minutes=0)]
        self.assertEqual(2, _target(gap, datetime.datetime(
            2026, 3, 29, 1, 29, tzinfo=UTC)))
        self.assertEqual(30, _target(gap, datetime.datetime(
            2026, 3, 29, 1, 30, tzinfo=UTC)))

    def test_fall_back(self):
        # Paris, Sunday 2026-10-25: 03:00 goes back to 02:00.
        night = [_schedule(days=["sat"], start_time="22:00",
                           end_time="06:00", prewarm_minutes=0)]
        # 9 real hours: 20:00 UTC to 05:00 UTC.
        self.assertEqual(30, _target(night, datetime.datetime(
            2026, 10, 24, 20, 0, tzinfo=UTC)))
        self.assertEqual(30, _target(night, datetime.datetime(
            2026, 10, 25, 4, 59, tzinfo=UTC)))
        self.assertEqual(2, _target(night, datetime.datetime(
            2026, 10, 25, 5, 0, tzinfo=UTC)))
        # 02:30 happens twice: the first one (00:30 UTC) counts.
        twice = [_schedule(days=["sun"], start_time="02:30",
                           end_time="04:00", prewarm_minutes=0)]
        self.assertEqual(2, _target(twice, datetime.datetime(
            2026, 10, 25, 0, 29, tzinfo=UTC)))
        self.assertEqual(30, _target(twice, datetime.datetime(
            2026, 10, 25, 0, 30, tzinfo=UTC)))


class TestEffectiveMinReady(testtools.TestCase):

    def test_highest_open_schedule_wins_capped_at_max_size(self):
        now = _at(2026, 11, 26, 10, 0)
        peak = _schedule(name="peak", start_time="10:00",
                         end_time="12:00", min_ready=60)
        day = _schedule(name="day")
        target, source = schedules.effective_min_ready(
            POOL, [day, peak], now)
        self.assertEqual((40, "peak"), (target, source["name"]))
        target, source = schedules.effective_min_ready(
            dict(POOL, max_size=100), [day, peak], now)
        self.assertEqual((60, "peak"), (target, source["name"]))

    def test_pool_min_ready_is_a_floor(self):
        now = _at(2026, 11, 26, 10, 0)
        target, source = schedules.effective_min_ready(
            dict(POOL, min_ready=35), [_schedule()], now)
        self.assertEqual((35, None), (target, source))

    def test_disabled_and_other_pools_schedules_do_not_count(self):
        now = _at(2026, 11, 26, 10, 0)
        self.assertEqual(2, _target([_schedule(enabled=False)], now))
        self.assertEqual(2, _target([_schedule(pool_id="p2")], now))

    def test_bad_values(self):
        now = _at(2026, 11, 26, 10, 0)
        for value in ("9:00", "09-00", "24:00", "ab:cd", ""):
            self.assertRaises(ValueError, schedules.window_bounds,
                              _schedule(start_time=value), now)
        self.assertRaises(zoneinfo.ZoneInfoNotFoundError,
                          schedules.window_bounds,
                          _schedule(timezone="Mars/Olympus"), now)
