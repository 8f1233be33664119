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

"""All of the broker's configuration options.

Options are registered here, in one module per group, and nowhere else
(hacking check VB301). ``CONF`` is the global ConfigOpts: oslo.messaging
registers some of its options only there, so the broker uses it too.
"""

import importlib

from oslo_config import cfg

CONF = cfg.CONF

# Modules of option groups, in the order the sample config lists them.
# A module listed here but not installed yet is skipped, so that the
# groups of drivers under construction do not break the others.
_MODULES = (
    "api",
    "conductor",
    "pool_manager",
    "coordination",
    "database_network",
    "allocator",
    "identity",
    "ldap",
    "login_throttle",
    "compute",
    "nova",
    "clouds",
    "consoles",
    "rdp",
    "client_session",
    "portal",
    "notifications",
    "executor",
    "jobs",
    "agent",
    "monitoring",
    "alerts",
)


def option_modules():
    modules = []
    for name in _MODULES:
        try:
            modules.append(importlib.import_module("vdi_broker.conf." + name))
        except ModuleNotFoundError as e:
            if e.name != "vdi_broker.conf." + name:
                raise
    return modules


def register_opts(conf):
    for module in option_modules():
        module.register_opts(conf)


register_opts(CONF)
