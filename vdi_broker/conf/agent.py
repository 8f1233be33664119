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

"""Options of the guest agents' endpoint and incidents (``[agent]``)."""

from oslo_config import cfg

agent_group = cfg.OptGroup(
    "agent", title="Guest agents and incidents",
    help="The desktops' guest agents (vdi-broker-agent, "
         "POST /v1/agent/register and /v1/agent/report), the session "
         "timeouts they make possible, and the five-minute rule: a "
         "desktop whose agent goes silent, whose display stops or whose "
         "thin client reports a fault is probed, and its session moved "
         "to a healthy desktop if it is not healthy again in time.")

agent_opts = [
    cfg.URIOpt("broker_url", schemes=["http", "https"],
               help="The broker API's URL as the desktops reach it. Put "
                    "into every new server's metadata (key "
                    "vdi_broker_url) with the desktop's agent secret "
                    "(vdi_agent_secret). Unset: no secret is put either, "
                    "and no agent can register (readiness_probe agent "
                    "would never pass)."),
    cfg.IntOpt("report_interval", default=30, min=5, max=3600,
               help="Seconds between two reports of an agent (the "
                    "registration's answer tells the agent)."),
    cfg.FloatOpt("min_report_interval", default=5.0, min=0,
                 help="Reports of one desktop closer than this many "
                      "seconds get a 429 with Retry-After."),
    cfg.IntOpt("max_body", default=8192, min=512,
               help="Largest body (bytes) of an agent request; a larger "
                    "one gets a 413."),
    cfg.IntOpt("silent_after", default=90, min=1,
               help="Seconds without a report after which a ready or "
                    "assigned desktop whose agent had registered opens "
                    "an incident (agent_silent). Several report "
                    "intervals: a report delayed by a busy broker must "
                    "not open one."),
    cfg.IntOpt("fix_time", default=300, min=0,
               help="Seconds an incident may stay open before the "
                    "desktop's session moves to a healthy desktop of the "
                    "same pool (or the owner's binding moves); a pool's "
                    "fix_time overrides it. 0: move at once."),
    cfg.IntOpt("interval", default=15, min=0,
               help="Seconds between two passes of a conductor's session "
                    "and incident watch (disconnect and idle timeouts, "
                    "silent agents, incidents). 0 turns it off in this "
                    "conductor."),
]


def register_opts(conf):
    conf.register_group(agent_group)
    conf.register_opts(agent_opts, group=agent_group)


def list_opts():
    return {agent_group: agent_opts}
