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

allocator_group = cfg.OptGroup(
    "allocator", title="Allocator options",
    help="How the conductor walks the allocator chain and claims desktops. "
         "Allocator plugins may register their own options in a group "
         "named [allocator.<plugin>].")

allocator_opts = [
    cfg.IntOpt("claim_attempts", default=8, min=1,
               help="How many ready desktops one login tries to claim "
                    "before it reports the pool as exhausted. Each attempt "
                    "is one compare-and-swap on a desktop row; attempts "
                    "fail only when another login took the same desktop "
                    "first."),
    cfg.IntOpt("claim_candidates", default=16, min=1,
               help="SQLite: how many ready desktops a claim reads "
                    "before trying them in turn. MariaDB and PostgreSQL "
                    "lock exactly the row they take (SELECT ... FOR UPDATE "
                    "SKIP LOCKED LIMIT 1). A Galera cluster (several "
                    "writers) picks the desktop at random among the first "
                    "4 x claim_candidates ready ones, so that the nodes' "
                    "logins rarely take the same one (which one of them "
                    "would have to run again)."),
    cfg.IntOpt("connect_attempts", default=3, min=1,
               help="How many desktops one login tries when the connection "
                    "details of the desktop it claimed cannot be obtained "
                    "(a console the cloud refuses, a timeout, a driver "
                    "error). Each failed try is undone before the next: "
                    "the session is closed, the desktop goes back to ready "
                    "or, when its console is what failed, to quarantine. "
                    "No try starts after the login's deadline ([api] "
                    "conductor_timeout); when none succeeds the thin "
                    "client gets a 503 with Retry-After."),
]


def register_opts(conf):
    conf.register_group(allocator_group)
    conf.register_opts(allocator_opts, group=allocator_group)


def list_opts():
    return {allocator_group: allocator_opts}
