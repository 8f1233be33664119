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

"""Serving ``GET /metrics``: who may scrape, and what they get.

:func:`check_access` applies ``[api] metrics_allowed_networks`` (the
caller's address) and ``[api] metrics_bearer_token`` (``Authorization:
Bearer``); the API's handler and the conductor's exporter both call it.

:func:`render` builds the answer's registry for each scrape: in
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) a
:class:`~prometheus_client.multiprocess.MultiProcessCollector` that adds
up every worker's files, otherwise this process's registry; plus the
collectors given (the API's database gauges), which thus run in the
process that answers and nowhere else.

:class:`Exporter`: the conductor's own ``/metrics`` on ``[conductor]
metrics_bind_host:metrics_bind_port``, a small threaded HTTP server.
"""

import hmac
import ipaddress
import socketserver
import threading
from wsgiref import simple_server

from oslo_log import log as logging
from oslo_serialization import jsonutils
import prometheus_client as prom
from prometheus_client import exposition
from prometheus_client import multiprocess

from vdi_broker import exception
from vdi_broker import metrics

LOG = logging.getLogger(__name__)

PATH = "/metrics"


def _networks(conf):
    networks = []
    for value in conf.api.metrics_allowed_networks:
        try:
            networks.append(ipaddress.ip_network(value.strip(),
                                                 strict=False))
        except ValueError:
            LOG.error("[api] metrics_allowed_networks: %r is no network; "
                      "ignored", value)
    return networks


def _address(remote_addr):
    """The caller's IP address from REMOTE_ADDR, or None.

    Behind a proxy parsed by oslo.middleware it may be an
    X-Forwarded-For list: the first entry is the client.
    """
    value = (remote_addr or "").split(",")[0].strip()
    if value.startswith("[") and "]" in value:
        value = value[1:value.index("]")]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        pass
    host, _sep, port = value.rpartition(":")
    if port.isdigit():
        try:
            return ipaddress.ip_address(host)
        except ValueError:
            return None
    return None


def check_access(conf, remote_addr, authorization):
    """Raise unless the caller may read the metrics.

    ``authorization``: the Authorization header (or None).
    """
    allowed = conf.api.metrics_allowed_networks
    if allowed:
        address = _address(remote_addr)
        if address is None or not any(
                address.version == net.version and address in net
                for net in _networks(conf)):
            raise exception.MetricsForbidden()
    token = conf.api.metrics_bearer_token
    if token:
        scheme, _sep, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode("utf-8"), token.encode("utf-8")):
            raise exception.MetricsUnauthorized()


class _ProcessMetrics:
    """This process's own metrics (one process: no multiprocess files)."""

    @staticmethod
    def collect():
        return prom.REGISTRY.collect()


def registry(collectors=()):
    """The registry of one scrape's answer."""
    result = prom.CollectorRegistry()
    if metrics.multiprocess_dir():
        multiprocess.MultiProcessCollector(result)
    else:
        result.register(_ProcessMetrics())
    for collector in collectors:
        result.register(collector)
    return result


def render(collectors=(), accept=None):
    """(body bytes, content type) of one scrape.

    The Prometheus text format, or OpenMetrics when ``accept`` asks for
    it (as Prometheus does).
    """
    encoder, content_type = exposition.choose_encoder(accept or "")
    return encoder(registry(collectors)), content_type


# -- the conductor's exporter ------------------------------------------------

def _error(start_response, error):
    body = jsonutils.dump_as_bytes({"error": {
        "code": error.code, "title": error.title,
        "message": error.message}})
    headers = [("Content-Type", "application/json"),
               ("Content-Length", str(len(body)))]
    headers.extend(error.headers.items())
    start_response("%d %s" % (error.code, error.title), headers)
    return [body]


class MetricsApp:
    """A WSGI application serving ``GET /metrics`` only."""

    def __init__(self, conf, collectors=()):
        self.conf = conf
        self.collectors = tuple(collectors)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH:
            return _error(start_response,
                          exception.RouteNotFound(path=environ.get(
                              "PATH_INFO", "")[:200]))
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _error(start_response, exception.MethodNotAllowed(
                method=environ.get("REQUEST_METHOD"), path=PATH,
                allow="GET"))
        try:
            check_access(self.conf, environ.get("REMOTE_ADDR"),
                         environ.get("HTTP_AUTHORIZATION"))
        except exception.VdiBrokerException as e:
            return _error(start_response, e)
        body, content_type = render(self.collectors,
                                    environ.get("HTTP_ACCEPT"))
        start_response("200 OK", [("Content-Type", content_type),
                                  ("Content-Length", str(len(body)))])
        return [body] if environ["REQUEST_METHOD"] == "GET" else [b""]


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        # No reverse DNS lookup of the address (HTTPServer.server_bind).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, fmt, *args):
        LOG.debug("metrics: %s %s", self.address_string(), fmt % args)


class Exporter:
    """``/metrics`` of a process without an API (the conductor)."""

    def __init__(self, conf, host, port, collectors=()):
        self.server = simple_server.make_server(
            host, port, MetricsApp(conf, collectors), server_class=_Server,
            handler_class=_QuietHandler)
        self.port = self.server.server_address[1]
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.5},
                                       name="vdi-broker-metrics",
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(5)
