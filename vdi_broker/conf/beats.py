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

"""Options of the heartbeats' and agent reports' lean path (``[beats]``)."""

from oslo_config import cfg

beats_group = cfg.OptGroup(
    "beats", title="Heartbeats and agent reports",
    help="POST /v1/client/heartbeat and POST /v1/agent/report, the API's "
         "busiest calls, take a lean path: a credential the full path "
         "accepted is remembered for a while, and the rows are written "
         "in batches. See the performance guide for what a batch "
         "interval costs when an API process is killed.")

beats_opts = [
    cfg.BoolOpt("lean_path", default=True,
                help="Answer heartbeats and agent reports without the "
                     "whole middleware stack when their credentials are "
                     "remembered. Off, every one takes the full path "
                     "(one transaction each)."),
    cfg.FloatOpt("flush_interval", default=1.0, min=0, max=60,
                 help="Seconds between two batched writes of the "
                      "heartbeats and agent reports an API process has "
                      "answered (one transaction for all, the latest per "
                      "thin client and desktop). A process killed without "
                      "a clean exit loses at most this much, which only "
                      "delays offline and active-agent detection by as "
                      "much. 0 writes each one at once (one transaction "
                      "each)."),
    cfg.IntOpt("max_pending", default=50000, min=1,
               help="Thin clients (and, separately, desktops) whose "
                    "latest heartbeat (report) one API process holds "
                    "before writing; past it, requests are written at "
                    "once, one transaction each."),
    cfg.IntOpt("auth_cache_time", default=300, min=0,
               help="Seconds an API process remembers a thin client, a "
                    "session token or an agent secret that the database "
                    "accepted. Longer than the heartbeat and report "
                    "intervals, or few requests find it. The writes "
                    "check the session and the secret again, so a "
                    "closed session or a new secret is never written "
                    "over; only the answer may be 204/200 instead of "
                    "401 for this long. 0 disables the lean path's "
                    "cache (every request takes the full path)."),
    cfg.IntOpt("auth_cache_size", default=100000, min=1,
               help="Credentials of each kind remembered at most per API "
                    "process (the cache starts again when full)."),
]


def register_opts(conf):
    conf.register_group(beats_group)
    conf.register_opts(beats_opts, group=beats_group)


def list_opts():
    return {beats_group: beats_opts}
