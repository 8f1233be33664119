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

"""openstack vdi session list/show/delete."""

from osc_lib.command import command

from vdi_broker.osc.v1 import base

PATH = "/sessions"
SORT_KEYS = ("created_at", "username", "expires_at")
COLUMNS = (("id", "ID"), ("username", "User"), ("client_id", "Client ID"),
           ("seat", "Seat"), ("desktop_id", "Desktop ID"),
           ("state", "State"), ("created_at", "Created At"))
LONG_COLUMNS = COLUMNS + (("pool_id", "Pool ID"),
                          ("allocator_id", "Allocator ID"),
                          ("expires_at", "Expires At"),
                          ("closed_at", "Closed At"),
                          ("close_reason", "Close Reason"))


class ListSession(command.Lister):
    """List thin-client sessions."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--user", metavar="<username>")
        parser.add_argument("--client-id", metavar="<client-id>")
        parser.add_argument("--seat", metavar="<seat>")
        parser.add_argument("--state", metavar="<state>",
                            help="active or closed")
        parser.add_argument("--desktop", metavar="<desktop-id>")
        parser.add_argument("--pool", metavar="<pool>",
                            help="Pool ID or name")
        parser.add_argument("--long", action="store_true",
                            help="More columns")
        base.add_pagination(parser, SORT_KEYS)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args, SORT_KEYS)
        params.update(username=parsed_args.user,
                      client_id=parsed_args.client_id,
                      seat=parsed_args.seat, state=parsed_args.state,
                      desktop_id=parsed_args.desktop,
                      pool_id=base.pool_id(self, parsed_args.pool))
        items = base.client(self).list(PATH, "sessions", params, limit)
        return base.list_items(
            items, LONG_COLUMNS if parsed_args.long else COLUMNS)


class ShowSession(command.ShowOne):
    """Show a session."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("session", metavar="<session-id>")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(
            PATH, "session", parsed_args.session))


class DeleteSession(command.Command):
    """Log sessions out (helpdesk); the pool's release action runs."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("sessions", metavar="<session-id>", nargs="+")
        return parser

    def take_action(self, parsed_args):
        base.delete_many(self, PATH, parsed_args.sessions, "session")
