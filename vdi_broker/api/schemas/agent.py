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

"""Bodies of the guest agents' requests (/v1/agent/*)."""

from vdi_broker.api.schemas import common
from vdi_broker import states

_desktop_id = {"type": "string", "minLength": 1, "maxLength": 36,
               "pattern": "^[0-9a-fA-F-]+$"}


def _nullable(schema):
    return {"anyOf": [schema, {"type": "null"}]}


_short = {"type": "string", "maxLength": 64, "pattern": common.NAME_PATTERN}
_percent = _nullable({"type": "number", "minimum": 0, "maximum": 100})

register = {
    "type": "object",
    "properties": {
        "desktop_id": _desktop_id,
        "version": _short,
        "os": _short,
        "hostname": {"type": "string", "maxLength": 255,
                     "pattern": common.NAME_PATTERN},
    },
    "required": ["desktop_id"],
    "additionalProperties": False,
}

report = {
    "type": "object",
    "properties": {
        "desktop_id": _desktop_id,
        # The remote display: its connection, and whether its service
        # runs at all.
        "connection_state": _nullable(
            {"enum": list(states.CONNECTION_STATES)}),
        "display": _nullable({"enum": list(states.DISPLAY_STATES)}),
        # The user logged on at the desktop's console session, if any.
        "username": _nullable({"type": "string", "maxLength": 255,
                               "pattern": common.NAME_PATTERN}),
        "idle_seconds": _nullable({"type": "integer", "minimum": 0,
                                   "maximum": 31536000}),
        "cpu_percent": _percent,
        "memory_percent": _percent,
        "disk_free_mb": _nullable({"type": "integer", "minimum": 0,
                                   "maximum": 2 ** 31 - 1}),
    },
    "required": ["desktop_id"],
    "additionalProperties": False,
}
