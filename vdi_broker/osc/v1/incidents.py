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

"""openstack vdi incident list/show: the five-minute rule's records."""

from osc_lib.command import command

from vdi_broker.osc.v1 import base

PATH = "/incidents"
COLUMNS = (("id", "ID"), ("opened_at", "Opened At"), ("kind", "Kind"),
           ("state", "State"), ("desktop_id", "Desktop ID"),
           ("username", "User"), ("seconds", "Seconds"))
LONG_COLUMNS = COLUMNS + (("deadline", "Deadline"),
                          ("resolved_at", "Resolved At"),
                          ("new_desktop_id", "New Desktop ID"),
                          ("session_id", "Session ID"),
                          ("pool_id", "Pool ID"),
                          ("probe_result", "Probe Result"),
                          ("reason", "Reason"))
STATES = ("open", "recovered", "moved", "closed")
KINDS = ("agent_silent", "display_stopped", "client_fault")


class ListIncident(command.Lister):
    """List incidents (desktop faults under the five-minute rule)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--state", choices=STATES)
        parser.add_argument("--kind", choices=KINDS)
        parser.add_argument("--pool", metavar="<pool>",
                            help="Pool ID or name")
        parser.add_argument("--desktop", metavar="<desktop-id>")
        parser.add_argument("--user", metavar="<username>")
        parser.add_argument("--long", action="store_true",
                            help="More columns")
        base.add_pagination(parser)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args)
        params.update(state=parsed_args.state, kind=parsed_args.kind,
                      pool_id=base.pool_id(self, parsed_args.pool),
                      desktop_id=parsed_args.desktop,
                      username=parsed_args.user)
        items = base.client(self).list(PATH, "incidents", params, limit)
        return base.list_items(
            items, LONG_COLUMNS if parsed_args.long else COLUMNS)


class ShowIncident(command.ShowOne):
    """Show an incident."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("incident", metavar="<incident-id>")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(PATH, "incident",
                                                     parsed_args.incident))
