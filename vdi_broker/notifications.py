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

"""oslo.messaging notifications of sessions, desktops, pools and alerts.

Off by default (``[notifications] driver = noop``). When on, every
notification goes to ``[notifications] topics`` with a versioned payload
of the same shape as Nova's versioned notifications, without
oslo.versionedobjects: a plain dict

    {"vdi_broker_object.name": "SessionPayload",
     "vdi_broker_object.namespace": "vdi_broker",
     "vdi_broker_object.version": "1.0",
     "vdi_broker_object.data": {...every field of the payload...}}

whose fields are declared in :data:`PAYLOADS` (every field is always
present, None when unknown). A new field raises the minor version; a
field removed, renamed or changed in meaning raises the major version.
The schemas are documented in the monitoring guide.

Emission never costs the request that causes it more than a boolean
check (disabled) or a queue put (enabled): a background thread sends,
with ``[notifications] retry`` reconnection attempts, so a slow or absent
message bus delays no login; when ``[notifications] queue_size``
notifications wait already, new ones are dropped and counted
(``vdi_notifications_total{result="dropped"}``).

Event types and priorities:

=========================  ========  ===================
event_type                 priority  payload
=========================  ========  ===================
session.login              INFO      SessionPayload
session.logout             INFO      SessionPayload
session.expire             INFO      SessionPayload
session.close              INFO      SessionPayload (closed by an operator
                                     or for another reason)
desktop.ready              INFO      DesktopPayload
desktop.assigned           INFO      DesktopPayload
desktop.quarantined        WARN      DesktopPayload
desktop.error              WARN      DesktopPayload
desktop.deleted            INFO      DesktopPayload
pool.status                INFO/WARN PoolStatusPayload (WARN when not
                                     active)
alert.firing               WARN      AlertPayload
alert.resolved             INFO      AlertPayload
alert.acknowledged         INFO      AlertPayload
job.start                  INFO      JobPayload
job.finish                 INFO/WARN JobPayload (WARN when a target
                                     failed)
=========================  ========  ===================
"""

import datetime
import queue
import socket
import threading

from oslo_log import log as logging
import oslo_messaging as messaging

from vdi_broker import metrics
from vdi_broker import rpc

LOG = logging.getLogger(__name__)

NAMESPACE = "vdi_broker"

# name -> (version, fields)
PAYLOADS = {
    "SessionPayload": ("1.0", (
        "id", "username", "client_id", "seat", "state", "desktop_id",
        "desktop_name", "pool_id", "pool_name", "allocator",
        "created_at", "expires_at", "closed_at", "close_reason")),
    "DesktopPayload": ("1.0", (
        "id", "name", "pool_id", "state", "reason", "server_id", "host",
        "address", "assigned_user")),
    "PoolStatusPayload": ("1.0", (
        "id", "name", "site", "status", "previous_status", "reason")),
    "AlertPayload": ("1.0", (
        "id", "kind", "state", "severity", "department", "site", "pool",
        "started_at", "ended_at", "acknowledged_by", "values",
        "message")),
    "JobPayload": ("1.0", (
        "id", "name", "kind", "state", "status_reason", "run_at",
        "started_at", "finished_at", "results")),
}

DESKTOP_STATES = ("ready", "assigned", "quarantined", "error", "deleted")
SESSION_EVENTS = {"logout": "session.logout", "expired": "session.expire"}
ALERT_STATES = ("firing", "resolved", "acknowledged")

INFO = "info"
WARN = "warn"


def _primitive(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(
                tzinfo=None)
        return value.isoformat() + "Z"
    if isinstance(value, (tuple, set, frozenset)):
        return [_primitive(v) for v in value]
    if isinstance(value, list):
        return [_primitive(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _primitive(v) for k, v in value.items()}
    return value


def payload(name, values):
    """The versioned payload ``name`` with ``values`` (extra keys left)."""
    version, fields = PAYLOADS[name]
    return {
        "vdi_broker_object.name": name,
        "vdi_broker_object.namespace": NAMESPACE,
        "vdi_broker_object.version": version,
        "vdi_broker_object.data": {
            field: _primitive(values.get(field)) for field in fields},
    }


class _ContextSerializer(rpc.RequestContextSerializer):
    """The request context without its tokens (consumers need none)."""

    def serialize_context(self, context):
        values = dict(context.to_dict()) if context is not None else {}
        for secret in ("auth_token", "service_token"):
            values.pop(secret, None)
        return values


_STOP = object()


class Notifier:
    """Emits the broker's notifications (see the module's doc).

    ``enabled`` is the only thing a caller checks on a hot path.
    """

    def __init__(self, conf, publisher="vdi-broker", host=None):
        self.conf = conf
        self.driver = (conf.notifications.driver or "").strip()
        self.enabled = self.driver not in ("", "noop")
        self.publisher_id = "%s:%s" % (publisher,
                                       host or socket.gethostname())
        self._queue = queue.Queue(maxsize=conf.notifications.queue_size)
        self._lock = threading.Lock()
        self._thread = None
        self._transport = None
        self._notifier = None

    # -- sending ---------------------------------------------------------

    def _start(self):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._send_loop, name="vdi-broker-notifier",
                    daemon=True)
                self._thread.start()

    def _messaging_notifier(self):
        if self._notifier is None:
            opts = self.conf.notifications
            self._transport = messaging.get_notification_transport(
                self.conf, url=opts.transport_url or None)
            self._notifier = messaging.Notifier(
                self._transport, publisher_id=self.publisher_id,
                driver=self.driver, topics=list(opts.topics),
                serializer=_ContextSerializer(), retry=opts.retry)
        return self._notifier

    def _send_loop(self):
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                context, priority, event_type, body = item
                try:
                    notifier = self._messaging_notifier()
                    getattr(notifier, priority)(context, event_type, body)
                except Exception as e:
                    # Never a payload in the log: it may name users.
                    LOG.warning("Notification %(type)s not sent: %(error)s",
                                {"type": event_type,
                                 "error": type(e).__name__})
                    metrics.notification("failed")
                else:
                    metrics.notification("sent")
            finally:
                self._queue.task_done()

    def emit(self, context, priority, event_type, name, values):
        """Queue one notification (no-op when disabled)."""
        if not self.enabled:
            return
        self._start()
        try:
            self._queue.put_nowait((context, priority, event_type,
                                    payload(name, values)))
        except queue.Full:
            metrics.notification("dropped")

    def flush(self, timeout=None):
        """Wait until every queued notification was handed to the bus.

        Returns False when ``timeout`` seconds passed first.
        """
        if not self.enabled:
            return True
        done = threading.Event()

        def wait():
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    def stop(self, timeout=10):
        """Send what is queued, then stop the sender and the transport."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                pass
            thread.join(timeout)
        if self._transport is not None:
            self._transport.cleanup()
            self._transport = None
            self._notifier = None

    # -- the broker's notifications ----------------------------------------

    def session(self, context, event_type, session, desktop=None, pool=None,
                allocator=None):
        """session.login / logout / expire / close."""
        if not self.enabled:
            return
        values = dict(session)
        desktop = desktop or {}
        pool = pool or {}
        values.setdefault("desktop_id", desktop.get("id"))
        values["desktop_name"] = desktop.get("name")
        values["pool_id"] = values.get("pool_id") or pool.get("id")
        values["pool_name"] = pool.get("name")
        values["allocator"] = allocator
        self.emit(context, INFO, event_type, "SessionPayload", values)

    def session_closed(self, context, session, reason, desktop=None):
        """The notification of a closed session, by its close reason."""
        self.session(context, SESSION_EVENTS.get(reason, "session.close"),
                     session, desktop)

    def desktop(self, context, desktop, state=None):
        """desktop.<state> for the states that matter to consumers.

        ``state``: the desktop's state unless given ("deleted"); other
        states notify nothing.
        """
        if not self.enabled or not desktop:
            return
        state = state or desktop.get("state")
        if state not in DESKTOP_STATES:
            return
        values = dict(desktop, state=state)
        values["reason"] = (desktop.get("fault_reason")
                            if state == "quarantined"
                            else desktop.get("state_reason"))
        priority = WARN if state in ("quarantined", "error") else INFO
        self.emit(context, priority, "desktop.%s" % state,
                  "DesktopPayload", values)

    def pool_status(self, context, pool, status, reason, previous=None):
        if not self.enabled:
            return
        values = dict(pool, status=status, reason=reason,
                      previous_status=previous)
        self.emit(context, INFO if status == "active" else WARN,
                  "pool.status", "PoolStatusPayload", values)

    def job(self, context, event_type, job):
        """job.start / job.finish (never the job's parameters)."""
        if not self.enabled:
            return
        failed = (job.get("results") or {}).get("failed")
        self.emit(context, WARN if failed and event_type == "job.finish"
                  else INFO, event_type, "JobPayload", job)

    def alert(self, context, alert):
        """alert.firing / resolved / acknowledged, from an alert dict.

        ``alert`` holds the fields of AlertPayload; its ``state`` picks
        the event type (firing, resolved or acknowledged).
        """
        if not self.enabled:
            return
        state = alert.get("state")
        if state not in ALERT_STATES:
            raise ValueError("alert state must be one of %s, not %r"
                             % (", ".join(ALERT_STATES), state))
        self.emit(context, WARN if state == "firing" else INFO,
                  "alert.%s" % state, "AlertPayload", alert)


# -- the process's notifier --------------------------------------------------

_NOTIFIERS = {}
_NOTIFIERS_LOCK = threading.Lock()


def _settings(conf):
    opts = conf.notifications
    return (opts.driver, tuple(opts.topics), opts.transport_url,
            opts.retry, opts.queue_size)


def get_notifier(conf=None, publisher="vdi-broker"):
    """The process's Notifier for ``conf`` (the global CONF by default).

    One per configuration and publisher: a configuration whose
    [notifications] options changed gets a new one.
    """
    if conf is None:
        from vdi_broker import conf as vdi_conf
        conf = vdi_conf.CONF
    key = (id(conf), publisher, _settings(conf))
    with _NOTIFIERS_LOCK:
        notifier = _NOTIFIERS.get(key)
        if notifier is None:
            notifier = _NOTIFIERS[key] = Notifier(conf, publisher)
    return notifier


def notify_alert(context, alert, conf=None):
    """Send an alert's notification (alert.firing, .resolved, ...).

    For the business monitoring: ``alert`` is a dict with the fields of
    AlertPayload (id, kind, state, severity, department, site, pool,
    started_at, ended_at, acknowledged_by, values, message).
    """
    get_notifier(conf, "vdi-broker-conductor").alert(context, alert)


def reset(timeout=10):
    """Stop and forget every notifier of the process (tests, shutdown)."""
    with _NOTIFIERS_LOCK:
        notifiers = list(_NOTIFIERS.values())
        _NOTIFIERS.clear()
    for notifier in notifiers:
        notifier.stop(timeout)
