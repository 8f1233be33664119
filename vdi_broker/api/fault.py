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

"""Turn every error into a JSON error document.

Broker exceptions carry their HTTP status and a message written for the
client; webob HTTP errors keep theirs; anything else is logged with its
traceback and becomes a bare 500 — the client never sees a stack trace.
"""

from oslo_db import exception as db_exc
from oslo_log import log as logging
import webob.dec
import webob.exc

from vdi_broker.api import util
from vdi_broker import exception

LOG = logging.getLogger(__name__)


def error_response(req, status, title, message, details=None, headers=None):
    body = {"error": {"code": status, "title": title, "message": message,
                      "request_id": req.environ.get(
                          "openstack.request_id")}}
    if details:
        body["error"]["details"] = details
    return util.json_response(body, status=status, headers=headers)


# Headers of an error page that the JSON error keeps.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def _from_error_page(req, response):
    """A JSON error for an error page a middleware rendered itself.

    webob.dec.wsgify renders the HTTPException of a middleware (the body
    size limit's 413, for example) as a text or HTML page before this
    wrapper could catch it: replace the page by the JSON document, with
    webob's standard explanation of the status.
    """
    status = response.status_int
    error_class = webob.exc.status_map.get(status)
    title = response.status.split(" ", 1)[1] if " " in response.status \
        else str(status)
    message = (getattr(error_class, "explanation", None) or title)
    headers = {name: response.headers[name] for name in _KEPT_HEADERS
               if name in response.headers}
    return error_response(req, status, title, message, headers=headers)


class FaultWrapper:
    """WSGI middleware: exceptions to JSON errors."""

    def __init__(self, application):
        self.application = application

    @webob.dec.wsgify
    def __call__(self, req):
        try:
            response = req.get_response(self.application)
            if response.status_int >= 400 and \
                    response.content_type != "application/json":
                return _from_error_page(req, response)
            return response
        except exception.VdiBrokerException as e:
            if e.code >= 500:
                LOG.warning("%s %s: %s %s", req.method, req.path, e.message,
                            e.kwargs.get("reason", ""))
            return error_response(req, e.code, e.title, e.message,
                                  e.details(), e.headers)
        except db_exc.DBConnectionError:
            # The database restarting or unreachable: a 503 the thin
            # client retries, not a 500.
            LOG.warning("%s %s: the database is not reachable", req.method,
                        req.path)
            e = exception.DatabaseUnavailable()
            return error_response(req, e.code, e.title, e.message,
                                  e.details(), e.headers)
        except webob.exc.HTTPException as e:
            headers = {}
            if e.headers.get("Allow"):
                headers["Allow"] = e.headers["Allow"]
            return error_response(req, e.code, e.title,
                                  e.explanation or e.title,
                                  headers=headers)
        except Exception:
            LOG.exception("Unexpected error in %s %s", req.method, req.path)
            return error_response(req, 500, "Internal Server Error",
                                  "The server could not handle the request; "
                                  "see the logs under the request id.")
