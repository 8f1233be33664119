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

"""The OSC plugin's argument parsing and output formatting (no HTTP)."""

import argparse
import io

import fixtures
from osc_lib import exceptions
import testtools

from tests.unit.osc import stub
from vdi_broker.osc import plugin
from vdi_broker.osc.v1 import allocators
from vdi_broker.osc.v1 import base
from vdi_broker.osc.v1 import pools
from vdi_broker.osc.v1 import schedules


def parse(command_class, argv):
    command = command_class(None, None)
    return command.get_parser("openstack vdi").parse_args(argv)


class TestArguments(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # argparse writes its usage errors to stderr.
        self.useFixture(fixtures.MonkeyPatch("sys.stderr", io.StringIO()))

    def test_sort_and_pagination(self):
        args = parse(pools.ListPool, ["--sort", "site:desc", "--limit", "5",
                                      "--marker", "abc"])
        self.assertEqual(({"marker": "abc", "sort_key": "site",
                           "sort_dir": "desc"}, 5),
                         base.pagination(args, pools.SORT_KEYS))
        args = parse(pools.ListPool, ["--sort", "name"])
        self.assertEqual("asc", base.pagination(args, pools.SORT_KEYS)[0][
            "sort_dir"])
        args = parse(pools.ListPool, ["--sort", "flavor"])
        self.assertRaises(exceptions.CommandError, base.pagination, args,
                          pools.SORT_KEYS)
        for bad in (["--sort", "name:up"], ["--sort", ":desc"],
                    ["--limit", "0"], ["--limit", "x"],
                    ["--enabled", "--disabled"]):
            self.assertRaises(SystemExit, parse, pools.ListPool, bad)

    def test_pool_create_needs_flavor_and_image(self):
        self.assertRaises(SystemExit, parse, pools.CreatePool,
                          ["p", "--flavor", "f"])
        args = parse(pools.CreatePool, [
            "p", "--flavor", "f", "--image", "i", "--network", "n1",
            "--network", "n2", "--metadata", "team=hotel", "--min-ready",
            "0", "--disable"])
        self.assertEqual(["n1", "n2"], args.networks)
        self.assertEqual({"team": "hotel"}, args.metadata)
        self.assertEqual({"flavor": "f", "image": "i", "min_ready": 0,
                          "enabled": False},
                         base.body_from(args, pools.FIELDS))
        self.assertRaises(SystemExit, parse, pools.CreatePool,
                          ["p", "--flavor", "f", "--image", "i",
                           "--max-size", "-1"])

    def test_if_match_and_revision_are_one_option(self):
        for option in ("--if-match", "--revision"):
            args = parse(pools.SetPool, ["p", option, "4"])
            self.assertEqual(4, args.revision)
        self.assertIsNone(parse(pools.SetPool, ["p"]).revision)
        self.assertRaises(SystemExit, parse, pools.SetPool,
                          ["p", "--if-match", '"x"'])

    def test_allocator_rules_from_options(self):
        args = parse(allocators.CreateAllocator, [
            "a", "--plugin", "pool", "--group", "agents", "--group", "vip",
            "--ou", "ou=shanghai,dc=example", "--attribute",
            "department=hotel", "--attribute", "manager=uid=x,dc=example",
            "--attribute", "department=flight", "--seat-tag", "training",
            "--site", "nantong", "--match", "any"])
        self.assertEqual({
            "groups": ["agents", "vip"], "ou": ["ou=shanghai,dc=example"],
            "attributes": {"department": ["hotel", "flight"],
                           "manager": ["uid=x,dc=example"]},
            "seat_tags": ["training"], "sites": ["nantong"],
            "match": "any"}, allocators._rules(args))
        # --rules is the base document; the options add to it.
        args = parse(allocators.CreateAllocator, [
            "a", "--plugin", "pool", "--rules",
            '{"groups": ["a"], "seats": ["S1"]}', "--group", "b"])
        self.assertEqual({"groups": ["a", "b"], "seats": ["S1"]},
                         allocators._rules(args))
        args = parse(allocators.CreateAllocator, ["a", "--plugin", "user"])
        self.assertIsNone(allocators._rules(args))
        self.assertNotIn("rules", allocators._body(args))
        for bad in (["--rules", "[1]"], ["--rules", "{"],
                    ["--attribute", "novalue"], ["--options", "3"]):
            self.assertRaises(SystemExit, parse, allocators.CreateAllocator,
                              ["a", "--plugin", "pool"] + bad)

    def test_allocator_set_conflicting_options(self):
        client = object()  # never reached
        for argv in (["a", "--pool", "p", "--no-pool"],
                     ["a", "--group", "g", "--no-rules"], ["a"]):
            self.assertRaises(exceptions.CommandError, stub.run_command,
                              allocators.SetAllocator, argv, client)

    def test_schedule_days_and_times(self):
        self.assertEqual(["mon", "tue", "wed", "thu", "fri"],
                         schedules.days("mon-fri"))
        self.assertEqual(["mon", "tue", "wed", "sat"],
                         schedules.days("Mon-Wed,sat,tue"))
        for bad in ("fri-mon", "monday", "", "mon-"):
            self.assertRaises(argparse.ArgumentTypeError, schedules.days,
                              bad)
        self.assertEqual("07:30", schedules.hh_mm("07:30"))
        for bad in ("7:30", "24:00", "12:60", "noon"):
            self.assertRaises(argparse.ArgumentTypeError, schedules.hh_mm,
                              bad)
        args = parse(schedules.CreateSchedule, [
            "morning", "--pool", "sh-agents", "--days", "mon-fri",
            "--start", "07:30", "--end", "12:00", "--min-ready", "20",
            "--timezone", "Asia/Shanghai", "--prewarm-minutes", "15"])
        self.assertEqual({"pool_id": "sh-agents",
                          "days": ["mon", "tue", "wed", "thu", "fri"],
                          "start_time": "07:30", "end_time": "12:00",
                          "timezone": "Asia/Shanghai", "min_ready": 20,
                          "prewarm_minutes": 15},
                         schedules._body(args))
        self.assertRaises(SystemExit, parse, schedules.CreateSchedule,
                          ["s", "--pool", "p", "--days", "mon"])

    def test_merged_list(self):
        self.assertEqual(["a", "b", "c"],
                         base.merged_list(["a", "b"], ["b", "c"], False))
        self.assertEqual(["c"], base.merged_list(["a"], ["c"], True))
        self.assertEqual([], base.merged_list(["a"], None, True))

    def test_plugin_options(self):
        parser = argparse.ArgumentParser()
        self.useFixture(fixtures.EnvironmentVariable(
            "OS_VDI_ENDPOINT", "http://broker:8783"))
        plugin.build_option_parser(parser)
        args = parser.parse_args([])
        self.assertEqual("http://broker:8783", args.os_vdi_endpoint)
        self.assertEqual("1", args.os_vdi_api_version)
        args = parser.parse_args(["--os-vdi-endpoint", "http://other"])
        self.assertEqual("http://other", args.os_vdi_endpoint)


class TestFormatting(testtools.TestCase):

    def test_list_items_nested_fields_and_formatters(self):
        items = [{"id": "1", "name": "p", "desktops": {"ready": 2},
                  "networks": ["a", "b"], "rules": {}}]
        headings, rows = base.list_items(
            items, (("name", "Name"), ("desktops.ready", "Ready"),
                    ("networks", "Networks"), ("missing.x", "X"),
                    ("rules", "Rules")),
            {"rules": base.RulesColumn})
        self.assertEqual(("Name", "Ready", "Networks", "X", "Rules"),
                         headings)
        (row,) = rows
        self.assertEqual(["p", 2, None], list(row[:2]) + [row[3]])
        self.assertEqual("a, b", row[2].human_readable())
        self.assertEqual(["a", "b"], row[2].machine_readable())
        self.assertEqual("(matches everybody)", row[4].human_readable())

    def test_show_item_sorted(self):
        columns, values = base.show_item(
            {"name": "p", "id": "1", "metadata": {"team": "hotel"}})
        self.assertEqual(("id", "metadata", "name"), columns)
        self.assertEqual({"team": "hotel"}, values[1].machine_readable())

    def test_rules_column(self):
        column = base.RulesColumn({
            "groups": ["vip", "agents"], "match": "any",
            "attributes": {"department": ["hotel", "flight"]}})
        self.assertEqual("attributes: department=hotel|flight; "
                         "groups: vip, agents; match: any",
                         column.human_readable())

    def _document(self, binding):
        return {
            "request": {"principal": {
                "username": "vera", "display_name": "Vera Chen",
                "dn": "uid=vera,ou=vip,dc=example",
                "groups": ["agents", "vip-agents"],
                "attributes": {"site": ["shanghai"]}},
                "client_id": "tc-1", "seat": "SH-1",
                "seat_tags": ["training"], "site": "shanghai"},
            "trace": [
                {"allocator": "training", "priority": 5, "plugin": "seat",
                 "default": False, "result": "skipped: disabled",
                 "rules": []},
                {"allocator": "contractors", "priority": 10,
                 "plugin": "pool", "default": False, "result": "no match",
                 "rules": [{"criterion": "groups", "matched": False,
                            "detail": "not a member of any of ext"}]},
                {"allocator": "vip-personal", "priority": 20,
                 "plugin": "user", "default": False,
                 "result": "selected: user binding vera",
                 "rules": [{"criterion": "groups", "matched": True,
                            "detail": "member of vip-agents"}]}],
            "outcome": {
                "allocator": "vip-personal",
                "decision": {"pool": "pool-1", "binding_kind": "user",
                             "binding_key": "vera",
                             "reason": "user binding vera"},
                "binding": binding,
                "pool": {"id": "pool-1", "name": "vip-desktops",
                         "status": "active", "ready": 2}}}

    def test_explain_text(self):
        text = allocators.explain_text(self._document(
            {"id": "b-1", "kind": "user", "key": "vera",
             "desktop_id": "d-1"}))
        lines = text.splitlines()
        self.assertIn("  User:     vera (Vera Chen)", lines)
        self.assertIn("  Groups:   agents, vip-agents", lines)
        self.assertIn("  Seat:     SH-1 (tags: training)", lines)
        self.assertIn("    5  training (seat): SKIPPED - disabled", lines)
        self.assertIn("   10  contractors (pool): NO MATCH", lines)
        self.assertIn("         - groups: not a member of any of ext",
                      lines)
        self.assertIn("   20  vip-personal (user): SELECTED - user binding "
                      "vera", lines)
        self.assertIn("         + groups: member of vip-agents", lines)
        self.assertIn("  Winner:   vip-personal", lines)
        self.assertIn("  Pool:     vip-desktops (pool-1), status active, "
                      "2 ready", lines)
        self.assertIn("  Binding:  user vera -> desktop d-1 (binding b-1): "
                      "the login gets that desktop", lines)
        # Steps in the order tried, outcome last.
        self.assertLess(text.index("training"), text.index("contractors"))
        self.assertLess(text.index("contractors"), text.index("Winner"))
        text = allocators.explain_text(self._document(None))
        self.assertIn("user vera has none yet", text)

    def test_explain_text_without_winner(self):
        text = allocators.explain_text({
            "request": {"principal": {"username": "carl"}},
            "trace": [], "outcome": {"allocator": None, "decision": None}})
        self.assertIn("Winner:   none - no allocator matched", text)
