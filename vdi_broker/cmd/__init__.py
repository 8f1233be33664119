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

"""Command-line entry points.

The threading backend of oslo.service is selected before anything else
imports it: the broker runs without eventlet. Importing oslo.messaging
first would select oslo.service's default backend (eventlet): that is an
import-order bug, and raises here instead of running on eventlet.
"""

from oslo_service import backend

_initialized = False


def init_backend():
    global _initialized
    if not _initialized:
        try:
            backend.init_backend(backend.BackendType.THREADING)
        except backend.exceptions.BackendAlreadySelected:
            raise RuntimeError(
                "oslo.service's %s backend was selected before "
                "vdi_broker.cmd: import vdi_broker.cmd before anything "
                "that imports oslo.messaging or oslo.service"
                % backend.get_backend_type().value)
        _initialized = True


init_backend()
