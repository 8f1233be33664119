from oslo_config import cfg

login_throttle_group = cfg.OptGroup(
    "login_throttle", title="Thin-client login throttling",
    help="Lock out a user name, and a thin client, after repeated failed "
         "logins. Counters live in the memory of each API process: with N "
         "API workers (uWSGI processes) an attacker gets up to N times the "
         "threshold before every worker has locked the name out. Locked "
         "logins are refused with 429 and a Retry-After header before the "
         "directory is asked.")

login_throttle_opts = [
    cfg.BoolOpt("enabled", default=True,
                help="Count failed logins and lock out as configured "
                     "below."),
    cfg.IntOpt("failure_window", default=300, min=1,
               help="Seconds over which failed logins are counted. A "
                    "counter starts with the first failure and is forgotten "
                    "this long after it."),
    cfg.IntOpt("user_failure_threshold", default=5, min=0,
               help="Failed logins for one user name within failure_window "
                    "that lock the name out. Unknown and existing names "
                    "are treated alike. 0: no per-user lockout."),
    cfg.IntOpt("client_failure_threshold", default=20, min=0,
               help="Failed logins from one thin client (client id, or the "
                    "remote address when the client sends none) within "
                    "failure_window that lock the client out, whatever "
                    "user names it tries. 0: no per-client lockout."),
    cfg.IntOpt("lockout_duration", default=300, min=1,
               help="Seconds a locked-out user name or client is refused. "
                    "A successful login before the lockout resets the "
                    "user name's counter."),
    cfg.IntOpt("max_tracked", default=100000, min=100,
               help="Most user names plus clients tracked at once; when "
                    "full, the oldest counters are dropped first, so a "
                    "flood of invented names cannot exhaust memory."),
]


def register_opts(conf):
    conf.register_group(login_throttle_group)
    conf.register_opts(login_throttle_opts, group=login_throttle_group)


def list_opts():
    return {login_throttle_group: login_throttle_opts}
