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

coordination_group = cfg.OptGroup(
    "coordination", title="Coordination of several conductors",
    help="Any number of vdi-broker-conductor processes may run. Allocation "
         "is safe on any of them; the periodic pool manager of each pool "
         "runs on exactly one, chosen with a tooz group of the running "
         "conductors and a consistent hash ring. When a conductor dies, "
         "the others take its pools over after member_timeout. See "
         "doc/source/admin/conductors.rst.")

coordination_opts = [
    cfg.StrOpt("backend_url", secret=True,
               help="tooz URL of the coordination backend. Unset (the "
                    "default): no coordination, this conductor keeps every "
                    "pool, which is right for one conductor only. The "
                    "backend must support group membership: "
                    "redis://HOST:6379, etcd3+http://HOST:2379, "
                    "zookeeper://HOST:2181, memcached://HOST:11211, or "
                    "file:///DIR for conductors on one host. tooz's "
                    "mysql:// and postgresql:// drivers offer locks only, "
                    "no groups, and are refused."),
    cfg.StrOpt("group", default="vdi-broker-conductors",
               help="Name of the tooz group the conductors join. "
                    "Conductors of separate deployments sharing a backend "
                    "need different names."),
    cfg.FloatOpt("heartbeat_interval", default=1.0, min=0.1,
                 help="Seconds between two heartbeats of a conductor, each "
                      "followed by a fresh read of the group's members. "
                      "Must be less than half of member_timeout."),
    cfg.IntOpt("member_timeout", default=10, min=1,
               help="Seconds without a heartbeat after which a conductor "
                    "is considered dead and the others take its pools "
                    "over. Passed to the backend as its membership timeout "
                    "(file: timeout, redis and etcd3: membership_timeout, "
                    "zookeeper: timeout) unless backend_url sets one. A "
                    "conductor that cannot reach the backend gives up its "
                    "pools after half of it. Takeover time is at most "
                    "member_timeout + heartbeat_interval + "
                    "[conductor] pool_interval."),
]


def register_opts(conf):
    conf.register_group(coordination_group)
    conf.register_opts(coordination_opts, group=coordination_group)


def list_opts():
    return {coordination_group: coordination_opts}
