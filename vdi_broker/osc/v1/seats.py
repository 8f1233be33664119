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

"""openstack vdi seat list/show/create/set/delete."""

from osc_lib.command import command
from osc_lib import exceptions

from vdi_broker.osc.v1 import base

PATH = "/seats"
SORT_KEYS = ("name", "created_at", "site")
COLUMNS = (("id", "ID"), ("name", "Name"), ("site", "Site"),
           ("location", "Location"), ("department", "Department"),
           ("tags", "Tags"))
FIELDS = {"site": "site", "location": "location",
          "department": "department", "description": "description"}


def _add_fields(parser):
    parser.add_argument("--site", metavar="<site>")
    parser.add_argument("--location", metavar="<location>",
                        help="Where the seat is, e.g. '2F row 3'")
    parser.add_argument("--department", metavar="<department>")
    parser.add_argument("--tag", metavar="<tag>", dest="tags",
                        action="append",
                        help="Tag of the seat (repeat for more); "
                             "allocator rules can match tags")
    parser.add_argument("--description", metavar="<description>")


class ListSeat(command.Lister):
    """List seats (desks with a thin client)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--name", metavar="<name>")
        parser.add_argument("--site", metavar="<site>")
        parser.add_argument("--department", metavar="<department>")
        base.add_pagination(parser, SORT_KEYS)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args, SORT_KEYS)
        params.update(name=parsed_args.name, site=parsed_args.site,
                      department=parsed_args.department)
        items = base.client(self).list(PATH, "seats", params, limit)
        return base.list_items(items, COLUMNS)


class ShowSeat(command.ShowOne):
    """Show a seat."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("seat", metavar="<seat>", help="Seat ID or name")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(PATH, "seat",
                                                     parsed_args.seat))


class CreateSeat(command.ShowOne):
    """Create a seat."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<name>", help="Seat name")
        _add_fields(parser)
        return parser

    def take_action(self, parsed_args):
        body = base.body_from(parsed_args, FIELDS)
        body["name"] = parsed_args.name
        if parsed_args.tags:
            body["tags"] = parsed_args.tags
        return base.show_item(base.client(self).create(PATH, "seat", body))


class SetSeat(command.ShowOne):
    """Change a seat (--tag adds a tag, --no-tag clears them first)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("seat", metavar="<seat>", help="Seat ID or name")
        parser.add_argument("--name", metavar="<name>", help="New name")
        _add_fields(parser)
        parser.add_argument("--no-tag", action="store_true",
                            help="Remove all tags first")
        base.add_revision(parser)
        return parser

    def take_action(self, parsed_args):
        vdi = base.client(self)
        body = base.body_from(parsed_args, dict(FIELDS, name="name"))
        revision = parsed_args.revision
        if parsed_args.tags or parsed_args.no_tag:
            current = vdi.show(PATH, "seat", parsed_args.seat)
            if revision is None:
                revision = current.get("revision")
            body["tags"] = base.merged_list(current.get("tags"),
                                            parsed_args.tags,
                                            parsed_args.no_tag)
        if not body:
            raise exceptions.CommandError("Nothing to change: give at "
                                          "least one option")
        return base.show_item(vdi.update(PATH, "seat", parsed_args.seat,
                                         body, revision))


class DeleteSeat(command.Command):
    """Delete seats (refused while a thin client or binding uses them)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("seats", metavar="<seat>", nargs="+",
                            help="Seat ID or name")
        return parser

    def take_action(self, parsed_args):
        base.delete_many(self, PATH, parsed_args.seats, "seat")
