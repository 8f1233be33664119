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

login_throttle_group = cfg.OptGroup(
    "login_throttle", title="Thin-client login throttling",
    help="Lock out a user name, and a thin client, after repeated failed "
         "logins, and record failed logins as events. The counters are "
         "kept in the database, so every API worker (uWSGI process) and "
         "every API host shares them: the lockout holds after the "
         "threshold in total. Locked logins are refused with 429 and a "
         "Retry-After header before the directory is asked.")

login_throttle_opts = [
    cfg.BoolOpt("enabled", default=True,
                help="Count failed logins and lock out as configured "
                     "below. Failed logins are recorded as events either "
                     "way."),
    cfg.IntOpt("failure_window", default=300, min=1,
               help="Seconds over which failed logins are counted. A "
                    "counter starts with the first failure and is forgotten "
                    "this long after it."),
    cfg.IntOpt("user_failure_threshold", default=5, min=0,
               help="Failed logins for one user name within failure_window "
                    "that lock the name out. Unknown and existing names "
                    "are treated alike. 0: no per-user lockout."),
    cfg.IntOpt("client_failure_threshold", default=20, min=0,
               help="Failed logins from one thin client (its client id) "
                    "within failure_window that lock the client out, "
                    "whatever user names it tries. 0: no per-client "
                    "lockout."),
    cfg.IntOpt("lockout_duration", default=300, min=1,
               help="Seconds a locked-out user name or client is refused. "
                    "A successful login before the lockout resets the "
                    "user name's counter."),
    cfg.IntOpt("max_tracked", default=100000, min=100,
               deprecated_for_removal=True,
               deprecated_since="2026.2",
               deprecated_reason="The counters are kept in the database "
                                 "and purged when they expire; nothing "
                                 "reads this option any more.",
               help="Most user names plus clients tracked at once by one "
                    "API process (in-memory counters of earlier "
                    "releases)."),
    cfg.IntOpt("failure_event_interval", default=60, min=1, max=3600,
               help="Seconds one failed-login event covers: the failures "
                    "of one user name from one thin client for one reason "
                    "within such an interval are one event, with a count "
                    "and the first and last times."),
    cfg.IntOpt("max_failure_events", default=100, min=1,
               help="Most failed-login events one API process starts per "
                    "failure_event_interval (distinct user name, client "
                    "and reason). Beyond it, failures are counted in one "
                    "event per reason without user name or client, so that "
                    "a client spraying invented names and client ids "
                    "cannot flood the events table."),
]


def register_opts(conf):
    conf.register_group(login_throttle_group)
    conf.register_opts(login_throttle_opts, group=login_throttle_group)


def list_opts():
    return {login_throttle_group: login_throttle_opts}
