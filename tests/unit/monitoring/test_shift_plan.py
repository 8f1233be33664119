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

"""The shift plan CSV parser of the load generator's day mode."""

import datetime

import testtools

from vdi_broker.monitoring import shift_plan

D = datetime.date(2026, 12, 1)
T = datetime.time


class ParseTest(testtools.TestCase):

    def test_the_documented_shape(self):
        plan = shift_plan.parse(
            "date,interval_start,department,site,required_agents\n"
            "2026-12-01,08:00,hotel,shanghai,12\n"
            "2026-12-01,08:15,hotel,shanghai,18\n"
            "2026-12-01,08:00,flight,nantong,4\n"
            "2026-12-02,08:00,hotel,shanghai,10\n")
        self.assertEqual(15, plan.slot_minutes)
        self.assertEqual([D, datetime.date(2026, 12, 2)], plan.dates())
        self.assertEqual([("flight", "nantong"), ("hotel", "shanghai")],
                         plan.teams(D))
        self.assertEqual({("hotel", "shanghai"): {T(8, 0): 12,
                                                  T(8, 15): 18},
                          ("flight", "nantong"): {T(8, 0): 4}},
                         plan.required(D))
        self.assertEqual({("hotel", "shanghai"): 18,
                          ("flight", "nantong"): 0},
                         plan.required_at(D, T(8, 29)))

    def test_headers_as_tools_write_them(self):
        # Any order and case, spaces or dashes, other columns, seconds,
        # a byte-order mark's worth of leniency, comments, blank lines.
        plan = shift_plan.parse(
            "# exported by the WFM tool\n"
            "Site,Required Agents,Interval-Start,Department,Date,Skill\n"
            "\n"
            "shanghai,7,09:30:00,vip,2026-12-01,English\n"
            "shanghai,9,10:00:00,vip,2026-12-01,English\n")
        self.assertEqual(30, plan.slot_minutes)
        self.assertEqual({("vip", "shanghai"): {T(9, 30): 7, T(10, 0): 9}},
                         plan.required(D))

    def test_slot_length_given(self):
        plan = shift_plan.parse(
            "date,start,department,site,required\n"
            "2026-12-01,08:00,hotel,shanghai,1\n"
            "2026-12-01,09:00,hotel,shanghai,2\n", slot_minutes=30)
        self.assertEqual(30, plan.slot_minutes)

    def test_errors_name_the_line(self):
        header = "date,interval_start,department,site,required_agents\n"
        for body, message in (
                ("2026-12-01,8h,hotel,shanghai,1\n", "line 2"),
                ("2026-13-01,08:00,hotel,shanghai,1\n", "line 2"),
                ("2026-12-01,08:00,hotel,shanghai,many\n", "line 2"),
                ("2026-12-01,08:00,hotel,shanghai,-1\n", "negative"),
                ("2026-12-01,08:00,,shanghai,1\n", "no department"),
                ("2026-12-01,08:00,hotel,shanghai\n", "line 2"),
                ("2026-12-01,08:00,hotel,shanghai,1\n"
                 "2026-12-01,08:00,hotel,shanghai,2\n", "a second row"),
                ("2026-12-01,08:00,hotel,shanghai,1\n"
                 "2026-12-01,08:20,hotel,shanghai,2\n", "20 minutes"),
                ("2026-12-01,08:10,hotel,shanghai,1\n", "boundary"),
                ("", "no slots")):
            e = self.assertRaises(ValueError, shift_plan.parse,
                                  header + body)
            self.assertIn(message, str(e), body)
        e = self.assertRaises(ValueError, shift_plan.parse,
                              "date,department,site,required\n")
        self.assertIn("no start column", str(e))
        self.assertRaises(ValueError, shift_plan.parse, "")

    def test_what_the_csv_module_cannot_read_is_a_value_error(self):
        # Found by the API fuzz test: these were a 500.
        e = self.assertRaises(
            ValueError, shift_plan.parse,
            "date,start,department,site,required\n"
            "2026-12-01,08:00,hotel,%s,1\n" % ("x" * 200000))
        self.assertIn("line 2", str(e))
        # A bare carriage return ends a line like any other.
        plan = shift_plan.parse("date,start,department,site,required\r"
                                "2026-12-01,08:00,hotel,shanghai,1\r")
        self.assertEqual(1, len(plan.slots))
        e = self.assertRaises(ValueError, shift_plan.parse,
                              "\u00df4\rR\u00f3\u00e9")
        self.assertIn("header", str(e))
