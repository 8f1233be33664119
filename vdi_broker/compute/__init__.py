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

from vdi_broker import plugins

NAMESPACE = "vdi_broker.compute"


def get_driver(conf):
    """Return the configured compute driver."""
    return plugins.load_driver(NAMESPACE, conf.compute.driver, conf)


def console_refusal(conf, console_type):
    """Why the configured compute driver cannot open ``console_type``.

    None when it can. Asked of the driver's class: nothing is loaded or
    contacted.
    """
    cls = plugins.driver_class(NAMESPACE, conf.compute.driver)
    return cls.console_refusal(conf, console_type)
