# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""GET /metrics: the Prometheus text format (see the monitoring guide).

Served without a Keystone token, to the networks of ``[api]
metrics_allowed_networks`` and, when ``[api] metrics_bearer_token`` is
set, with that bearer token only; ``[api] metrics_enabled = false``
makes it a 404. Not a route of the REST API: ``api/deploy.py`` sends
the path here before the router, like ``/healthcheck``.
"""

import webob
import webob.dec

from vdi_broker.api import util
from vdi_broker import exception
from vdi_broker.metrics import exposition

PATH = exposition.PATH


@webob.dec.wsgify
def application(req):
    app = util.app(req)
    if not app.conf.api.metrics_enabled:
        raise exception.RouteNotFound(path=req.path_info)
    if req.method not in ("GET", "HEAD"):
        raise exception.MethodNotAllowed(method=req.method, path=PATH,
                                         allow="GET")
    exposition.check_access(app.conf, req.remote_addr,
                            req.headers.get("Authorization"))
    body, content_type = exposition.render(
        (app.metrics_collector,), req.headers.get("Accept"))
    response = webob.Response(status=200)
    # prometheus-client's content type names its own charset.
    response.headers["Content-Type"] = content_type
    response.headers["Cache-Control"] = "no-store"
    response.body = body
    return response
