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
               help="SQLite only: how many ready desktops a claim reads "
                    "before trying them in turn. MariaDB and PostgreSQL "
                    "lock exactly the row they take (SELECT ... FOR UPDATE "
                    "SKIP LOCKED LIMIT 1)."),
]


def register_opts(conf):
    conf.register_group(allocator_group)
    conf.register_opts(allocator_opts, group=allocator_group)


def list_opts():
    return {allocator_group: allocator_opts}
