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

"""oslo.messaging plumbing: transport, serializer, clients and servers.

No executor is passed anywhere: oslo.messaging then uses threads.
"""

import threading

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_messaging.rpc import dispatcher
from oslo_serialization import jsonutils

from vdi_broker import context as vdi_context
from vdi_broker import exception

LOG = logging.getLogger(__name__)
ALLOWED_EXMODS = [exception.__name__]

TRANSPORT = None


class JsonPayloadSerializer(messaging.NoOpSerializer):
    @staticmethod
    def serialize_entity(context, entity):
        return jsonutils.to_primitive(entity, convert_instances=True)


class RequestContextSerializer(messaging.Serializer):
    """Carries the request context (user, roles, request id) over RPC."""

    def __init__(self, base=None):
        self._base = base or JsonPayloadSerializer()

    def serialize_entity(self, context, entity):
        return self._base.serialize_entity(context, entity)

    def deserialize_entity(self, context, entity):
        return self._base.deserialize_entity(context, entity)

    def serialize_context(self, context):
        return context.to_dict()

    def deserialize_context(self, context):
        return vdi_context.RequestContext.from_dict(context)


def init(conf):
    global TRANSPORT
    if TRANSPORT is None:
        TRANSPORT = messaging.get_rpc_transport(
            conf, allowed_remote_exmods=ALLOWED_EXMODS)
    return TRANSPORT


def cleanup(timeout=10):
    """Close the transport; give up after ``timeout`` seconds.

    oslo.messaging's cleanup waits for a connection attempt under way,
    which lasts forever while the bus is unreachable: a stop must not.
    """
    global TRANSPORT
    transport, TRANSPORT = TRANSPORT, None
    if transport is not None:
        closer = threading.Thread(target=transport.cleanup,
                                  name="vdi-broker-rpc-cleanup", daemon=True)
        closer.start()
        closer.join(timeout)
        if closer.is_alive():
            LOG.warning("The message bus transport did not close within "
                        "%d s; leaving it", timeout)


def get_client(conf, target, version_cap=None, timeout=None):
    return messaging.get_rpc_client(
        init(conf), target, version_cap=version_cap, timeout=timeout,
        serializer=RequestContextSerializer())


def get_server(conf, target, endpoints):
    return messaging.get_rpc_server(
        init(conf), target, endpoints,
        serializer=RequestContextSerializer(),
        access_policy=dispatcher.DefaultRPCAccessPolicy)
