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
from vdi_broker.jobs import kinds

_names = {"type": "array", "items": common.name, "maxItems": 1000,
          "uniqueItems": True}

create = {
    "type": "object",
    "properties": {
        "name": common.name,
        "kind": {"enum": sorted(kinds.KINDS)},
        # Checked per kind by vdi_broker.jobs.kinds (secrets never echoed).
        "parameters": {},
        "targets": {
            "type": "object",
            "properties": {"pools": _names, "sites": _names,
                           "departments": _names, "desktops": _names},
            "additionalProperties": False, "minProperties": 1},
        # ISO 8601; absent: now.
        "run_at": {"type": "string", "minLength": 10, "maxLength": 64},
        "in_use": {"enum": ["skip", "run", "wait"]},
        "max_retries": {"type": "integer", "minimum": 0, "maximum": 10},
        "retry_delay": {"type": "integer", "minimum": 0, "maximum": 86400},
        "concurrency": {"type": "integer", "minimum": 1, "maximum": 10000},
        "timeout": {"type": "integer", "minimum": 1, "maximum": 86400},
    },
    "required": ["kind", "parameters", "targets"],
    "additionalProperties": False,
}
