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

"""Helpers shared by the API handlers."""

import urllib.parse

import jsonschema
from oslo_serialization import jsonutils
from oslo_utils import strutils
import webob

from vdi_broker import exception

CONTEXT_KEY = "vdi_broker.context"
APP_KEY = "vdi_broker.app"


def context(req):
    return req.environ[CONTEXT_KEY]


def app(req):
    """The application's shared objects (conf, conductor, identity)."""
    return req.environ[APP_KEY]


def json_response(data, status=200, headers=None):
    response = webob.Response(status=status,
                              content_type="application/json",
                              charset="UTF-8")
    response.body = jsonutils.dump_as_bytes(data)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def empty_response(status=204):
    response = webob.Response(status=status)
    response.content_type = None
    return response


def read_json(req, schema):
    """The request's JSON body, validated against ``schema``."""
    if not req.body:
        raise exception.Invalid(reason="a JSON request body is required")
    content_type = (req.content_type or "").split(";")[0].strip()
    if content_type not in ("application/json", ""):
        raise exception.Invalid(
            reason="expected Content-Type application/json, got %s" %
            content_type)
    try:
        text = req.body.decode("utf-8")
        data = jsonutils.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise exception.Invalid(reason="malformed JSON: %s" % e)
    if "\\u" in text:
        _refuse_lone_surrogates(data)
    validate(data, schema)
    return data


def _refuse_lone_surrogates(data):
    """400 for a string holding half of a surrogate pair.

    JSON's "\\udc80" escape is valid JSON but no character: such a string
    cannot be encoded as UTF-8, so the directory, the database driver or
    a log line would fail on it later, as a 500.
    """
    try:
        jsonutils.dump_as_bytes(data, ensure_ascii=False)
    except UnicodeEncodeError:
        raise exception.Invalid(reason="the JSON body holds a lone "
                                "surrogate escape (no Unicode character)")


# Validators of the request schemas, built (and the schemas themselves
# checked) once: jsonschema.validate() checks the schema against its
# meta-schema on every call, which costs tens of milliseconds a request.
_VALIDATORS = {}


def _validator(schema):
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        cached = _VALIDATORS[id(schema)] = (schema, cls(schema))
    return cached[1]


def validate(data, schema):
    error = jsonschema.exceptions.best_match(
        _validator(schema).iter_errors(data))
    if error is not None:
        path = "/".join(str(p) for p in error.absolute_path)
        where = ("'%s': " % path) if path else ""
        message = error.message[:300]
        explained = schema_message(schema, error)
        if explained:
            message = "%s (%s)" % (explained, message)
        raise exception.Invalid(reason=where + message)


def schema_message(schema, error):
    """The ``x-message`` of the deepest subschema the error is under.

    A schema may say in words what a field must be (``"x-message": "must
    be true, false or a list of site names"``) where jsonschema's own
    message would name a keyword; the error's message follows it.
    """
    found = schema.get("x-message") if isinstance(schema, dict) else None
    node = schema
    for step in error.absolute_schema_path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and node.get("x-message"):
            found = node["x-message"]
    return found


def pagination(req, sort_keys, default_sort):
    """limit, marker, sort_key and sort_dir from the query string."""
    max_limit = app(req).conf.api.max_limit
    params = req.GET
    try:
        limit = int(params.get("limit", max_limit))
    except ValueError:
        raise exception.Invalid(reason="limit must be an integer")
    if limit < 1:
        raise exception.Invalid(reason="limit must be positive")
    sort_key = params.get("sort_key", default_sort)
    if sort_key not in sort_keys:
        raise exception.Invalid(reason="sort_key must be one of %s" %
                                ", ".join(sort_keys))
    sort_dir = params.get("sort_dir", "asc")
    if sort_dir not in ("asc", "desc"):
        raise exception.Invalid(reason="sort_dir must be asc or desc")
    check_text("marker", params.get("marker"))
    return {"limit": min(limit, max_limit), "marker": params.get("marker"),
            "sort_key": sort_key, "sort_dir": sort_dir}


# Filters on boolean columns: the query string's text must become a bool,
# or the database compares the column with the string and finds nothing.
BOOLEAN_FILTERS = ("enabled", "is_default")


def check_text(name, value):
    # PostgreSQL can neither compare nor store a NUL, and no id or name
    # holds one: a 400, not a database error.
    if value is not None and "\x00" in value:
        raise exception.Invalid(reason="%s contains a NUL character" % name)


def filters(req, allowed):
    """Equality filters from the query string, only for ``allowed`` keys."""
    result = {k: v for k, v in req.GET.items() if k in allowed}
    for key, value in result.items():
        check_text(key, value)
    for key in BOOLEAN_FILTERS:
        if key in result:
            try:
                result[key] = strutils.bool_from_string(result[key],
                                                        strict=True)
            except ValueError:
                raise exception.Invalid(reason="%s must be true or false" %
                                        key)
    return result


def iso(value):
    return value.isoformat() + "Z" if value else None


def links(req, collection, items, limit):
    """A 'next' link when the page is full."""
    if not items or len(items) < limit:
        return []
    params = {k: v for k, v in req.GET.items() if k != "marker"}
    params["marker"] = items[-1]["id"]
    query = urllib.parse.urlencode(params)
    return [{"rel": "next",
             "href": "%s/v1/%s?%s" % (
                 req.application_url, collection, query)}]


def etag(item):
    return '"%d"' % item["revision"]


def expected_revision(req, body):
    """The revision an update expects: If-Match, else the body's."""
    if_match = req.headers.get("If-Match")
    if if_match:
        try:
            return int(if_match.strip().strip('"'))
        except ValueError:
            raise exception.Invalid(reason="If-Match must be a revision "
                                           "ETag such as \"3\"")
    return body.get("revision")


def created(req, collection, key, item, view):
    """The 201 answer of a create: the item, Location and ETag."""
    return json_response(
        {key: view}, status=201,
        headers={"Location": "%s/v1/%s/%s" % (req.application_url,
                                              collection, item["id"]),
                 "ETag": etag(item)})
