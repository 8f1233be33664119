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

"""The portal's session store."""

import os
import sqlite3
import stat

import fixtures

from tests import base
from vdi_broker.portal import store


class Clock:
    def __init__(self):
        self.now = 1000000.0

    def __call__(self):
        return self.now


class TestSessionStore(base.TestCase):

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(tmp, "sub", "sessions.sqlite")
        self.clock = Clock()
        self.store = store.SessionStore(self.path, idle_timeout=600,
                                        clock=self.clock)

    def test_round_trip_and_owner_only(self):
        sid = self.store.create({"user": "alice"}, self.clock.now + 3600)
        self.assertEqual({"user": "alice"}, self.store.get(sid))
        self.store.save(sid, {"user": "alice", "flash": ["x"]})
        self.assertEqual(["x"], self.store.get(sid)["flash"])
        self.assertEqual(0o600, stat.S_IMODE(os.stat(self.path).st_mode))
        self.assertEqual(0o700, stat.S_IMODE(os.stat(
            os.path.dirname(self.path)).st_mode))

    def test_ids_are_random_and_stored_hashed(self):
        ids = {self.store.create({}, self.clock.now + 60)
               for _ in range(20)}
        self.assertEqual(20, len(ids))
        self.assertTrue(all(len(i) >= 43 for i in ids))
        with sqlite3.connect(self.path) as conn:
            keys = {r[0] for r in conn.execute(
                "SELECT id_hash FROM portal_sessions")}
        self.assertFalse(ids & keys)
        self.assertIsNone(self.store.get("not-a-session"))
        self.assertIsNone(self.store.get(None))

    def test_idle_timeout(self):
        sid = self.store.create({}, self.clock.now + 86400)
        self.clock.now += 500
        self.assertIsNotNone(self.store.get(sid))
        # Each request starts the idle time again.
        self.clock.now += 500
        self.assertIsNotNone(self.store.get(sid))
        self.clock.now += 601
        self.assertIsNone(self.store.get(sid))
        self.assertEqual(0, self.store.count())

    def test_token_expiry(self):
        sid = self.store.create({}, self.clock.now + 100)
        self.clock.now += 99
        self.assertIsNotNone(self.store.get(sid))
        self.clock.now += 1
        self.assertIsNone(self.store.get(sid))

    def test_delete_and_purge(self):
        gone = self.store.create({}, self.clock.now + 100)
        kept = self.store.create({}, self.clock.now + 100000)
        self.store.delete(gone)
        self.assertIsNone(self.store.get(gone))
        self.clock.now += store.PURGE_INTERVAL + 700
        old = self.store.count()
        self.store.get(kept)  # idle too long: removed on read
        self.store.create({}, self.clock.now + 100)  # purges
        self.assertEqual(old - 1 + 1, self.store.count())

    def test_several_stores_share_the_file(self):
        # As several uWSGI worker processes do.
        other = store.SessionStore(self.path, idle_timeout=600,
                                   clock=self.clock)
        sid = self.store.create({"user": "bob"}, self.clock.now + 60)
        self.assertEqual({"user": "bob"}, other.get(sid))
        other.delete(sid)
        self.assertIsNone(self.store.get(sid))
