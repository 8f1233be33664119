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

import stevedore

from vdi_broker import compute
from vdi_broker import exception
from vdi_broker import plugins

NAMESPACE = "vdi_broker.consoles"


def get_driver(name, conf, compute):
    """Return the console driver for a pool's ``console_type``."""
    return plugins.load_driver(NAMESPACE, name, conf, compute)


def driver_names():
    return sorted(stevedore.ExtensionManager(NAMESPACE).names())


def check_supported(name, conf, cloud=None):
    """Refuse a console type the configured compute driver cannot serve.

    ``name`` is a console driver (a pool's ``console_type``); raises
    InvalidPlugin for an unknown one, ConsoleTypeUnsupported (409) when
    the driver needs a console of the compute driver that the compute
    driver does not open with this configuration. ``cloud``: the pool's
    cloud (None: the default cloud).
    """
    needed = plugins.driver_class(NAMESPACE, name).compute_console
    if needed is None:
        return
    refusal = compute.console_refusal(conf, needed, cloud=cloud)
    if refusal:
        driver, _ = compute.cloud_registry.driver_and_group(conf, cloud)
        if cloud is not None:
            driver = "%s (cloud %s)" % (driver, cloud)
        raise exception.ConsoleTypeUnsupported(
            console_type=name, driver=driver, reason=refusal)


def has_browser_console(name):
    """Whether console type ``name`` opens in a web browser (a URL).

    False for an unknown name.
    """
    try:
        return bool(plugins.driver_class(NAMESPACE, name).browser)
    except exception.VdiBrokerException:
        return False
