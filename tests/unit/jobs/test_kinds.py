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

"""Job kinds: parameter checks that never echo secrets; sealed secrets."""

from oslo_config import cfg
import testtools

from vdi_broker import conf as vdi_conf
from vdi_broker import exception
from vdi_broker.jobs import kinds
from vdi_broker.jobs import secrets


def _conf(keys):
    conf = cfg.ConfigOpts()
    vdi_conf.register_opts(conf)
    conf([], project="vdi-broker")
    conf.set_override("secret_keys", keys, group="jobs")
    return conf


class TestKinds(testtools.TestCase):

    def test_valid_and_invalid(self):
        self.assertIsNone(kinds.errors("command", {"command": "hostname"}))
        self.assertIn("command", kinds.errors("command", {}))
        self.assertIn("mode", kinds.errors("file_push", {
            "path": "/x", "contents": "", "mode": "999"}))
        self.assertIsNone(kinds.errors("message", {"message": "hi",
                                                   "seconds": 60}))

    def test_secret_not_echoed(self):
        text = kinds.errors("password", {"username": "a", "password": "pw"})
        self.assertEqual("password: minLength", text)
        text = kinds.errors("password", {"username": "a",
                                         "password": ["pw-in-a-list"]})
        self.assertNotIn("pw-in-a-list", text)

    def test_split_and_public(self):
        stored, secret = kinds.split("password", {"username": "a",
                                                  "password": "p" * 9})
        self.assertEqual(({"username": "a"}, {"password": "p" * 9}),
                         (stored, secret))
        self.assertEqual({"username": "a", "password": "***"},
                         kinds.public("password", stored))


class TestSecrets(testtools.TestCase):

    def test_round_trip_and_rotation(self):
        old = _conf(["old-key"])
        token = secrets.seal(old, {"password": "Pa55-word"})
        self.assertNotIn("Pa55-word", token)
        rotated = _conf(["new-key", "old-key"])
        self.assertEqual({"password": "Pa55-word"},
                         secrets.unseal(rotated, token))
        self.assertRaises(exception.Invalid, secrets.unseal,
                          _conf(["other-key"]), token)

    def test_no_key(self):
        self.assertIsNone(secrets.seal(_conf([]), {}))
        self.assertRaises(secrets.SecretKeyMissing, secrets.seal,
                          _conf([]), {"password": "x"})
