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

"""The conductor, reached over RPC or, in the all-in-one mode, directly."""

import threading

import oslo_messaging as messaging
from oslo_serialization import jsonutils

from vdi_broker.conductor import rpcapi

_LOCAL = None
_LOCK = threading.Lock()


class LocalAPI(rpcapi.ConductorMethods):
    """Calls an in-process ConductorManager with the RPC API's methods.

    Arguments and results go through the same JSON conversion as over the
    bus, so the all-in-one mode behaves like a deployment.
    """

    def __init__(self, manager):
        self.manager = manager

    def _call(self, ctxt, method, version="1.0", **kwargs):
        kwargs = jsonutils.loads(jsonutils.dumps(kwargs))
        try:
            result = getattr(self.manager, method)(ctxt, **kwargs)
        except messaging.ExpectedException as e:
            # expected_exceptions wraps them for the RPC dispatcher; a
            # direct caller wants the original.
            raise e.exc_info[1]
        return jsonutils.to_primitive(result, convert_instances=True)

    def _cast(self, ctxt, method, version="1.0", **kwargs):
        # In-process: run at once (the all-in-one mode's logout starts the
        # release before it answers, as a deployment's conductor does on
        # the cast); the method logs its own failures.
        self._call(ctxt, method, version, **kwargs)


def local_manager(conf):
    """The process's in-process conductor (all-in-one mode)."""
    global _LOCAL
    with _LOCK:
        if _LOCAL is None:
            # Imported here: an API that calls conductors over RPC never
            # loads the manager (nor the compute and console drivers).
            from vdi_broker.conductor import manager as conductor_manager
            _LOCAL = conductor_manager.ConductorManager(conf)
        return _LOCAL


def get_api(conf):
    if conf.conductor.use_local:
        return LocalAPI(local_manager(conf))
    return rpcapi.ConductorAPI(conf)
