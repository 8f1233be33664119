"""Bodies of the guest agents' requests (/v1/agent/*)."""

from vdi_broker.api.schemas import common
from vdi_broker import states

_desktop_id = {"type": "string", "minLength": 1, "maxLength": 36,
               "pattern": "^[0-9a-fA-F-]+$"}


def _nullable(schema):
    return {"anyOf": [schema, {"type": "null"}]}


_short = {"type": "string", "maxLength": 64, "pattern": common.NAME_PATTERN}
_percent = _nullable({"type": "number", "minimum": 0, "maximum": 100})

register = {
    "type": "object",
    "properties": {
        "desktop_id": _desktop_id,
        "version": _short,
        "os": _short,
        "hostname": {"type": "string", "maxLength": 255,
                     "pattern": common.NAME_PATTERN},
    },
    "required": ["desktop_id"],
    "additionalProperties": False,
}

report = {
    "type": "object",
    "properties": {
        "desktop_id": _desktop_id,
        # The remote display: its connection, and whether its service
        # runs at all.
        "connection_state": _nullable(
            {"enum": list(states.CONNECTION_STATES)}),
        "display": _nullable({"enum": list(states.DISPLAY_STATES)}),
        # The user logged on at the desktop's console session, if any.
        "username": _nullable({"type": "string", "maxLength": 255,
                               "pattern": common.NAME_PATTERN}),
        "idle_seconds": _nullable({"type": "integer", "minimum": 0,
                                   "maximum": 31536000}),
        "cpu_percent": _percent,
        "memory_percent": _percent,
        "disk_free_mb": _nullable({"type": "integer", "minimum": 0,
                                   "maximum": 2 ** 31 - 1}),
    },
    "required": ["desktop_id"],
    "additionalProperties": False,
}
