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

"""openstack vdi pool list/show/create/set/delete."""

from osc_lib.cli import parseractions
from osc_lib.command import command
from osc_lib import exceptions

from vdi_broker.osc.v1 import base

PATH = "/pools"
SORT_KEYS = ("name", "created_at", "updated_at", "site")
RELEASE_ACTIONS = ("keep", "reboot", "rebuild", "delete")
READINESS_PROBES = ("none", "tcp", "port", "agent", "both")

COLUMNS = (("id", "ID"), ("name", "Name"), ("site", "Site"),
           ("min_ready", "Min Ready"), ("max_size", "Max Size"),
           ("desktops.ready", "Ready"), ("desktops.total", "Desktops"),
           ("enabled", "Enabled"), ("status", "Status"))
LONG_COLUMNS = COLUMNS + (
    ("boots.in_flight", "Booting"), ("boots.queued", "Boots Queued"),
    ("boots.allowance", "Boot Allowance"),
    ("flavor", "Flavor"), ("image", "Image"), ("networks", "Networks"),
    ("release_action", "Release Action"), ("console_type", "Console Type"),
    ("revision", "Revision"))

# Body key: attribute, for the options create and set share.
FIELDS = {"description": "description", "site": "site", "cloud": "cloud",
          "flavor": "flavor", "image": "image",
          "availability_zone": "availability_zone",
          "min_ready": "min_ready", "max_size": "max_size",
          "max_concurrent_builds": "max_concurrent_builds",
          "release_action": "release_action",
          "console_type": "console_type", "enabled": "enabled",
          "readiness_probe": "readiness_probe",
          "disconnect_timeout": "disconnect_timeout",
          "idle_timeout": "idle_timeout",
          "expiry_when_connected": "expiry_when_connected",
          "fix_time": "fix_time"}


def _add_fields(parser, create):
    parser.add_argument("--description", metavar="<description>")
    parser.add_argument("--site", metavar="<site>",
                        help="Site of the pool's desktops")
    parser.add_argument("--cloud", metavar="<cloud>",
                        help="Cloud (compute endpoint) of the pool")
    parser.add_argument("--flavor", metavar="<flavor>", required=create,
                        help="Nova flavor of the desktops")
    parser.add_argument("--image", metavar="<image>", required=create,
                        help="Glance image of the desktops")
    parser.add_argument("--network", metavar="<network>", dest="networks",
                        action="append",
                        help="Network of the desktops (repeat for more)")
    parser.add_argument("--availability-zone", metavar="<zone>")
    parser.add_argument("--metadata", metavar="<key=value>",
                        action=parseractions.KeyValueAction,
                        help="Server metadata of the desktops (repeat for "
                             "more)")
    parser.add_argument("--min-ready", metavar="<count>",
                        type=base.non_negative_int,
                        help="Desktops kept ready for logins")
    parser.add_argument("--max-size", metavar="<count>",
                        type=base.non_negative_int,
                        help="Largest number of desktops of the pool")
    parser.add_argument("--max-concurrent-builds", metavar="<count>",
                        type=base.positive_int,
                        help="Desktops built at the same time at most")
    parser.add_argument("--release-action", choices=RELEASE_ACTIONS,
                        help="What happens to a desktop after a logout")
    parser.add_argument("--console-type", metavar="<type>",
                        help="Console protocol (rdp, spice-direct, ...)")
    parser.add_argument("--readiness-probe", choices=READINESS_PROBES,
                        help="How a new desktop is found ready: none (its "
                             "server is ACTIVE), tcp or port (its console "
                             "port answers), agent (its guest agent "
                             "registered), both; default: the broker's "
                             "[pool_manager] readiness_probe")
    parser.add_argument("--disconnect-timeout", metavar="<seconds>",
                        type=base.non_negative_int,
                        help="Log off a session whose display has been "
                             "disconnected this long (the guest agent "
                             "says); 0: never")
    parser.add_argument("--idle-timeout", metavar="<seconds>",
                        type=base.non_negative_int,
                        help="Log off a session whose user has been idle "
                             "this long; 0: never")
    expiry = parser.add_mutually_exclusive_group()
    expiry.add_argument("--expiry-when-connected",
                        dest="expiry_when_connected", action="store_true",
                        default=None,
                        help="Session expiry may end a session whose agent "
                             "says a viewer is connected")
    expiry.add_argument("--no-expiry-when-connected",
                        dest="expiry_when_connected", action="store_false",
                        help="Expiry waits until the viewer disconnects "
                             "(the default)")
    parser.add_argument("--fix-time", metavar="<seconds>",
                        type=base.non_negative_int,
                        help="Seconds an incident may stay open before the "
                             "session moves to another desktop (default: "
                             "the broker's [agent] fix_time)")
    base.add_enabled(parser, "pool")


class ListPool(command.Lister):
    """List desktop pools."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--name", metavar="<name>")
        parser.add_argument("--site", metavar="<site>")
        parser.add_argument("--cloud", metavar="<cloud>")
        parser.add_argument("--status", metavar="<status>")
        base.add_enabled_filter(parser, "pools")
        parser.add_argument("--long", action="store_true",
                            help="More columns")
        base.add_pagination(parser, SORT_KEYS)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args, SORT_KEYS)
        params.update(name=parsed_args.name, site=parsed_args.site,
                      cloud=parsed_args.cloud, status=parsed_args.status,
                      enabled=base.bool_param(parsed_args.enabled))
        pools = base.client(self).list(PATH, "pools", params, limit)
        return base.list_items(
            pools, LONG_COLUMNS if parsed_args.long else COLUMNS)


class ShowPool(command.ShowOne):
    """Show a desktop pool and its desktop counts."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("pool", metavar="<pool>", help="Pool ID or name")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(
            base.client(self).show(PATH, "pool", parsed_args.pool))


class CreatePool(command.ShowOne):
    """Create a desktop pool."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<name>", help="Pool name")
        _add_fields(parser, create=True)
        return parser

    def take_action(self, parsed_args):
        body = base.body_from(parsed_args, FIELDS)
        body["name"] = parsed_args.name
        if parsed_args.networks:
            body["networks"] = parsed_args.networks
        if parsed_args.metadata:
            body["metadata"] = parsed_args.metadata
        return base.show_item(base.client(self).create(PATH, "pool", body))


class SetPool(command.ShowOne):
    """Change a desktop pool.

    --network and --metadata add to the pool's networks and metadata;
    --no-network and --no-metadata clear them first.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("pool", metavar="<pool>", help="Pool ID or name")
        parser.add_argument("--name", metavar="<name>", help="New name")
        _add_fields(parser, create=False)
        parser.add_argument("--no-network", action="store_true",
                            help="Remove all networks first")
        parser.add_argument("--no-metadata", action="store_true",
                            help="Remove all metadata first")
        parser.add_argument("--default-readiness-probe",
                            action="store_true",
                            help="Use the broker's [pool_manager] "
                                 "readiness_probe again")
        base.add_revision(parser)
        return parser

    def take_action(self, parsed_args):
        vdi = base.client(self)
        body = base.body_from(parsed_args, dict(FIELDS, name="name"))
        if parsed_args.default_readiness_probe:
            if parsed_args.readiness_probe:
                raise exceptions.CommandError(
                    "--readiness-probe and --default-readiness-probe "
                    "exclude each other")
            body["readiness_probe"] = None
        revision = parsed_args.revision
        if (parsed_args.networks or parsed_args.no_network or
                parsed_args.metadata or parsed_args.no_metadata):
            # Read, merge, write back only if nobody changed it meanwhile.
            current = vdi.show(PATH, "pool", parsed_args.pool)
            if revision is None:
                revision = current["revision"]
            if parsed_args.networks or parsed_args.no_network:
                body["networks"] = base.merged_list(
                    current.get("networks"), parsed_args.networks,
                    parsed_args.no_network)
            if parsed_args.metadata or parsed_args.no_metadata:
                metadata = ({} if parsed_args.no_metadata
                            else dict(current.get("metadata") or {}))
                metadata.update(parsed_args.metadata or {})
                body["metadata"] = metadata
        if not body:
            raise exceptions.CommandError("Nothing to change: give at "
                                          "least one option")
        return base.show_item(vdi.update(PATH, "pool", parsed_args.pool,
                                         body, revision))


class DeletePool(command.Command):
    """Delete desktop pools (refused while they have desktops)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("pools", metavar="<pool>", nargs="+",
                            help="Pool ID or name")
        return parser

    def take_action(self, parsed_args):
        base.delete_many(self, PATH, parsed_args.pools, "pool")
