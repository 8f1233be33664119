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

"""openstack vdi host list/show: the compute hosts of the desktops.

``GET /v1/hosts`` (not paged): each host's desktops by state, its boots
against its allowance, and Placement's memory and vCPUs against the
overcommit limit. ``host show`` picks one host of that answer.
"""

import logging

from osc_lib.command import command
from osc_lib import exceptions

from vdi_broker.osc.v1 import base

LOG = logging.getLogger(__name__)
PATH = "/hosts"
COLUMNS = (("name", "Name"), ("desktops.total", "Desktops"),
           ("desktops.ready", "Ready"), ("desktops.assigned", "Assigned"),
           ("builds.in_flight", "Boots"), ("builds.allowance", "Allowance"),
           ("builds.queued", "Queued"),
           ("memory_mb.used_percent", "Memory Used %"),
           ("vcpus.used_percent", "vCPUs Used %"))
LONG_COLUMNS = COLUMNS + (
    ("memory_mb.used", "Memory Used MB"),
    ("memory_mb.capacity", "Memory Limit MB"),
    ("memory_mb.allocation_ratio", "RAM Ratio"),
    ("vcpus.used", "vCPUs Used"), ("vcpus.capacity", "vCPU Limit"),
    ("load_percent", "Load %"), ("builds.note", "Note"),
    ("provider.name", "Provider"))


def _hosts(command_):
    body = base.client(command_).request("GET", PATH) or {}
    if body.get("capacity_known") is False:
        LOG.warning("Placement could not be read: %s",
                    body.get("capacity_error") or "unknown error")
    return body


def _zero_counts(host):
    # The API leaves out the states without desktops.
    host = dict(host)
    host["desktops"] = dict({"ready": 0, "assigned": 0},
                            **(host.get("desktops") or {}))
    return host


class ListHost(command.Lister):
    """List the compute hosts with their desktops, boots and capacity."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--long", action="store_true",
                            help="More columns (Placement's figures, load)")
        return parser

    def take_action(self, parsed_args):
        hosts = [_zero_counts(h) for h in _hosts(self).get("hosts", [])]
        return base.list_items(
            sorted(hosts, key=lambda h: h["name"]),
            LONG_COLUMNS if parsed_args.long else COLUMNS)


def _names(host):
    return [n for n in (host["name"],
                        (host.get("provider") or {}).get("name")) if n]


def find(hosts, name):
    """The host called ``name``.

    Its name or its Placement provider's, else the only host whose
    first DNS label is ``name``'s (cn-sh-01 for cn-sh-01.example.org).
    """
    for host in hosts:
        if name in _names(host):
            return host
    label = name.split(".")[0]
    short = [h for h in hosts
             if label in {n.split(".")[0] for n in _names(h)}]
    if len(short) == 1:
        return short[0]
    if short:
        raise exceptions.CommandError(
            "More than one host matches %s: %s" % (
                name, ", ".join(sorted(h["name"] for h in short))))
    raise exceptions.CommandError("No compute host %s (see openstack vdi "
                                  "host list)" % name)


class ShowHost(command.ShowOne):
    """Show a compute host: desktops, boots, memory and vCPUs."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("host", metavar="<host>",
                            help="Host name (or its Placement provider's)")
        return parser

    def take_action(self, parsed_args):
        body = _hosts(self)
        host = find(body.get("hosts", []), parsed_args.host)
        item = dict(host, capacity_read_at=body.get("capacity_read_at"))
        if body.get("capacity_error"):
            item["capacity_error"] = body["capacity_error"]
        return base.show_item(item)
