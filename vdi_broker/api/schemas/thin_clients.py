from vdi_broker.api.schemas import common

# Set by heartbeats; an operator may set it too (e.g. "faulty").
STATUSES = ("unknown", "online", "offline", "faulty")

_properties = {
    "client_id": common.name,
    # A seat's name or id, or null for none.
    "seat": common.optional_name,
    "site": common.optional_name,
    "model": common.optional_name,
    "tags": common.tags,
    "status": {"enum": list(STATUSES)},
    "description": common.description,
}

create = {
    "type": "object",
    "properties": _properties,
    "required": ["client_id"],
    "additionalProperties": False,
}

update = {
    "type": "object",
    "properties": dict(_properties, revision=common.revision),
    "additionalProperties": False,
    "minProperties": 1,
}
