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

"""Guest executors: what runs jobs inside the desktops (R14).

Drivers are stevedore plugins of the ``vdi_broker.executors`` namespace
(``salt``, ``fake``), chosen by ``[executor] driver``; they subclass
:class:`vdi_broker.executors.base.Executor`.
"""

from vdi_broker import plugins

NAMESPACE = "vdi_broker.executors"


def get_driver(conf):
    """Return the configured guest executor."""
    return plugins.load_driver(NAMESPACE, conf.executor.driver, conf)
