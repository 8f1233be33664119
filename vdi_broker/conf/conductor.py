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

conductor_group = cfg.OptGroup(
    "conductor", title="Conductor options",
    help="Options of vdi-broker-conductor, which owns allocation, pool "
         "upkeep and reconciliation.")

conductor_opts = [
    cfg.BoolOpt("use_local", default=False,
                help="Run the conductor inside the API process and call it "
                     "directly instead of over RPC. This is the all-in-one "
                     "mode; production runs vdi-broker-conductor."),
    cfg.StrOpt("topic", default="vdi-broker-conductor",
               help="The RPC topic the conductors listen on."),
    cfg.IntOpt("pool_interval", default=5, min=1,
               help="Seconds between two passes of the pool manager, which "
                    "boots desktops up to each pool's min_ready, promotes "
                    "booted ones to ready and finishes releases."),
    cfg.IntOpt("max_concurrent_builds", default=50, min=1,
               help="Desktops booting at the same time in the whole "
                    "deployment (R10: boot storms), counted in the "
                    "database over every pool and every conductor. A "
                    "boot is any Nova action that starts a guest: a "
                    "create, the reboot or rebuild of a release, an "
                    "operator's reboot or rebuild, the reboot of a "
                    "desktop whose readiness probe did not pass (within "
                    "the boot it belongs to). What does not fit waits in "
                    "the boot queue, in order. Set the same value on "
                    "every conductor: each admits boots against its own "
                    "value. Each pool has its own limit too."),
    cfg.IntOpt("max_builds_per_host", default=0, min=0,
               help="Desktops booting at the same time on one compute "
                    "host, counted in the database over every pool and "
                    "conductor (the host of a server is known once Nova "
                    "has scheduled it). A restart (its host is known) "
                    "waits while its host is at its limit. Nova, not the "
                    "broker, places new servers: while any known host "
                    "is at its limit no new desktop is booted at all, "
                    "and otherwise no more than the room left on the "
                    "known hosts. The adaptive throttle lowers a host's "
                    "limit when its boots are slow or it is loaded "
                    "(host_load_low, host_load_high). 0: no limit of "
                    "its own (the host's allowance then starts at "
                    "max_concurrent_builds)."),
    cfg.IntOpt("degraded_after_failures", default=3, min=1,
               help="Failed boots in a row after which a pool is reported "
                    "degraded (with the error, since when and how many) "
                    "and boots one desktop at a time until a boot "
                    "succeeds."),
    cfg.FloatOpt("slow_build_request", default=10.0, min=0,
                 help="Seconds a create-server request to the cloud may "
                      "take before it counts as a slow answer. A slow "
                      "answer, like a failed boot, halves the pool's "
                      "allowed concurrent builds (adaptive throttle, "
                      "floor 1); every boot within boot_duration_target "
                      "raises it by one again, up to the pool's "
                      "max_concurrent_builds. 0 disables the latency "
                      "check."),
    cfg.FloatOpt("boot_duration_target", default=600.0, min=0,
                 help="Seconds a boot should take, from its start (a "
                      "create, or the reboot or rebuild of a release) "
                      "until the desktop is ready (its readiness probe "
                      "passed). A boot that took longer halves the "
                      "allowed concurrent boots of its pool and of its "
                      "compute host, once per round of boots (boots "
                      "started before the last cut do not cut again); a "
                      "boot within it raises them by one, up to their "
                      "limits. 0: boot times do not matter, every "
                      "successful boot raises the allowances."),
    cfg.FloatOpt("host_load_low", default=0.75, min=0, max=1,
                 help="Load of a compute host (the larger of its memory "
                      "and vCPU usage against its capacity, from "
                      "Placement, with the allocation ratios) below which "
                      "the host gets all of its allowed concurrent boots. "
                      "Between host_load_low and host_load_high its "
                      "allowance shrinks in proportion; at "
                      "host_load_high and above it boots one desktop at "
                      "a time. Loads are read every capacity_cache_time "
                      "seconds."),
    cfg.FloatOpt("host_load_high", default=0.9, min=0, max=1,
                 help="Load of a compute host at and above which it boots "
                      "one desktop at a time (see host_load_low). With "
                      "both at 1, only a host used beyond its capacity "
                      "is held back."),
    cfg.IntOpt("boot_request_grace", default=60, min=1,
               help="Seconds a building desktop without a server id waits "
                    "for the server booted for it to appear in the cloud "
                    "(its boot request got no answer, or a conductor "
                    "stopped between the desktop and the request). The "
                    "server is adopted when it shows up; after this long "
                    "without one the desktop is marked error and "
                    "replaced."),
    cfg.IntOpt("build_timeout", default=1800, min=60,
               help="Seconds a desktop may stay in building before it is "
                    "marked error and replaced."),
    cfg.IntOpt("capacity_cache_time", default=30, min=0,
               help="Seconds the pool manager reuses the cloud's free "
                    "capacity and its hosts' loads (from Placement) "
                    "before asking again. Pools grow only within it "
                    "(R11); 0 asks at every pass."),
]

# Self-healing: the reconciler, the health check and quarantine.
healing_opts = [
    cfg.IntOpt("reconcile_interval", default=600, min=0,
               help="Seconds between two passes of the reconciler, which "
                    "compares the broker's servers in the cloud (found by "
                    "their tag) with the desktops table: it adopts or "
                    "deletes servers the broker made but forgot, and marks "
                    "desktops whose server vanished. It also runs when the "
                    "conductor starts. 0 disables it."),
    cfg.IntOpt("health_check_interval", default=60, min=0,
               help="Seconds between two health checks of the ready and "
                    "assigned desktops (one server listing per pool): a "
                    "desktop whose server is in ERROR or SHUTOFF is "
                    "quarantined, one whose server vanished is replaced. "
                    "0 disables it."),
    cfg.StrOpt("unquarantine_action", default="pool",
               choices=[("pool", "the pool's release action"),
                        ("keep", "straight back to ready"),
                        ("reboot", "reboot, then ready"),
                        ("rebuild", "rebuild from the pool's image, then "
                                    "ready"),
                        ("delete", "delete the desktop; the pool manager "
                                   "boots a new one")],
               help="What the unquarantine action does with a desktop "
                    "when the request does not say. A desktop still bound "
                    "to its owner goes back to the owner (as assigned) "
                    "unless the action is delete."),
]


# The conductor's Prometheus exporter: its Nova calls, notifications and
# process figures (the API's /metrics serves the API workers' and the
# database's).
metrics_opts = [
    cfg.PortOpt("metrics_bind_port", default=0,
                help="Port of the conductor's Prometheus exporter "
                     "(GET /metrics); 0 (the default) serves none. It "
                     "applies [api] metrics_allowed_networks and "
                     "metrics_bearer_token."),
    cfg.HostAddressOpt("metrics_bind_host", default="127.0.0.1",
                       help="Address the conductor's Prometheus exporter "
                            "listens on."),
]


def register_opts(conf):
    conf.register_group(conductor_group)
    conf.register_opts(conductor_opts, group=conductor_group)
    conf.register_opts(healing_opts, group=conductor_group)
    conf.register_opts(metrics_opts, group=conductor_group)


def list_opts():
    return {conductor_group: conductor_opts + healing_opts + metrics_opts}
