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
               help="Desktops this conductor has booting at the same time, "
                    "over all the pools it keeps (R10: boot storms). With "
                    "several conductors ([coordination]) each has this "
                    "budget for its own share of the pools, so the cloud "
                    "may see up to this many boots per conductor. Each "
                    "pool has its own limit too."),
    cfg.IntOpt("max_builds_per_host", default=0, min=0,
               help="Desktops booting at the same time on one compute "
                    "host, counted over every pool (the host a server "
                    "lands on is known once Nova has scheduled it). Nova, "
                    "not the broker, picks the host: while any known "
                    "host has this many desktops booting, the pool "
                    "manager starts no new boot at all, so that it does "
                    "not add to the storm on that host. 0: no limit."),
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
                      "floor 1); every successful boot raises it by one "
                      "again, up to the pool's max_concurrent_builds. "
                      "0 disables the latency check."),
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
                    "capacity (from Placement) before asking again. Pools "
                    "grow only within it (R11); 0 asks at every pass."),
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


def register_opts(conf):
    conf.register_group(conductor_group)
    conf.register_opts(conductor_opts, group=conductor_group)
    conf.register_opts(healing_opts, group=conductor_group)


def list_opts():
    return {conductor_group: conductor_opts + healing_opts}
