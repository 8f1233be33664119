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

"""Request schemas of the desktop actions (Nova style: one key)."""

from vdi_broker.api.schemas import common
from vdi_broker import states

_reason = {"type": "string", "minLength": 1, "maxLength": 1000,
           "pattern": common.NAME_PATTERN}

_ACTIONS = {
    "reboot": {
        "type": "object",
        "properties": {"hard": {"type": "boolean"}},
        "additionalProperties": False,
    },
    "rebuild": {"type": "object", "additionalProperties": False},
    "replace": {"type": "object", "additionalProperties": False},
    "move": {
        "type": "object",
        "properties": {"user": {"type": "string", "minLength": 1,
                                "maxLength": 255,
                                "pattern": common.NAME_PATTERN}},
        "required": ["user"],
        "additionalProperties": False,
    },
    "quarantine": {
        "type": "object",
        "properties": {"reason": _reason},
        "additionalProperties": False,
    },
    "unquarantine": {
        "type": "object",
        "properties": {
            "action": {"enum": list(states.UNQUARANTINE_ACTIONS)}},
        "additionalProperties": False,
    },
}

action = {
    "type": "object",
    "properties": _ACTIONS,
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
}
