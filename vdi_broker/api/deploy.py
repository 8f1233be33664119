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

"""Assemble the API's middleware stack in code (no paste)."""

from oslo_middleware import base as middleware_base
from oslo_middleware import cors
from oslo_middleware import healthcheck
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id
from oslo_middleware import sizelimit
import webob.dec

from vdi_broker.api import auth
from vdi_broker.api import beats
from vdi_broker.api import fault
from vdi_broker.api import handler
from vdi_broker.api.handlers import metrics as metrics_handler
from vdi_broker.api import lean
from vdi_broker.api import microversion
from vdi_broker.api import util
from vdi_broker import conductor
from vdi_broker import identity
from vdi_broker.identity import throttle
from vdi_broker.login import service as login_service
from vdi_broker.metrics import collector as metrics_collector


class BrokerApp:
    """What the handlers share: configuration and drivers."""

    def __init__(self, conf, conductor_api=None, identity_driver=None,
                 login_throttle=None, compute_driver=None):
        self.conf = conf
        self.conductor = conductor_api or conductor.get_api(conf)
        self.identity = identity_driver or identity.get_driver(conf)
        self.login_throttle = (login_throttle or
                               throttle.LoginThrottle(conf))
        # Logins run here, in one transaction (vdi_broker/login), not in
        # the conductor. ``compute_driver``: the cloud's driver for
        # consoles that ask it (loaded on first use when None).
        self.login = self._login_service(compute_driver)
        # GET /metrics: the database's gauges, cached a few seconds.
        self.metrics_collector = metrics_collector.DatabaseCollector(conf)
        # The heartbeats' and agent reports' lean path: credentials
        # remembered, writes buffered (vdi_broker/api/lean.py).
        self.beats = beats.Beats(conf)

    def _login_service(self, compute_driver):
        manager = getattr(self.conductor, "manager", None)
        if manager is not None:
            # The all-in-one mode: the in-process conductor's drivers.
            return login_service.LoginService(
                self.conf, self.login_throttle,
                compute=lambda: manager.compute,
                clouds=lambda: manager.clouds,
                quarantine=manager.desktop_actions.quarantine_many,
                notifier=manager.notifier)
        return login_service.LoginService(
            self.conf, self.login_throttle,
            compute=((lambda: compute_driver) if compute_driver is not None
                     else None))


class _Dispatch:
    """Public paths go straight to the router; the rest through auth."""

    def __init__(self, broker_app, router, authenticated):
        self.broker_app = broker_app
        self.router = router
        self.authenticated = authenticated

    def __call__(self, environ, start_response):
        environ[util.APP_KEY] = self.broker_app
        path = environ.get("PATH_INFO") or "/"
        if handler.is_public(path):
            if path.startswith("/v1/client/") and \
                    not self.broker_app.conf.api.client_api_enabled:
                environ["PATH_INFO"] = "/disabled"
            return self.router(environ, start_response)
        return self.authenticated(environ, start_response)


HEALTHCHECK_PATH = "/healthcheck"


class _HealthcheckPath:
    """``/healthcheck`` to oslo.middleware's health check, without auth.

    For load balancers and monitoring: ``GET`` answers 200 (``HEAD``
    204), or 503 when a configured backend says so (``[healthcheck]
    backends = disable_by_file`` takes an API out of a load balancer
    before maintenance). A request the ``[healthcheck]`` options ignore
    (a source outside ``allowed_source_ranges``) goes on to the API,
    which has no such path: a 404.
    """

    def __init__(self, application, conf):
        self.application = application
        self.healthcheck = healthcheck.Healthcheck(application, conf)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == HEALTHCHECK_PATH:
            return self.healthcheck(environ, start_response)
        return self.application(environ, start_response)


class _MetricsPath:
    """``/metrics`` to the Prometheus handler, without Keystone.

    Like ``/healthcheck`` an operations endpoint, not part of the REST
    API (nor of its OpenAPI document): its own network and bearer-token
    checks ([api] metrics_*), errors as JSON documents.
    """

    def __init__(self, application, broker_app):
        self.application = application
        self.broker_app = broker_app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == metrics_handler.PATH:
            environ[util.APP_KEY] = self.broker_app
            return metrics_handler.application(environ, start_response)
        return self.application(environ, start_response)


class _KnownSignature:
    """oslo.middleware's ConfigurableMiddleware.__call__, minus inspect.

    The original asks ``inspect.getfullargspec`` at every request whether
    ``process_response`` takes the request (3% of a login's CPU in the
    API for the two middlewares below); theirs do.
    """

    @webob.dec.wsgify(RequestClass=middleware_base.NoContentTypeRequest)
    def __call__(self, req):
        response = self.process_request(req)
        if response:
            return response
        response = req.get_response(self.application)
        return self.process_response(response, request=req)


class _CORS(_KnownSignature, cors.CORS):
    """CORS; a request without an Origin header goes straight through.

    Such a request (a thin client's, any non-browser client's) gets no
    CORS header from oslo.middleware (unless OPTIONS: a preflight), so
    the webob request and response objects it would build cost CPU for
    nothing.
    """

    def __call__(self, environ, start_response):
        if "HTTP_ORIGIN" not in environ and \
                environ.get("REQUEST_METHOD") != "OPTIONS":
            return self.application(environ, start_response)
        return super().__call__(environ, start_response)


class _HTTPProxyToWSGI(_KnownSignature, http_proxy_to_wsgi.HTTPProxyToWSGI):
    """Proxy headers; when their parsing is off, straight through.

    (oslo.middleware's process_request then does nothing, and there is
    no process_response.)
    """

    def __call__(self, environ, start_response):
        if not self._conf_get("enable_proxy_headers_parsing"):
            return self.application(environ, start_response)
        return super().__call__(environ, start_response)


def build_app(conf, broker_app=None):
    broker_app = broker_app or BrokerApp(conf)
    router = handler.Router()
    app = _Dispatch(broker_app, router, auth.wrap(router, conf))
    app = _MetricsPath(app, broker_app)
    app = sizelimit.RequestBodySizeLimiter(app, conf)
    app = _HTTPProxyToWSGI(app, conf)
    app = _CORS(app, conf)
    app = fault.FaultWrapper(app)
    # Outside FaultWrapper, so that error responses announce it too.
    app = microversion.Microversion(app)
    # Outside the API's error and version handling: the health check's
    # own plain answers, for load balancers.
    app = _HealthcheckPath(app, conf)
    app = request_id.RequestId(app)
    # Outside everything: the ordinary heartbeat and agent report need
    # none of it (their lean path; the rest goes through the stack).
    app = lean.LeanPaths(app, broker_app, conf)
    return app
