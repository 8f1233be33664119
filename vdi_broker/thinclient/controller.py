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

"""The thin client without its window: logins, the session, heartbeats.

The window calls :meth:`ThinClient.login` with what the agent typed; the
login and then the session run in a worker thread, which tells the
window what to show through its thread-safe methods (``progress``,
``login_failed``, ``viewer_connected``, ``session_ended``,
``set_online``). The password is handed to the API call and dropped;
nothing the agent typed is logged.
"""

import logging
import threading

from vdi_broker.thinclient import answers
from vdi_broker.thinclient import health as health_mod
from vdi_broker.thinclient import heartbeat as heartbeat_mod
from vdi_broker.thinclient import session as session_mod

LOG = logging.getLogger(__name__)


class ThinClient:

    def __init__(self, config, api, ui, counter=None):
        self.config = config
        self.api = api
        self.ui = ui
        self.counter = counter
        self.session = None
        self._worker = None
        self._lock = threading.Lock()
        self.health = health_mod.Health(counter)
        self.heartbeat = heartbeat_mod.Heartbeat(
            api, config, counter, self.current_session,
            on_result=lambda outcome: ui.set_online(
                outcome.status is not None), health=self.health)

    def start(self):
        if self.counter is not None:
            self.counter.start()
        self.heartbeat.start()

    def current_session(self):
        """The session for the heartbeat: its credentials and viewer."""
        session = self.session
        if session is None:
            return None
        return dict(session.credentials, viewer=session.viewer_report())

    @property
    def busy(self):
        return self._worker is not None and self._worker.is_alive()

    def login(self, username, password):
        """Log in (in a worker thread); False if a login is under way."""
        with self._lock:
            if self.busy:
                return False
            # The thread keeps its arguments until it ends, with the
            # session: hand the credentials over in a box it empties.
            box = [username, password]
            del username, password
            self._worker = threading.Thread(
                target=self._login, args=(box,), daemon=True,
                name="vdi-tc-session")
            self._worker.start()
        return True

    def _login(self, box):
        username, password = box
        box.clear()
        self.ui.progress(answers.Answer("logging_in"))
        outcome = self.api.login(username, password, self.config.client_id,
                                 self.config.seat or None)
        del username, password
        if not outcome.ok or not isinstance(outcome.body, dict):
            answer = answers.login_answer(outcome, self.config.seat)
            LOG.info("Login refused: %s (%s)", answer.key, outcome.kind)
            self.ui.login_failed(answer)
            return
        body = outcome.body
        session = session_mod.Session(self.api, self.config, body, self.ui,
                                      health=self.health)
        LOG.info("Logged in: session %s, desktop %s of pool %s (%s)",
                 session.id, body["desktop"]["id"],
                 (body.get("pool") or {}).get("name"),
                 session.connection.get("protocol"))
        self.session = session
        self.heartbeat.beat_now()
        self.ui.progress(answers.Answer("connecting",
                                        name=body["desktop"]["name"]))
        end = None
        try:
            end = session.run()
        except Exception:
            LOG.exception("Session %s failed", session.id)
            session.logout()
            end = answers.Answer("viewer_failed")
        finally:
            self.session = None
            self.heartbeat.beat_now()
        if end is not None:
            self.ui.session_ended(end)

    def logout(self):
        session = self.session
        if session is not None:
            session.stop(logout=True)

    def shutdown(self, timeout=10.0):
        """Log out of the session, stop the threads (the program ends)."""
        self.logout()
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        self.heartbeat.stop()
        if self.counter is not None:
            self.counter.stop()
        self.api.close()
