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

"""openstack vdi allocator list/show/create/set/delete/explain/reorder."""

import argparse
import json

from osc_lib.command import command
from osc_lib import exceptions
import yaml

from vdi_broker.osc.v1 import base

PATH = "/allocators"
SORT_KEYS = ("priority", "name", "created_at")
COLUMNS = (("id", "ID"), ("name", "Name"), ("priority", "Priority"),
           ("plugin", "Plugin"), ("pool_id", "Pool ID"),
           ("is_default", "Default"), ("enabled", "Enabled"))
LONG_COLUMNS = COLUMNS + (("rules", "Rules"), ("options", "Options"),
                          ("revision", "Revision"))

FIELDS = {"description": "description", "priority": "priority",
          "plugin": "plugin", "pool": "pool", "options": "options",
          "is_default": "is_default", "enabled": "enabled"}

# Rule criteria given one value per option: option dest -> rules key.
FORMATTERS = {"rules": base.RulesColumn}
LIST_RULES = {"groups": "groups", "ous": "ou", "seats": "seats",
              "seat_tags": "seat_tags", "clients": "clients",
              "sites": "sites"}


def _name_value(text):
    # Split at the first "=" only: a value may be a DN with "=" and ",".
    name, sep, value = text.partition("=")
    if not name or not sep:
        raise argparse.ArgumentTypeError(
            "expected <name>=<value>, got %r" % text)
    return name, value


def _add_fields(parser, create):
    parser.add_argument("--description", metavar="<description>")
    parser.add_argument("--plugin", metavar="<plugin>", required=create,
                        help="Allocator plugin: user, seat, client, pool or "
                             "an installed third-party one")
    parser.add_argument("--priority", metavar="<priority>",
                        type=base.non_negative_int,
                        help="Lower priorities are tried first")
    parser.add_argument("--pool", metavar="<pool>",
                        help="Pool ID or name the allocator gives desktops "
                             "of")
    parser.add_argument("--options", metavar="<json>",
                        type=base.json_object,
                        help="Plugin options, a JSON object")
    default = parser.add_mutually_exclusive_group()
    default.add_argument("--default", dest="is_default",
                         action="store_true", default=None,
                         help="The default allocator, tried last when no "
                              "other matched")
    default.add_argument("--no-default", dest="is_default",
                         action="store_false",
                         help="Not the default allocator")
    base.add_enabled(parser, "allocator")
    rules = parser.add_argument_group(
        "rules", "Who the allocator is for. Each option may be repeated; "
                 "the criteria given are combined by --match. On 'set' "
                 "they replace the allocator's rules as a whole.")
    rules.add_argument("--rules", metavar="<json>", type=base.json_object,
                       help="The whole rule document as JSON (the options "
                            "below add to it)")
    rules.add_argument("--group", metavar="<group>", dest="groups",
                       action="append", help="Member of this group")
    rules.add_argument("--ou", metavar="<ou>", dest="ous", action="append",
                       help="DN under this OU (DN or OU name)")
    rules.add_argument("--attribute", metavar="<name=value>",
                       dest="attributes", action="append",
                       type=_name_value,
                       help="Directory attribute has this value")
    rules.add_argument("--seat", metavar="<seat>", dest="seats",
                       action="append", help="Login from this seat")
    rules.add_argument("--seat-tag", metavar="<tag>", dest="seat_tags",
                       action="append", help="Seat tagged so")
    rules.add_argument("--client", metavar="<client-id>", dest="clients",
                       action="append", help="Login from this thin client")
    rules.add_argument("--site", metavar="<site>", dest="sites",
                       action="append", help="User or seat at this site")
    rules.add_argument("--match", choices=("all", "any"),
                       help="All criteria must match (default) or any")


def _rules(parsed_args, list_rules=None):
    """The rule document of the options, or None if none was given.

    ``list_rules``: {option dest: rule key} of the repeatable options
    (default: the allocators'; departments take a subset).
    """
    rules = dict(parsed_args.rules or {})
    given = parsed_args.rules is not None
    for dest, key in (list_rules or LIST_RULES).items():
        values = getattr(parsed_args, dest)
        if values:
            rules[key] = list(rules.get(key, [])) + values
            given = True
    if parsed_args.attributes:
        attributes = dict(rules.get("attributes") or {})
        for name, value in parsed_args.attributes:
            attributes[name] = list(attributes.get(name, [])) + [value]
        rules["attributes"] = attributes
        given = True
    if parsed_args.match:
        rules["match"] = parsed_args.match
        given = True
    return rules if given else None


def _body(parsed_args):
    body = base.body_from(parsed_args, FIELDS)
    rules = _rules(parsed_args)
    if rules is not None:
        body["rules"] = rules
    return body


class ListAllocator(command.Lister):
    """List allocators, in the order they are tried (by priority)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--name", metavar="<name>")
        parser.add_argument("--plugin", metavar="<plugin>")
        parser.add_argument("--pool", metavar="<pool>",
                            help="Pool ID or name")
        default = parser.add_mutually_exclusive_group()
        default.add_argument("--default", dest="is_default",
                             action="store_true", default=None,
                             help="Only the default allocator")
        default.add_argument("--no-default", dest="is_default",
                             action="store_false",
                             help="Only the other allocators")
        base.add_enabled_filter(parser, "allocators")
        parser.add_argument("--long", action="store_true",
                            help="More columns (rules, options)")
        base.add_pagination(parser, SORT_KEYS)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args, SORT_KEYS)
        params.update(name=parsed_args.name, plugin=parsed_args.plugin,
                      pool_id=base.pool_id(self, parsed_args.pool),
                      is_default=base.bool_param(parsed_args.is_default),
                      enabled=base.bool_param(parsed_args.enabled))
        items = base.client(self).list(PATH, "allocators", params, limit)
        return base.list_items(
            items, LONG_COLUMNS if parsed_args.long else COLUMNS, FORMATTERS)


class ShowAllocator(command.ShowOne):
    """Show an allocator."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("allocator", metavar="<allocator>",
                            help="Allocator ID or name")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(
            PATH, "allocator", parsed_args.allocator), FORMATTERS)


class CreateAllocator(command.ShowOne):
    """Create an allocator."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<name>", help="Allocator name")
        _add_fields(parser, create=True)
        return parser

    def take_action(self, parsed_args):
        body = _body(parsed_args)
        body["name"] = parsed_args.name
        return base.show_item(
            base.client(self).create(PATH, "allocator", body), FORMATTERS)


class SetAllocator(command.ShowOne):
    """Change an allocator (rule options replace its rules)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("allocator", metavar="<allocator>",
                            help="Allocator ID or name")
        parser.add_argument("--name", metavar="<name>", help="New name")
        _add_fields(parser, create=False)
        parser.add_argument("--no-pool", action="store_true",
                            help="No pool (for plugins that need none)")
        parser.add_argument("--no-rules", action="store_true",
                            help="No rules: the allocator matches everybody")
        base.add_revision(parser)
        return parser

    def take_action(self, parsed_args):
        body = _body(parsed_args)
        if parsed_args.name:
            body["name"] = parsed_args.name
        if parsed_args.no_pool:
            if parsed_args.pool:
                raise exceptions.CommandError(
                    "--pool and --no-pool exclude each other")
            body["pool"] = None
        if parsed_args.no_rules:
            if "rules" in body:
                raise exceptions.CommandError(
                    "--no-rules and rule options exclude each other")
            body["rules"] = {}
        if not body:
            raise exceptions.CommandError("Nothing to change: give at "
                                          "least one option")
        return base.show_item(base.client(self).update(
            PATH, "allocator", parsed_args.allocator, body,
            parsed_args.revision), FORMATTERS)


class DeleteAllocator(command.Command):
    """Delete allocators."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("allocators", metavar="<allocator>", nargs="+",
                            help="Allocator ID or name")
        return parser

    def take_action(self, parsed_args):
        base.delete_many(self, PATH, parsed_args.allocators, "allocator")


class ReorderAllocator(command.Lister):
    """Set the order the allocators are tried in.

    Name every allocator once, first tried first: their priorities become
    10, 20, 30... in one transaction.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("allocators", metavar="<allocator>", nargs="+",
                            help="Allocator ID or name, in the new order")
        return parser

    def take_action(self, parsed_args):
        result = base.client(self).post(
            PATH + "/reorder", {"allocators": parsed_args.allocators})
        return base.list_items(result["allocators"], COLUMNS)


# -- explain -----------------------------------------------------------------

def _mark(matched):
    return "+" if matched else "-"


def _request_lines(request):
    principal = request.get("principal") or {}
    lines = ["User:     %s (%s)" % (
        principal.get("username"), principal.get("display_name") or "-")]
    if principal.get("dn"):
        lines.append("DN:       %s" % principal["dn"])
    if principal.get("groups"):
        lines.append("Groups:   %s" % ", ".join(principal["groups"]))
    for name, values in sorted((principal.get("attributes") or {}).items()):
        lines.append("  %s: %s" % (name, ", ".join(
            values if isinstance(values, list) else [str(values)])))
    lines.append("Client:   %s" % (request.get("client_id") or "-"))
    seat = request.get("seat") or "-"
    if request.get("seat_tags"):
        seat += " (tags: %s)" % ", ".join(request["seat_tags"])
    lines.append("Seat:     %s" % seat)
    lines.append("Site:     %s" % (request.get("site") or "-"))
    return lines


def _trace_lines(trace):
    lines = []
    for step in trace:
        result = step.get("result") or "-"
        verdict, _sep, why = result.partition(":")
        lines.append("%5s  %s (%s%s): %s%s" % (
            step.get("priority"), step.get("allocator"), step.get("plugin"),
            ", default" if step.get("default") else "", verdict.upper(),
            (" -" + why) if why else ""))
        for rule in step.get("rules") or ():
            lines.append("         %s %s: %s" % (
                _mark(rule.get("matched")), rule.get("criterion"),
                rule.get("detail")))
    return lines


def _outcome_lines(outcome):
    if not outcome.get("allocator"):
        return ["Winner:   none - no allocator matched; the login would be "
                "refused"]
    decision = outcome.get("decision") or {}
    lines = ["Winner:   %s" % outcome["allocator"]]
    if decision.get("reason"):
        lines.append("Reason:   %s" % decision["reason"])
    pool = outcome.get("pool")
    if pool:
        lines.append("Pool:     %s (%s), status %s, %s ready" % (
            pool.get("name"), pool.get("id"), pool.get("status"),
            pool.get("ready")))
    else:
        lines.append("Pool:     %s (not found)" % decision.get("pool"))
    if decision.get("binding_kind"):
        binding = outcome.get("binding")
        key = "%s %s" % (decision["binding_kind"], decision["binding_key"])
        if binding:
            lines.append("Binding:  %s -> desktop %s (binding %s): the "
                         "login gets that desktop" % (
                             key, binding.get("desktop_id"),
                             binding.get("id")))
        else:
            lines.append("Binding:  %s has none yet: the login would take "
                         "a ready desktop and bind it" % key)
    else:
        lines.append("Binding:  none (a ready desktop of the pool for this "
                     "session)")
    return lines


def explain_text(document):
    """The explain document for people: request, each step, outcome."""
    lines = ["Request"]
    lines += ["  " + line for line in _request_lines(
        document.get("request") or {})]
    lines.append("Allocators tried (+ matched, - did not match)")
    lines += _trace_lines(document.get("trace") or [])
    lines.append("Outcome")
    lines += ["  " + line for line in _outcome_lines(
        document.get("outcome") or {})]
    return "\n".join(lines) + "\n"


class ExplainAllocator(command.Command):
    """Which allocator would give this user a desktop, and why.

    A dry run of the allocator chain: nothing is allocated or changed.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("username", metavar="<username>",
                            help="User to explain the login of")
        parser.add_argument("--client-id", metavar="<client-id>",
                            help="Thin client the user logs in from")
        parser.add_argument("--seat", metavar="<seat>",
                            help="Seat the user logs in at")
        parser.add_argument("-f", "--format", dest="formatter",
                            choices=("text", "json", "yaml"),
                            default="text",
                            help="text (default) for people; json or yaml "
                                 "give the broker's document as is")
        return parser

    def take_action(self, parsed_args):
        body = base.body_from(parsed_args, {"username": "username",
                                            "client_id": "client_id",
                                            "seat": "seat"})
        document = base.client(self).post(PATH + "/explain",
                                          body)["explain"]
        if parsed_args.formatter == "json":
            text = json.dumps(document, indent=2, sort_keys=True) + "\n"
        elif parsed_args.formatter == "yaml":
            text = yaml.safe_dump(document, default_flow_style=False)
        else:
            text = explain_text(document)
        self.app.stdout.write(text)
