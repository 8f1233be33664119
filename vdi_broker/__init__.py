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

"""vdi-broker: an OpenStack-native VDI connection broker."""

from oslo_service import backend as _backend


def _threading_backend():
    return _backend.BackendType.THREADING


# Importing oslo.messaging loads oslo.service's service module, which picks
# oslo.service's default backend (eventlet) unless one was chosen. The
# broker runs the threading backend only, so it is the default for every
# process that imports vdi_broker (a test's subprocess, a WSGI server,
# oslo-config-generator); the commands select it explicitly
# (vdi_broker.cmd). No patching: a process that chose a backend keeps it.
_backend.register_backend_default_hook(_threading_backend)
