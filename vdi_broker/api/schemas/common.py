"""Building blocks of the request schemas."""

# Printable text without control characters.
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"

name = {"type": "string", "minLength": 1, "maxLength": 255,
        "pattern": NAME_PATTERN}
# Free text, new lines allowed; no NUL, which PostgreSQL cannot store.
description = {"type": ["string", "null"], "maxLength": 1024,
               "pattern": r"^[^\x00]*$"}
optional_name = {"type": ["string", "null"], "minLength": 1,
                 "maxLength": 255, "pattern": NAME_PATTERN}
uuid_or_name = name
tags = {"type": "array", "items": name, "maxItems": 32, "uniqueItems": True}
revision = {"type": "integer", "minimum": 1}
