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

"""Named clouds: ``[compute] clouds`` and one ``[cloud:NAME]`` group each.

A deployment with one cloud configures ``[compute] driver`` and ``[nova]``
as before (the *default* cloud, the one of pools without a ``cloud``).
Each name listed in ``[compute] clouds`` is a cloud of its own, in a group
``[cloud:NAME]`` registered when the clouds are loaded (as Cinder does for
its per-backend groups, since the names are known only once the files are
read). The group holds the cloud's compute driver, its keystoneauth1
session, credentials and endpoint options (``region_name`` among them),
the ``[nova]`` options (microversions, retries, timeouts), the
``[fake_compute]`` options for a fake cloud, its own boot budget and when
it counts as down.
"""

import copy

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from vdi_broker.conf import compute as compute_conf
from vdi_broker.conf import nova as nova_conf

GROUP_PREFIX = "cloud:"

# The name the default cloud answers to in reports (a pool with no cloud).
DEFAULT_CLOUD = "default"

cloud_opts = [
    cfg.StrOpt("driver", default="nova",
               help="The compute driver of this cloud ('nova' or 'fake')."),
    cfg.IntOpt("max_concurrent_builds", default=0, min=0,
               help="Boots in flight at most in this cloud, over every "
                    "conductor; 0: only the deployment's [conductor] "
                    "max_concurrent_builds applies."),
    cfg.IntOpt("down_after_failures", default=3, min=0,
               help="The cloud counts as down after this many calls in a "
                    "row failed because it did not answer (connection "
                    "refused or timed out, HTTP 5xx after the retries). "
                    "While it is down its pools stop refilling and say "
                    "why, its calls fail at once instead of waiting for "
                    "their timeouts, and other clouds are not held up. "
                    "0: never."),
    cfg.FloatOpt("down_retry_interval", default=30.0, min=0.1,
                 help="Seconds between two calls let through to a cloud "
                      "that is down, to find out whether it is back."),
]

# The default cloud keeps its behaviour unless asked: no circuit breaker.
default_health_opts = [
    cfg.IntOpt("down_after_failures", default=0, min=0,
               help="As [cloud:NAME] down_after_failures, for the default "
                    "cloud ([compute] driver and [nova]); 0 (the default) "
                    "keeps calling it whatever happens."),
    cfg.FloatOpt("down_retry_interval", default=30.0, min=0.1,
                 help="As [cloud:NAME] down_retry_interval, for the "
                      "default cloud."),
]


def group_name(name):
    return GROUP_PREFIX + name


def _sample_group():
    return cfg.OptGroup(
        group_name("NAME"), title="A named cloud",
        help="One group per name of [compute] clouds. Holds the cloud's "
             "driver, the keystoneauth1 options (auth_type, auth_url, "
             "username, password, project_name, ..., region_name, "
             "endpoint_override, timeout), the [nova] options and the "
             "[fake_compute] options for a fake cloud.")


def register_cloud(conf, name):
    """Register the ``[cloud:NAME]`` group of one cloud (idempotent)."""
    group = group_name(name)
    try:
        conf[group]
        return group
    except cfg.NoSuchOptError:
        pass
    conf.register_group(cfg.OptGroup(group, title="Cloud %s" % name))
    conf.register_opts(cloud_opts, group=group)
    conf.register_opts(nova_conf.nova_opts, group=group)
    conf.register_opts(compute_conf.fake_opts, group=group)
    # keystoneauth1's options with the broker's defaults in the options
    # themselves (not set_default: a ConfigOpts reset would lose them).
    session_opts = ks_loading.get_session_conf_options()
    cfg.set_defaults(session_opts, timeout=nova_conf.DEFAULT_TIMEOUT)
    adapter_opts = ks_loading.get_adapter_conf_options(
        include_deprecated=False)
    cfg.set_defaults(adapter_opts,
                     service_type=nova_conf.DEFAULT_SERVICE_TYPE,
                     valid_interfaces=nova_conf.DEFAULT_VALID_INTERFACES)
    conf.register_opts(session_opts + adapter_opts, group=group)
    ks_loading.register_auth_conf_options(conf, group)
    return group


def register_opts(conf):
    conf.register_opts(default_health_opts, group=compute_conf.compute_group)


def list_opts():
    opts = {}
    for opt in (cloud_opts + nova_conf.nova_opts + compute_conf.fake_opts
                + nova_conf._ks_opts()):
        if opt.required:
            # (A sample group: nothing in it is required of a file.)
            opt = copy.copy(opt)
            opt.required = False
        opts.setdefault(opt.dest, opt)
    return {compute_conf.compute_group: default_health_opts,
            _sample_group(): list(opts.values())}
