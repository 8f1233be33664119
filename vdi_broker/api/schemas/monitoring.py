"""Request schemas of the business monitoring (departments, alerts)."""

from vdi_broker.api.schemas import common
from vdi_broker.monitoring import departments

_properties = {
    "name": common.name,
    "description": common.description,
    "priority": {"type": "integer", "minimum": 0, "maximum": 1000000},
    "rules": departments.SCHEMA,
}

department_create = {
    "type": "object",
    "properties": _properties,
    "required": ["name"],
    "additionalProperties": False,
}

department_update = {
    "type": "object",
    "properties": dict(_properties, revision=common.revision),
    "additionalProperties": False,
    "minProperties": 1,
}
