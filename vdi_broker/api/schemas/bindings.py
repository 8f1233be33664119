from vdi_broker.api.schemas import common
from vdi_broker import states

create = {
    "type": "object",
    "properties": {
        "kind": {"enum": list(states.BINDING_KINDS)},
        "key": common.name,
        "desktop_id": common.name,
    },
    "required": ["kind", "key", "desktop_id"],
    "additionalProperties": False,
}

update = {
    "type": "object",
    "properties": {
        "desktop_id": common.name,
        "revision": common.revision,
    },
    "required": ["desktop_id"],
    "additionalProperties": False,
}
