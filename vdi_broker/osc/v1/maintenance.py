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

"""openstack vdi maintenance window create/list/show/delete.

A window of a pool or a site, recurring (cron, local to a time zone) or
one-off, during which desktops in use may be taken for maintenance and,
with --drain, no new logins reach its pools.
"""

from osc_lib.command import command
from osc_lib import exceptions

from vdi_broker.osc.v1 import base

PATH = "/maintenance-windows"
SORT_KEYS = ("name", "created_at")
COLUMNS = (("id", "ID"), ("name", "Name"), ("pool_id", "Pool"),
           ("site", "Site"), ("cron", "Cron"), ("timezone", "Time Zone"),
           ("drain", "Drain"), ("open", "Open"), ("opens_at", "Opens At"))


class ListMaintenanceWindow(command.Lister):
    """List maintenance windows."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--pool", metavar="<pool>",
                            help="Only the windows of this pool")
        parser.add_argument("--site", metavar="<site>",
                            help="Only the windows of this site")
        base.add_pagination(parser, SORT_KEYS)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args, SORT_KEYS)
        params.update(pool_id=parsed_args.pool, site=parsed_args.site)
        items = base.client(self).list(PATH, "maintenance_windows", params,
                                       limit)
        return base.list_items(items, COLUMNS)


class ShowMaintenanceWindow(command.ShowOne):
    """Show a maintenance window and its current or next opening."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("window", metavar="<window>")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(
            PATH, "maintenance_window", parsed_args.window))


class CreateMaintenanceWindow(command.ShowOne):
    """Create a maintenance window of a pool or a site."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<name>")
        parser.add_argument("--description", metavar="<text>")
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--pool", metavar="<pool>",
                           help="The window of this pool")
        where.add_argument("--site", metavar="<site>",
                           help="The window of every pool of this site")
        parser.add_argument("--cron", metavar="<expression>",
                            help="Recurring: five cron fields (minute hour "
                                 "day-of-month month day-of-week), e.g. "
                                 "'0 22 * * sat'")
        parser.add_argument("--timezone", metavar="<zone>",
                            help="IANA time zone of --cron (default UTC)")
        parser.add_argument("--duration", metavar="<minutes>",
                            type=base.positive_int,
                            help="Minutes each opening lasts (--cron)")
        parser.add_argument("--start", metavar="<time>",
                            help="One-off: ISO 8601 start")
        parser.add_argument("--end", metavar="<time>",
                            help="One-off: ISO 8601 end")
        parser.add_argument("--drain", action="store_true", default=None,
                            help="No new logins to the pools while it is "
                                 "open (bound users are warned)")
        base.add_enabled(parser, "window")
        return parser

    def take_action(self, parsed_args):
        a = parsed_args
        if not a.cron and not (a.start and a.end):
            raise exceptions.CommandError(
                "Give --cron and --duration (recurring) or --start and "
                "--end (one-off)")
        body = {"name": a.name}
        for key, value in (("description", a.description),
                           ("pool_id", a.pool), ("site", a.site),
                           ("cron", a.cron), ("timezone", a.timezone),
                           ("duration_minutes", a.duration),
                           ("starts_at", a.start), ("ends_at", a.end),
                           ("drain", a.drain),
                           ("enabled", getattr(a, "enabled", None))):
            if value is not None:
                body[key] = value
        return base.show_item(base.client(self).create(
            PATH, "maintenance_window", body))


class DeleteMaintenanceWindow(command.Command):
    """Delete maintenance windows."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("windows", metavar="<window>", nargs="+")
        return parser

    def take_action(self, parsed_args):
        base.delete_many(self, PATH, parsed_args.windows,
                         "maintenance window")
