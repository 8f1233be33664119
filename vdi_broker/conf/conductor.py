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
                    "over all pools (R10: boot storms). Each pool has its "
                    "own limit too."),
    cfg.IntOpt("build_timeout", default=1800, min=60,
               help="Seconds a desktop may stay in building before it is "
                    "marked error and replaced."),
    cfg.IntOpt("rpc_workers", default=8, min=1,
               help="Threads serving RPC requests in one conductor."),
]


def register_opts(conf):
    conf.register_group(conductor_group)
    conf.register_opts(conductor_opts, group=conductor_group)


def list_opts():
    return {conductor_group: conductor_opts}
