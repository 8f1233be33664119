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

"""Policy on the admin API: the persona matrix.

Every registered rule, as every persona, through the API: the request the
rule guards is made with the identity headers Keystone's middleware
would set (X-Roles, X-User-Id, X-Project-Id; the noauth middleware
honours them), and the answer is the rule's success status or a 403 that
changed nothing. A rule the matrix does not cover fails the test.

The personas are Keystone's roles in the operator project
(``[api] operator_project_id``), plus the admin and service roles in
projects of their own, and members and managers of another project, who
must be refused everywhere. The site personas have a site role
(``[api] site_role_prefix`` + site) too: they act on the records of
their site only (the matrix's records are Shanghai's) and on nothing
that has no site; their lists show their site's records
(TestSiteScope). The thin-client API and the version document
are public.
"""

import collections
import itertools
import re

import fixtures
from oslo_config import cfg
from oslo_policy import policy as oslo_policy
import sqlalchemy as sa

from tests import base
from tests.fixtures import broker as broker_fixture
from vdi_broker.db import api as db
from vdi_broker.db.sqlalchemy import models
from vdi_broker import policies

OPERATOR_PROJECT = "8a9b1a6c0e3f4d5c9e1f2a3b4c5d6e7f"

# Persona: (roles as Keystone puts them in the token, with the implied
# ones, project).
PERSONAS = {
    "admin": (["admin", "manager", "member", "reader"], "admin-project"),
    "operator": (["manager", "member", "reader"], OPERATOR_PROJECT),
    "helpdesk": (["member", "reader"], OPERATOR_PROJECT),
    "reader": (["reader"], OPERATOR_PROJECT),
    "other_project_member": (["member", "reader"], "other-project"),
    "other_project_manager": (["manager", "member", "reader"],
                              "other-project"),
    "service": (["service"], "service-project"),
    # Site-scoped personas (vdi_broker/policies/base.py); role names are
    # compared without regard to case.
    "site_operator": (["manager", "member", "reader", "vdi_site_shanghai"],
                      OPERATOR_PROJECT),
    "site_helpdesk": (["member", "reader", "VDI_SITE_Shanghai"],
                      OPERATOR_PROJECT),
    "other_site_helpdesk": (["member", "reader", "vdi_site_nantong"],
                            OPERATOR_PROJECT),
}

ADMIN = frozenset({"admin"})
OPERATOR = ADMIN | {"operator"}
HELPDESK = OPERATOR | {"helpdesk"}
READER = HELPDESK | {"reader"}
SERVICE = frozenset({"service"})
# The site personas: of the records' site (Shanghai), and of another.
SITE_OPERATOR = frozenset({"site_operator"})
SITE_HELPDESK = SITE_OPERATOR | {"site_helpdesk"}
# A list is every site persona's (it shows their site's records).
SITE_LIST = SITE_HELPDESK | {"other_site_helpdesk"}

# Who may do what: the specification the defaults must meet, written
# out rule by rule (not derived from the policy code).
MATRIX = {
    "vdi_broker:pools:list": READER | SITE_LIST,
    "vdi_broker:pools:show": READER | SITE_HELPDESK,
    "vdi_broker:pools:create": ADMIN,
    "vdi_broker:pools:update": OPERATOR | SITE_OPERATOR,
    "vdi_broker:pools:delete": ADMIN,
    "vdi_broker:allocators:list": READER,
    "vdi_broker:allocators:show": READER,
    "vdi_broker:allocators:create": ADMIN,
    "vdi_broker:allocators:update": ADMIN,
    "vdi_broker:allocators:delete": ADMIN,
    "vdi_broker:allocators:explain": READER,
    "vdi_broker:allocators:reorder": ADMIN,
    "vdi_broker:bindings:list": READER,
    "vdi_broker:bindings:show": READER,
    "vdi_broker:bindings:create": HELPDESK,
    "vdi_broker:bindings:update": HELPDESK,
    "vdi_broker:bindings:delete": HELPDESK,
    "vdi_broker:desktops:list": READER | SERVICE | SITE_LIST,
    "vdi_broker:desktops:show": READER | SERVICE | SITE_HELPDESK,
    "vdi_broker:desktops:action:reboot": HELPDESK | SITE_HELPDESK,
    "vdi_broker:desktops:action:rebuild": OPERATOR | SITE_OPERATOR,
    "vdi_broker:desktops:action:replace": OPERATOR | SITE_OPERATOR,
    "vdi_broker:desktops:action:move": OPERATOR | SITE_OPERATOR,
    "vdi_broker:desktops:action:quarantine":
        HELPDESK | SERVICE | SITE_HELPDESK,
    "vdi_broker:desktops:action:unquarantine": OPERATOR | SITE_OPERATOR,
    "vdi_broker:desktops:console": OPERATOR | SITE_OPERATOR,
    "vdi_broker:hosts:list": READER,
    "vdi_broker:sessions:list": READER | SITE_LIST,
    "vdi_broker:sessions:show": READER | SITE_HELPDESK,
    "vdi_broker:sessions:delete": HELPDESK | SITE_HELPDESK,
    "vdi_broker:seats:list": READER | SITE_LIST,
    "vdi_broker:seats:show": READER | SITE_HELPDESK,
    "vdi_broker:seats:create": OPERATOR | SITE_OPERATOR,
    "vdi_broker:seats:update": OPERATOR | SITE_OPERATOR,
    "vdi_broker:seats:delete": OPERATOR | SITE_OPERATOR,
    "vdi_broker:thin_clients:list": READER | SITE_LIST,
    "vdi_broker:thin_clients:show": READER | SITE_HELPDESK,
    "vdi_broker:thin_clients:create": OPERATOR | SITE_OPERATOR,
    "vdi_broker:thin_clients:update": OPERATOR | SITE_OPERATOR,
    "vdi_broker:thin_clients:delete": OPERATOR | SITE_OPERATOR,
    "vdi_broker:schedules:list": READER,
    "vdi_broker:schedules:show": READER,
    "vdi_broker:schedules:create": OPERATOR,
    "vdi_broker:schedules:update": OPERATOR,
    "vdi_broker:schedules:delete": OPERATOR,
    "vdi_broker:events:list": READER,
    "vdi_broker:events:show": READER,
    "vdi_broker:jobs:list": READER,
    "vdi_broker:jobs:show": READER,
    "vdi_broker:jobs:create": OPERATOR,
    "vdi_broker:jobs:cancel": OPERATOR,
    "vdi_broker:rollouts:list": READER,
    "vdi_broker:rollouts:show": READER,
    "vdi_broker:rollouts:create": OPERATOR,
    "vdi_broker:rollouts:pause": OPERATOR,
    "vdi_broker:rollouts:resume": OPERATOR,
    "vdi_broker:rollouts:rollback": OPERATOR,
    "vdi_broker:maintenance_windows:list": READER,
    "vdi_broker:maintenance_windows:show": READER,
    "vdi_broker:maintenance_windows:create": OPERATOR,
    "vdi_broker:maintenance_windows:delete": OPERATOR,
    "vdi_broker:incidents:list": READER,
    "vdi_broker:incidents:show": READER,
    "vdi_broker:departments:list": READER,
    "vdi_broker:departments:show": READER,
    "vdi_broker:departments:create": OPERATOR,
    "vdi_broker:departments:update": OPERATOR,
    "vdi_broker:departments:delete": OPERATOR,
    "vdi_broker:shift_plans:list": READER,
    "vdi_broker:shift_plans:import": OPERATOR,
    "vdi_broker:agents:list": READER,
    "vdi_broker:agents:history": READER,
    "vdi_broker:alerts:list": READER,
    "vdi_broker:alerts:show": READER,
    "vdi_broker:alerts:acknowledge": OPERATOR,
}

# The persona rules the others are built from: no request of their own.
BASE_RULES = {"admin", "operator", "helpdesk", "reader", "service",
              "site_scope"}

Request = collections.namedtuple("Request", "method path body status")


def _builder_name(rule):
    """'vdi_broker:desktops:action:reboot' -> 'req_desktops_action_reboot'."""
    return "req_" + rule.split(":", 1)[1].replace(":", "_")


def _path_pattern(template):
    """'/v1/pools/{pool_id}' -> a regex of the concrete paths."""
    parts = re.split(r"(\{[^}]+\})", template)
    return "".join("[^/]+" if p.startswith("{") else re.escape(p)
                   for p in parts) + "$"


def headers(persona):
    roles, project = PERSONAS[persona]
    return {"X-Roles": ",".join(roles), "X-User-Id": "user-" + persona,
            "X-Project-Id": project}


class TestMatrixCoversEveryRule(base.TestCase):
    """Fails when a rule is added without its row in the matrix."""

    def test_every_rule_is_in_the_matrix(self):
        registered = {rule.name: rule for rule in policies.list_rules()}
        documented = {name for name, rule in registered.items()
                      if isinstance(rule, oslo_policy.DocumentedRuleDefault)}
        self.assertEqual(BASE_RULES, set(registered) - documented)
        self.assertEqual(sorted(documented), sorted(MATRIX))
        for name in documented:
            self.assertTrue(hasattr(PersonaMatrixTestCase,
                                    _builder_name(name)),
                            "no request for %s in the matrix" % name)
        for name, allowed in MATRIX.items():
            self.assertLessEqual(allowed, set(PERSONAS), name)
            # Nobody but the admin and the service role from outside
            # the operator project.
            self.assertFalse(allowed & {"other_project_member",
                                        "other_project_manager"}, name)
            self.assertEqual(["project"], registered[name].scope_types)


class PersonaMatrixTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.flags(group="api", operator_project_id=OPERATOR_PROJECT)
        self.pools, self.allocators = self.broker.setup_call_centre()
        self.app = self.broker.app
        self.ctxt = self.broker.ctxt
        # Desktops for the requests that use one up (bind, reboot,
        # quarantine, ...): a pool no allocator points at.
        # (The matrix's records are of the site Shanghai.)
        self.spare_pool = self.broker.create_pool(
            "spare", min_ready=12, max_size=12, site="shanghai",
            release_action="keep").json["pool"]
        # A pool with a browser console (the console request).
        self.html5_pool = self.broker.create_pool(
            "html5", min_ready=1, max_size=1, site="shanghai",
            console_type="spice-html5").json["pool"]
        self.broker.fill_pools(passes=20)
        # Spare desktops given to a request (not yet sent) in this round.
        self.reserved = set()
        # vera's login gives her a user binding (vip-personal); amy's a
        # floating desktop and a session.
        self.vera = self.broker.login("vera", client_id="tc-vera")
        self.amy = self.broker.login("amy", seat="SH-2F-001")
        self.thin_client = self.app.post_json("/v1/thin-clients", {
            "client_id": "tc-policy", "seat": "SH-2F-001",
            "site": "shanghai"}).json["thin_client"]
        self.schedule = self.app.post_json("/v1/schedules", {
            "name": "day", "pool_id": "sh-agents", "days": ["mon"],
            "start_time": "08:00", "end_time": "18:00", "min_ready": 1}
        ).json["schedule"]
        self.event = self.app.get("/v1/events?limit=1").json["events"][0]
        self.serial = itertools.count(1)

    # -- set-up as the admin (noauth without X-Roles) ---------------------

    def unique(self, prefix):
        return "%s-%d" % (prefix, next(self.serial))

    def spare_desktop(self):
        ready = [d["id"] for d in db.desktop_list(self.ctxt, {
            "pool_id": self.spare_pool["id"], "state": models.READY})
            if d["id"] not in self.reserved]
        self.assertTrue(ready, "no spare desktop left")
        self.reserved.add(ready[0])
        return ready[0]

    def new_pool(self):
        return self.broker.create_pool(self.unique("pool"), min_ready=0,
                                       max_size=2,
                                       site="shanghai").json["pool"]

    def new_allocator(self):
        return self.broker.create_allocator(
            self.unique("alloc"), pool="sh-agents").json["allocator"]

    def new_binding(self):
        return self.app.post_json("/v1/bindings", {
            "kind": "user", "key": self.unique("user"),
            "desktop_id": self.spare_desktop()}).json["binding"]

    def new_seat(self):
        return self.app.post_json("/v1/seats", {
            "name": self.unique("seat"), "site": "shanghai"}).json["seat"]

    def new_thin_client(self):
        return self.app.post_json("/v1/thin-clients", {
            "client_id": self.unique("tc"),
            "site": "shanghai"}).json["thin_client"]

    def new_schedule(self):
        return self.app.post_json("/v1/schedules", {
            "name": self.unique("schedule"), "pool_id": "sh-agents",
            "days": ["tue"], "start_time": "08:00", "end_time": "18:00",
            "min_ready": 1}).json["schedule"]

    # -- the request each rule guards ---------------------------------------
    # A body may be a callable: it is called when the request is sent, so
    # that a refused request uses nothing up.

    def req_pools_list(self):
        return Request("GET", "/v1/pools", None, 200)

    def req_pools_show(self):
        return Request("GET", "/v1/pools/%s" % self.pools["sh-agents"]["id"],
                       None, 200)

    def req_pools_create(self):
        return Request("POST", "/v1/pools", dict(
            broker_fixture.POOL_DEFAULTS, name=self.unique("pool"),
            min_ready=0), 201)

    def req_pools_update(self):
        return Request("PATCH", "/v1/pools/%s" % self.new_pool()["id"],
                       {"min_ready": 1}, 200)

    def req_pools_delete(self):
        return Request("DELETE", "/v1/pools/%s" % self.new_pool()["id"],
                       None, 204)

    def req_allocators_list(self):
        return Request("GET", "/v1/allocators", None, 200)

    def req_allocators_show(self):
        return Request("GET", "/v1/allocators/%s" %
                       self.allocators["shanghai-agents"]["id"], None, 200)

    def req_allocators_create(self):
        return Request("POST", "/v1/allocators", {
            "name": self.unique("alloc"), "plugin": "pool",
            "pool": "sh-agents"}, 201)

    def req_allocators_update(self):
        return Request("PATCH", "/v1/allocators/%s" %
                       self.new_allocator()["id"],
                       {"description": "changed"}, 200)

    def req_allocators_delete(self):
        return Request("DELETE", "/v1/allocators/%s" %
                       self.new_allocator()["id"], None, 204)

    def req_allocators_explain(self):
        return Request("POST", "/v1/allocators/explain", {"username": "amy"},
                       200)

    def req_allocators_reorder(self):
        def body():
            names = [a["name"] for a in
                     self.app.get("/v1/allocators").json["allocators"]]
            return {"allocators": list(reversed(names))}
        return Request("POST", "/v1/allocators/reorder", body, 200)

    def req_bindings_list(self):
        return Request("GET", "/v1/bindings", None, 200)

    def req_bindings_show(self):
        return Request("GET", "/v1/bindings/%s" %
                       self.vera.json["binding"]["id"], None, 200)

    def req_bindings_create(self):
        return Request("POST", "/v1/bindings", lambda: {
            "kind": "user", "key": self.unique("user"),
            "desktop_id": self.spare_desktop()}, 201)

    def req_bindings_update(self):
        return Request("PATCH", "/v1/bindings/%s" % self.new_binding()["id"],
                       lambda: {"desktop_id": self.spare_desktop()}, 200)

    def req_bindings_delete(self):
        return Request("DELETE", "/v1/bindings/%s" %
                       self.new_binding()["id"], None, 204)

    def req_desktops_list(self):
        return Request("GET", "/v1/desktops", None, 200)

    def req_desktops_show(self):
        return Request("GET", "/v1/desktops/%s" %
                       self.amy.json["desktop"]["id"], None, 200)

    def _action(self, desktop_id, body):
        return Request("POST", "/v1/desktops/%s/action" % desktop_id, body,
                       202)

    def req_desktops_action_reboot(self):
        return self._action(self.spare_desktop(), {"reboot": {}})

    def req_desktops_action_rebuild(self):
        return self._action(self.spare_desktop(), {"rebuild": {}})

    def req_desktops_action_replace(self):
        return self._action(self.spare_desktop(), {"replace": {}})

    def req_desktops_action_move(self):
        return self._action(self.vera.json["desktop"]["id"],
                            {"move": {"user": self.unique("user")}})

    def req_desktops_action_quarantine(self):
        return self._action(self.spare_desktop(),
                            {"quarantine": {"reason": "matrix"}})

    def req_desktops_action_unquarantine(self):
        desktop_id = self.spare_desktop()
        self.app.post_json("/v1/desktops/%s/action" % desktop_id,
                           {"quarantine": {}}, status=202)
        return self._action(desktop_id, {"unquarantine": {}})

    def req_desktops_console(self):
        desktop = db.desktop_list(self.ctxt, {
            "pool_id": self.html5_pool["id"]})[0]
        return Request("POST", "/v1/desktops/%s/console" % desktop["id"],
                       None, 200)

    def req_hosts_list(self):
        return Request("GET", "/v1/hosts", None, 200)

    def req_sessions_list(self):
        return Request("GET", "/v1/sessions", None, 200)

    def req_sessions_show(self):
        return Request("GET", "/v1/sessions/%s" %
                       self.amy.json["session"]["id"], None, 200)

    def req_sessions_delete(self):
        return Request("DELETE", "/v1/sessions/%s" %
                       self.amy.json["session"]["id"], None, 204)

    def req_seats_list(self):
        return Request("GET", "/v1/seats", None, 200)

    def req_seats_show(self):
        return Request("GET", "/v1/seats/SH-2F-001", None, 200)

    def req_seats_create(self):
        return Request("POST", "/v1/seats", lambda: {
            "name": self.unique("seat"), "site": "shanghai"}, 201)

    def req_seats_update(self):
        return Request("PATCH", "/v1/seats/%s" % self.new_seat()["id"],
                       {"location": "2F east"}, 200)

    def req_seats_delete(self):
        return Request("DELETE", "/v1/seats/%s" % self.new_seat()["id"],
                       None, 204)

    def req_thin_clients_list(self):
        return Request("GET", "/v1/thin-clients", None, 200)

    def req_thin_clients_show(self):
        return Request("GET", "/v1/thin-clients/%s" % self.thin_client["id"],
                       None, 200)

    def req_thin_clients_create(self):
        return Request("POST", "/v1/thin-clients", lambda: {
            "client_id": self.unique("tc"), "site": "shanghai"}, 201)

    def req_thin_clients_update(self):
        return Request("PATCH", "/v1/thin-clients/%s" %
                       self.new_thin_client()["id"], {"model": "t640"}, 200)

    def req_thin_clients_delete(self):
        return Request("DELETE", "/v1/thin-clients/%s" %
                       self.new_thin_client()["id"], None, 204)

    def req_schedules_list(self):
        return Request("GET", "/v1/schedules", None, 200)

    def req_schedules_show(self):
        return Request("GET", "/v1/schedules/%s" % self.schedule["id"], None,
                       200)

    def req_schedules_create(self):
        return Request("POST", "/v1/schedules", {
            "name": self.unique("schedule"), "pool_id": "sh-agents",
            "days": ["wed"], "start_time": "20:00", "end_time": "06:00",
            "min_ready": 1}, 201)

    def req_schedules_update(self):
        return Request("PATCH", "/v1/schedules/%s" %
                       self.new_schedule()["id"], {"min_ready": 2}, 200)

    def req_schedules_delete(self):
        return Request("DELETE", "/v1/schedules/%s" %
                       self.new_schedule()["id"], None, 204)

    def new_job(self):
        return self.app.post_json("/v1/jobs", {
            "kind": "command", "parameters": {"command": "hostname"},
            "targets": {"pools": ["spare"]},
            "run_at": "2099-01-01T00:00:00Z"}).json["job"]

    def req_jobs_list(self):
        return Request("GET", "/v1/jobs", None, 200)

    def req_jobs_show(self):
        return Request("GET", "/v1/jobs/%s" % self.new_job()["id"], None,
                       200)

    def req_jobs_create(self):
        return Request("POST", "/v1/jobs", {
            "kind": "message", "parameters": {"message": "break at 10"},
            "targets": {"pools": ["spare"]},
            "run_at": "2099-01-01T00:00:00Z"}, 201)

    def req_jobs_cancel(self):
        return Request("POST", "/v1/jobs/%s/cancel" % self.new_job()["id"],
                       None, 200)

    def new_rollout(self, action=None):
        """A roll-out of a pool of its own (one open roll-out a pool)."""
        pool = self.broker.create_pool(self.unique("rolled"), min_ready=0,
                                       max_size=1).json["pool"]
        rollout = self.app.post_json("/v1/pools/%s/rollouts" % pool["id"], {
            "image": "win11-next"}).json["rollout"]
        if action:
            self.app.post_json("/v1/rollouts/%s/action" % rollout["id"],
                               {"action": action})
        return rollout

    def req_rollouts_list(self):
        return Request("GET", "/v1/pools/%s/rollouts" %
                       self.new_rollout()["pool_id"], None, 200)

    def req_rollouts_show(self):
        return Request("GET", "/v1/rollouts/%s" % self.new_rollout()["id"],
                       None, 200)

    def req_rollouts_create(self):
        pool = self.broker.create_pool(self.unique("rolled"), min_ready=0,
                                       max_size=1).json["pool"]
        return Request("POST", "/v1/pools/%s/rollouts" % pool["id"],
                       {"image": "win11-next", "wave_size": 2}, 201)

    def req_rollouts_pause(self):
        return Request("POST", "/v1/rollouts/%s/action" %
                       self.new_rollout()["id"], {"action": "pause"}, 200)

    def req_rollouts_resume(self):
        return Request("POST", "/v1/rollouts/%s/action" %
                       self.new_rollout("pause")["id"],
                       {"action": "resume"}, 200)

    def req_rollouts_rollback(self):
        return Request("POST", "/v1/rollouts/%s/action" %
                       self.new_rollout()["id"], {"action": "rollback"}, 200)

    def new_window(self):
        return self.app.post_json("/v1/maintenance-windows", {
            "name": self.unique("window"), "site": "shanghai",
            "cron": "0 22 * * sat", "timezone": "Asia/Shanghai",
            "duration_minutes": 240}).json["maintenance_window"]

    def req_maintenance_windows_list(self):
        return Request("GET", "/v1/maintenance-windows", None, 200)

    def req_maintenance_windows_show(self):
        return Request("GET", "/v1/maintenance-windows/%s" %
                       self.new_window()["id"], None, 200)

    def req_maintenance_windows_create(self):
        return Request("POST", "/v1/maintenance-windows", {
            "name": self.unique("window"), "pool_id": "spare",
            "starts_at": "2099-01-01T22:00:00Z",
            "ends_at": "2099-01-02T02:00:00Z", "drain": True}, 201)

    def req_maintenance_windows_delete(self):
        return Request("DELETE", "/v1/maintenance-windows/%s" %
                       self.new_window()["id"], None, 204)

    def req_incidents_list(self):
        return Request("GET", "/v1/incidents", None, 200)

    def req_incidents_show(self):
        incident, _ = db.incident_open(
            self.ctxt, self.amy.json["desktop"]["id"], "client_fault",
            "policy test", 300)
        return Request("GET", "/v1/incidents/%s" % incident["id"], None,
                       200)

    def req_events_list(self):
        return Request("GET", "/v1/events", None, 200)

    def req_events_show(self):
        return Request("GET", "/v1/events/%d" % self.event["id"], None, 200)

    def new_department(self):
        return self.app.post_json("/v1/departments", {
            "name": self.unique("department")}).json["department"]

    def new_alert(self):
        return db.alert_open(self.ctxt, {
            "kind": "boots_failing", "subject": self.unique("pool"),
            "state": "firing", "values": {"failures": 3}})

    def req_departments_list(self):
        return Request("GET", "/v1/departments", None, 200)

    def req_departments_show(self):
        return Request("GET", "/v1/departments/%s" %
                       self.new_department()["id"], None, 200)

    def req_departments_create(self):
        return Request("POST", "/v1/departments",
                       lambda: {"name": self.unique("department")}, 201)

    def req_departments_update(self):
        return Request("PATCH", "/v1/departments/%s" %
                       self.new_department()["id"], {"priority": 3}, 200)

    def req_departments_delete(self):
        return Request("DELETE", "/v1/departments/%s" %
                       self.new_department()["id"], None, 204)

    def req_shift_plans_list(self):
        return Request("GET", "/v1/shift-plans", None, 200)

    def req_shift_plans_import(self):
        name = self.new_department()["name"]
        return Request("PUT", "/v1/shift-plans", (
            "date,slot_start,department,site,expected\n"
            "2026-12-08,08:00,%s,shanghai,3\n" % name).encode(), 200)

    def req_agents_list(self):
        return Request("GET", "/v1/agents", None, 200)

    def req_agents_history(self):
        return Request("GET", "/v1/agents/history", None, 200)

    def req_alerts_list(self):
        return Request("GET", "/v1/alerts", None, 200)

    def req_alerts_show(self):
        return Request("GET", "/v1/alerts/%s" % self.new_alert()["id"],
                       None, 200)

    def req_alerts_acknowledge(self):
        return Request("POST", "/v1/alerts/%s/acknowledge" %
                       self.new_alert()["id"], None, 200)

    # -- running the matrix ---------------------------------------------------

    def send(self, request, headers):
        body = request.body() if callable(request.body) else request.body
        kwargs = {"headers": headers, "expect_errors": True}
        if isinstance(body, bytes):
            # A CSV document (the shift plan).
            return self.app.request(
                request.path, method=request.method, body=body,
                headers=dict(headers, **{"Content-Type": "text/csv"}),
                expect_errors=True)
        if body is not None:
            return getattr(self.app, request.method.lower() + "_json")(
                request.path, body, **kwargs)
        return self.app.request(request.path, method=request.method,
                                **kwargs)

    def database_state(self):
        """Every row of every table (a refused request changes none)."""
        with self.broker.database.engine.connect() as conn:
            return {table.name: sorted(
                (tuple(str(v) for v in row)
                 for row in conn.execute(sa.select(table))))
                for table in models.Base.metadata.sorted_tables}

    def prepare(self):
        """Each rule's request, its target made beforehand."""
        rules = {rule.name: rule for rule in policies.list_rules()}
        self.reserved = set()
        requests = {}
        for name in sorted(MATRIX):
            request = getattr(self, _builder_name(name))()
            # The request is the one the rule documents.
            operations = {(op["method"], op["path"])
                          for op in rules[name].operations}
            self.assertTrue(any(
                method == request.method and
                re.match(_path_pattern(path), request.path)
                for method, path in operations),
                "%s %s is not an operation of %s (%s)" % (
                    request.method, request.path, name, operations))
            requests[name] = request
        return requests

    def check_persona(self, persona, allowed_rules):
        requests = self.prepare()
        allowed = {name for name in requests if name in allowed_rules}
        before = self.database_state()
        for name in sorted(set(requests) - allowed):
            request = requests[name]
            resp = self.send(request, headers(persona))
            self.assertEqual(403, resp.status_int, "%s: %s %s as %s: %s" % (
                name, request.method, request.path, persona, resp.text))
            error = broker_fixture.assert_error(self, resp, 403, "Forbidden")
            self.assertIn(name, error["message"])
        self.assertEqual(before, self.database_state(),
                         "a refused request changed the database")
        for name in sorted(allowed):
            request = requests[name]
            resp = self.send(request, headers(persona))
            self.assertEqual(request.status, resp.status_int,
                             "%s: %s %s as %s: %s" % (
                                 name, request.method, request.path,
                                 persona, resp.text))
        return allowed


class TestPersonaMatrix(PersonaMatrixTestCase):

    def _run(self, persona):
        allowed = self.check_persona(
            persona, {name for name, who in MATRIX.items()
                      if persona in who})
        return allowed

    def test_admin(self):
        self.assertEqual(set(MATRIX), self._run("admin"))

    def test_operator(self):
        allowed = self._run("operator")
        self.assertIn("vdi_broker:desktops:action:unquarantine", allowed)
        self.assertNotIn("vdi_broker:pools:create", allowed)

    def test_helpdesk(self):
        allowed = self._run("helpdesk")
        self.assertIn("vdi_broker:bindings:create", allowed)
        self.assertNotIn("vdi_broker:seats:create", allowed)
        self.assertEqual("closed", db.session_get(
            self.ctxt, self.amy.json["session"]["id"])["state"])

    def test_reader(self):
        allowed = self._run("reader")
        self.assertTrue(all(name.endswith((":list", ":show", ":explain",
                                           ":history"))
                            for name in allowed), allowed)

    def test_member_of_another_project(self):
        self.assertEqual(set(), self._run("other_project_member"))

    def test_manager_of_another_project(self):
        self.assertEqual(set(), self._run("other_project_manager"))

    def test_service(self):
        self.assertEqual({"vdi_broker:desktops:list",
                          "vdi_broker:desktops:show",
                          "vdi_broker:desktops:action:quarantine"},
                         self._run("service"))

    def test_site_operator(self):
        allowed = self._run("site_operator")
        self.assertIn("vdi_broker:desktops:action:rebuild", allowed)
        self.assertNotIn("vdi_broker:events:list", allowed)
        self.assertNotIn("vdi_broker:bindings:list", allowed)

    def test_site_helpdesk(self):
        allowed = self._run("site_helpdesk")
        self.assertIn("vdi_broker:sessions:delete", allowed)
        self.assertNotIn("vdi_broker:seats:create", allowed)
        self.assertEqual("closed", db.session_get(
            self.ctxt, self.amy.json["session"]["id"])["state"])

    def test_helpdesk_of_another_site(self):
        # Lists only (of its own site): every record here is Shanghai's.
        self.assertEqual({name for name, who in MATRIX.items()
                          if "other_site_helpdesk" in who},
                         self._run("other_site_helpdesk"))
        self.assertEqual("active", db.session_get(
            self.ctxt, self.amy.json["session"]["id"])["state"])

    def test_without_operator_project_only_admin_and_service(self):
        # Secure by default: no operator project, no operator persona.
        self.flags(group="api", operator_project_id=None)
        self.assertEqual(set(), self.check_persona("operator", set()))
        self.assertEqual(set(), self.check_persona("reader", set()))


class TestRoles(PersonaMatrixTestCase):

    def call(self, roles, method, path, project=OPERATOR_PROJECT,
             status=None, body=None):
        resp = self.send(Request(method, path, body, None), {
            "X-Roles": ",".join(roles), "X-User-Id": "u-1",
            "X-Project-Id": project})
        if status is not None:
            self.assertEqual(status, resp.status_int, resp.text)
        return resp

    def test_roles_need_not_be_implied(self):
        # A deployment bootstrapped before Keystone had the manager role
        # may not imply member and reader from it.
        session = "/v1/sessions/%s" % self.amy.json["session"]["id"]
        self.call(["manager"], "GET", "/v1/pools", status=200)
        self.call(["manager"], "POST", "/v1/seats", status=201,
                  body={"name": "new-seat"})
        self.call(["member"], "GET", session, status=200)
        self.call(["member"], "POST", "/v1/seats", status=403,
                  body={"name": "other-seat"})
        self.call(["member"], "DELETE", session, status=204)

    def test_roles_are_trimmed_and_combined(self):
        self.call([" reader", "member "], "DELETE",
                  "/v1/sessions/%s" % self.amy.json["session"]["id"],
                  status=204)

    def test_no_roles_forbidden_everywhere_but_public_paths(self):
        requests = {name: request._replace(body=request.body()) if callable(
            request.body) else request
            for name, request in self.prepare().items()}
        before = self.database_state()
        for roles in ([], ["guest"], ["readers"], ["administrator"]):
            for name, request in requests.items():
                resp = self.call(roles, request.method, request.path,
                                 body=request.body)
                self.assertEqual(403, resp.status_int, (name, roles))
        self.assertEqual(before, self.database_state())
        # The thin-client API and the version document need no role.
        for roles in ([], ["guest"]):
            self.call(roles, "GET", "/", status=200)
            self.call(roles, "GET", "/v1", status=200)
            self.call(roles, "POST", "/v1/client/heartbeat", status=204,
                      body={"client_id": "tc-policy"})
            resp = self.call(roles, "POST", "/v1/client/sessions", body={
                "username": "bob", "password": broker_fixture.PASSWORD,
                "client_id": "tc-9"}, status=201)
            token = resp.json["session"]["token"]
            self.assertEqual(200, self.app.get(
                self.broker.session_url(resp),
                headers={"X-Roles": "", "X-Session-Token": token}
            ).status_int)
            self.app.delete(self.broker.session_url(resp),
                            headers={"X-Roles": "",
                                     "X-Session-Token": token},
                            status=204)


class TestSiteScope(PersonaMatrixTestCase):
    """A site's personas see and act on their site's records only."""

    def setUp(self):
        super().setUp()
        # Bob works in Nantong: his thin client is that site's, his
        # desktop comes from the Nantong pool.
        self.app.post_json("/v1/thin-clients", {"client_id": "tc-nt",
                                                "site": "nantong"})
        self.app.post_json("/v1/seats", {"name": "NT-1F-001",
                                         "site": "nantong"})
        self.bob = self.broker.login("bob", client_id="tc-nt")

    def get(self, persona, path, status=200):
        return self.app.get(path, headers=headers(persona), status=status)

    def listed(self, persona, collection, key):
        path = "/v1/" + collection
        return {item[key] for item in
                self.get(persona, path).json[collection.replace("-", "_")]}

    def test_lists_show_the_persona_sites_records(self):
        pools = {p["id"]: p["site"] for p in db.pool_list(self.ctxt)}
        self.assertEqual({"amy"},
                         self.listed("site_helpdesk", "sessions",
                                     "username"))
        self.assertEqual({"bob"},
                         self.listed("other_site_helpdesk", "sessions",
                                     "username"))
        self.assertEqual({"amy", "vera", "bob"},
                         self.listed("helpdesk", "sessions", "username"))
        for persona, site in (("site_helpdesk", "shanghai"),
                              ("other_site_helpdesk", "nantong")):
            desktops = self.listed(persona, "desktops", "pool_id")
            self.assertEqual({site}, {pools[p] for p in desktops})
            self.assertEqual({site}, {p["site"] for p in self.get(
                persona, "/v1/pools").json["pools"]})
            self.assertEqual({site}, {s["site"] for s in self.get(
                persona, "/v1/seats").json["seats"]})
            self.assertEqual({site}, {c["site"] for c in self.get(
                persona, "/v1/thin-clients").json["thin_clients"]})
        self.assertIn(self.bob.json["desktop"]["id"],
                      self.listed("other_site_helpdesk", "desktops", "id"))
        # The unscoped reader sees every site's.
        self.assertEqual(set(pools),
                         self.listed("reader", "pools", "id"))

    def test_records_of_another_site_are_refused(self):
        amy = "/v1/sessions/%s" % self.amy.json["session"]["id"]
        bob_desktop = self.bob.json["desktop"]["id"]
        self.get("other_site_helpdesk", amy, status=403)
        self.app.delete(amy, headers=headers("other_site_helpdesk"),
                        status=403)
        self.assertEqual("active", db.session_get(
            self.ctxt, self.amy.json["session"]["id"])["state"])
        self.get("site_helpdesk", "/v1/desktops/%s" % bob_desktop,
                 status=403)
        self.app.post_json("/v1/desktops/%s/action" % bob_desktop,
                           {"reboot": {}}, headers=headers("site_helpdesk"),
                           status=403)
        self.assertEqual("assigned",
                         db.desktop_get(self.ctxt, bob_desktop)["state"])
        self.get("other_site_helpdesk", "/v1/desktops/%s" % bob_desktop)
        # A site's operator may not move a seat to another site, nor
        # register one there.
        self.app.patch_json("/v1/seats/SH-2F-001", {"site": "nantong"},
                            headers=headers("site_operator"), status=403)
        self.app.post_json("/v1/seats",
                           {"name": "NT-1F-002", "site": "nantong"},
                           headers=headers("site_operator"), status=403)
        self.assertEqual("shanghai",
                         db.seat_get(self.ctxt, "SH-2F-001")["site"])
        # A missing record is 404 for a persona that may see the kind.
        self.get("site_helpdesk", "/v1/sessions/nope", status=404)

    def test_role_prefix_is_configurable(self):
        self.flags(group="api", site_role_prefix="site:")
        roles = {"X-Roles": "member,reader,site:nantong",
                 "X-User-Id": "u-1", "X-Project-Id": OPERATOR_PROJECT}
        sessions = self.app.get("/v1/sessions", headers=roles).json
        self.assertEqual({"bob"}, {s["username"]
                                   for s in sessions["sessions"]})
        # vdi_site_ roles mean nothing then: an unscoped helpdesk.
        self.assertEqual({"amy", "vera", "bob"},
                         self.listed("other_site_helpdesk", "sessions",
                                     "username"))


class TestKeystone(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        broker_fixture.keystone_service_user(self)
        self.flags(group="api", auth_strategy="keystone")
        # Any attempt to reach a Keystone fails the test.
        self.network = self.useFixture(fixtures.MockPatch(
            "keystoneauth1.session.Session.request",
            side_effect=AssertionError("Keystone was contacted")))
        self.app = self.broker.build()

    def test_admin_api_without_token_is_401(self):
        for method, path in (("GET", "/v1/pools"), ("GET", "/v1/sessions"),
                             ("GET", "/v1/events"), ("POST", "/v1/pools")):
            resp = self.app.request(path, method=method, expect_errors=True,
                                    headers={"X-Roles": "admin"})
            self.assertEqual(401, resp.status_int)
            self.assertIn('Keystone uri="http://127.0.0.1:1/identity"',
                          resp.headers["WWW-Authenticate"])
            self.assertNotIn("Traceback", resp.text)
            self.assertEqual(401, resp.json["error"]["code"])
        self.assertFalse(self.network.mock.called)

    def test_missing_service_user_refuses_to_start(self):
        # Without an auth plugin every request with a token would be a
        # 500: the API does not start, and says why.
        self.flags(group="keystone_authtoken", auth_type=None)
        e = self.assertRaises(cfg.RequiredOptError, self.broker.build)
        self.assertIn("auth_type", str(e))
        self.assertIn("keystone_authtoken", str(e))

    def test_public_paths_work_without_token(self):
        self.assertEqual(200, self.app.get("/").status_int)
        self.assertEqual(200, self.app.get("/v1").status_int)
        resp = self.broker.login("bob", client_id="tc-7")
        headers = {"X-Session-Token": resp.json["session"]["token"]}
        self.app.get(self.broker.session_url(resp), headers=headers,
                     status=200)
        self.app.delete(self.broker.session_url(resp), headers=headers,
                        status=204)
        self.assertFalse(self.network.mock.called)

    def test_headers_without_a_confirmed_token_are_not_trusted(self):
        # keystonemiddleware strips forged identity headers.
        resp = self.app.get("/v1/pools", headers={
            "X-Identity-Status": "Confirmed", "X-Roles": "admin"},
            status=401)
        self.assertEqual(401, resp.status_int)
        self.assertFalse(self.network.mock.called)
