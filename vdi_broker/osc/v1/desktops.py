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

"""openstack vdi desktop list/show and the desktop actions.

The actions (reboot, rebuild, replace, move, quarantine, unquarantine)
are Nova-style: one POST /v1/desktops/{id}/action with a body naming the
action. The broker answers 202 with the desktop, which is shown.
"""

from osc_lib.command import command

from vdi_broker.osc import client as vdi_client
from vdi_broker.osc.v1 import base

PATH = "/desktops"
SORT_KEYS = ("created_at", "name", "state", "updated_at")
COLUMNS = (("id", "ID"), ("name", "Name"), ("pool_id", "Pool ID"),
           ("state", "State"), ("assigned_user", "Assigned User"),
           ("address", "Address"))
UNQUARANTINE_ACTIONS = ("pool", "keep", "reboot", "rebuild", "delete")
LONG_COLUMNS = COLUMNS + (("server_id", "Server ID"), ("host", "Host"),
                          ("state_reason", "State Reason"),
                          ("created_at", "Created At"))


class ListDesktop(command.Lister):
    """List desktops."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--pool", metavar="<pool>",
                            help="Pool ID or name")
        parser.add_argument("--state", metavar="<state>",
                            help="building, ready, assigned, releasing, "
                                 "deleting, error or quarantined")
        parser.add_argument("--user", metavar="<username>",
                            help="Assigned to this user")
        parser.add_argument("--host", metavar="<host>",
                            help="On this compute host")
        parser.add_argument("--server", metavar="<server-id>",
                            help="The desktop of this Nova server")
        parser.add_argument("--long", action="store_true",
                            help="More columns")
        base.add_pagination(parser, SORT_KEYS)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args, SORT_KEYS)
        params.update(pool_id=base.pool_id(self, parsed_args.pool),
                      state=parsed_args.state,
                      assigned_user=parsed_args.user,
                      host=parsed_args.host,
                      server_id=parsed_args.server)
        items = base.client(self).list(PATH, "desktops", params, limit)
        return base.list_items(
            items, LONG_COLUMNS if parsed_args.long else COLUMNS)


class ShowDesktop(command.ShowOne):
    """Show a desktop."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("desktop", metavar="<desktop>",
                            help="Desktop ID")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(
            PATH, "desktop", parsed_args.desktop))


class _DesktopAction(command.ShowOne):
    """POST {"<action>": {...}} to the desktop's action resource."""

    action = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("desktop", metavar="<desktop>",
                            help="Desktop ID")
        return parser

    def action_body(self, parsed_args):
        return {}

    def take_action(self, parsed_args):
        path = "%s/%s/action" % (PATH, vdi_client.quote(parsed_args.desktop))
        result = base.client(self).post(
            path, {self.action: self.action_body(parsed_args)})
        return base.show_item((result or {}).get("desktop") or {})


class RebootDesktop(_DesktopAction):
    """Reboot a desktop's server."""

    action = "reboot"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--hard", action="store_true",
                            help="Hard reboot (power cycle)")
        return parser

    def action_body(self, parsed_args):
        return {"hard": parsed_args.hard}


class RebuildDesktop(_DesktopAction):
    """Rebuild a desktop from the pool's image."""

    action = "rebuild"


class ReplaceDesktop(_DesktopAction):
    """Replace a desktop by a new one of the same pool."""

    action = "replace"


class MoveDesktop(_DesktopAction):
    """Give a desktop (its binding and assignment) to another user."""

    action = "move"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--user", metavar="<username>", required=True,
                            help="The user who gets the desktop")
        return parser

    def action_body(self, parsed_args):
        return {"user": parsed_args.user}


class QuarantineDesktop(_DesktopAction):
    """Take a faulty desktop out of service, keeping it for inspection."""

    action = "quarantine"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--reason", metavar="<reason>",
                            help="Why (shown on the desktop)")
        return parser

    def action_body(self, parsed_args):
        return base.body_from(parsed_args, {"reason": "reason"})


class UnquarantineDesktop(_DesktopAction):
    """Put a quarantined desktop back into service."""

    action = "unquarantine"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--action", dest="then", choices=UNQUARANTINE_ACTIONS,
            help="What happens to the desktop: pool (the pool's release "
                 "action), keep, reboot, rebuild or delete; default: the "
                 "broker's [conductor] unquarantine_action")
        return parser

    def action_body(self, parsed_args):
        return base.body_from(parsed_args, {"action": "then"})


class ConsoleDesktop(command.ShowOne):
    """Open a desktop's browser console: its URL (spice-html5, noVNC).

    The URL carries a one-time token of Nova's console proxy that
    expires quickly: open it at once, from a browser that reaches the
    proxy. Only pools whose console type opens in a browser have one.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("desktop", metavar="<desktop>",
                            help="Desktop ID")
        return parser

    def take_action(self, parsed_args):
        body = base.client(self).request(
            "POST", "%s/%s/console" % (PATH,
                                       vdi_client.quote(parsed_args.desktop)))
        return base.show_item((body or {}).get("console") or {})
