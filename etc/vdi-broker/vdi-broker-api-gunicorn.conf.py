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

# gunicorn configuration of the vdi-broker API.
#
#   gunicorn -c /etc/vdi-broker/vdi-broker-api-gunicorn.conf.py \
#       vdi_broker.wsgi.api:application
#
# The application reads /etc/vdi-broker/vdi-broker.conf (or the directory
# in OS_VDI_BROKER_CONFIG_DIR). Threads, not green threads: the broker
# runs without eventlet.
import os

bind = "127.0.0.1:8783"
workers = 2
worker_class = "gthread"
threads = 8
timeout = 60

# Prometheus (GET /metrics) with several workers: each worker keeps its
# counters in files of this directory and a scrape of any worker adds them
# up. Set before any worker imports the broker (an environment variable
# of the service wins); emptied when gunicorn starts.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                      "/var/lib/vdi-broker/prometheus")


def on_starting(server):
    # Files of an earlier run would be counted again.
    from vdi_broker import metrics
    metrics.clear_multiprocess_dir()


def child_exit(server, worker):
    from vdi_broker import metrics
    metrics.mark_process_dead(worker.pid)
