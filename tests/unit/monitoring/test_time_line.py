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

"""Shift plans on the UTC time line: daylight-saving changes, export."""

import datetime

import testtools

from vdi_broker.monitoring import shift_plan

HEADER = "date,interval_start,department,site,required_agents\n"


def _utc(*args):
    return datetime.datetime(*args)


class TimeLineTest(testtools.TestCase):

    def test_a_plain_day_in_shanghai(self):
        plan = shift_plan.parse(HEADER + "2026-12-08,08:00,hotel,sh,4\n"
                                "2026-12-08,08:15,hotel,sh,5\n")
        slots = shift_plan.to_utc(plan, "Asia/Shanghai")
        self.assertEqual(
            [(_utc(2026, 12, 8, 0, 0), _utc(2026, 12, 8, 0, 15), 4),
             (_utc(2026, 12, 8, 0, 15), _utc(2026, 12, 8, 0, 30), 5)],
            [(s["starts_at"], s["ends_at"], s["expected"]) for s in slots])
        self.assertEqual((15, 2), (slots[0]["slot_minutes"],
                                   slots[0]["line"]))

    def test_spring_forward_skips_the_missing_hour(self):
        plan = shift_plan.parse(HEADER +
                                "2026-03-08,01:30,hotel,ny,2\n"
                                "2026-03-08,02:00,hotel,ny,0\n"
                                "2026-03-08,02:30,hotel,ny,0\n"
                                "2026-03-08,03:00,hotel,ny,3\n")
        slots = shift_plan.to_utc(plan, "America/New_York")
        # 01:30 EST is 06:30 UTC; 03:00 EDT is 07:00 UTC.
        self.assertEqual([(_utc(2026, 3, 8, 6, 30), 2),
                          (_utc(2026, 3, 8, 7, 0), 3)],
                         [(s["starts_at"], s["expected"]) for s in slots])

    def test_spring_forward_refuses_agents_in_the_missing_hour(self):
        plan = shift_plan.parse(HEADER + "2026-03-08,02:15,hotel,ny,1\n",
                                slot_minutes=15)
        e = self.assertRaises(ValueError, shift_plan.to_utc, plan,
                              "America/New_York")
        self.assertIn("line 2", str(e))
        self.assertIn("does not exist in America/New_York", str(e))

    def test_fall_back_two_rows_are_the_two_occurrences(self):
        text = (HEADER + "2026-11-01,01:00,hotel,ny,5\n"
                "2026-11-01,01:00,hotel,ny,6\n")
        # Without the time zone the second row is a duplicate...
        e = self.assertRaises(ValueError, shift_plan.parse, text, 30)
        self.assertIn("line 3: a second row", str(e))
        # ...with it, the second occurrence of 01:00.
        plan = shift_plan.parse(text, 30, timezone="America/New_York")
        slots = shift_plan.to_utc(plan, "America/New_York")
        self.assertEqual([(_utc(2026, 11, 1, 5, 0), 0, 5),
                          (_utc(2026, 11, 1, 6, 0), 1, 6)],
                         [(s["starts_at"], s["fold"], s["expected"])
                          for s in slots])
        # A third row is a duplicate still.
        e = self.assertRaises(ValueError, shift_plan.parse,
                              text + "2026-11-01,01:00,hotel,ny,7\n", 30,
                              "America/New_York")
        self.assertIn("line 4", str(e))

    def test_fall_back_one_row_counts_for_both(self):
        plan = shift_plan.parse(HEADER + "2026-11-01,01:30,hotel,ny,4\n",
                                30)
        slots = shift_plan.to_utc(plan, "America/New_York")
        self.assertEqual([(_utc(2026, 11, 1, 5, 30), 0),
                          (_utc(2026, 11, 1, 6, 30), 1)],
                         [(s["starts_at"], s["fold"]) for s in slots])

    def test_a_second_row_outside_the_repeated_hour_is_a_duplicate(self):
        e = self.assertRaises(ValueError, shift_plan.parse, HEADER +
                              "2026-11-01,09:00,hotel,ny,5\n"
                              "2026-11-01,09:00,hotel,ny,6\n", 30,
                              "America/New_York")
        self.assertIn("line 3", str(e))

    def test_unknown_zone(self):
        self.assertRaises(ValueError, shift_plan.parse, HEADER, None,
                          "Mars/Olympus")

    def test_export_round_trip(self):
        text = (HEADER + "2026-11-01,01:00,hotel,ny,5\n"
                "2026-11-01,01:00,hotel,ny,6\n"
                "2026-11-01,01:30,flight,ny,2\n")
        plan = shift_plan.parse(text, 30, timezone="America/New_York")
        slots = shift_plan.to_utc(plan, "America/New_York")
        exported = shift_plan.export(slots)
        self.assertEqual(
            "date,slot_start,department,site,expected\r\n"
            "2026-11-01,01:30,flight,ny,2\r\n"
            "2026-11-01,01:30,flight,ny,2\r\n"
            "2026-11-01,01:00,hotel,ny,5\r\n"
            "2026-11-01,01:00,hotel,ny,6\r\n", exported)
        again = shift_plan.to_utc(shift_plan.parse(
            exported, 30, timezone="America/New_York"), "America/New_York")
        key = [(s["department"], s["starts_at"], s["expected"])
               for s in slots]
        self.assertEqual(sorted(key), sorted(
            (s["department"], s["starts_at"], s["expected"])
            for s in again))
