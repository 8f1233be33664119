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

from vdi_broker.allocators import rules
from vdi_broker.api.schemas import common

_properties = {
    "name": common.name,
    "description": common.description,
    "priority": {"type": "integer", "minimum": 0, "maximum": 1000000},
    "plugin": common.name,
    "pool": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
    "rules": rules.SCHEMA,
    "options": {"type": "object"},
    "is_default": {"type": "boolean"},
    "enabled": {"type": "boolean"},
}

create = {
    "type": "object",
    "properties": _properties,
    "required": ["name", "plugin"],
    "additionalProperties": False,
}

update = {
    "type": "object",
    "properties": dict(_properties, revision={"type": "integer"}),
    "additionalProperties": False,
    "minProperties": 1,
}

explain = {
    "type": "object",
    "properties": {
        "username": {"type": "string", "minLength": 1, "maxLength": 256,
                     "pattern": common.NAME_PATTERN},
        "client_id": common.name,
        "seat": common.name,
    },
    "required": ["username"],
    "additionalProperties": False,
}

reorder = {
    "type": "object",
    "properties": {
        # Every allocator (id or name) exactly once, first = priority 10.
        "allocators": {"type": "array", "items": common.name,
                       "minItems": 1, "maxItems": 10000},
    },
    "required": ["allocators"],
    "additionalProperties": False,
}
