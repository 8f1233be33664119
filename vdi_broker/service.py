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

"""The conductor service: an RPC server plus the periodic pool manager."""

import socket

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_service import service

from vdi_broker.conductor import coordination
from vdi_broker.conductor import manager as conductor_manager
from vdi_broker.metrics import exposition
from vdi_broker import rpc

LOG = logging.getLogger(__name__)


class ConductorService(service.Service):

    def __init__(self, conf, manager=None, host=None):
        super().__init__()
        self.conf = conf
        self.host = host or socket.gethostname()
        self.manager = manager or conductor_manager.ConductorManager(conf)
        self.manager.host = self.host
        self.rpcserver = None
        self.periodic = None
        self.ownership = None
        self.exporter = None

    def start(self):
        super().start()
        if self.manager.ownership is None and \
                self.conf.coordination.backend_url:
            # Several conductors: each pool's upkeep runs on one of them.
            self.ownership = coordination.PoolOwnership(self.conf)
            self.ownership.start()
            self.manager.ownership = self.ownership
        target = messaging.Target(topic=self.conf.conductor.topic,
                                  server=self.host)
        self.rpcserver = rpc.get_server(self.conf, target, [self.manager])
        self.rpcserver.start()
        self.periodic = conductor_manager.PeriodicRunner(self.manager)
        self.periodic.start()
        if self.conf.conductor.metrics_bind_port:
            # Its Nova calls and notifications, for Prometheus.
            self.exporter = exposition.Exporter(
                self.conf, self.conf.conductor.metrics_bind_host,
                self.conf.conductor.metrics_bind_port).start()
            LOG.info("Conductor metrics on http://%s:%d/metrics",
                     self.conf.conductor.metrics_bind_host,
                     self.exporter.port)
        LOG.info("Conductor %s listening on topic %s", self.host,
                 self.conf.conductor.topic)

    def stop(self, graceful=True):
        if self.exporter is not None:
            self.exporter.stop()
            self.exporter = None
        if self.periodic is not None:
            self.periodic.stop()
        if "job_runner" in vars(self.manager):
            # Calls in flight are not waited for: their claims lapse and
            # another conductor runs those desktops again.
            self.manager.job_runner.stop(wait=False)
        if self.rpcserver is not None:
            self.rpcserver.stop()
            self.rpcserver.wait()
        if self.ownership is not None:
            self.ownership.stop()
            self.manager.ownership = None
            self.ownership = None
        # What is queued goes out before the process ends.
        self.manager.notifier.stop()
        super().stop(graceful)
