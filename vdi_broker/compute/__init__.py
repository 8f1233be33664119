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

from vdi_broker.compute import registry as cloud_registry
from vdi_broker import plugins

NAMESPACE = "vdi_broker.compute"


def get_driver(conf):
    """Return the default cloud's compute driver ([compute] driver)."""
    return plugins.load_driver(NAMESPACE, conf.compute.driver, conf)


def clouds(conf, default=None):
    """The clouds of the deployment: a :class:`clouds.CloudRegistry`.

    Maps a cloud name (None: the default cloud) to its driver, each
    behind its own health watch. ``default``: the default cloud's driver
    (already loaded; tests and the all-in-one mode give theirs).
    """
    return cloud_registry.CloudRegistry(conf, default=default)


def console_refusal(conf, console_type, cloud=None):
    """Why ``cloud``'s compute driver cannot open ``console_type``.

    None when it can. Asked of the driver's class: nothing is loaded or
    contacted. ``cloud``: a name of ``[compute] clouds`` (None: the
    default cloud).
    """
    driver, group = cloud_registry.driver_and_group(conf, cloud)
    cls = plugins.driver_class(NAMESPACE, driver)
    if group is None:
        return cls.console_refusal(conf, console_type)
    return cls.console_refusal(conf, console_type, group=group)
