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

"""Release storms and operator restarts go through the boot queue (R10).

The broker behind WebTest with the in-process conductor and the fake
cloud, whose high-water mark records the most servers ever booting
(BUILD, REBOOT, REBUILD) at once.
"""

from tests import base
from tests.fixtures import broker as broker_fixture
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models

AGENTS = 26


def _agents(count):
    return [broker_fixture._user(
        "agent%02d" % i, "uid=agent%02d,ou=hotel,ou=shanghai,%s" % (
            i, broker_fixture.BASE_DN), ["agents"],
        {"department": ["hotel"]}) for i in range(count)]


class BootQueueApiTestCase(base.TestCase):

    backend = "sqlite"

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(
            self, users=_agents(AGENTS), backend=self.backend)
        self.app = self.broker.app
        self.cloud = self.broker.cloud
        self.ctxt = self.broker.ctxt

    def _pool(self, size, limit, **values):
        pool = self.broker.create_pool(
            "storm", min_ready=size, max_size=size,
            max_concurrent_builds=limit, release_action="reboot",
            **values).json["pool"]
        self.broker.create_allocator("everyone", pool="storm",
                                     is_default=True, priority=1000)
        self.broker.fill_pools(passes=4 * size)
        return pool

    def _status(self):
        return self.app.get("/v1/pools/storm").json["pool"]

    def _settle(self):
        """Every fake server that is booting finishes now."""
        with self.cloud.lock:
            for server in self.cloud.servers.values():
                server["ready_at"] = 0

    def _booting(self):
        with self.cloud.lock:
            return sum(self.cloud.booting().values())

    def _drain(self, limit, passes=60):
        """Passes until every desktop is ready, within ``limit``."""
        for _ in range(passes):
            self._settle()
            self.broker.manager.pool_upkeep(self.ctxt)
            self.assertLessEqual(self._booting(), limit)
            self.assertLessEqual(self.cloud.booting_high_water, limit)
            counts = db.pool_desktop_counts(self.ctxt).get(
                self.pool["id"], {})
            if counts == {models.READY: AGENTS}:
                return
        self.fail("not every desktop is ready again: %s" % counts)


class TestReleaseStorm(BootQueueApiTestCase):

    def test_26_logouts_boot_3_at_a_time(self):
        self.pool = self._pool(AGENTS, 3)
        logins = [self.broker.login("agent%02d" % i,
                                    client_id="tc-%02d" % i)
                  for i in range(AGENTS)]
        self.assertEqual({models.ASSIGNED: AGENTS},
                         db.pool_desktop_counts(self.ctxt)[self.pool["id"]])
        # Reboots take a while from now on (the fill was instant).
        self.cloud.boot_time = 600
        self.cloud.booting_high_water = 0
        for login in logins:
            self.broker.logout(login)
        # The shift ends: 26 logouts, 3 reboots, 23 in the queue.
        self.assertEqual(3, self.cloud.booting_high_water)
        self.assertEqual(3, sum(1 for call in self.cloud.calls
                                if call[0] == "reboot"))
        status = self._status()
        self.assertEqual({"in_flight": 3, "queued": 23,
                          "queued_restarts": 23, "queued_creates": 0,
                          "allowance": 3, "limit": 3},
                         {k: status["boots"][k] for k in (
                             "in_flight", "queued", "queued_restarts",
                             "queued_creates", "allowance", "limit")})
        self.assertEqual("pool allowance: 3 of 3 boots in flight",
                         status["boots"]["waiting_reason"])
        # Waiting for their reboot, they stay out of the ready count.
        self.assertEqual(0, status["desktops"]["ready"])
        self.assertEqual(AGENTS, status["desktops"]["releasing"])
        queued = db.desktop_list(self.ctxt, {"state": models.RELEASING,
                                             "state_reason": "release:reboot"})
        self.assertEqual(23, len(queued))
        # A pass changes nothing while the three reboot.
        self.broker.manager.pool_upkeep(self.ctxt)
        self.assertEqual(3, self.cloud.booting_high_water)
        self.assertEqual(23, self._status()["boots"]["queued"])
        # The queue drains three at a time, in the order of the logouts.
        self._drain(3)
        self.assertEqual(3, self.cloud.booting_high_water)
        reboots = [server for kind, server in self.cloud.calls
                   if kind == "reboot"]
        self.assertEqual(AGENTS, len(reboots))
        # FIFO: the servers rebooted in the order their users left.
        left = [login.json["desktop"]["server_id"] for login in logins]
        self.assertEqual(left, reboots)
        status = self._status()
        self.assertEqual((0, 0, None), (status["boots"]["in_flight"],
                                        status["boots"]["queued"],
                                        status["boots"]["waiting_reason"]))


class TestReleaseStormMySQL(TestReleaseStorm):
    """The queue's order holds with MariaDB's timestamps too."""

    backend = "mysql"


class TestOperatorRestarts(BootQueueApiTestCase):

    def _act(self, desktop_id, body, status=202):
        return self.app.post_json("/v1/desktops/%s/action" % desktop_id,
                                  body, status=status)

    def test_reboots_and_rebuilds_wait_their_turn(self):
        self.pool = self._pool(6, 2)
        self.cloud.boot_time = 600
        ready = db.desktop_list(self.ctxt, {"pool_id": self.pool["id"]})
        login = self.broker.login("agent00", client_id="tc-00")
        assigned = login.json["desktop"]["id"]
        ready = [d for d in ready if d["id"] != assigned]
        states = [self._act(d["id"], {"reboot": {"hard": True}}).json[
            "desktop"]["state_reason"] for d in ready[:3]]
        # Two sent, the third waits (the pool's limit is 2).
        self.assertEqual(["release:reboot:issued"] * 2 + ["release:reboot"],
                         states)
        self.assertEqual(2, self.cloud.booting_high_water)
        # A restart in place (the user stays) waits too, and a second
        # one is refused while it waits.
        resp = self._act(assigned, {"rebuild": {}})
        self.assertEqual((models.ASSIGNED, "agent00"),
                         (resp.json["desktop"]["state"],
                          resp.json["desktop"]["assigned_user"]))
        resp = self._act(assigned, {"reboot": {}}, status=409)
        self.assertIn("already queued", resp.json["error"]["message"])
        status = self._status()
        self.assertEqual((2, 2, 2), (status["boots"]["in_flight"],
                                     status["boots"]["queued"],
                                     status["boots"]["queued_restarts"]))
        self.assertEqual(2, self.cloud.booting_high_water)
        for _ in range(30):
            self._settle()
            self.broker.manager.pool_upkeep(self.ctxt)
            self.assertLessEqual(self._booting(), 2)
            status = self._status()
            if status["boots"]["in_flight"] == 0 and \
                    status["boots"]["queued"] == 0:
                break
        self.assertEqual(2, self.cloud.booting_high_water)
        self.assertEqual((0, 0), (status["boots"]["in_flight"],
                                  status["boots"]["queued"]))
        # The user kept the desktop; it was rebuilt from the pool image.
        desktop = db.desktop_get(self.ctxt, assigned)
        self.assertEqual((models.ASSIGNED, None, None),
                         (desktop["state"], desktop["boot_action"],
                          desktop["boot_started_at"]))
        self.assertIn(("rebuild", desktop["server_id"]), self.cloud.calls)
        self.assertEqual(5, status["desktops"]["ready"])
