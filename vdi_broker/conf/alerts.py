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

alerts_group = cfg.OptGroup(
    "alerts", title="Alerts",
    help="The broker's own alerts, evaluated by the conductors from what "
         "the broker knows (agent counts, the shift plan, pools, events, "
         "thin clients). Shares are fractions (0.2 = 20%).")

alerts_opts = [
    cfg.IntOpt("interval", default=60, min=0,
               help="Seconds between two evaluations; 0 turns them off in "
                    "this conductor."),
    cfg.FloatOpt("below_plan_share", default=0.2, min=0, max=1,
                 help="agents_below_plan: active agents of a department "
                      "and site below the plan by this share..."),
    cfg.IntOpt("below_plan_for", default=600, min=0,
               help="...for this many seconds."),
    cfg.IntOpt("below_plan_min_expected", default=5, min=0,
               help="agents_below_plan is not raised for slots expecting "
                    "fewer agents."),
    cfg.FloatOpt("above_plan_share", default=0.2, min=0,
                 help="agents_above_plan: active agents above the plan by "
                      "this share (agents outside their shift)..."),
    cfg.IntOpt("above_plan_min", default=5, min=1,
               help="...and by at least this many agents..."),
    cfg.IntOpt("above_plan_for", default=900, min=0,
               help="...for this many seconds."),
    cfg.FloatOpt("drop_share", default=0.5, min=0, max=1,
                 help="agents_dropped: a department and site lost this "
                      "share of the highest active count of the last "
                      "drop_minutes minutes."),
    cfg.IntOpt("drop_minutes", default=10, min=1,
               help="The window of agents_dropped, in minutes."),
    cfg.IntOpt("drop_min_active", default=10, min=1,
               help="agents_dropped needs at least this many active "
                    "agents at the window's high."),
    cfg.IntOpt("login_window", default=300, min=60,
               help="Seconds of login events login_failures and "
                    "directory_errors look at."),
    cfg.FloatOpt("login_failure_rate", default=0.3, min=0, max=1,
                 help="login_failures: this share of the logins of the "
                      "window failed..."),
    cfg.IntOpt("login_failure_min", default=20, min=1,
               help="...and at least this many."),
    cfg.IntOpt("pool_short_for", default=300, min=0,
               help="pool_short_of_ready: seconds a pool has fewer ready "
                    "desktops than its target."),
    cfg.IntOpt("boot_failures", default=3, min=1,
               help="boots_failing: boots of a pool that failed in a "
                    "row."),
    cfg.IntOpt("boot_slow_seconds", default=600, min=1,
               help="boots_slow: a pool's recent boot time above this."),
    cfg.FloatOpt("call_error_rate", default=0.2, min=0, max=1,
                 help="nova_errors and directory_errors: the share of "
                      "calls (of this conductor to Nova, of logins to "
                      "the directory) that failed since the last "
                      "evaluation..."),
    cfg.IntOpt("call_error_min", default=5, min=1,
               help="...and at least this many."),
    cfg.FloatOpt("call_slow_seconds", default=5.0, min=0,
                 help="nova_slow: the average Nova call of this conductor "
                      "since the last evaluation took longer."),
    cfg.FloatOpt("directory_slow_seconds", default=1.0, min=0,
                 help="directory_slow: the 95th percentile of the time "
                      "the logins of the login_window spent in the "
                      "directory (the LDAP driver's operations, as each "
                      "login's event recorded them) is above this..."),
    cfg.IntOpt("directory_slow_for", default=300, min=0,
               help="...for this many seconds."),
    cfg.IntOpt("directory_slow_min", default=5, min=1,
               help="directory_slow is not judged on fewer logins of "
                    "the window that asked the directory (the alert stays "
                    "as it is)."),
    cfg.IntOpt("desktops_in_error", default=5, min=1,
               help="desktops_in_error: desktops of a pool in ERROR."),
    cfg.FloatOpt("thin_clients_offline_share", default=0.2, min=0, max=1,
                 help="thin_clients_offline: this share of a site's thin "
                      "clients is offline..."),
    cfg.IntOpt("thin_clients_offline_min", default=10, min=1,
               help="...and at least this many."),
    cfg.IntOpt("thin_clients_faulty", default=5, min=1,
               help="thin_clients_faulty: faulty thin clients of a site."),
    cfg.IntOpt("resolved_days", default=30, min=1,
               help="Days resolved alerts are kept."),
]


def register_opts(conf):
    conf.register_group(alerts_group)
    conf.register_opts(alerts_opts, group=alerts_group)


def list_opts():
    return {alerts_group: alerts_opts}
