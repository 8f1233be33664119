from oslo_config import cfg

jobs_group = cfg.OptGroup(
    "jobs", title="Guest jobs",
    help="Scheduled jobs on desktops, run by the conductors through the "
         "guest executor ([executor]).")

jobs_opts = [
    cfg.IntOpt("interval", default=10, min=0,
               help="Seconds between two passes of a conductor's job "
                    "runner (start due jobs, claim targets); 0 turns the "
                    "runner off in this conductor."),
    cfg.IntOpt("workers", default=4, min=1,
               help="Executor calls one conductor runs at once (each call "
                    "covers a batch of one job's targets)."),
    cfg.IntOpt("claim_grace", default=120, min=10,
               help="Seconds a claimed target may stay running after its "
                    "call's timeout before another conductor takes it "
                    "over (the first one is taken for dead)."),
    cfg.ListOpt("secret_keys", default=[], secret=True,
                help="Keys that encrypt the secret parameters of jobs (the "
                     "new password of a password job) in the database: "
                     "long random strings, the first encrypts, all "
                     "decrypt (add a new key first to rotate). The API and "
                     "every conductor need the same list. Without a key, "
                     "password jobs are refused."),
]


def register_opts(conf):
    conf.register_group(jobs_group)
    conf.register_opts(jobs_opts, group=jobs_group)


def list_opts():
    return {jobs_group: jobs_opts}
