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

"""Fuzz the API with schemathesis, from its own OpenAPI document.

Requests generated from the document (GET /v1/openapi.json) go to the
in-process WSGI application of a Broker fixture with the demo call centre.
No response may be a 5xx, and every response must match the document:
a status the operation documents, with the documented body. Valid
requests (the document's schemas) and invalid ones (which must be
refused with a documented 4xx) are separate tests.

The run is bounded and repeatable: a few examples per operation, derived
from a fixed seed (derandomize), no deadline, no shrinking.
"""

import re

import hypothesis
from hypothesis import strategies as st
import schemathesis
from schemathesis import checks as st_checks
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from tests import base
from tests.fixtures import broker as broker_fixture
from vdi_broker.api import handler
from vdi_broker.api import openapi
from vdi_broker.db import api as db

MAX_EXAMPLES = 15
CHECKS = [st_checks.not_a_server_error,
          openapi_checks.status_code_conformance,
          openapi_checks.response_schema_conformance]
# A 503 (a pool without a ready desktop, the directory down) with its
# Retry-After is the broker working as designed, not a server error; it
# passes only where the operation documents it (status_code_conformance).
# An explicit configuration, so that no schemathesis.toml changes the run.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict({
    "checks": {"not_a_server_error": {
        "expected-statuses": ["2xx", "3xx", "4xx", "503"]}}})
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
    database=None, print_blob=False,
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    suppress_health_check=list(hypothesis.HealthCheck))

# Valid bodies the generated ones rarely are: a real user's login and
# explain.
BODIES = {
    ("POST", "/v1/client/sessions"): {
        "username": "nina", "password": broker_fixture.PASSWORD,
        "client_id": "tc-fuzz-login"},
    ("POST", "/v1/allocators/explain"): {"username": "amy"},
    ("POST", "/v1/client/heartbeat"): {"client_id": "tc-fuzz-known",
                                       "input_events": 3},
    # The whole chain, in reverse order.
    ("POST", "/v1/allocators/reorder"): {"allocators": [
        a["name"] for a in reversed(broker_fixture.ALLOCATORS +
                                    [broker_fixture.DEFAULT_ALLOCATOR])]},
}


def _with_body(case, body):
    case.body = dict(body)
    return case


class TestFuzz(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        # The WSGI application under WebTest.
        self.wsgi_app = self.broker.app.app
        self.schema = schemathesis.openapi.from_wsgi(
            openapi.PATH, self.wsgi_app, config=CONFIG)

    def _client_session(self):
        # A fuzzed request before may have disabled amy's pool (a case of
        # the negative mode need not have an invalid body).
        db.pool_update(self.broker.ctxt, "sh-agents", {"enabled": True},
                       event=False)
        resp = self.broker.login("amy", client_id="tc-fuzz")
        return (resp.json["session"]["id"],
                {"X-Session-Token": resp.json["session"]["token"]})

    def _known(self):
        """Ids and names of existing resources, by path parameter."""
        app = self.broker.app
        pools = app.get("/v1/pools").json["pools"]
        desktops = app.get("/v1/desktops?state=ready&pool_id=%s" %
                           self.broker.pools["vip-desktops"]["id"]
                           ).json["desktops"]
        binding = app.post_json("/v1/bindings", {
            "kind": "user", "key": "vera",
            "desktop_id": desktops[0]["id"]}).json["binding"]
        self.broker.login("bob", client_id="tc-fuzz-admin")
        # Ready desktops again for the logins of the fuzzing.
        self.broker.fill_pools()
        seats = app.get("/v1/seats").json["seats"]
        client = app.post_json("/v1/thin-clients", {
            "client_id": "tc-fuzz-known", "seat": seats[0]["name"]}
        ).json["thin_client"]
        schedule = app.post_json("/v1/schedules", {
            "name": "weekdays", "pool_id": pools[0]["name"],
            "days": ["mon", "tue"], "start_time": "08:00",
            "end_time": "18:00", "min_ready": 1}).json["schedule"]
        job = app.post_json("/v1/jobs", {
            "kind": "command", "parameters": {"command": "hostname"},
            "targets": {"pools": [pools[0]["name"]]},
            "run_at": "2099-01-01T00:00:00Z"}).json["job"]
        rollout = app.post_json("/v1/pools/%s/rollouts" % pools[1]["id"], {
            "image": "fuzz-image-2", "wave_size": 1}).json["rollout"]
        window = app.post_json("/v1/maintenance-windows", {
            "name": "nights", "pool_id": pools[0]["name"],
            "cron": "0 22 * * *", "duration_minutes": 120}
        ).json["maintenance_window"]
        event = app.get("/v1/events?limit=1").json["events"][0]
        incident, _ = db.incident_open(self.broker.ctxt, desktops[1]["id"],
                                       "client_fault", "fuzz", 300)
        department = app.post_json("/v1/departments", {
            "name": "hotel", "rules": {"groups": ["hotel-agents"]}}
        ).json["department"]
        alert = db.alert_open(self.broker.ctxt, {
            "kind": "boots_failing", "subject": "sh-agents",
            "state": "firing", "values": {"failures": 3}})
        return {
            "incident_id": [incident["id"]],
            "department_id": [department["id"], department["name"]],
            "alert_id": [alert["id"]],
            "job_id": [job["id"]],
            "rollout_id": [rollout["id"]],
            "window_id": [window["id"], window["name"]],
            "seat_id": [seats[1]["name"], seats[2]["id"]],
            "thin_client_id": [client["id"], client["client_id"]],
            "schedule_id": [schedule["id"]],
            "event_id": [str(event["id"])],
            "pool_id": [pools[0]["name"], pools[1]["id"]],
            "allocator_id": [a["id"] for a in
                             app.get("/v1/allocators").json["allocators"]
                             ][:2],
            "desktop_id": [desktops[1]["id"], desktops[1]["name"]],
            "binding_id": [binding["id"]],
            "session_id": [app.get("/v1/sessions").json["sessions"][0][
                "id"]],
        }

    def _strategy(self, operation, known, mode):
        if operation.path.startswith("/v1/client/sessions/"):
            # Half the cases with a real session and its token; the rest
            # exercise the refusals.
            session_id, token = self._client_session()
            return st.one_of(
                operation.as_strategy(
                    mode, path_parameters={"session_id": session_id},
                    headers=token),
                operation.as_strategy(mode))
        # Generated path parameters find nothing: also use existing ones.
        strategies = [operation.as_strategy(mode)]
        body = BODIES.get((operation.method.upper(), operation.path))
        if body and mode == GenerationMode.POSITIVE:
            # Nor do generated users exist: also a real user.
            strategies.append(operation.as_strategy(mode).map(
                lambda case: _with_body(case, body)))
        for name in re.findall(r"{(\w+)}", operation.path):
            for value in known.get(name, ()):
                strategies.append(operation.as_strategy(
                    mode, path_parameters={name: value}))
        return st.one_of(strategies)

    def _fuzz(self, operation, known, mode):
        @SETTINGS
        @hypothesis.given(case=self._strategy(operation, known, mode))
        def run(case):
            response = case.call_and_validate(checks=CHECKS)
            self.statuses.setdefault(
                (operation.method.upper(), operation.path), []).append(
                    response.status_code)
        run()

    def _run(self, mode):
        failures = []
        self.statuses = {}
        known = self._known()
        # Deletions last, so that the other operations find what exists.
        operations = sorted((r.ok() for r in self.schema.get_all_operations()),
                            key=lambda op: op.method.upper() == "DELETE")
        # schemathesis leaves out the operation that serves the document.
        self.assertEqual({(path, method) for path, methods
                          in handler.ROUTE_DECLARATIONS
                          for method in methods} -
                         {(openapi.PATH, "GET")},
                         {(op.path, op.method.upper()) for op in operations})
        for operation in operations:
            try:
                self._fuzz(operation, known, mode)
            except hypothesis.errors.Unsatisfiable:
                # Nothing to get wrong in a request without parameters
                # or body (GET /v1): no invalid request to make.
                self.assertEqual(GenerationMode.NEGATIVE, mode)
            except (Exception, BaseExceptionGroup) as e:
                failures.append("%s %s: %s" % (operation.method.upper(),
                                               operation.path, e))
        self.assertEqual([], failures, "\n\n".join(failures))

    def test_valid_requests(self):
        self._run(GenerationMode.POSITIVE)
        # The fuzzing reached the handlers: every read (and the login and
        # explain) succeeded at least once.
        for (method, path), statuses in sorted(self.statuses.items()):
            if method == "GET" or (method, path) in BODIES:
                self.assertTrue([s for s in statuses if s < 300],
                                "%s %s: %s" % (method, path, statuses))

    def test_invalid_requests(self):
        """Requests that break the document: refused, never a 5xx."""
        self._run(GenerationMode.NEGATIVE)
