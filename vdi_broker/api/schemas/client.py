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

from vdi_broker.api.schemas import common

login = {
    "type": "object",
    "properties": {
        "username": {"type": "string", "minLength": 1, "maxLength": 256,
                     "pattern": common.NAME_PATTERN},
        # An empty password would be an anonymous bind on many
        # directories: refuse it here already.
        "password": {"type": "string", "minLength": 1, "maxLength": 1024},
        "client_id": common.name,
        "seat": common.name,
    },
    "required": ["username", "password", "client_id"],
    "additionalProperties": False,
}

heartbeat = {
    "type": "object",
    "properties": {
        "client_id": common.name,
        # The session the client is showing, if any: with its
        # X-Session-Token, it names the user at the client.
        "session_id": common.name,
        # Keyboard and mouse events counted since the last heartbeat.
        "input_events": {"type": "integer", "minimum": 0,
                         "maximum": 2147483647},
        # The thin client's own health.
        "health": {
            "type": "object",
            "properties": {
                "display": {"type": "string", "maxLength": 64,
                            "pattern": common.NAME_PATTERN},
                "network": {"type": "string", "maxLength": 64,
                            "pattern": common.NAME_PATTERN},
                "last_connection_error": {
                    "type": ["string", "null"], "maxLength": 255,
                    "pattern": common.NAME_PATTERN},
                "connection_failures": {"type": "integer", "minimum": 0,
                                        "maximum": 1000000},
            },
            "additionalProperties": False,
        },
    },
    "required": ["client_id"],
    "additionalProperties": False,
}

# From version 1.1: the seat the thin client is configured for (its
# name), recorded on the thin client as its seat.
heartbeat_v1_1 = dict(heartbeat, properties=dict(
    heartbeat["properties"], seat=common.name))

# From version 1.2: whether the thin client's viewer shows the session
# the heartbeat names, and for how many seconds it has been so.
viewer = {
    "type": "object",
    "properties": {
        "connected": {"type": "boolean"},
        "seconds": {"type": "integer", "minimum": 0, "maximum": 31536000},
    },
    "required": ["connected"],
    "additionalProperties": False,
}
heartbeat_v1_2 = dict(heartbeat_v1_1, properties=dict(
    heartbeat_v1_1["properties"], viewer=viewer))

fault = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "minLength": 1, "maxLength": 1000,
                   "pattern": common.NAME_PATTERN},
    },
    "additionalProperties": False,
}
