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

"""Departments, agent counting and alert conditions (pure functions)."""

import datetime
import types

import testtools

from vdi_broker import alerts
from vdi_broker import exception
from vdi_broker.monitoring import agents
from vdi_broker.monitoring import departments
from vdi_broker import states

NOW = datetime.datetime(2026, 12, 8, 8, 0, 0)

AMY = {"username": "amy", "dn": "uid=amy,ou=Hotel,ou=Shanghai,dc=cc",
       "groups": ["agents", "hotel-agents"],
       "attributes": {"title": ["Agent"]}}
BOB = {"username": "bob", "dn": "uid=bob,ou=flight,ou=nantong,dc=cc",
       "groups": ["agents"], "attributes": {"title": ["Lead"]}}


def _department(name, priority, rules):
    return {"name": name, "priority": priority, "rules": rules}


class DepartmentsTest(testtools.TestCase):

    DEPARTMENTS = [
        _department("everyone", 1000, {}),
        _department("flight", 20, {"ou": ["OU = Flight, ou=Nantong, "
                                          "dc=cc"]}),
        _department("hotel", 10, {"groups": ["Hotel-Agents"]}),
        _department("leads", 5, {"attributes": {"title": ["lead"]},
                                 "match": "any"}),
    ]

    def test_first_match_by_priority(self):
        self.assertEqual("hotel", departments.department_for(
            self.DEPARTMENTS, AMY))
        # Bob is a lead (priority 5) before his OU's department.
        self.assertEqual("leads", departments.department_for(
            self.DEPARTMENTS, BOB))
        self.assertEqual("flight", departments.department_for(
            self.DEPARTMENTS[:3], BOB))
        self.assertIsNone(departments.department_for(
            self.DEPARTMENTS[1:3], dict(BOB, dn="uid=bob,dc=cc")))
        self.assertEqual("everyone", departments.department_for(
            self.DEPARTMENTS[:1], {"username": "x"}))

    def test_rules_restricted_to_the_user(self):
        departments.validate({"groups": ["a"], "match": "any"})
        for bad in ({"seats": ["SH-*"]}, {"sites": ["sh"]},
                    {"ou": ["ou=a,,dc"]}, {"groups": "a"}):
            self.assertRaises(exception.InvalidRules, departments.validate,
                              bad)

    def test_cache_rereads_after_its_time_and_survives_errors(self):
        reads = []
        clock = [0.0]

        def read():
            reads.append(clock[0])
            if len(reads) == 3:
                raise RuntimeError("database down")
            return self.DEPARTMENTS

        cache = departments.Cache(read, 30, clock=lambda: clock[0])
        self.assertEqual("hotel", cache.department_for(AMY))
        clock[0] = 10
        cache.department_for(AMY)
        self.assertEqual([0.0], reads)
        clock[0] = 31
        cache.department_for(AMY)
        clock[0] = 62
        # The third read fails: the last list is kept.
        self.assertEqual("hotel", cache.department_for(AMY))
        self.assertEqual([0.0, 31, 62], reads)


def _session(department="hotel", site="sh", pool="p1", status="online",
             last_input=None):
    return {"username": "u", "department": department, "site": site,
            "pool": pool, "status": status, "last_seen_at": NOW,
            "last_input_at": last_input}


class AgentsTest(testtools.TestCase):

    def test_classify(self):
        recent = NOW - datetime.timedelta(seconds=59)
        old = NOW - datetime.timedelta(seconds=61)
        self.assertEqual(states.AGENT_ACTIVE, agents.classify(
            _session(last_input=recent), NOW, 60))
        self.assertEqual(states.AGENT_IDLE, agents.classify(
            _session(last_input=old), NOW, 60))
        self.assertEqual(states.AGENT_IDLE, agents.classify(
            _session(), NOW, 60))
        self.assertEqual(states.AGENT_OFFLINE, agents.classify(
            _session(status="offline", last_input=recent), NOW, 60))
        self.assertEqual(states.AGENT_OFFLINE, agents.classify(
            _session(status=None), NOW, 60))

    def test_count_by_team_and_pool_with_the_plan(self):
        rows = [_session(last_input=NOW), _session(pool="p2"),
                _session(status="offline"),
                _session(department=None, site=None, last_input=NOW)]
        totals, by_pool = agents.count(
            rows, {("hotel", "sh"): 5, ("flight", "nt"): 2}, NOW, 60)
        self.assertEqual([
            {"department": "", "site": "", "pool": "", "active": 1,
             "idle": 0, "offline": 0, "expected": None},
            {"department": "flight", "site": "nt", "pool": "", "active": 0,
             "idle": 0, "offline": 0, "expected": 2},
            {"department": "hotel", "site": "sh", "pool": "", "active": 1,
             "idle": 1, "offline": 1, "expected": 5}], totals)
        self.assertEqual(
            [("", "", "p1", 1, 0, 0), ("hotel", "sh", "p1", 1, 0, 1),
             ("hotel", "sh", "p2", 0, 1, 0)],
            [(r["department"], r["site"], r["pool"], r["active"],
              r["idle"], r["offline"]) for r in by_pool])


OPTS = types.SimpleNamespace(
    below_plan_share=0.2, below_plan_for=600, below_plan_min_expected=5,
    above_plan_share=0.2, above_plan_min=5, above_plan_for=900,
    drop_share=0.5, drop_minutes=10, drop_min_active=10,
    login_window=300, login_failure_rate=0.3, login_failure_min=20,
    pool_short_for=300, boot_failures=3, boot_slow_seconds=600,
    call_error_rate=0.2, call_error_min=5, call_slow_seconds=5.0,
    desktops_in_error=5, thin_clients_offline_share=0.2,
    thin_clients_offline_min=10, thin_clients_faulty=5,
    directory_slow_seconds=1.0, directory_slow_for=300, directory_slow_min=5)


def _team(active, expected, department="hotel", site="sh"):
    return {"department": department, "site": site, "pool": "",
            "active": active, "idle": 0, "offline": 0,
            "expected": expected}


def _holding(conditions):
    return {(c.kind, c.subject): c.holds for c in conditions}


class ConditionsTest(testtools.TestCase):

    def test_below_and_above_plan(self):
        found = _holding(alerts.agent_conditions(OPTS, [
            _team(7, 10), _team(8, 10, site="nt"), _team(2, 4, site="x"),
            _team(18, 10, site="y"), _team(14, 10, site="z")], {}))
        self.assertTrue(found[("agents_below_plan", "hotel@sh")])
        # 8 of 10 is the threshold itself; 4 planned is too few to alert.
        self.assertFalse(found[("agents_below_plan", "hotel@nt")])
        self.assertFalse(found[("agents_below_plan", "hotel@x")])
        self.assertTrue(found[("agents_above_plan", "hotel@y")])
        # 14 of 10 is above 120% but by fewer than 5 agents.
        self.assertFalse(found[("agents_above_plan", "hotel@z")])

    def test_drop(self):
        found = _holding(alerts.agent_conditions(OPTS, [
            _team(9, None), _team(4, None, site="nt"),
            _team(1, None, site="x")], {
                ("hotel", "sh"): 20, ("hotel", "nt"): 20,
                ("hotel", "x"): 8}))
        self.assertTrue(found[("agents_dropped", "hotel@sh")])
        self.assertTrue(found[("agents_dropped", "hotel@nt")])
        self.assertFalse(found[("agents_dropped", "hotel@x")])
        self.assertNotIn(("agents_below_plan", "hotel@sh"), found)

    def test_pools(self):
        snapshot = {
            "pools": [{"id": "p", "name": "sh", "site": "shanghai",
                       "enabled": True, "min_ready": 4, "max_size": 10,
                       "build_failures": 3, "boot_seconds": 900.0}],
            "desktops": {"p": {"ready": 2, "error": 5}},
            "schedules": []}
        found = _holding(alerts.pool_conditions(OPTS, snapshot, NOW))
        self.assertEqual({("pool_short_of_ready", "sh"): True,
                          ("boots_failing", "sh"): True,
                          ("boots_slow", "sh"): True,
                          ("desktops_in_error", "sh"): True}, found)

    def test_thin_clients_logins_and_nova(self):
        found = _holding(alerts.thin_client_conditions(OPTS, [
            ("sh", "online", 30), ("sh", "offline", 10),
            ("nt", "online", 100), ("nt", "offline", 10),
            ("nt", "faulty", 5)]))
        self.assertTrue(found[("thin_clients_offline", "sh")])
        self.assertFalse(found[("thin_clients_offline", "nt")])
        self.assertTrue(found[("thin_clients_faulty", "nt")])
        found = _holding(alerts.login_conditions(OPTS, {
            "success": 40, "failure": 25,
            "reasons": {"directory_unavailable": 20},
            "directory_ms": [3.0] * 38 + [1500.0] * 2}))
        self.assertTrue(found[("login_failures", "logins")])
        self.assertTrue(found[("directory_errors", "directory")])
        # 2 slow logins in 40: the 95th percentile is fast.
        self.assertFalse(found[("directory_slow", "directory")])

    def test_directory_slow(self):
        def slow(directory_ms):
            found = alerts.directory_slow(OPTS, directory_ms)
            return found.holds, found.values.get("p95_seconds")

        self.assertEqual((True, 1.5), slow([3.0] * 37 + [1500.0] * 3))
        self.assertEqual((False, 0.003), slow([3.0] * 38 + [1500.0] * 2))
        self.assertEqual((True, 1.2), slow([1200.0] * 5))
        # Too few logins asked the directory to judge.
        self.assertEqual((None, None), slow([1200.0] * 4))
        self.assertEqual((None, None), slow([]))
        found = _holding(alerts.nova_conditions(OPTS, {
            "calls": 0, "errors": 0, "seconds": 0}))
        self.assertEqual({("nova_errors", "nova"): None,
                          ("nova_slow", "nova"): None}, found)
        found = _holding(alerts.nova_conditions(OPTS, {
            "calls": 20, "errors": 5, "seconds": 200.0}))
        self.assertEqual({("nova_errors", "nova"): True,
                          ("nova_slow", "nova"): True}, found)


def _alert(kind, subject, state, started=NOW, values=None):
    return {"id": "%s-%s" % (kind, subject), "kind": kind,
            "subject": subject, "state": state, "started_at": started,
            "values": values}


class TransitionsTest(testtools.TestCase):

    def cond(self, kind, subject, holds, hold_for=0, values=None):
        return alerts._condition(kind, subject, holds, values or {}, "m",
                                 hold_for=hold_for)

    def actions(self, conditions, open_alerts, now=NOW):
        return [(action, (alert or {}).get("id"),
                 cond.kind if cond else None)
                for action, cond, alert in alerts.transitions(
                    conditions, open_alerts, now)]

    def test_the_life_of_an_alert(self):
        later = NOW + datetime.timedelta(seconds=600)
        below = self.cond("agents_below_plan", "h@s", True, hold_for=600)
        self.assertEqual([("open", None, "agents_below_plan")],
                         self.actions([below], []))
        pending = _alert("agents_below_plan", "h@s", "pending")
        # Not long enough yet; then long enough.
        almost = later - datetime.timedelta(seconds=1)
        self.assertEqual([], self.actions([below], [pending], almost))
        self.assertEqual([("fire", pending["id"], "agents_below_plan")],
                         self.actions([below], [pending], later))
        firing = dict(pending, state="firing", values={})
        self.assertEqual([], self.actions([below], [firing], later))
        self.assertEqual(
            [("refresh", firing["id"], "agents_below_plan")],
            self.actions([self.cond("agents_below_plan", "h@s", True,
                                    values={"active": 3})], [firing]))
        self.assertEqual([("resolve", firing["id"], "agents_below_plan")],
                         self.actions([below._replace(holds=False)],
                                      [firing]))
        self.assertEqual([("drop", pending["id"], "agents_below_plan")],
                         self.actions([below._replace(holds=False)],
                                      [pending]))

    def test_unknown_conditions_and_gone_subjects(self):
        firing = _alert("nova_errors", "nova", "firing")
        gone = _alert("boots_failing", "deleted-pool", "firing")
        self.assertEqual(
            [("resolve", gone["id"], None)],
            self.actions([self.cond("nova_errors", "nova", None)],
                         [firing, gone]))
