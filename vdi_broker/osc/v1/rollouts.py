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

"""openstack vdi rollout create/list/show/pause/resume/rollback.

A roll-out moves a pool to a new image: the canary first, then waves,
within the boot limits and never under a working agent.
"""

from osc_lib.command import command

from vdi_broker.osc import client as vdi_client
from vdi_broker.osc.v1 import base

PATH = "/rollouts"
SORT_KEYS = ("created_at", "state")
STATES = ("running", "paused", "rolling_back", "completed", "rolled_back")
COLUMNS = (("id", "ID"), ("pool_id", "Pool"), ("image", "Image"),
           ("state", "State"), ("phase", "Phase"),
           ("progress", "Progress"))


class ListRollout(command.Lister):
    """List image roll-outs (of one pool, or all), newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--pool", metavar="<pool>",
                            help="Only the roll-outs of this pool (name "
                                 "or id)")
        parser.add_argument("--state", metavar="<state>", choices=STATES,
                            help="Only roll-outs in this state")
        base.add_pagination(parser, SORT_KEYS)
        return parser

    def take_action(self, parsed_args):
        params, limit = base.pagination(parsed_args, SORT_KEYS)
        params["state"] = parsed_args.state
        path = PATH
        if parsed_args.pool:
            path = "/pools/%s/rollouts" % vdi_client.quote(parsed_args.pool)
        items = base.client(self).list(path, "rollouts", params, limit)
        return base.list_items(items, COLUMNS)


class ShowRollout(command.ShowOne):
    """Show an image roll-out and its progress."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("rollout", metavar="<rollout-id>")
        return parser

    def take_action(self, parsed_args):
        return base.show_item(base.client(self).show(PATH, "rollout",
                                                     parsed_args.rollout))


class CreateRollout(command.ShowOne):
    """Roll a pool out to a new image."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("pool", metavar="<pool>",
                            help="The pool (name or id)")
        parser.add_argument("--image", metavar="<image>", required=True,
                            help="The new image (Glance name or id)")
        parser.add_argument("--canary-share", metavar="<share>",
                            type=float,
                            help="Share of the desktops rebuilt first, "
                                 "0 to 1 (default 0.1; 0: no canary)")
        parser.add_argument("--wave-size", metavar="<count>",
                            type=base.positive_int,
                            help="Desktops rebuilding at once at most "
                                 "(max unavailable; default 5)")
        parser.add_argument("--max-failures", metavar="<count>",
                            type=base.positive_int,
                            help="Failed rebuilds that pause the roll-out "
                                 "(default 1)")
        parser.add_argument("--window", metavar="<window>",
                            help="Rebuild only while this maintenance "
                                 "window is open")
        return parser

    def take_action(self, parsed_args):
        a = parsed_args
        body = {"image": a.image}
        for key in ("canary_share", "wave_size", "max_failures", "window"):
            value = getattr(a, key)
            if value is not None:
                body[key] = value
        return base.show_item(base.client(self).create(
            "/pools/%s/rollouts" % vdi_client.quote(a.pool), "rollout",
            body))


class _RolloutAction(command.ShowOne):
    action = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("rollout", metavar="<rollout-id>")
        parser.add_argument("--reason", metavar="<text>",
                            help="Why (recorded in the roll-out and the "
                                 "audit log)")
        return parser

    def take_action(self, parsed_args):
        body = {"action": self.action}
        if parsed_args.reason:
            body["reason"] = parsed_args.reason
        result = base.client(self).request(
            "POST", "%s/%s/action" % (PATH,
                                      vdi_client.quote(parsed_args.rollout)),
            body=body)
        return base.show_item(result["rollout"])


class PauseRollout(_RolloutAction):
    """Pause an image roll-out (the rebuilds under way finish)."""

    action = "pause"


class ResumeRollout(_RolloutAction):
    """Resume a paused image roll-out."""

    action = "resume"


class RollbackRollout(_RolloutAction):
    """Roll a pool back to the image it had before the roll-out."""

    action = "rollback"
