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
