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

"""Logins in a worker thread, and what the window is told."""

import threading

import fixtures

from tests import base
from vdi_broker.loadgen import client as loadgen_client
from vdi_broker.thinclient import answers
from vdi_broker.thinclient import config as config_mod
from vdi_broker.thinclient import controller
from vdi_broker.thinclient import session as session_mod

LOGIN = {"session": {"id": "s-1", "token": "t0ken"},
         "desktop": {"id": "d-1", "name": "vdi-desks-1"},
         "pool": {"name": "desks"}, "connection": {"protocol": "spice"}}


class FakeAPI:
    def __init__(self, outcome):
        self.outcome = outcome
        self.release = threading.Event()
        self.calls = []
        self.thread_args = None

    def login(self, username, password, client_id, seat):
        self.calls.append((username, password, client_id, seat))
        # What the worker thread still holds while the call runs.
        self.thread_args = threading.current_thread()._args
        self.release.wait(10)
        return self.outcome


class FakeUI:
    def __init__(self):
        self.events = []
        self.done = threading.Event()

    def progress(self, answer):
        self.events.append(("progress", answer.key))

    def login_failed(self, answer):
        self.events.append(("login_failed", answer.key))
        self.done.set()

    def session_ended(self, answer):
        self.events.append(("session_ended", answer.key))
        self.done.set()

    def set_online(self, online):
        pass


class FakeSession:
    def __init__(self, api, config, login, ui, health=None):
        self.health = health
        self.id = login["session"]["id"]
        self.connection = login["connection"]
        self.credentials = {"id": self.id, "token": "t0ken"}
        self.seen = None

    def viewer_report(self):
        return {"connected": False, "seconds": 0}

    def run(self):
        return answers.Answer("logged_out")


class ThinClientTest(base.TestCase):

    def client(self, outcome):
        self.api = FakeAPI(outcome)
        self.ui = FakeUI()
        cfg = config_mod.Config(broker_url="http://vdi", client_id="tc-1",
                                seat="SH-1")
        client = controller.ThinClient(cfg, self.api, self.ui)
        self.beats = []
        client.heartbeat.beat_now = lambda: self.beats.append(
            client.current_session())
        return client

    def test_a_refused_login(self):
        client = self.client(loadgen_client.Outcome(
            "login", "http 401", 401, 0, 0))
        self.assertTrue(client.login("amy", "s3cret"))
        # One login at a time.
        self.assertFalse(client.login("amy", "again"))
        self.api.release.set()
        self.assertTrue(self.ui.done.wait(10))
        self.assertEqual([("amy", "s3cret", "tc-1", "SH-1")], self.api.calls)
        # The worker thread did not keep the password as its argument.
        self.assertEqual(([],), self.api.thread_args)
        self.assertEqual([("progress", "logging_in"),
                          ("login_failed", "wrong_password")],
                         self.ui.events)
        self.assertIsNone(client.current_session())

    def test_a_session(self):
        self.useFixture(fixtures.MockPatchObject(session_mod, "Session",
                                                 FakeSession))
        client = self.client(loadgen_client.Outcome(
            "login", "ok", 201, 0, 0, LOGIN))
        self.api.release.set()
        self.assertTrue(client.login("amy", "s3cret"))
        self.assertTrue(self.ui.done.wait(10))
        self.assertEqual([("progress", "logging_in"),
                          ("progress", "connecting"),
                          ("session_ended", "logged_out")], self.ui.events)
        # A heartbeat at once with the session and its viewer, and one
        # without after.
        self.assertEqual([{"id": "s-1", "token": "t0ken", "viewer": {
            "connected": False, "seconds": 0}}, None], self.beats)
        self.assertIsNone(client.current_session())
