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

"""The OpenAPI document: the router's routes, valid OpenAPI, and real
responses that match it."""

import jsonschema
import openapi_spec_validator

from tests import base
from tests.fixtures import broker as broker_fixture
from vdi_broker.api import handler
from vdi_broker.api import openapi
from vdi_broker.api.schemas import allocators as allocator_schema
from vdi_broker.api.schemas import bindings as binding_schema
from vdi_broker.api.schemas import client as client_schema
from vdi_broker.api.schemas import pools as pool_schema

METHODS = {"get", "put", "post", "delete", "options", "head", "patch",
           "trace"}


def documented_operations(document):
    return {(path, method.upper())
            for path, item in document["paths"].items()
            for method in item if method in METHODS}


def response_schema(document, path, method, status, media_type):
    """The documented schema of a response, resolvable on its own."""
    responses = document["paths"][path][method.lower()]["responses"]
    response = responses.get(str(status))
    if response is None:
        raise AssertionError("%s %s does not document a %s response; it "
                             "documents %s" % (method, path, status,
                                               sorted(responses)))
    schema = response["content"][media_type]["schema"]
    # The references point into the document's components.
    return dict(schema, components=document["components"])


class TestDocument(base.TestCase):

    def setUp(self):
        super().setUp()
        self.document = openapi.build()

    def test_every_route_and_no_other(self):
        routes = {(path, method) for path, methods
                  in handler.ROUTE_DECLARATIONS for method in methods}
        self.assertEqual(routes, documented_operations(self.document))
        # The router serves the same table.
        router = handler.Router()
        self.assertEqual({p: set(m) for p, m in
                          handler.ROUTE_DECLARATIONS},
                         {p: set(m) for p, m in router.methods.items()})

    def test_valid_openapi(self):
        openapi_spec_validator.validate(self.document)

    def test_request_bodies_are_the_handlers_schemas(self):
        schemas = self.document["components"]["schemas"]
        self.assertEqual(pool_schema.create, schemas["PoolCreate"])
        self.assertEqual(pool_schema.update, schemas["PoolUpdate"])
        self.assertEqual(allocator_schema.create, schemas["AllocatorCreate"])
        self.assertEqual(allocator_schema.update, schemas["AllocatorUpdate"])
        self.assertEqual(allocator_schema.explain,
                         schemas["AllocatorExplain"])
        self.assertEqual(binding_schema.create, schemas["BindingCreate"])
        self.assertEqual(client_schema.login, schemas["LoginRequest"])

    def test_operations_document_their_errors_and_security(self):
        for path, item in self.document["paths"].items():
            for method, op in item.items():
                where = "%s %s" % (method, path)
                responses = op["responses"]
                self.assertTrue([s for s in responses if s < "300"], where)
                if "requestBody" in op:
                    self.assertIn("400", responses, where)
                    self.assertIn("413", responses, where)
                if path.startswith("/v1/client/sessions/"):
                    self.assertEqual([{"session_token": []}],
                                     op["security"], where)
                    self.assertIn("401", responses, where)
                elif path == "/v1/client/heartbeat":
                    # The token only with a session_id in the body.
                    self.assertEqual([{}, {"session_token": []}],
                                     op["security"], where)
                    self.assertIn("401", responses, where)
                elif path.startswith("/v1/agent/"):
                    # The desktop's agent secret.
                    self.assertEqual([{"agent_secret": []}],
                                     op["security"], where)
                    self.assertIn("401", responses, where)
                    self.assertIn("429", responses, where)
                elif handler.is_public(path):
                    self.assertEqual([], op["security"], where)
                else:
                    self.assertEqual([{"keystone": []}], op["security"],
                                     where)
                    self.assertIn("401", responses, where)
                    self.assertIn("403", responses, where)
                for status, response in responses.items():
                    if status >= "400":
                        self.assertEqual(
                            {"$ref": "#/components/schemas/Error"},
                            response["content"]["application/json"][
                                "schema"], where)
        login = self.document["paths"]["/v1/client/sessions"]["post"]
        self.assertLessEqual({"201", "400", "401", "403", "429", "503"},
                             set(login["responses"]))

    def test_security_schemes(self):
        schemes = self.document["components"]["securitySchemes"]
        self.assertEqual("X-Auth-Token", schemes["keystone"]["name"])
        self.assertEqual("X-Session-Token", schemes["session_token"]["name"])
        self.assertEqual("X-Agent-Secret", schemes["agent_secret"]["name"])

    def test_built_fresh(self):
        # Callers may change their copy without changing the handlers'
        # request schemas.
        self.document["components"]["schemas"]["PoolCreate"]["x"] = 1
        self.assertNotIn("x", pool_schema.create)
        self.assertNotIn("x", openapi.build()["components"]["schemas"][
            "PoolCreate"])


class TestResponses(base.TestCase):
    """Real responses of the broker validate against the document."""

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.app = self.broker.app
        self.document = openapi.build()

    def assertDocumented(self, resp, path, method=None):
        method = method or resp.request.method
        schema = response_schema(self.document, path, method,
                                 resp.status_int, resp.content_type)
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.
            FORMAT_CHECKER)
        errors = list(validator.iter_errors(resp.json))
        self.assertEqual([], [e.message for e in errors], resp.text)

    def test_served_without_token(self):
        resp = self.app.get("/v1/openapi.json",
                            headers={"X-Roles": "nobody"})
        self.assertTrue(handler.is_public("/v1/openapi.json"))
        self.assertEqual("application/json", resp.content_type)
        self.assertEqual(openapi.build(resp.request.application_url),
                         resp.json)
        self.assertEqual(resp.request.application_url,
                         resp.json["servers"][0]["url"])

    def test_versions(self):
        self.assertDocumented(self.app.get("/"), "/")
        self.assertDocumented(self.app.get("/v1"), "/v1")

    def test_hosts_and_console(self):
        self.broker.flags(group="fake_compute",
                          capacity_memory_mb=16 * 8192)
        self.broker.create_pool("html5", min_ready=1, max_size=1,
                                console_type="spice-html5")
        self.broker.fill_pools()
        self.assertDocumented(self.app.get("/v1/hosts"), "/v1/hosts")
        desktop = self.app.get("/v1/desktops").json["desktops"][0]
        self.assertDocumented(
            self.app.post("/v1/desktops/%s/console" % desktop["id"]),
            "/v1/desktops/{desktop_id}/console")
        self.broker.flags(group="fake_compute", capacity_memory_mb=0)
        self.assertDocumented(self.app.get("/v1/hosts"), "/v1/hosts")

    def test_pools_and_allocators(self):
        resp = self.broker.create_pool("sh-agents", site="shanghai",
                                       min_ready=2, max_size=4,
                                       metadata={"team": "hotel"})
        self.assertDocumented(resp, "/v1/pools")
        self.broker.fill_pools()
        self.assertDocumented(self.app.get("/v1/pools/sh-agents"),
                              "/v1/pools/{pool_id}")
        self.assertDocumented(
            self.app.patch_json("/v1/pools/sh-agents", {"min_ready": 1}),
            "/v1/pools/{pool_id}")
        self.assertDocumented(self.app.get("/v1/pools"), "/v1/pools")
        self.assertDocumented(self.app.get("/v1/pools?limit=1"),
                              "/v1/pools")
        resp = self.broker.create_allocator("everyone", pool="sh-agents",
                                            rules={"groups": ["agents"]})
        self.assertDocumented(resp, "/v1/allocators")
        self.assertDocumented(self.app.get("/v1/allocators"),
                              "/v1/allocators")
        self.assertDocumented(self.app.get("/v1/desktops"), "/v1/desktops")
        self.assertDocumented(
            self.app.post_json("/v1/allocators/explain",
                               {"username": "amy"}),
            "/v1/allocators/explain")

    def test_login_session_and_errors(self):
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        resp = self.broker.login("amy")
        self.assertDocumented(resp, "/v1/client/sessions")
        session_path = "/v1/client/sessions/{session_id}"
        token = {"X-Session-Token": resp.json["session"]["token"]}
        url = self.broker.session_url(resp)
        self.assertDocumented(self.app.get(url, headers=token),
                              session_path)
        self.assertDocumented(self.app.get("/v1/sessions"), "/v1/sessions")
        self.assertDocumented(
            self.app.get("/v1/sessions/%s" % resp.json["session"]["id"]),
            "/v1/sessions/{session_id}")
        # Version 1.2: both ends and their combination (null here: no
        # end said anything yet).
        v1_2 = {"OpenStack-API-Version": "vdi 1.2"}
        shown = self.app.get("/v1/sessions/%s" % resp.json["session"]["id"],
                             headers=v1_2)
        self.assertEqual({"state": None, "since": None, "decided_by": None},
                         shown.json["session"]["connection"])
        self.assertDocumented(shown, "/v1/sessions/{session_id}")
        self.assertDocumented(self.app.get("/v1/sessions", headers=v1_2),
                              "/v1/sessions")
        # Errors: 401, 400, 404, 405, 409.
        self.assertDocumented(self.app.get(url, status=401), session_path)
        self.assertDocumented(
            self.app.post_json("/v1/pools", {"name": "x"}, status=400),
            "/v1/pools")
        self.assertDocumented(self.app.get("/v1/pools?limit=0", status=400),
                              "/v1/pools")
        self.assertDocumented(self.app.get("/v1/pools/nope", status=404),
                              "/v1/pools/{pool_id}")
        self.assertDocumented(
            self.broker.create_pool("sh-agents", status=409), "/v1/pools")
        # A 405 belongs to no operation: it is the Error document too.
        resp = self.app.put("/v1/pools", status=405)
        self.assertEqual("GET, POST", resp.headers["Allow"])
        jsonschema.validate(resp.json,
                            self.document["components"]["schemas"]["Error"])

    def test_pool_exhausted_503(self):
        self.broker.setup_call_centre()
        # One pass: the desktops are booting, none is ready yet.
        self.broker.manager.pool_upkeep(self.broker.ctxt)
        resp = self.broker.login("amy", status=503)
        self.assertIn("Retry-After", resp.headers)
        self.assertDocumented(resp, "/v1/client/sessions")
        self.assertEqual("sh-agents", resp.json["error"]["details"]["pool"])


class TestKeystone(base.TestCase):
    """With Keystone, the document is still served without a token."""

    def test_public(self):
        broker_fixture.keystone_service_user(self)
        broker = broker_fixture.use_broker(
            self, flags={("api", "auth_strategy"): "keystone"})
        document = broker.app.get("/v1/openapi.json").json
        self.assertEqual(openapi.build("http://localhost"), document)
