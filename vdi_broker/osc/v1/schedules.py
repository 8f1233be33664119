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

"""openstack vdi schedule list/show/create/set/delete.

A schedule raises a pool's min_ready on some days between two times
(shift starts), starting prewarm_minutes early.
"""

import argparse
import re

from osc_lib.command import command
from osc_lib import exceptions

from vdi_broker.osc.v1 import base

PATH = "/schedules"
SORT_KEYS = ("name", "created_at", "pool_id")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COLUMNS = (("id", "ID"), ("name", "Name"), ("pool_id", "Pool ID"),
           ("days", "Days"), ("start_time", "Start"), ("end_time", "End"),
           ("timezone", "Timezone"), ("min_ready", "Min Ready"),
           ("enabled", "Enabled"))
FIELDS = {"pool_id": "pool", "start_time": "start", "end_time": "end",
          "timezone": "timezone", "min_ready": "min_ready",
          "prewarm_minutes": "prewarm_minutes", "enabled": "enabled",
          "description": "description"}
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def days(text):
    """``mon,tue,fri`` or ``mon-fri`` (or a mix: ``mon-wed,sat``)."""
    result = []
    for part in text.lower().split(","):
        first, sep, last = part.strip().partition("-")
        if first not in DAYS or (sep and last not in DAYS):
            raise argparse.ArgumentTypeError(
                "days are %s, e.g. mon-fri or sat,sun" % ",".join(DAYS))
        start = DAYS.index(first)
        end = DAYS.index(last) if sep else start
        if end < start:
            raise argparse.ArgumentTypeError(
                "%s: the range runs backwards" % part)
        for day in DAYS[start:end + 1]:
            if day not in result:
                result.append(day)
    return result


def hh_mm(text):
    if not _TIME.match(text):
        raise argparse.ArgumentTypeError("expected HH:MM, got %r" % text)
    return text


def _add_fields(parser, create):
    parser.add_argument("--pool", metavar="<pool>", required=create,
                        help="Pool ID or name")
    parser.add_argument("--days", metavar="<days>", type=days,
                        required=create,
                        help="Days of the week: mon-fri, sat,sun, ...")
    parser.add_argument("--start", metavar="<HH:MM>", type=hh_mm,
                        required=create, help="Start of the period")
    parser.add_argument("--end", metavar="<HH:MM>", type=hh_mm,
                        required=create, help="End of the period")
    parser.add_argument("--timezone", metavar="<timezone>",
                        help="IANA time zone of the times, e.g. "
                             "Asia/Shanghai")
    parser.add_argument("--min-ready", metavar="<count>",
                        type=base.non_negative_int, required=create,
                        help="Ready desktops kept during the period")
    parser.add_argument("--prewarm-minutes", metavar="<minutes>",
                        type=base.non_negative_int,
                        help="Start building this long before the start "
                             "(0-720)")
    parser.add_argument("--description", metavar="<description>")
    base.add_enabled(parser, "schedule")


def _body(parsed_args):
    body = base.body_from(parsed_args, FIELDS)
    if parsed_args.days:
        body["days"] = parsed_args.days
    return body


class ListSchedule(command.Lister):
    """List pool schedules."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--pool", metavar="<pool>",
                            help="Pool ID or name")
        base.add_enabled_filter(parser, "schedules")
        base.add_pagination(parser, SORT_KEYS)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args, SORT_KEYS)
        params.update(pool_id=base.pool_id(self, parsed_args.pool),
                      enabled=base.bool_param(parsed_args.enabled))
        items = base.client(self).list(PATH, "schedules", params, limit)
        return base.list_items(items, COLUMNS)


class ShowSchedule(command.ShowOne):
    """Show a schedule."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("schedule", metavar="<schedule-id>")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(
            PATH, "schedule", parsed_args.schedule))


class CreateSchedule(command.ShowOne):
    """Create a schedule for a pool."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<name>", help="Schedule name")
        _add_fields(parser, create=True)
        return parser

    def take_action(self, parsed_args):
        body = _body(parsed_args)
        body["name"] = parsed_args.name
        return base.show_item(base.client(self).create(PATH, "schedule",
                                                       body))


class SetSchedule(command.ShowOne):
    """Change a schedule."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("schedule", metavar="<schedule-id>")
        parser.add_argument("--name", metavar="<name>", help="New name")
        _add_fields(parser, create=False)
        base.add_revision(parser)
        return parser

    def take_action(self, parsed_args):
        body = _body(parsed_args)
        if parsed_args.name:
            body["name"] = parsed_args.name
        if not body:
            raise exceptions.CommandError("Nothing to change: give at "
                                          "least one option")
        return base.show_item(base.client(self).update(
            PATH, "schedule", parsed_args.schedule, body,
            parsed_args.revision))


class DeleteSchedule(command.Command):
    """Delete schedules."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("schedules", metavar="<schedule-id>", nargs="+")
        return parser

    def take_action(self, parsed_args):
        base.delete_many(self, PATH, parsed_args.schedules, "schedule")
