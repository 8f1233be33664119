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

"""The kinds of guest jobs: their parameters and executor operation.

Each kind has a jsonschema of its parameters and names the parameters
that are secrets: those are taken out of the stored parameters,
encrypted apart (:mod:`vdi_broker.jobs.secrets`), never returned by the
API (shown as ``"***"``) and never logged.
"""

import jsonschema

_text = {"type": "string", "minLength": 1, "maxLength": 255}
_path = {"type": "string", "minLength": 1, "maxLength": 1024}

# kind -> (parameters schema, secret parameter names)
KINDS = {
    "command": ({
        "type": "object",
        "properties": {"command": {"type": "string", "minLength": 1,
                                   "maxLength": 8192}},
        "required": ["command"], "additionalProperties": False}, ()),
    "state": ({
        "type": "object",
        "properties": {
            "state": {"type": "string",
                      "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,254}$"},
            "pillar": {"type": "object"}},
        "required": ["state"], "additionalProperties": False}, ()),
    "software_install": ({
        "type": "object",
        "properties": {"package": _text, "version": _text},
        "required": ["package"], "additionalProperties": False}, ()),
    "file_push": ({
        "type": "object",
        "properties": {
            "path": _path,
            "contents": {"type": "string", "maxLength": 1048576},
            "mode": {"type": "string", "pattern": "^0?[0-7]{3}$"}},
        "required": ["path", "contents"],
        "additionalProperties": False}, ()),
    "password": ({
        "type": "object",
        "properties": {
            "username": _text,
            "password": {"type": "string", "minLength": 8,
                         "maxLength": 256}},
        "required": ["username", "password"],
        "additionalProperties": False}, ("password",)),
    "data_recovery": ({
        "type": "object",
        "properties": {
            "paths": {"type": "array", "items": _path, "minItems": 1,
                      "maxItems": 100},
            "destination": _path},
        "required": ["paths", "destination"],
        "additionalProperties": False}, ()),
    "message": ({
        "type": "object",
        "properties": {
            "message": {"type": "string", "minLength": 1,
                        "maxLength": 1024},
            "seconds": {"type": "integer", "minimum": 1,
                        "maximum": 86400}},
        "required": ["message"], "additionalProperties": False}, ()),
}

_VALIDATORS = {kind: jsonschema.Draft7Validator(schema)
               for kind, (schema, _secret) in KINDS.items()}

HIDDEN = "***"


def errors(kind, parameters):
    """The parameters' errors as text, or None. Secrets never echoed."""
    found = sorted(_VALIDATORS[kind].iter_errors(parameters),
                   key=lambda e: list(e.absolute_path))
    if not found:
        return None
    secret = secret_names(kind)
    texts = []
    for error in found:
        where = "/".join(str(p) for p in error.absolute_path) or "parameters"
        if where in secret or error.validator in ("minLength",
                                                  "maxLength"):
            # The message would quote the value.
            texts.append("%s: %s" % (where, error.validator))
        else:
            texts.append("%s: %s" % (where, error.message))
    return "; ".join(texts)


def secret_names(kind):
    return KINDS[kind][1]


def split(kind, parameters):
    """(parameters without secrets, {secret name: value})."""
    secret = secret_names(kind)
    return ({k: v for k, v in parameters.items() if k not in secret},
            {k: v for k, v in parameters.items() if k in secret})


def public(kind, parameters):
    """Stored parameters with every secret shown as ``"***"``."""
    shown = dict(parameters)
    for name in secret_names(kind):
        shown[name] = HIDDEN
    return shown


def run(executor, kind, parameters, targets, timeout):
    """Run one kind of job on ``targets`` with the executor."""
    p = parameters
    if kind == "command":
        return executor.run_command(targets, p["command"], timeout)
    if kind == "state":
        return executor.apply_state(targets, p["state"], p.get("pillar"),
                                    timeout)
    if kind == "software_install":
        return executor.install_software(targets, p["package"],
                                         p.get("version"), timeout)
    if kind == "file_push":
        return executor.push_file(targets, p["path"], p["contents"],
                                  p.get("mode"), timeout)
    if kind == "password":
        return executor.set_password(targets, p["username"], p["password"],
                                     timeout)
    if kind == "data_recovery":
        return executor.recover_data(targets, p["paths"],
                                     p["destination"], timeout)
    if kind == "message":
        return executor.send_message(targets, p["message"],
                                     p.get("seconds", 300), timeout)
    raise ValueError("unknown job kind %s" % kind)
