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

"""Helpers shared by the ``openstack vdi`` commands.

Columns are (field, heading) pairs. Lists and dicts are wrapped in
osc-lib's format columns: a table shows them readably, -f json/yaml
gives the raw values.
"""

import argparse
import json
import logging

from cliff import columns
from osc_lib.cli import format_columns
from osc_lib import exceptions
from oslo_utils import uuidutils

LOG = logging.getLogger(__name__)

SORT_DIRS = ("asc", "desc")


def client(command):
    return command.app.client_manager.vdi


def formatted(value):
    if isinstance(value, dict):
        return format_columns.DictColumn(value)
    if isinstance(value, list):
        return format_columns.ListColumn(value)
    return value


class RulesColumn(columns.FormattableColumn):
    """An allocator's rule document, one criterion after the other."""

    def human_readable(self):
        parts = []
        for key, value in sorted((self._value or {}).items()):
            if isinstance(value, dict):
                value = ", ".join("%s=%s" % (name, "|".join(
                    v if isinstance(v, list) else [str(v)]))
                    for name, v in sorted(value.items()))
            elif isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            parts.append("%s: %s" % (key, value))
        return "; ".join(parts) or "(matches everybody)"

    def machine_readable(self):
        return self._value


def show_item(item, formatters=None):
    """ShowOne's (columns, values): every field, sorted by name."""
    formatters = formatters or {}
    fields = sorted(item)
    return tuple(fields), tuple(
        formatters[k](item[k]) if k in formatters else formatted(item[k])
        for k in fields)


def list_items(items, columns, formatters=None):
    """Lister's (headings, rows) for (field, heading) columns.

    A field "a.b" is item["a"]["b"] (pool desktop counts).
    """
    formatters = formatters or {}
    headings = tuple(heading for _field, heading in columns)
    rows = []
    for item in items:
        row = []
        for field, _heading in columns:
            value = item
            for part in field.split("."):
                value = (value or {}).get(part)
            row.append(formatters[field](value) if field in formatters
                       else formatted(value))
        rows.append(tuple(row))
    return headings, rows


# -- arguments ---------------------------------------------------------------

def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer" % text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer" % text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def json_object(text):
    """A JSON object given on the command line (rules, options)."""
    try:
        value = json.loads(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError("not valid JSON: %s" % e)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def sort_spec(text):
    """``key`` or ``key:asc|desc``, as OSC's ``server list --sort``."""
    key, _sep, direction = text.partition(":")
    direction = direction or "asc"
    if not key or direction not in SORT_DIRS:
        raise argparse.ArgumentTypeError(
            "expected <key>[:asc|desc], got %r" % text)
    return key, direction


def add_pagination(parser, sort_keys=None):
    parser.add_argument(
        "--limit", metavar="<num>", type=positive_int,
        help="At most this many items (default: all, page by page)")
    parser.add_argument(
        "--marker", metavar="<id>",
        help="Start after the item with this ID")
    if sort_keys:
        parser.add_argument(
            "--sort", metavar="<key>[:<direction>]", type=sort_spec,
            help="Sort by one of %s, direction asc (default) or desc" %
                 ", ".join(sort_keys))
    return parser


def pagination(parsed_args, sort_keys=None):
    """(query params, limit) of the pagination options."""
    params = {"marker": parsed_args.marker}
    sort = getattr(parsed_args, "sort", None)
    if sort:
        key, direction = sort
        if sort_keys and key not in sort_keys:
            raise exceptions.CommandError(
                "--sort: %s is not one of %s" % (key, ", ".join(sort_keys)))
        params["sort_key"], params["sort_dir"] = key, direction
    return params, parsed_args.limit


def add_revision(parser):
    parser.add_argument(
        "--if-match", "--revision", dest="revision", metavar="<revision>",
        type=non_negative_int,
        help="Change it only if it is still at this revision (its ETag); "
             "the broker refuses with a conflict otherwise")


def add_enabled(parser, what, default=None):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--enable", dest="enabled", action="store_true",
                       default=default, help="Enable the %s" % what)
    group.add_argument("--disable", dest="enabled", action="store_false",
                       help="Disable the %s" % what)


def add_enabled_filter(parser, what):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--enabled", dest="enabled", action="store_true",
                       default=None, help="Only enabled %s" % what)
    group.add_argument("--disabled", dest="enabled", action="store_false",
                       help="Only disabled %s" % what)


def bool_param(value):
    return None if value is None else ("true" if value else "false")


def body_from(parsed_args, mapping):
    """Request body of the options given: {body key: attribute name}."""
    body = {}
    for key, attr in mapping.items():
        value = getattr(parsed_args, attr, None)
        if value is not None:
            body[key] = value
    return body


def merged_list(current, added, clear):
    """A list option of ``set``: --x adds, --no-x clears first."""
    result = [] if clear else list(current or [])
    for value in added or ():
        if value not in result:
            result.append(value)
    return result


def pool_id(command, ident):
    """A pool's ID from its ID or name (filters take IDs only).

    A UUID is taken as is: the pool may be gone (events outlive it).
    """
    if ident is None or uuidutils.is_uuid_like(ident):
        return ident
    return client(command).show("/pools", "pool", ident)["id"]


def delete_many(command, path, idents, what):
    """Delete each; report the failures together, as OSC does."""
    failures = 0
    for ident in idents:
        try:
            client(command).delete(path, ident)
        except exceptions.CommandError as e:
            failures += 1
            LOG.error("Failed to delete %s %s: %s", what, ident, e)
    if failures:
        raise exceptions.CommandError(
            "%d of %d %ss failed to delete." % (failures, len(idents), what))
