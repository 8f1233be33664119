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
