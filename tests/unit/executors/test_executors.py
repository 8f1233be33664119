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

"""The executor plugins: loading, the fake driver, Salt's result shapes."""

from oslo_config import cfg
import testtools

from vdi_broker import conf as vdi_conf
from vdi_broker import exception
from vdi_broker import executors
from vdi_broker.executors import base
from vdi_broker.executors import fake
from vdi_broker.executors import salt


def _conf(**groups):
    conf = cfg.ConfigOpts()
    vdi_conf.register_opts(conf)
    conf([], project="vdi-broker")
    for group, values in groups.items():
        for key, value in values.items():
            conf.set_override(key, value, group=group)
    return conf


def _target(name, metadata=None):
    return base.target_view({"id": "id-" + name, "name": name},
                            {"name": "pool", "server_metadata": metadata})


class TestLoading(testtools.TestCase):

    def test_default_is_fake_and_salt_loads(self):
        self.assertIsInstance(executors.get_driver(_conf()),
                              fake.FakeExecutor)
        conf = _conf(executor={"driver": "salt"})
        self.assertIsInstance(executors.get_driver(conf), salt.SaltExecutor)

    def test_unknown_driver(self):
        conf = _conf(executor={"driver": "ansible"})
        self.assertRaises(exception.InvalidPlugin, executors.get_driver,
                          conf)

    def test_salt_without_url_is_unavailable(self):
        driver = executors.get_driver(_conf(executor={"driver": "salt"}))
        e = self.assertRaises(base.ExecutorUnavailable, driver.run_command,
                              [_target("d1")], "true", 5)
        self.assertIn("[salt] url is not set", str(e))


class TestFake(testtools.TestCase):

    def setUp(self):
        super().setUp()
        fake.reset()
        self.addCleanup(fake.reset)

    def test_results_and_failures(self):
        driver = fake.FakeExecutor(_conf(fake_executor={
            "fail_targets": ["d2"], "unreachable_targets": ["id-d3"]}))
        results = driver.run_command(
            [_target("d1"), _target("d2"), _target("d3")], "whoami", 30)
        self.assertEqual(base.ok("fake: ran 'whoami' on d1"),
                         results["id-d1"])
        self.assertEqual("failed", results["id-d2"]["state"])
        self.assertEqual("no answer from d3 within 30 s",
                         results["id-d3"]["reason"])
        self.assertEqual([["id-d1", "id-d2", "id-d3"]],
                         [c["targets"] for c in fake.calls("run_command")])

    def test_password_not_recorded(self):
        driver = fake.FakeExecutor(_conf())
        driver.set_password([_target("d1")], "agent", "S3cret-Pa55", 30)
        self.assertNotIn("S3cret-Pa55", repr(fake.calls()))


class TestSaltResults(testtools.TestCase):

    def test_command(self):
        self.assertEqual(base.ok("out\nerr"), salt._command_result({
            "return": {"retcode": 0, "stdout": "out", "stderr": "err"}}))
        result = salt._command_result({
            "return": {"retcode": 2, "stdout": "", "stderr": "boom"}})
        self.assertEqual(("failed", "exit status 2", "boom"),
                         (result["state"], result["reason"],
                          result["output"]))
        result = salt._command_result({
            "return": "'cmd.run_all' is not available."})
        self.assertEqual("failed", result["state"])
        self.assertIn("not available", result["reason"])

    def test_state(self):
        answer = {"retcode": 2, "return": {
            "a": {"__id__": "first", "result": True, "comment": "fine",
                  "__run_num__": 0},
            "b": {"__id__": "second", "result": False, "comment": "bad",
                  "__run_num__": 1}}}
        result = salt._state_result(answer)
        self.assertEqual("1 of 2 states failed", result["reason"])
        self.assertEqual("ok first: fine\nFAILED second: bad",
                         result["output"])
        result = salt._state_result({"retcode": 1, "return": [
            "No matching sls found for 'x' in env 'base'"]})
        self.assertEqual("failed", result["state"])

    def test_generic(self):
        self.assertEqual("ok", salt._generic_result(
            {"return": True, "retcode": 0})["state"])
        self.assertEqual("failed", salt._generic_result(
            {"return": False, "retcode": 0})["state"])
        self.assertEqual("failed", salt._generic_result(
            {"return": {"x": 1}, "retcode": 1})["state"])

    def test_minion_id_template(self):
        driver = salt.SaltExecutor(_conf(salt={
            "minion_id_template": "{metadata[site]}-{name}"}))
        self.assertEqual("sh-d1", driver.minion_id(
            _target("d1", {"site": "sh"})))
        self.assertRaises(salt._NoMinionId, driver.minion_id,
                          _target("d1"))
