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

"""openstack vdi thin client list/show/create/set/delete."""

from osc_lib.command import command
from osc_lib import exceptions

from vdi_broker.osc.v1 import base

PATH = "/thin-clients"
SORT_KEYS = ("client_id", "created_at", "site", "status", "last_seen_at")
# Heartbeats set "online"; an operator may set any (e.g. "faulty").
STATUSES = ("unknown", "online", "offline", "faulty")
COLUMNS = (("id", "ID"), ("client_id", "Client ID"), ("seat", "Seat"),
           ("site", "Site"), ("status", "Status"),
           ("last_seen_at", "Last Seen At"), ("last_user", "Last User"))
LONG_COLUMNS = COLUMNS + (("model", "Model"), ("tags", "Tags"),
                          ("last_address", "Last Address"),
                          ("input_events", "Input Events"))
FIELDS = {"seat": "seat", "site": "site", "model": "model",
          "status": "status", "description": "description"}


def _add_fields(parser):
    parser.add_argument("--seat", metavar="<seat>",
                        help="Seat (name or ID) the thin client stands at")
    parser.add_argument("--site", metavar="<site>")
    parser.add_argument("--model", metavar="<model>")
    parser.add_argument("--tag", metavar="<tag>", dest="tags",
                        action="append",
                        help="Tag of the thin client (repeat for more)")
    parser.add_argument("--status", choices=STATUSES,
                        help="Status of the thin client (heartbeats set "
                             "online)")
    parser.add_argument("--description", metavar="<description>")


class ListThinClient(command.Lister):
    """List registered thin clients."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--client-id", metavar="<client-id>")
        parser.add_argument("--site", metavar="<site>")
        parser.add_argument("--status", choices=STATUSES)
        parser.add_argument("--seat", metavar="<seat>")
        parser.add_argument("--model", metavar="<model>")
        parser.add_argument("--long", action="store_true",
                            help="More columns")
        base.add_pagination(parser, SORT_KEYS)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args, SORT_KEYS)
        params.update(client_id=parsed_args.client_id, site=parsed_args.site,
                      status=parsed_args.status, seat=parsed_args.seat,
                      model=parsed_args.model)
        items = base.client(self).list(PATH, "thin_clients", params, limit)
        return base.list_items(
            items, LONG_COLUMNS if parsed_args.long else COLUMNS)


class ShowThinClient(command.ShowOne):
    """Show a thin client."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("thin_client", metavar="<thin-client>",
                            help="ID or client ID")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(
            PATH, "thin_client", parsed_args.thin_client))


class CreateThinClient(command.ShowOne):
    """Register a thin client."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("client_id", metavar="<client-id>",
                            help="The client ID the device logs in with")
        _add_fields(parser)
        return parser

    def take_action(self, parsed_args):
        body = base.body_from(parsed_args, FIELDS)
        body["client_id"] = parsed_args.client_id
        if parsed_args.tags:
            body["tags"] = parsed_args.tags
        return base.show_item(base.client(self).create(PATH, "thin_client",
                                                       body))


class SetThinClient(command.ShowOne):
    """Change a thin client (--tag adds, --no-tag clears first)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("thin_client", metavar="<thin-client>",
                            help="ID or client ID")
        parser.add_argument("--client-id", metavar="<client-id>",
                            help="New client ID")
        _add_fields(parser)
        parser.add_argument("--no-seat", action="store_true",
                            help="Not at any seat")
        parser.add_argument("--no-tag", action="store_true",
                            help="Remove all tags first")
        base.add_revision(parser)
        return parser

    def take_action(self, parsed_args):
        vdi = base.client(self)
        body = base.body_from(parsed_args, dict(FIELDS,
                                                client_id="client_id"))
        revision = parsed_args.revision
        if parsed_args.no_seat:
            if parsed_args.seat:
                raise exceptions.CommandError(
                    "--seat and --no-seat exclude each other")
            body["seat"] = None
        if parsed_args.tags or parsed_args.no_tag:
            current = vdi.show(PATH, "thin_client", parsed_args.thin_client)
            if revision is None:
                revision = current.get("revision")
            body["tags"] = base.merged_list(current.get("tags"),
                                            parsed_args.tags,
                                            parsed_args.no_tag)
        if not body:
            raise exceptions.CommandError("Nothing to change: give at "
                                          "least one option")
        return base.show_item(vdi.update(
            PATH, "thin_client", parsed_args.thin_client, body, revision))


class DeleteThinClient(command.Command):
    """Delete thin clients."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("thin_clients", metavar="<thin-client>",
                            nargs="+", help="ID or client ID")
        return parser

    def take_action(self, parsed_args):
        base.delete_many(self, PATH, parsed_args.thin_clients,
                         "thin client")
