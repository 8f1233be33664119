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

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

_time = {"type": "string", "pattern": TIME_PATTERN}

_properties = {
    "name": common.name,
    "description": common.description,
    # A pool's id or name.
    "pool_id": common.name,
    "days": {"type": "array", "items": {"enum": list(DAYS)},
             "minItems": 1, "maxItems": 7, "uniqueItems": True},
    "start_time": _time,
    "end_time": _time,
    # An IANA time zone name; checked against the zone database.
    "timezone": {"type": "string", "minLength": 1, "maxLength": 64,
                 "pattern": r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$"},
    "min_ready": {"type": "integer", "minimum": 0, "maximum": 100000},
    "prewarm_minutes": {"type": "integer", "minimum": 0, "maximum": 720},
    "enabled": {"type": "boolean"},
}

create = {
    "type": "object",
    "properties": _properties,
    "required": ["name", "pool_id", "days", "start_time", "end_time",
                 "min_ready"],
    "additionalProperties": False,
}

update = {
    "type": "object",
    "properties": dict(_properties, revision=common.revision),
    "additionalProperties": False,
    "minProperties": 1,
}
