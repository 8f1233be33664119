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

"""Maintenance windows: cron expressions and openings at frozen times."""

import datetime

import testtools

from vdi_broker.conductor import maintenance

UTC = datetime.timezone.utc


def at(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def window(**values):
    return dict({"id": "w", "name": "w", "enabled": True, "cron": None,
                 "timezone": "UTC", "duration_minutes": None,
                 "starts_at": None, "ends_at": None, "drain": False,
                 "pool_id": "p1", "site": None}, **values)


class TestCron(testtools.TestCase):

    def test_fields(self):
        cron = maintenance.Cron("*/15 22-23 * * sat,sun")
        self.assertEqual({0, 15, 30, 45}, cron.minutes)
        self.assertEqual({22, 23}, cron.hours)
        self.assertEqual({0, 6}, cron.weekdays)
        self.assertTrue(cron.day_matches(datetime.date(2026, 12, 5)))
        self.assertFalse(cron.day_matches(datetime.date(2026, 12, 4)))

    def test_names_and_sunday_as_seven(self):
        cron = maintenance.Cron("0 3 1 jan-mar 7")
        self.assertEqual({1, 2, 3}, cron.months)
        self.assertEqual({0}, cron.weekdays)
        # Both day fields restricted: either matches (as in cron).
        self.assertTrue(cron.day_matches(datetime.date(2027, 1, 1)))
        self.assertTrue(cron.day_matches(datetime.date(2027, 1, 3)))
        self.assertFalse(cron.day_matches(datetime.date(2027, 1, 4)))
        self.assertFalse(cron.day_matches(datetime.date(2027, 4, 4)))

    def test_malformed(self):
        for text in ("* * * *", "60 * * * *", "* 24 * * *", "5-1 * * * *",
                     "*/0 * * * *", "x * * * *", "* * 0 * *",
                     "* * * 13 *", "* * * * 8"):
            self.assertRaises(ValueError, maintenance.Cron, text)


class TestOpening(testtools.TestCase):

    def test_recurring_in_its_time_zone(self):
        # Saturdays 22:00 in Shanghai (14:00 UTC), four hours.
        w = window(cron="0 22 * * sat", timezone="Asia/Shanghai",
                   duration_minutes=240)
        self.assertIsNone(maintenance.opening(w, at(2026, 12, 5, 13, 59)))
        self.assertEqual((at(2026, 12, 5, 14), at(2026, 12, 5, 18)),
                         maintenance.opening(w, at(2026, 12, 5, 14)))
        # Past local midnight: still the Saturday opening.
        self.assertEqual((at(2026, 12, 5, 14), at(2026, 12, 5, 18)),
                         maintenance.opening(w, at(2026, 12, 5, 17, 59)))
        self.assertIsNone(maintenance.opening(w, at(2026, 12, 5, 18)))
        self.assertEqual((at(2026, 12, 12, 14), at(2026, 12, 12, 18)),
                         maintenance.next_opening(w, at(2026, 12, 5, 18)))

    def test_daylight_saving_time(self):
        # Paris: 02:30 does not exist on 2027-03-28 (taken with the
        # offset before the change: 01:30 UTC); the window keeps its
        # real length.
        w = window(cron="30 2 * * *", timezone="Europe/Paris",
                   duration_minutes=60)
        self.assertEqual((at(2027, 3, 28, 1, 30), at(2027, 3, 28, 2, 30)),
                         maintenance.opening(w, at(2027, 3, 28, 2)))
        self.assertEqual((at(2027, 3, 29, 0, 30), at(2027, 3, 29, 1, 30)),
                         maintenance.next_opening(w, at(2027, 3, 28, 2)))

    def test_one_off_and_disabled(self):
        w = window(starts_at=datetime.datetime(2026, 12, 24, 22),
                   ends_at=datetime.datetime(2026, 12, 25, 2))
        self.assertIsNone(maintenance.opening(w, at(2026, 12, 24, 21)))
        self.assertEqual((at(2026, 12, 24, 22), at(2026, 12, 25, 2)),
                         maintenance.opening(w, at(2026, 12, 25, 1)))
        self.assertIsNone(maintenance.opening(w, at(2026, 12, 25, 2)))
        self.assertIsNone(maintenance.next_opening(w, at(2026, 12, 25, 2)))
        w["enabled"] = False
        self.assertIsNone(maintenance.opening(w, at(2026, 12, 25, 1)))

    def test_validate(self):
        self.assertRaises(ValueError, maintenance.validate, window())
        self.assertRaises(ValueError, maintenance.validate,
                          window(cron="0 22 * * *"))
        self.assertRaises(ValueError, maintenance.validate,
                          window(starts_at=datetime.datetime(2026, 1, 2),
                                 ends_at=datetime.datetime(2026, 1, 1)))
        maintenance.validate(window(cron="0 22 * * *",
                                    duration_minutes=60))

    def test_pools_of_a_site_and_draining(self):
        pools = [{"id": "p1", "site": "nantong"},
                 {"id": "p2", "site": "nantong"},
                 {"id": "p3", "site": "shanghai"}]
        w = window(pool_id=None, site="nantong", cron="0 * * * *",
                   duration_minutes=30)
        broken = window(cron="not a cron", duration_minutes=30)
        found = maintenance.open_pools([w, broken], pools,
                                       at(2026, 12, 3, 10, 10))
        self.assertEqual({"p1", "p2"}, set(found))
        self.assertEqual({}, maintenance.open_pools(
            [w], pools, at(2026, 12, 3, 10, 40)))
        pool = {"drain_until": datetime.datetime(2026, 12, 3, 11)}
        self.assertTrue(maintenance.pool_draining(pool,
                                                  at(2026, 12, 3, 10)))
        self.assertFalse(maintenance.pool_draining(pool,
                                                   at(2026, 12, 3, 11)))
        self.assertFalse(maintenance.pool_draining({"drain_until": None},
                                                   at(2026, 12, 3, 10)))
