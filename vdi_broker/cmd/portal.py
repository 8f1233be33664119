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

"""vdi-broker-portal: the portal's development / all-in-one server.

Serves ``vdi_broker.portal`` from the same threaded HTTP server as
``vdi-broker-api``. Production runs
``vdi_broker.wsgi.portal:application`` under uWSGI.
"""

import signal
import socketserver
import sys
from wsgiref import simple_server

from oslo_log import log as logging

from vdi_broker.portal import app as portal_app
from vdi_broker.portal import wsgi

LOG = logging.getLogger(__name__)


# As vdi_broker.cmd.api's (which imports the API and the database, which
# the portal must not).
class _Handler(simple_server.WSGIRequestHandler):
    def log_message(self, fmt, *args):
        LOG.debug("%s %s", self.address_string(), fmt % args)


class ThreadedServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def make_server(conf, app=None):
    app = app or portal_app.build_app(conf)
    return simple_server.make_server(
        conf.portal.bind_host, conf.portal.bind_port, app,
        server_class=ThreadedServer, handler_class=_Handler)


def main(argv=None):
    conf = wsgi.parse_config(sys.argv[1:] if argv is None else argv)
    server = make_server(conf)
    url = "http://%s:%d" % (conf.portal.bind_host, server.server_port)
    LOG.info("vdi-broker-portal serving on %s (API %s)", url,
             conf.portal.endpoint_override or "from the service catalog")
    print("vdi-broker-portal serving on %s" % url, flush=True)

    def _stop(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
