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

"""openstack vdi department / shift plan / agent / alert commands (R15).

* ``department list/show/create/set/delete``: which directory users make
  a department (--group, --ou, --attribute, --match or --rules);
* ``shift plan import <file.csv>``, ``shift plan export [--file]`` (the
  CSV of workforce-management tools), ``shift plan show`` (the slots);
* ``agent list`` (active, idle, offline against the plan now) and
  ``agent history``;
* ``alert list/show/acknowledge``.
"""

import argparse

from osc_lib.command import command
from osc_lib import exceptions

from vdi_broker.osc import client as vdi_client
from vdi_broker.osc.v1 import allocators
from vdi_broker.osc.v1 import base

DEPARTMENTS = "/departments"
SHIFT_PLANS = "/shift-plans"
ALERTS = "/alerts"
SORT_KEYS = ("name", "priority", "created_at")
COLUMNS = (("id", "ID"), ("name", "Name"), ("priority", "Priority"),
           ("rules", "Rules"))
FORMATTERS = {"rules": base.RulesColumn}
FIELDS = {"description": "description", "priority": "priority"}
RULE_LISTS = {"groups": "groups", "ous": "ou"}


def _add_rules(parser):
    rules = parser.add_argument_group(
        "rules", "Who belongs to the department (as allocator rules match "
                 "users). Each option may be repeated; on 'set' they "
                 "replace the rules as a whole.")
    rules.add_argument("--rules", metavar="<json>", type=base.json_object,
                       help="The whole rule document as JSON (groups, ou, "
                            "attributes, match)")
    rules.add_argument("--group", metavar="<group>", dest="groups",
                       action="append", help="Member of this group")
    rules.add_argument("--ou", metavar="<ou>", dest="ous", action="append",
                       help="DN under this OU (DN or OU name)")
    rules.add_argument("--attribute", metavar="<name=value>",
                       dest="attributes", action="append",
                       type=allocators._name_value,
                       help="Directory attribute has this value")
    rules.add_argument("--match", choices=("all", "any"),
                       help="All criteria must match (default) or any")


def _department_body(parsed_args):
    body = base.body_from(parsed_args, FIELDS)
    rules = allocators._rules(parsed_args, RULE_LISTS)
    if rules is not None:
        body["rules"] = rules
    return body


def _add_department_fields(parser):
    parser.add_argument("--description", metavar="<description>")
    parser.add_argument("--priority", metavar="<priority>",
                        type=base.non_negative_int,
                        help="Lower first: a user's department is the "
                             "first whose rules match")
    _add_rules(parser)


class ListDepartment(command.Lister):
    """List departments, in the order users are matched (by priority)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--name", metavar="<name>")
        base.add_pagination(parser, SORT_KEYS)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args, SORT_KEYS)
        params.setdefault("sort_key", "priority")
        params.update(name=parsed_args.name)
        items = base.client(self).list(DEPARTMENTS, "departments", params,
                                       limit)
        return base.list_items(items, COLUMNS, FORMATTERS)


class ShowDepartment(command.ShowOne):
    """Show a department."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("department", metavar="<department>",
                            help="Department ID or name")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(
            DEPARTMENTS, "department", parsed_args.department), FORMATTERS)


class CreateDepartment(command.ShowOne):
    """Create a department."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<name>",
                            help="Department name (as the shift plan "
                                 "names it)")
        _add_department_fields(parser)
        return parser

    def take_action(self, parsed_args):
        body = _department_body(parsed_args)
        body["name"] = parsed_args.name
        return base.show_item(base.client(self).create(
            DEPARTMENTS, "department", body), FORMATTERS)


class SetDepartment(command.ShowOne):
    """Change a department."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("department", metavar="<department>",
                            help="Department ID or name")
        parser.add_argument("--name", metavar="<name>", help="New name")
        _add_department_fields(parser)
        base.add_revision(parser)
        return parser

    def take_action(self, parsed_args):
        body = _department_body(parsed_args)
        if parsed_args.name:
            body["name"] = parsed_args.name
        if not body:
            raise exceptions.CommandError("Nothing to change: give at "
                                          "least one option")
        return base.show_item(base.client(self).update(
            DEPARTMENTS, "department", parsed_args.department, body,
            parsed_args.revision), FORMATTERS)


class DeleteDepartment(command.Command):
    """Delete departments (and their shift plans)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("departments", metavar="<department>",
                            nargs="+", help="Department ID or name")
        return parser

    def take_action(self, parsed_args):
        base.delete_many(self, DEPARTMENTS, parsed_args.departments,
                         "department")


# -- shift plans -------------------------------------------------------------

def _add_plan_filters(parser):
    parser.add_argument("--department", metavar="<department>")
    parser.add_argument("--site", metavar="<site>")
    parser.add_argument("--from", metavar="<YYYY-MM-DD>", dest="date_from",
                        help="First local date")
    parser.add_argument("--to", metavar="<YYYY-MM-DD>", dest="date_to",
                        help="Last local date")


def _plan_params(parsed_args):
    params = {"department": parsed_args.department,
              "site": parsed_args.site, "from": parsed_args.date_from,
              "to": parsed_args.date_to}
    return {k: v for k, v in params.items() if v is not None}


class ImportShiftPlan(command.ShowOne):
    """Import a shift plan (CSV); its days replace the stored ones.

    Columns: date, slot start, department, site, expected agents.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("file", metavar="<file.csv>",
                            type=argparse.FileType("r", encoding="utf-8-sig"),
                            help="The plan, as the workforce-management "
                                 "tool exports it ('-': standard input)")
        return parser

    def take_action(self, parsed_args):
        with parsed_args.file as f:
            text = f.read()
        result = base.client(self).request_text(
            "PUT", SHIFT_PLANS, text, accept="application/json")
        return base.show_item(result["shift_plan"])


class ExportShiftPlan(command.Command):
    """Export the stored shift plan as CSV (the shape import reads)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_plan_filters(parser)
        parser.add_argument("--file", metavar="<file.csv>",
                            help="Write to this file (default: standard "
                                 "output)")
        return parser

    def take_action(self, parsed_args):
        text = base.client(self).request_text(
            "GET", SHIFT_PLANS, params=_plan_params(parsed_args))
        if parsed_args.file:
            with open(parsed_args.file, "w", encoding="utf-8",
                      newline="") as f:
                f.write(text)
        else:
            self.app.stdout.write(text)


class ShowShiftPlan(command.Lister):
    """Show the stored shift-plan slots (local and UTC times)."""

    COLUMNS = (("date", "Date"), ("slot_start", "Start"),
               ("repeated_hour", "Repeated hour"),
               ("department", "Department"), ("site", "Site"),
               ("expected", "Expected"), ("starts_at", "Starts (UTC)"))

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_plan_filters(parser)
        return parser

    def take_action(self, parsed_args):
        result = base.client(self).request(
            "GET", SHIFT_PLANS, params=_plan_params(parsed_args))
        return base.list_items(result["slots"], self.COLUMNS)


# -- agents ------------------------------------------------------------------

class ListAgent(command.Lister):
    """Agents now by department and site: active, idle, offline, plan."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--department", metavar="<department>")
        parser.add_argument("--site", metavar="<site>")
        parser.add_argument("--pools", action="store_true",
                            help="One row per pool too")
        return parser

    def take_action(self, parsed_args):
        params = {k: getattr(parsed_args, k) for k in ("department", "site")
                  if getattr(parsed_args, k) is not None}
        result = base.client(self).request("GET", "/agents", params=params)
        rows = []
        for team in result["agents"]:
            rows.append(dict(team, pool=""))
            if parsed_args.pools:
                rows.extend(dict(p, department=team["department"],
                                 site=team["site"], expected=None)
                            for p in team["pools"])
        return base.list_items(rows, (
            ("department", "Department"), ("site", "Site"),
            ("pool", "Pool"), ("active", "Active"), ("idle", "Idle"),
            ("offline", "Offline"), ("expected", "Expected")))


class AgentHistory(command.Lister):
    """One-minute agent counts (totals by default, or one pool's)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--department", metavar="<department>")
        parser.add_argument("--site", metavar="<site>")
        parser.add_argument("--pool", metavar="<pool>")
        parser.add_argument("--since", metavar="<time>",
                            help="ISO 8601 (default: an hour ago)")
        parser.add_argument("--until", metavar="<time>")
        parser.add_argument("--limit", metavar="<n>",
                            type=base.positive_int)
        return parser

    def take_action(self, parsed_args):
        params = {k: getattr(parsed_args, k) for k in (
            "department", "site", "pool", "since", "until", "limit")
            if getattr(parsed_args, k) is not None}
        result = base.client(self).request("GET", "/agents/history",
                                           params=params)
        return base.list_items(result["history"], (
            ("minute", "Minute"), ("department", "Department"),
            ("site", "Site"), ("pool", "Pool"), ("active", "Active"),
            ("idle", "Idle"), ("offline", "Offline"),
            ("expected", "Expected")))


# -- alerts ------------------------------------------------------------------

ALERT_COLUMNS = (("id", "ID"), ("kind", "Kind"), ("subject", "Subject"),
                 ("state", "State"), ("severity", "Severity"),
                 ("started_at", "Started"), ("ended_at", "Ended"),
                 ("acknowledged_by", "Acknowledged by"))


class ListAlert(command.Lister):
    """List the broker's alerts, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--state", choices=("pending", "firing",
                                                "resolved"))
        parser.add_argument("--kind", metavar="<kind>")
        parser.add_argument("--department", metavar="<department>")
        parser.add_argument("--site", metavar="<site>")
        parser.add_argument("--pool", metavar="<pool>")
        base.add_pagination(parser, ("started_at", "kind", "state"))
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args,
                                        ("started_at", "kind", "state"))
        params.update({k: getattr(parsed_args, k) for k in (
            "state", "kind", "department", "site", "pool")})
        items = base.client(self).list(ALERTS, "alerts", params, limit)
        return base.list_items(items, ALERT_COLUMNS)


class ShowAlert(command.ShowOne):
    """Show an alert and the numbers that raised it."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("alert", metavar="<alert>", help="Alert ID")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(ALERTS, "alert",
                                                     parsed_args.alert))


class AcknowledgeAlert(command.ShowOne):
    """Acknowledge an alert (it still clears by itself)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("alert", metavar="<alert>", help="Alert ID")
        return parser

    def take_action(self, parsed_args):
        vdi = base.client(self)
        result = vdi.request("POST", "%s/%s/acknowledge" % (
            ALERTS, vdi_client.quote(parsed_args.alert)))
        return base.show_item(result["alert"])
