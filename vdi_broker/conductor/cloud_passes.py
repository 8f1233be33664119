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

"""The conductor's work, cloud by cloud (several clouds, issue 19).

A pass of the pool manager or of the reconciler does its clouds side by
side, one thread per cloud, so that a cloud whose calls time out holds
up its own pools only. A pool whose cloud is down (compute/registry.py)
boots nothing and says why in its status (``cloud_down``); the first
pass after the cloud answers again sets it back to active.
"""

import concurrent.futures

from oslo_log import log as logging

from vdi_broker.compute import registry as cloud_registry

LOG = logging.getLogger(__name__)

CLOUD_DOWN = "cloud_down"


def by_cloud(conf, pools):
    """{cloud name (None: default): [pools]}, in the pools' order."""
    groups = {}
    for pool in pools:
        groups.setdefault(cloud_registry.cloud_of(conf, pool),
                          []).append(pool)
    return groups


def run_by_cloud(conf, pools, func):
    """``{pool id: func(pool)}``, each cloud's pools in a thread.

    One cloud (the usual deployment): in the calling thread, in order.
    An error of ``func`` is raised once every cloud is done.
    """
    groups = by_cloud(conf, pools)
    results = {}
    if len(groups) <= 1:
        for pool in pools:
            results[pool["id"]] = func(pool)
        return results

    def run(group):
        return [(pool["id"], func(pool)) for pool in group]

    with concurrent.futures.ThreadPoolExecutor(
            len(groups), thread_name_prefix="cloud-pass") as executor:
        futures = [executor.submit(run, group) for group in groups.values()]
    error = None
    for future in futures:
        try:
            results.update(future.result())
        except Exception as e:
            error = error or e
    if error is not None:
        raise error
    return results


def cloud_down(manager, ctxt, pool):
    """Whether the pool's cloud is down (or unknown): set its status.

    Sets ``cloud_down`` with the reason while the cloud does not answer,
    and ``active`` again once it does.
    """
    cloud = cloud_registry.cloud_of(manager.conf, pool)
    clouds = manager.clouds
    if not clouds.known(cloud):
        reason = ("cloud %s is not configured ([compute] clouds)" % cloud)
    else:
        health = clouds.health(cloud)
        if health.down:
            # Is it back? One cheap question (the pool's flavor), in a
            # thread of its own: this pass does not wait for the answer.
            clouds.get(cloud).probe("get_flavor", pool["flavor"])
        reason = health.reason()
    if reason is None:
        if pool["status"] == CLOUD_DOWN:
            LOG.info("Pool %s: cloud %s answers again; refilling",
                     pool["name"], cloud or "default")
            manager._set_pool_status(ctxt, pool, "active", None)
        return False
    if pool["status"] != CLOUD_DOWN:
        # (Set once per outage: the reason is that of its start.)
        LOG.warning("Pool %s stops refilling: %s", pool["name"], reason)
        manager._set_pool_status(ctxt, pool, CLOUD_DOWN, reason)
    return True
