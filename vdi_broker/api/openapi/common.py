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

"""The OpenAPI document's building blocks, shared by every resource.

Scalar and object schemas, the error responses, the list and path
parameters, the security requirements and :func:`operation`, which
every resource module builds its operations with.
"""

from vdi_broker.api import util

# -- schema building blocks ---------------------------------------------------


def ref(name):
    """A reference to the component schema name."""
    return {"$ref": "#/components/schemas/%s" % name}


def nullable(schema):
    return {"anyOf": [schema, {"type": "null"}]}


STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}
NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
OBJECT = {"type": "object"}
STRINGS = {"type": "array", "items": STRING}
NULLABLE_INTEGER = {"type": ["integer", "null"]}


def obj(properties, required=None):
    """An object schema: every property required, or those of required."""
    return {"type": "object", "properties": properties,
            "required": sorted(required or properties)}


LINKS = {"type": "array", "items": obj(
    {"rel": STRING, "href": STRING, "type": STRING},
    required=["rel", "href"])}

ERROR = obj({
    "error": obj({
        "code": {"type": "integer", "minimum": 400, "maximum": 599},
        "title": STRING,
        "message": STRING,
        "request_id": NULLABLE_STRING,
        "details": OBJECT,
    }, required=["code", "title", "message", "request_id"]),
})

VERSION = obj({
    "id": STRING, "status": STRING, "min_version": STRING,
    "max_version": STRING, "links": LINKS})

VERSIONS = obj({"versions": {"type": "array", "items": ref("Version")}})

# -- responses ----------------------------------------------------------------

ERRORS = {
    "400": "The request is malformed or invalid (body, query or "
           "If-Match).",
    "401": "No valid token (X-Auth-Token for the admin API, "
           "X-Session-Token or the credentials for the client API).",
    "403": "The policy does not allow the caller this operation.",
    "404": "No such resource.",
    "405": "The path does not serve this method (the Allow header lists "
           "the ones it serves).",
    "409": "The request conflicts with the current state (a duplicate "
           "name, a stale revision, a resource in use, a desktop whose "
           "state does not allow the action), or the desktop's console is "
           "not available.",
    "413": "The request body is larger than [oslo_middleware] "
           "max_request_body_size (an agent's: [agent] max_body).",
    "429": "Too many failed logins, or an agent's reports too frequent: "
           "try again after Retry-After seconds.",
    "503": "A service the broker needs is unavailable, or the pool has no "
           "desktop ready: try again after Retry-After seconds.",
}


def _error_response(status):
    result = {"description": ERRORS[status],
              "content": {"application/json": {"schema": ref("Error")}}}
    headers = {"405": "Allow", "429": "Retry-After",
               "503": "Retry-After"}.get(status)
    if headers:
        result["headers"] = {headers: {"schema": STRING}}
    return result


def response(description, schema, headers=()):
    """A JSON response with schema (and these string headers)."""
    result = {"description": description,
              "content": {"application/json": {"schema": schema}}}
    if headers:
        result["headers"] = {h: {"schema": STRING} for h in headers}
    return result


def wrapped(key, name):
    """{key: one name}, as the show, create and update views are."""
    return obj({key: ref(name)})


def listed(key, name):
    """{key: [name, ...], links}, as a page of a list is."""
    return obj({key: {"type": "array", "items": ref(name)},
                "links": LINKS})


NO_CONTENT = {"description": "Done; no content."}

# -- parameters -----------------------------------------------------------


def path_param(name):
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "string", "minLength": 1}}


def list_params(module, default_sort):
    """A list's paging, sorting and filtering query parameters.

    The sort keys and filters are the handler module's SORT_KEYS and
    FILTERS.
    """
    params = [
        {"name": "limit", "in": "query",
         "description": "Page size; at most [api] max_limit.",
         "schema": {"type": "integer", "minimum": 1}},
        {"name": "marker", "in": "query",
         "description": "The id of the last item of the previous page.",
         "schema": STRING},
        {"name": "sort_key", "in": "query",
         "schema": {"enum": list(module.SORT_KEYS),
                    "default": default_sort}},
        {"name": "sort_dir", "in": "query",
         "schema": {"enum": ["asc", "desc"], "default": "asc"}},
    ]
    for name in module.FILTERS:
        schema = (BOOLEAN if name in util.BOOLEAN_FILTERS else STRING)
        params.append({"name": name, "in": "query",
                       "description": "Only items whose %s equals this."
                                      % name,
                       "schema": schema})
    return params


def _body(name):
    return {"required": True,
            "content": {"application/json": {"schema": ref(name)}}}


IF_MATCH = {"name": "If-Match", "in": "header",
            "description": "The ETag (revision) the update expects, as "
                           "\"3\"; a stale one is a 409.",
            "schema": {"type": "string", "pattern": "^\"?[0-9]+\"?$"}}


def query(name, description, schema=STRING):
    return {"name": name, "in": "query", "description": description,
            "schema": schema}


# -- security requirements and operations ------------------------------------

PUBLIC = []
ADMIN = [{"keystone": []}]
CLIENT_SESSION_TOKEN = [{"session_token": []}]
AGENT_SECRET = [{"agent_secret": []}]
# No token, or the session token of the session_id in the body.
OPTIONAL_SESSION_TOKEN = [{}, {"session_token": []}]


def operation(summary, responses, errors, tag, security=ADMIN, params=(),
              body=None):
    """One operation.

    responses maps a status to its response; errors lists the statuses
    that get the error response; body names the request's schema.
    """
    op = {"summary": summary, "tags": [tag], "security": security,
          "responses": dict(responses)}
    for status in errors:
        op["responses"][status] = _error_response(status)
    if params:
        op["parameters"] = list(params)
    if body:
        op["requestBody"] = _body(body)
    return op


# Errors of every admin operation (Keystone, policy); bodies add 400 and
# 413.
ADMIN_ERRORS = ("401", "403")
READ = ADMIN_ERRORS + ("404",)
WRITE = ADMIN_ERRORS + ("400", "413")
LIST = ADMIN_ERRORS + ("400", "404")
