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

"""openstack vdi binding list/show/create/set/delete."""

from osc_lib.command import command

from vdi_broker.osc.v1 import base

PATH = "/bindings"
SORT_KEYS = ("created_at", "key", "kind")
KINDS = ("user", "seat", "client")
COLUMNS = (("id", "ID"), ("kind", "Kind"), ("key", "Key"),
           ("desktop_id", "Desktop ID"), ("pool_id", "Pool ID"),
           ("created_at", "Created At"))


class ListBinding(command.Lister):
    """List bindings of desktops to users, seats and thin clients."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--kind", choices=KINDS)
        parser.add_argument("--key", metavar="<key>",
                            help="Username, seat name or client ID")
        parser.add_argument("--desktop", metavar="<desktop-id>")
        parser.add_argument("--pool", metavar="<pool>",
                            help="Pool ID or name")
        base.add_pagination(parser, SORT_KEYS)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args, SORT_KEYS)
        params.update(kind=parsed_args.kind, key=parsed_args.key,
                      desktop_id=parsed_args.desktop,
                      pool_id=base.pool_id(self, parsed_args.pool))
        items = base.client(self).list(PATH, "bindings", params, limit)
        return base.list_items(items, COLUMNS)


class ShowBinding(command.ShowOne):
    """Show a binding."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("binding", metavar="<binding-id>")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(
            PATH, "binding", parsed_args.binding))


class CreateBinding(command.ShowOne):
    """Bind a desktop to a user, a seat or a thin client."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--kind", choices=KINDS, required=True,
                            help="What the desktop is bound to")
        parser.add_argument("--key", metavar="<key>", required=True,
                            help="Username, seat name or client ID")
        parser.add_argument("--desktop", metavar="<desktop-id>",
                            required=True, help="The bound desktop")
        return parser

    def take_action(self, parsed_args):
        body = {"kind": parsed_args.kind, "key": parsed_args.key,
                "desktop_id": parsed_args.desktop}
        return base.show_item(base.client(self).create(PATH, "binding",
                                                       body))


class SetBinding(command.ShowOne):
    """Move a binding to another desktop of the same pool."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("binding", metavar="<binding-id>")
        parser.add_argument("--desktop", metavar="<desktop-id>",
                            required=True, help="The new desktop")
        base.add_revision(parser)
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).update(
            PATH, "binding", parsed_args.binding,
            {"desktop_id": parsed_args.desktop}, parsed_args.revision))


class DeleteBinding(command.Command):
    """Delete bindings (the desktops stay; they are no longer reserved)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("bindings", metavar="<binding-id>", nargs="+")
        return parser

    def take_action(self, parsed_args):
        base.delete_many(self, PATH, parsed_args.bindings, "binding")
