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
from vdi_broker.conf import pool_manager as pool_manager_conf
from vdi_broker import states

_properties = {
    "name": common.name,
    "description": common.description,
    "site": common.optional_name,
    "cloud": common.optional_name,
    "flavor": common.name,
    "image": common.name,
    "networks": {"type": "array", "items": common.name, "maxItems": 16},
    "availability_zone": common.optional_name,
    "metadata": {"type": "object", "maxProperties": 32,
                 "additionalProperties": {"type": "string",
                                          "maxLength": 255}},
    "min_ready": {"type": "integer", "minimum": 0, "maximum": 100000},
    "max_size": {"type": "integer", "minimum": 0, "maximum": 100000},
    "max_concurrent_builds": {"type": "integer", "minimum": 1,
                              "maximum": 1000},
    "release_action": {"enum": list(states.RELEASE_ACTIONS)},
    "console_type": common.name,
    "enabled": {"type": "boolean"},
    # null: [pool_manager] readiness_probe.
    "readiness_probe": {"enum": list(pool_manager_conf.PROBES) + [None]},
    # Session state from the guest agents (0: off).
    "disconnect_timeout": {"type": "integer", "minimum": 0,
                           "maximum": 604800},
    "idle_timeout": {"type": "integer", "minimum": 0, "maximum": 604800},
    "expiry_when_connected": {"type": "boolean"},
    # null: [agent] fix_time.
    "fix_time": {"type": ["integer", "null"], "minimum": 0,
                 "maximum": 86400},
}

create = {
    "type": "object",
    "properties": _properties,
    "required": ["name", "flavor", "image"],
    "additionalProperties": False,
}

update = {
    "type": "object",
    "properties": dict(_properties, revision={"type": "integer"}),
    "additionalProperties": False,
    "minProperties": 1,
}
