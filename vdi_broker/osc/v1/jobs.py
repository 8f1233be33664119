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

"""openstack vdi job list/show/create/cancel and job target list.

A job runs one operation (a command, a state, a software install, a
file, a local password, a data recovery, a message) on desktops at a set
time; the conductors run it through the guest executor.
"""

import getpass
import json

from osc_lib.command import command
from osc_lib import exceptions

from vdi_broker.osc import client as vdi_client
from vdi_broker.osc.v1 import base

PATH = "/jobs"
SORT_KEYS = ("created_at", "run_at", "name", "state")
KINDS = ("command", "state", "software_install", "file_push", "password",
         "data_recovery", "message")
TARGET_STATES = ("pending", "running", "ok", "failed", "skipped")
COLUMNS = (("id", "ID"), ("name", "Name"), ("kind", "Kind"),
           ("state", "State"), ("run_at", "Run At"),
           ("results", "Results"))
TARGET_COLUMNS = (("desktop_name", "Desktop"), ("state", "State"),
                  ("attempts", "Attempts"), ("reason", "Reason"),
                  ("output", "Output"))


def _parameter(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise exceptions.CommandError("--parameter takes KEY=VALUE, got "
                                      "%r" % text.split("=")[0])
    try:
        # Numbers, lists and objects as JSON; anything else as text.
        return key, json.loads(value)
    except ValueError:
        return key, value


class ListJob(command.Lister):
    """List guest jobs."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--state", metavar="<state>",
                            choices=("scheduled", "running", "finished",
                                     "cancelled"),
                            help="Only jobs in this state")
        parser.add_argument("--kind", metavar="<kind>", choices=KINDS,
                            help="Only jobs of this kind")
        base.add_pagination(parser, SORT_KEYS)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args, SORT_KEYS)
        params.update(state=parsed_args.state, kind=parsed_args.kind)
        items = base.client(self).list(PATH, "jobs", params, limit)
        return base.list_items(items, COLUMNS)


class ShowJob(command.ShowOne):
    """Show a guest job and its result counts."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("job", metavar="<job-id>")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(PATH, "job",
                                                     parsed_args.job))


class CreateJob(command.ShowOne):
    """Schedule a guest job on desktops.

    A password job without a password parameter asks for it (it never
    has to be on the command line).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--name", metavar="<name>", help="Job name")
        parser.add_argument("--kind", metavar="<kind>", choices=KINDS,
                            required=True,
                            help="One of %s" % ", ".join(KINDS))
        parser.add_argument("--parameters", metavar="<json>",
                            type=base.json_object,
                            help="The job's parameters as a JSON object")
        parser.add_argument("--parameter", metavar="<key=value>",
                            action="append", default=[],
                            help="One parameter (repeatable; JSON values "
                                 "are decoded)")
        for option, what in (("--pool", "pool ID or name"),
                             ("--site", "site"),
                             ("--department", "department"),
                             ("--desktop", "desktop ID or name")):
            parser.add_argument(option, metavar="<%s>" % what.split()[0],
                                action="append", default=[],
                                help="Run on every desktop of this %s "
                                     "(repeatable)" % what)
        parser.add_argument("--run-at", metavar="<time>",
                            help="ISO 8601 time (default: now)")
        in_use = parser.add_mutually_exclusive_group()
        in_use.add_argument("--touch-in-use", dest="in_use",
                            action="store_const", const="run",
                            help="Also run on desktops someone works on "
                                 "(the default of message jobs)")
        in_use.add_argument("--skip-in-use", dest="in_use",
                            action="store_const", const="skip",
                            help="Skip desktops someone works on (the "
                                 "default of the other kinds)")
        in_use.add_argument("--wait-for-window", dest="in_use",
                            action="store_const", const="wait",
                            help="Run on desktops someone works on only "
                                 "while a maintenance window of their "
                                 "pool or site is open")
        parser.add_argument("--max-retries", metavar="<count>",
                            type=base.non_negative_int)
        parser.add_argument("--retry-delay", metavar="<seconds>",
                            type=base.non_negative_int)
        parser.add_argument("--concurrency", metavar="<count>",
                            type=base.positive_int,
                            help="Desktops running the job at once")
        parser.add_argument("--timeout", metavar="<seconds>",
                            type=base.positive_int,
                            help="Seconds one call may take")
        return parser

    def take_action(self, parsed_args):
        a = parsed_args
        parameters = dict(a.parameters or {})
        parameters.update(_parameter(p) for p in a.parameter)
        if a.kind == "password" and "password" not in parameters:
            parameters["password"] = getpass.getpass("New password: ")
        targets = {key: values for key, values in (
            ("pools", a.pool), ("sites", a.site),
            ("departments", a.department), ("desktops", a.desktop))
            if values}
        if not targets:
            raise exceptions.CommandError(
                "Name the targets: --pool, --site, --department or "
                "--desktop")
        body = {"kind": a.kind, "parameters": parameters,
                "targets": targets}
        for key in ("name", "in_use", "run_at", "max_retries", "retry_delay",
                    "concurrency", "timeout"):
            value = getattr(a, key)
            if value is not None:
                body[key] = value
        return base.show_item(base.client(self).create(PATH, "job", body))


class CancelJob(command.ShowOne):
    """Cancel a scheduled or running job."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("job", metavar="<job-id>")
        return parser

    def take_action(self, parsed_args):
        body = base.client(self).request(
            "POST", "%s/%s/cancel" % (PATH, vdi_client.quote(parsed_args.job)))
        return base.show_item(body["job"])


class ListJobTarget(command.Lister):
    """The results of a job, one row per desktop."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("job", metavar="<job-id>")
        parser.add_argument("--state", metavar="<state>",
                            choices=TARGET_STATES,
                            help="Only the desktops in this state")
        return parser

    def take_action(self, parsed_args):
        params = {"state": parsed_args.state} if parsed_args.state else None
        body = base.client(self).request(
            "GET", "%s/%s/targets" % (PATH, vdi_client.quote(parsed_args.job)),
            params=params)
        return base.list_items(body["targets"], TARGET_COLUMNS)
