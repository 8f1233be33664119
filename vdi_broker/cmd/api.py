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

"""vdi-broker-api: the all-in-one / development server.

Serves the WSGI application from a threaded HTTP server and, with
``[conductor] use_local = true``, runs the conductor's pool manager in the
same process. Production runs ``vdi_broker.wsgi.api:application`` under
uWSGI and ``vdi-broker-conductor`` separately.
"""

import signal
import socketserver
import sys
from wsgiref import simple_server

from oslo_log import log as logging

from vdi_broker.cmd import init_backend  # noqa: F401  (threading first)
from vdi_broker.api import deploy
from vdi_broker import conductor
from vdi_broker import policy
from vdi_broker import wsgi

LOG = logging.getLogger(__name__)


class _Handler(simple_server.WSGIRequestHandler):
    def log_message(self, fmt, *args):
        LOG.debug("%s %s", self.address_string(), fmt % args)


class ThreadedServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def make_server(conf, app=None):
    app = app or deploy.build_app(conf)
    server = simple_server.make_server(
        conf.api.bind_host, conf.api.bind_port, app,
        server_class=ThreadedServer, handler_class=_Handler)
    return server


def main(argv=None):
    conf = wsgi.parse_config(sys.argv[1:] if argv is None else argv)
    policy.init(conf)
    server = make_server(conf)
    runner = None
    if conf.conductor.use_local:
        # Imported here: over RPC, the API never loads the conductor.
        from vdi_broker.conductor import manager
        runner = manager.PeriodicRunner(conductor.local_manager(conf))
        runner.start()
    LOG.info("vdi-broker-api serving on http://%s:%d (conductor %s)",
             conf.api.bind_host, server.server_port,
             "in-process" if conf.conductor.use_local else "over RPC")
    print("vdi-broker-api serving on http://%s:%d" % (
        conf.api.bind_host, server.server_port), flush=True)

    def _stop(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if runner is not None:
            runner.stop()
    return 0
