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

"""Request schemas of image roll-outs and maintenance windows."""

from vdi_broker.api.schemas import common
from vdi_broker import states

create = {
    "type": "object",
    "properties": {
        # The new image (a Glance id or name, as a pool's image).
        "image": common.name,
        # Share of the pool's desktops rebuilt first (0: no canary).
        "canary_share": {"type": "number", "minimum": 0, "maximum": 1},
        # At most this many desktops rebuild at once (max unavailable).
        "wave_size": {"type": "integer", "minimum": 1, "maximum": 10000},
        # Failed rebuilds (or new desktops' failed boots in a row) that
        # pause the roll-out.
        "max_failures": {"type": "integer", "minimum": 1,
                         "maximum": 10000},
        # A maintenance window (id or name): rebuild only while it is open.
        "window": common.name,
    },
    "required": ["image"],
    "additionalProperties": False,
}

action = {
    "type": "object",
    "properties": {
        "action": {"enum": list(states.ROLLOUT_ACTIONS)},
        "reason": {"type": "string", "minLength": 1, "maxLength": 255,
                   "pattern": common.NAME_PATTERN},
    },
    "required": ["action"],
    "additionalProperties": False,
}

_timezone = {"type": "string", "minLength": 1, "maxLength": 64,
             "pattern": r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$"}
_time = {"type": "string", "minLength": 10, "maxLength": 64}

window_create = {
    "type": "object",
    "properties": {
        "name": common.name,
        "description": common.description,
        # One of: a pool (id or name), or a site (every pool there).
        "pool_id": common.name,
        "site": common.name,
        # Recurring: five cron fields, local to timezone, and a duration.
        "cron": {"type": "string", "minLength": 9, "maxLength": 255,
                 "pattern": r"^[0-9A-Za-z*,/\- ]+$"},
        "timezone": _timezone,
        "duration_minutes": {"type": "integer", "minimum": 1,
                             "maximum": 7 * 24 * 60},
        # One-off: ISO 8601 times.
        "starts_at": _time,
        "ends_at": _time,
        "drain": {"type": "boolean"},
        "enabled": {"type": "boolean"},
    },
    "required": ["name"],
    "additionalProperties": False,
}
