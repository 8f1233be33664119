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

"""Options of the pool manager's readiness probe (``[pool_manager]``)."""

from oslo_config import cfg

pool_manager_group = cfg.OptGroup(
    "pool_manager", title="Pool manager options",
    help="How the pool manager decides that a booted desktop is ready "
         "for a user. A pool's readiness_probe overrides "
         "readiness_probe here.")

PROBES = ("none", "tcp", "port", "agent", "both")

pool_manager_opts = [
    cfg.StrOpt("readiness_probe", default="none",
               choices=[("none", "ready as soon as Nova reports the server "
                                 "ACTIVE"),
                        ("tcp", "ready once the desktop's console port "
                                "accepts a TCP connection"),
                        ("port", "the same as tcp"),
                        ("agent", "ready once the desktop's guest agent "
                                  "registered (vdi-broker-agent)"),
                        ("both", "ready once the agent registered and "
                                 "the console port answers")],
               help="The readiness probe of pools that do not set their "
                    "own. A desktop whose server is ACTIVE but whose probe "
                    "has not passed yet counts as building."),
    cfg.DictOpt("probe_ports", default={},
                help="TCP port the 'tcp' probe connects to, by console "
                     "type, for example 'rdp:3389,spice-direct:5900'. "
                     "The rdp console type defaults to [rdp] port; a "
                     "console type without a port fails the probe."),
    cfg.FloatOpt("probe_connect_timeout", default=2.0, min=0.1,
                 help="Seconds one TCP probe waits for the connection."),
    cfg.IntOpt("ready_timeout", default=600, min=1,
               help="Seconds after the server went ACTIVE within which "
                    "the probe must pass. The first time it does not, "
                    "the server is rebooted and gets this long again; "
                    "the second time the desktop is marked error and "
                    "replaced."),
    cfg.IntOpt("probe_workers", default=20, min=1,
               help="Probes run at the same time during one pass."),
    cfg.IntOpt("release_settle_time", default=60, min=0,
               help="After a release reboot or rebuild, seconds after "
                    "which a server that is ACTIVE counts as restarted "
                    "even though the pool manager never saw it leave "
                    "ACTIVE (a restart quicker than one pass). Before "
                    "that, ACTIVE right after the request is not taken "
                    "as done."),
]


def register_opts(conf):
    conf.register_group(pool_manager_group)
    conf.register_opts(pool_manager_opts, group=pool_manager_group)


def list_opts():
    return {pool_manager_group: pool_manager_opts}
