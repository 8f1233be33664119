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

"""Prometheus instrumentation of the broker's request paths.

The few metrics every process records as it works, and the one call each
instrumented place makes:

* :func:`login_observed` (``api/handlers/client.py``): every thin-client
  login, its duration by result, allocator and pool;
* :func:`nova_request` (``compute/nova.py``, ``_call``): every Nova and
  Placement request (retries included), by operation and result;
* :func:`ldap_request` (``identity/ldap.py``, ``_run``): every directory
  operation (failover included), by operation and result; the same
  timings also add up, per thread, to what the current login spent in
  the directory (:func:`directory_time`), which the login's event keeps
  for the ``directory_slow`` alert (``vdi_broker/alerts.py``);
* :func:`notification` (``notifications.py``): notifications sent,
  failed or dropped;
* :func:`incident_fixed` (``conductor/agents.py``): the five-minute
  rule, each incident's time from the fault to a working desktop.

Recording costs a label lookup and an increment (a few microseconds);
nothing here reads the database. The gauges read from the database
(pools, thin clients, sessions, agents, alerts) are computed at scrape
time by :mod:`vdi_broker.metrics.collector`, and
:mod:`vdi_broker.metrics.exposition` serves everything.

Multiprocess mode (uWSGI or gunicorn with several workers): when the
environment variable ``PROMETHEUS_MULTIPROC_DIR`` names a directory
before the process starts, prometheus-client keeps these values in files
there, one set per worker, and a scrape of any worker adds them up. The
directory must be emptied when the server starts (see
:func:`clear_multiprocess_dir` and the monitoring guide).
"""

import contextlib
import functools
import os
import shutil
import threading
import time

import prometheus_client as prom
from prometheus_client import multiprocess

from vdi_broker import exception

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# A login is one directory bind and one transaction: milliseconds when
# all is well, seconds when something is wrong.
LOGIN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                 30.0)
# Calls to Nova, Placement and the directory.
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0, 60.0)

LOGIN_DURATION = prom.Histogram(
    "vdi_login_duration_seconds",
    "Thin-client logins (POST /v1/client/sessions): seconds from request "
    "to answer, by result, allocator and pool (_count: the logins).",
    ["result", "allocator", "pool"], buckets=LOGIN_BUCKETS)

NOVA_DURATION = prom.Histogram(
    "vdi_nova_request_duration_seconds",
    "Nova and Placement calls of the compute driver (retries included): "
    "seconds, by operation and result (_count: the calls).",
    ["operation", "result"], buckets=CALL_BUCKETS)

NOVA_RETRIES = prom.Counter(
    "vdi_nova_retries",
    "Nova and Placement requests sent again after a transient failure, "
    "by operation.", ["operation"])

LDAP_DURATION = prom.Histogram(
    "vdi_ldap_request_duration_seconds",
    "Directory operations of the LDAP identity driver (failover and "
    "reconnection included): seconds, by operation and result (_count: "
    "the operations).", ["operation", "result"], buckets=CALL_BUCKETS)

# The five-minute rule: seconds from a desktop's fault to a working
# desktop (the same one recovered, or another one the session moved to).
INCIDENT_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 180.0, 240.0, 300.0,
                    360.0, 480.0, 600.0, 900.0, 1800.0, 3600.0)

INCIDENT_FIX = prom.Histogram(
    "vdi_incident_fix_seconds",
    "Incidents (a desktop's agent fell silent, its display stopped, its "
    "thin client reported a fault): seconds from the fault to a working "
    "desktop, by kind and outcome (recovered: the desktop is healthy "
    "again; moved: the session moved to another desktop).",
    ["kind", "outcome"], buckets=INCIDENT_BUCKETS)

NOTIFICATIONS = prom.Counter(
    "vdi_notifications",
    "oslo.messaging notifications by result: sent, failed (the bus "
    "refused them) or dropped (the send queue was full).", ["result"])

# Results of a login (the "result" label). Bounded: an exception class
# the broker does not know is "error".
LOGIN_SUCCESS = "success"
_LOGIN_RESULTS = (
    # Most specific first.
    (exception.LoginThrottled, "throttled"),
    (exception.LoginFailed, "invalid_credentials"),
    (exception.NoAllocatorMatches, "no_allocator"),
    (exception.PoolExhausted, "pool_exhausted"),
    (exception.LoginNotConnected, "not_connected"),
    (exception.IdentityUnavailable, "directory_unavailable"),
    (exception.ServiceUnavailable, "unavailable"),
    (exception.Invalid, "invalid_request"),
    (exception.NotAuthenticated, "invalid_credentials"),
    (exception.Forbidden, "forbidden"),
    (exception.NotFound, "not_found"),
)


def login_result(error):
    """The ``result`` label of a login that raised ``error``."""
    for cls, name in _LOGIN_RESULTS:
        if isinstance(error, cls):
            return name
    return "error"


# The WSGI environ key where the login handler leaves the allocator and
# pool names of a successful login (login_observed reads them).
LOGIN_CHOSEN = "vdi_broker.metrics.login"


def login_chosen(req, allocator, pool):
    """Note the allocator and pool of the request's successful login."""
    req.environ[LOGIN_CHOSEN] = (allocator, pool)


def login_observed(handler):
    """Decorate the login handler: observe each login's duration."""
    @functools.wraps(handler)
    def login(req):
        started = time.perf_counter()
        try:
            response = handler(req)
        except Exception as e:
            pool = ""
            if isinstance(e, exception.VdiBrokerException):
                pool = e.kwargs.get("pool") or ""
            LOGIN_DURATION.labels(login_result(e), "", str(pool)).observe(
                time.perf_counter() - started)
            raise
        allocator, pool = req.environ.get(LOGIN_CHOSEN, ("", ""))
        LOGIN_DURATION.labels(LOGIN_SUCCESS, allocator, pool).observe(
            time.perf_counter() - started)
        return response
    return login


def nova_result(error):
    """The ``result`` label of a Nova call that raised ``error``."""
    if error is None:
        return "ok"
    if isinstance(error, exception.ServerNotFound):
        return "not_found"
    if isinstance(error, exception.ComputeTimeout):
        return "timeout"
    if isinstance(error, exception.ComputeUnavailable):
        return "unavailable"
    if isinstance(error, exception.Invalid):
        return "invalid"
    return "error"


def ldap_result(error):
    """The ``result`` label of a directory operation."""
    if error is None:
        return "ok"
    if isinstance(error, exception.IdentityUnavailable):
        return "unavailable"
    return "error"


@contextlib.contextmanager
def _timed(histogram, operation, classify, spent=None):
    started = time.perf_counter()
    try:
        yield
    except BaseException as e:
        elapsed = time.perf_counter() - started
        histogram.labels(operation, classify(e)).observe(elapsed)
        if spent is not None:
            spent(elapsed)
        raise
    elapsed = time.perf_counter() - started
    histogram.labels(operation, classify(None)).observe(elapsed)
    if spent is not None:
        spent(elapsed)


def nova_request(operation):
    """Time one compute driver call (a context manager)."""
    return _timed(NOVA_DURATION, operation, nova_result)


def nova_retry(operation):
    NOVA_RETRIES.labels(operation).inc()


# What this thread's directory operations took since directory_time()
# started counting (None: not counting).
_directory = threading.local()


def _directory_spent(elapsed):
    if getattr(_directory, "seconds", None) is not None:
        _directory.seconds += elapsed


def ldap_request(operation):
    """Time one directory operation (a context manager)."""
    return _timed(LDAP_DURATION, operation, ldap_result,
                  spent=_directory_spent)


class directory_time:
    """Count what this thread's directory operations take meanwhile.

    ``with metrics.directory_time() as spent: ...``; then
    ``spent.seconds`` is the sum of the vdi_ldap_request_duration_seconds
    observations made in the block by this thread, or None when it made
    none (an identity driver that is not LDAP).
    """

    def __init__(self):
        self.seconds = None

    def __enter__(self):
        self._outer = getattr(_directory, "seconds", None)
        _directory.seconds = 0.0
        return self

    def __exit__(self, *exc):
        seconds = _directory.seconds
        _directory.seconds = self._outer
        if self._outer is not None:
            _directory.seconds += seconds
        if seconds:
            self.seconds = seconds
        return False


def notification(result):
    NOTIFICATIONS.labels(result).inc()


def incident_fixed(kind, outcome, seconds):
    """An incident ended with a working desktop after ``seconds``."""
    INCIDENT_FIX.labels(kind, outcome).observe(seconds)


# -- multiprocess mode -------------------------------------------------------

def multiprocess_dir():
    """The multiprocess directory, or None (one process: no files)."""
    return os.environ.get(MULTIPROC_ENV) or None


def clear_multiprocess_dir(path=None):
    """Empty the multiprocess directory (at server start, before workers).

    Files left by an earlier run would be added to the new one's figures.
    Creates the directory when it is missing. Returns the path, or None
    when multiprocess mode is off.
    """
    path = path or multiprocess_dir()
    if not path:
        return None
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        target = os.path.join(path, name)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        else:
            os.unlink(target)
    return path


def mark_process_dead(pid):
    """A worker exited (gunicorn's child_exit hook).

    The broker keeps no per-process gauges, so the dead worker's counters
    stay in the sums (as they must); prometheus-client removes what a
    dead process must no longer report.
    """
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)
