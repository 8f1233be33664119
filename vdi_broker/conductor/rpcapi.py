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

"""Client side of the conductor RPC API.

API version history:

* 1.0 - Initial version: allocate, explain, get_connection, close_session.
* 1.1 - Add get_connection_file.
* 1.2 - Add ping (vdi-broker-status).
* 1.3 - Add desktop_action (reboot, rebuild, replace, move, quarantine,
        unquarantine) and report_fault (a thin client's fault report).
* 1.4 - Add host_status (GET /v1/hosts) and desktop_console (an
        operator's browser console, POST /v1/desktops/{id}/console).
        allocate, explain and get_connection are deprecated from the
        release whose API runs logins itself (vdi_broker/login); they
        stay for APIs of the previous release.
* 1.5 - Add release_desktop, a cast: the API ends sessions itself
        (LoginService.logout) and asks a conductor to start the release
        action at once; the pool manager does it anyway at its next pass.
        close_session stays for APIs of the previous release.

Every call is bounded by ``[api] conductor_timeout``: a conductor that
does not answer in time, or a message bus that cannot be reached, gives a
503, never a hung login. oslo.messaging's own timeout does not cover
(re)connecting to the bus, so calls run on a small pool of threads and the
caller stops waiting at the deadline. (Logins no longer come this way:
the API runs them, vdi_broker/login. ``allocate``, ``explain`` and
``get_connection`` remain for APIs of the previous release; a login they
carry has a deadline, and a conductor that receives it late refuses it
instead of claiming a desktop nobody will use.)

Casts (``release_desktop``) are sent from a daemon thread of their own
pool and never waited for: a logout answers whether or not the bus is up.
A cast that cannot be sent is only logged; what it asked for is recorded
in the database and done by the conductors' periodic work.
"""

import abc
import threading

from oslo_log import log as logging
import oslo_messaging as messaging

from vdi_broker import exception
from vdi_broker import rpc

LOG = logging.getLogger(__name__)

# The caller waits this much longer than the deadline it sends, so that a
# conductor never completes a login the API has already given up on.
DEADLINE_GRACE = 2

_in_flight = None
_casts_in_flight = None
_in_flight_lock = threading.Lock()
# How often a cast tries to reach the bus again before it is dropped.
CAST_RETRY = 1


def _slots(conf):
    global _in_flight
    with _in_flight_lock:
        if _in_flight is None:
            _in_flight = threading.BoundedSemaphore(conf.api.rpc_threads)
        return _in_flight


def _cast_slots(conf):
    # Apart from the calls': casts stuck on a lost bus never keep a call
    # from being tried.
    global _casts_in_flight
    with _in_flight_lock:
        if _casts_in_flight is None:
            _casts_in_flight = threading.BoundedSemaphore(
                conf.api.rpc_threads)
        return _casts_in_flight


def _background_cast(conf, cast, method):
    """Run ``cast()`` in a daemon thread; never wait for it.

    Returns whether the cast was started (False: ``[api] rpc_threads``
    casts are still trying to reach the bus; this one is dropped).
    """
    slots = _cast_slots(conf)
    if not slots.acquire(blocking=False):
        LOG.warning("%d casts to the conductors are still waiting for the "
                    "message bus: %s dropped (the conductors' periodic "
                    "work does it)", conf.api.rpc_threads, method)
        return False

    def run():
        try:
            cast()
        except Exception as e:
            LOG.warning("Cast %s to the conductors not sent (the "
                        "conductors' periodic work does it): %s", method, e)
        finally:
            slots.release()

    threading.Thread(target=run, name="vdi-broker-cast",
                     daemon=True).start()
    return True


def _bounded_call(conf, call, timeout):
    """Run ``call()`` in a daemon thread; give up after ``timeout``.

    A thread stuck on an unreachable bus must neither block the API
    worker nor keep the process from exiting, hence daemon threads rather
    than an executor (whose threads are joined at exit).
    """
    slots = _slots(conf)
    if not slots.acquire(blocking=False):
        LOG.error("%d conductor calls are already waiting; is the message "
                  "bus reachable?", conf.api.rpc_threads)
        raise exception.ConductorUnavailable()
    outcome = {}
    done = threading.Event()

    def run():
        try:
            outcome["result"] = call()
        except BaseException as e:  # handed to the caller below
            outcome["error"] = e
        finally:
            slots.release()
            done.set()

    threading.Thread(target=run, name="vdi-broker-rpc", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


class ConductorMethods(metaclass=abc.ABCMeta):
    """The conductor's methods; subclasses say how a call is made."""

    @abc.abstractmethod
    def _call(self, ctxt, method, version="1.0", **kwargs):
        """Run ``method`` of the conductor with ``kwargs``."""

    @abc.abstractmethod
    def _cast(self, ctxt, method, version="1.0", **kwargs):
        """Ask a conductor to run ``method``; wait for no answer."""

    def allocate(self, ctxt, login):
        return self._call(ctxt, "allocate", login=login)

    def explain(self, ctxt, login):
        return self._call(ctxt, "explain", login=login)

    def get_connection(self, ctxt, session_id):
        return self._call(ctxt, "get_connection", session_id=session_id)

    def get_connection_file(self, ctxt, session_id):
        return self._call(ctxt, "get_connection_file", version="1.1",
                          session_id=session_id)

    def close_session(self, ctxt, session_id, reason):
        return self._call(ctxt, "close_session", session_id=session_id,
                          reason=reason)

    def release_desktop(self, ctxt, desktop_id):
        """Start a released desktop's release action (a cast)."""
        return self._cast(ctxt, "release_desktop", version="1.5",
                          desktop_id=desktop_id)

    def ping(self, ctxt):
        return self._call(ctxt, "ping", version="1.2")

    def desktop_action(self, ctxt, desktop_id, action, args):
        return self._call(ctxt, "desktop_action", version="1.3",
                          desktop_id=desktop_id, action=action, args=args)

    def report_fault(self, ctxt, session_id, reason):
        return self._call(ctxt, "report_fault", version="1.3",
                          session_id=session_id, reason=reason)

    def host_status(self, ctxt):
        return self._call(ctxt, "host_status", version="1.4")

    def desktop_console(self, ctxt, desktop_id):
        return self._call(ctxt, "desktop_console", version="1.4",
                          desktop_id=desktop_id)


class ConductorAPI(ConductorMethods):
    """Calls the conductors over RPC."""

    RPC_API_VERSION = "1.5"

    def __init__(self, conf):
        self.conf = conf
        target = messaging.Target(topic=conf.conductor.topic,
                                  version=self.RPC_API_VERSION)
        self.client = rpc.get_client(conf, target,
                                     version_cap=self.RPC_API_VERSION,
                                     timeout=conf.api.conductor_timeout)

    def _call(self, ctxt, method, version="1.0", **kwargs):
        cctxt = self.client.prepare(version=version)
        try:
            return _bounded_call(
                self.conf, lambda: cctxt.call(ctxt, method, **kwargs),
                self.conf.api.conductor_timeout + DEADLINE_GRACE)
        except (messaging.MessagingTimeout, TimeoutError):
            LOG.error("The conductor did not answer %s within %d s",
                      method, self.conf.api.conductor_timeout)
            raise exception.ConductorUnavailable()

    def _cast(self, ctxt, method, version="1.0", **kwargs):
        # retry: a bus that is down drops the cast after CAST_RETRY
        # reconnection attempts instead of keeping a thread forever.
        cctxt = self.client.prepare(version=version, retry=CAST_RETRY)
        _background_cast(self.conf,
                         lambda: cctxt.cast(ctxt, method, **kwargs), method)
