from vdi_broker.api.schemas import common

_properties = {
    "name": common.name,
    "site": common.optional_name,
    "location": common.optional_name,
    "department": common.optional_name,
    "tags": common.tags,
    "description": common.description,
}

create = {
    "type": "object",
    "properties": _properties,
    "required": ["name"],
    "additionalProperties": False,
}

update = {
    "type": "object",
    "properties": dict(_properties, revision=common.revision),
    "additionalProperties": False,
    "minProperties": 1,
}
