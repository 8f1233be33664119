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

from oslo_config import cfg

monitoring_group = cfg.OptGroup(
    "monitoring", title="Business monitoring",
    help="Active agents against the shift plan (R15): departments, shift "
         "plans, the one-minute counts and their history.")

monitoring_opts = [
    cfg.StrOpt("timezone", default="UTC",
               help="The deployment's time zone (an IANA name such as "
                    "Asia/Shanghai or Europe/Paris): the shift plans' "
                    "dates and slot times are local to it, daylight-saving "
                    "changes included."),
    cfg.IntOpt("active_interval", default=60, min=1,
               help="Seconds: an agent is active when their thin client "
                    "reported input within this interval, in a logged-in "
                    "session; idle when logged in without such input."),
    cfg.IntOpt("interval", default=60, min=0,
               help="Seconds between two counts of the agents by "
                    "department, site and pool (written to the history); "
                    "0 turns the counting off in this conductor."),
    cfg.IntOpt("history_days", default=14, min=1,
               help="Days of one-minute agent counts kept; older ones are "
                    "purged by the conductor and by 'vdi-broker-manage "
                    "monitoring purge'."),
    cfg.IntOpt("departments_cache_time", default=30, min=0,
               help="Seconds a conductor reuses the departments it read "
                    "to tag new sessions with their user's department."),
]


def register_opts(conf):
    conf.register_group(monitoring_group)
    conf.register_opts(monitoring_opts, group=monitoring_group)


def list_opts():
    return {monitoring_group: monitoring_opts}
