from vdi_broker.api.schemas import common
from vdi_broker.db.sqlalchemy import models

create = {
    "type": "object",
    "properties": {
        "kind": {"enum": list(models.BINDING_KINDS)},
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
