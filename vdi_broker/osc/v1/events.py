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

"""openstack vdi event list/show: the broker's audit records."""

from osc_lib.command import command

from vdi_broker.osc.v1 import base

PATH = "/events"
COLUMNS = (("id", "ID"), ("created_at", "Created At"), ("kind", "Kind"),
           ("action", "Action"), ("result", "Result"), ("actor", "Actor"),
           ("username", "User"), ("message", "Message"))
LONG_COLUMNS = COLUMNS + (("target_type", "Target Type"),
                          ("target_id", "Target ID"),
                          ("pool_id", "Pool ID"),
                          ("desktop_id", "Desktop ID"),
                          ("request_id", "Request ID"))


class ListEvent(command.Lister):
    """List events, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--kind", metavar="<kind>",
                            help="e.g. admin, allocation, pool, client")
        parser.add_argument("--action", metavar="<action>",
                            help="e.g. login, pool.update")
        parser.add_argument("--result", metavar="<result>",
                            help="e.g. success, failure")
        parser.add_argument("--user", metavar="<username>",
                            help="Events of this (thin-client) user")
        parser.add_argument("--actor", metavar="<actor>",
                            help="Who did it")
        parser.add_argument("--target-type", metavar="<type>")
        parser.add_argument("--target-id", metavar="<id>")
        parser.add_argument("--pool", metavar="<pool>",
                            help="Pool ID or name")
        parser.add_argument("--desktop", metavar="<desktop-id>")
        parser.add_argument("--since", metavar="<time>",
                            help="Not before this time (ISO 8601)")
        parser.add_argument("--until", metavar="<time>",
                            help="Not after this time (ISO 8601)")
        parser.add_argument("--long", action="store_true",
                            help="More columns")
        base.add_pagination(parser)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args)
        params.update(kind=parsed_args.kind, action=parsed_args.action,
                      result=parsed_args.result,
                      username=parsed_args.user, actor=parsed_args.actor,
                      target_type=parsed_args.target_type,
                      target_id=parsed_args.target_id,
                      pool_id=base.pool_id(self, parsed_args.pool),
                      desktop_id=parsed_args.desktop,
                      since=parsed_args.since, until=parsed_args.until)
        items = base.client(self).list(PATH, "events", params, limit)
        return base.list_items(
            items, LONG_COLUMNS if parsed_args.long else COLUMNS)


class ShowEvent(command.ShowOne):
    """Show an event with its detail."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("event", metavar="<event-id>")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(PATH, "event",
                                                     parsed_args.event))
