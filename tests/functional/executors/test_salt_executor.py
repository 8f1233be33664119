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

"""The salt executor against a real salt-master, salt-api and minions.

Everything runs on loopback from tests/fixtures/salt.py: a real Salt job
is submitted through salt-api, run by a real minion, and its result read
back by polling /jobs/<jid>.
"""

import os

from oslo_config import cfg
import testtools

from tests.fixtures import salt as salt_fixture
from vdi_broker import conf as vdi_conf
from vdi_broker import executors
from vdi_broker.executors import base


def _target(name, **extra):
    desktop = {"id": "id-" + name, "name": name, "server_id": None,
               "address": None, "pool_id": "p1"}
    return base.target_view(desktop, dict({"name": "pool-1"}, **extra))


class TestSaltExecutor(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salt = salt_fixture.SaltFixture(
            minions=["desk-1", "desk-2", "desk-silent"])
        cls.salt.setUp()
        cls.addClassCleanup(cls.salt.cleanUp)
        # A minion whose key is accepted but which no longer answers.
        cls.salt.stop_minion("desk-silent")

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        vdi_conf.register_opts(self.conf)
        self.conf([], project="vdi-broker")
        self.addCleanup(self.conf.reset)
        for key, value in (("url", self.salt.url),
                           ("username", salt_fixture.USERNAME),
                           ("password", salt_fixture.PASSWORD),
                           ("eauth", "file"), ("poll_interval", 0.3)):
            self.conf.set_override(key, value, group="salt")
        self.conf.set_override("driver", "salt", group="executor")
        self.executor = executors.get_driver(self.conf)

    def test_command_ok_and_failed(self):
        results = self.executor.run_command(
            [_target("desk-1"), _target("desk-2")],
            "echo out-$(hostname >/dev/null; echo x); echo oops >&2; "
            "exit 0", timeout=60)
        self.assertEqual({"id-desk-1", "id-desk-2"}, set(results))
        for result in results.values():
            self.assertEqual("ok", result["state"], result)
            self.assertEqual("out-x\noops", result["output"])

        results = self.executor.run_command(
            [_target("desk-1")], "echo half done; exit 3", timeout=60)
        self.assertEqual("failed", results["id-desk-1"]["state"])
        self.assertEqual("exit status 3", results["id-desk-1"]["reason"])
        self.assertEqual("half done", results["id-desk-1"]["output"])

    def test_state_applied_with_pillar(self):
        path = os.path.join(self.salt.output_dir, "state-file")
        results = self.executor.apply_state(
            [_target("desk-2")], "vdi_test",
            {"vdi_path": path, "vdi_text": "hello from the broker"},
            timeout=60)
        result = results["id-desk-2"]
        self.assertEqual("ok", result["state"], result)
        self.assertIn("ok vdi_test_file:", result["output"])
        with open(path) as f:
            self.assertEqual("hello from the broker", f.read().strip())

    def test_failing_state(self):
        result = self.executor.apply_state(
            [_target("desk-1")], "vdi_broken", None, timeout=60)["id-desk-1"]
        self.assertEqual("failed", result["state"])
        self.assertEqual("1 of 1 states failed", result["reason"])
        self.assertIn("FAILED vdi_broken", result["output"])

        result = self.executor.apply_state(
            [_target("desk-1")], "no_such_sls", None, timeout=60)["id-desk-1"]
        self.assertEqual("failed", result["state"])
        self.assertIn("no_such_sls", result["output"])

    def test_file_push(self):
        path = os.path.join(self.salt.output_dir, "pushed", "notice.txt")
        result = self.executor.push_file(
            [_target("desk-1")], path, "shift starts at 8\n", "0644",
            timeout=60)["id-desk-1"]
        self.assertEqual("ok", result["state"], result)
        with open(path) as f:
            self.assertEqual("shift starts at 8\n", f.read())

    def test_message_command_without_shell(self):
        self.conf.set_override("message_command", "echo shown {seconds}",
                               group="salt")
        result = self.executor.send_message(
            [_target("desk-2")], "it's $HOME; not expanded", 30,
            timeout=60)["id-desk-2"]
        self.assertEqual("ok", result["state"], result)
        self.assertEqual("shown 30 it's $HOME; not expanded",
                         result["output"])

    def test_silent_and_unknown_minions(self):
        results = self.executor.run_command(
            [_target("desk-1"), _target("desk-silent"),
             _target("desk-nowhere")], "true", timeout=4)
        self.assertEqual("ok", results["id-desk-1"]["state"])
        silent = results["id-desk-silent"]
        self.assertEqual("failed", silent["state"])
        self.assertIn("no answer from minion desk-silent within 4 s",
                      silent["reason"])
        unknown = results["id-desk-nowhere"]
        self.assertEqual("failed", unknown["state"])
        self.assertIn("not known to the Salt master", unknown["reason"])

    def test_minion_id_from_metadata(self):
        self.conf.set_override("minion_id_template",
                               "{metadata[salt_prefix]}-{name}",
                               group="salt")
        target = _target("1", server_metadata={"salt_prefix": "desk"})
        result = self.executor.run_command([target], "echo via-metadata",
                                           timeout=60)["id-1"]
        self.assertEqual("via-metadata", result["output"])
        # A desktop whose pool lacks the key fails alone, with the reason.
        result = self.executor.run_command([_target("desk-1")], "true",
                                           timeout=60)["id-desk-1"]
        self.assertEqual("failed", result["state"])
        self.assertIn("minion id template", result["reason"])

    def test_token_renewed_after_revocation(self):
        self.executor.run_command([_target("desk-1")], "true", timeout=60)
        first = self.executor._token
        # Log the token out on salt-api: the next call gets a 401.
        self.salt._post("/logout", {}, first)
        result = self.executor.run_command([_target("desk-1")], "echo again",
                                           timeout=60)["id-desk-1"]
        self.assertEqual("again", result["output"])
        self.assertNotEqual(first, self.executor._token)

    def test_wrong_password_is_unavailable_without_the_password(self):
        self.conf.set_override("password", "wrong-Pa55-0000", group="salt")
        e = self.assertRaises(base.ExecutorUnavailable,
                              self.executor.run_command,
                              [_target("desk-1")], "true", 10)
        self.assertIn("refused the login of vdi-broker", str(e))
        self.assertNotIn("wrong-Pa55", str(e))

    def test_salt_api_down_is_unavailable(self):
        self.conf.set_override("url", "http://127.0.0.1:%d" %
                               salt_fixture.free_port(), group="salt")
        self.conf.set_override("timeout", 2, group="salt")
        self.assertRaises(base.ExecutorUnavailable,
                          self.executor.run_command,
                          [_target("desk-1")], "true", 10)
