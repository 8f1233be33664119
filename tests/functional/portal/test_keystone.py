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

"""Signing in with Keystone: keystoneauth1 against an emulated Keystone.

The emulator answers ``POST /v3/auth/tokens`` (password, scoped to the
operator project) with a token, its roles and a catalog naming the
broker's ``vdi`` endpoint. In front of the broker's API a small
stand-in for keystonemiddleware turns that token into the identity
headers (and refuses others with 401), recording what the portal sent.
"""

import datetime
import os
import re
import sqlite3
import stat
import uuid

from oslo_serialization import jsonutils
from oslo_utils import timeutils
import requests
import webob
import webob.dec

from tests import base
from tests.fixtures import broker as broker_fixture
from tests.fixtures import http_server
from tests.fixtures import portal as portal_fixture
from vdi_broker.api import deploy

PROJECT_ID = "0f5d6a0e7c9b4b0e9d1c2a3b4c5d6e7f"
PASSWORD = "correct horse battery staple"


class FakeKeystone:
    """Just enough of Keystone's v3 token API for a password sign-in."""

    def __init__(self, roles):
        self.roles = roles
        self.api_url = None
        self.tokens = {}
        self.requests = []

    @webob.dec.wsgify
    def __call__(self, req):
        if req.method != "POST" or req.path_info != "/v3/auth/tokens":
            return webob.Response(status=404)
        auth = jsonutils.loads(req.body)["auth"]
        self.requests.append(auth)
        user = auth["identity"]["password"]["user"]
        if user["name"] != "alice" or user["password"] != PASSWORD:
            response = webob.Response(status=401,
                                      content_type="application/json")
            response.json_body = {"error": {"code": 401,
                                            "title": "Unauthorized",
                                            "message": "Invalid"}}
            return response
        token = uuid.uuid4().hex
        self.tokens[token] = list(self.roles)
        now = timeutils.utcnow()
        body = {"token": {
            "methods": ["password"],
            "issued_at": now.isoformat() + "Z",
            "expires_at": (now + datetime.timedelta(hours=8)).isoformat()
            + "Z",
            "user": {"id": "alice-id", "name": "alice",
                     "domain": {"id": "default", "name": "Default"}},
            "project": {"id": PROJECT_ID, "name": "vdi-operators",
                        "domain": {"id": "default", "name": "Default"}},
            "roles": [{"id": r + "-id", "name": r} for r in self.roles],
            "catalog": [{"type": "vdi", "name": "vdi-broker", "id": "s1",
                         "endpoints": [{"id": "e1", "interface": "internal",
                                        "region": "RegionOne",
                                        "region_id": "RegionOne",
                                        "url": self.api_url + "/v1"}]}]}}
        response = webob.Response(status=201,
                                  content_type="application/json")
        response.headers["X-Subject-Token"] = token
        response.json_body = body
        return response


class TokenCheck:
    """keystonemiddleware's part: a known token becomes the headers."""

    def __init__(self, app, keystone):
        self.app = app
        self.keystone = keystone
        self.seen = []

    @webob.dec.wsgify
    def __call__(self, req):
        token = req.headers.get("X-Auth-Token")
        self.seen.append((token, req.headers.get("X-Roles")))
        roles = self.keystone.tokens.get(token)
        if roles is None:
            return webob.Response(status=401)
        req.headers["X-Roles"] = ",".join(roles)
        req.headers["X-User-Id"] = "alice-id"
        req.headers["X-Project-Id"] = PROJECT_ID
        return req.get_response(self.app)


class TestKeystoneSignIn(base.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = broker_fixture.use_broker(self)
        self.broker.setup_call_centre()
        self.broker.fill_pools()
        self.flags(group="api", operator_project_id=PROJECT_ID)
        self.keystone = FakeKeystone(["member", "reader"])
        keystone = self.useFixture(http_server.WSGIServer(self.keystone))
        self.check = TokenCheck(
            deploy.build_app(self.conf, self.broker.broker_app),
            self.keystone)
        api = self.useFixture(http_server.WSGIServer(self.check))
        self.keystone.api_url = api.url
        self.portal = self.useFixture(portal_fixture.PortalServer(
            self, None, auth_strategy="keystone",
            auth_url=keystone.url + "/v3", endpoint_override=None))
        self.http = requests.Session()

    def sign_in(self, password):
        page = self.http.get(self.portal.url + "/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          page.text).group(1)
        return self.http.post(self.portal.url + "/signin",
                              data={"csrf_token": token, "next": "/",
                                    "username": "alice",
                                    "password": password})

    def test_sign_in_keeps_the_token_server_side(self):
        refused = self.sign_in("wrong")
        self.assertEqual(401, refused.status_code)
        self.assertIn("Wrong user name or password", refused.text)
        self.assertNotIn("vdi_portal_session", self.http.cookies)

        page = self.sign_in(PASSWORD)
        self.assertEqual(200, page.status_code)
        self.assertIn("alice", page.text)
        self.assertIn("helpdesk", page.text)
        scope = self.keystone.requests[-1]["scope"]["project"]
        self.assertEqual("vdi-operators", scope["name"])

        token = list(self.keystone.tokens)[0]
        # The API got the operator's token, and no identity of the
        # portal's own making.
        self.assertTrue(self.check.seen)
        self.assertEqual({(token, None)}, set(self.check.seen))
        # The browser holds a session id, not the token; the store holds
        # the token, never the password, readable by its owner only.
        cookie = self.http.cookies["vdi_portal_session"]
        self.assertNotIn(token, cookie)
        self.assertNotIn(token, page.text)
        store = self.portal.session_file
        self.assertEqual(0o600, stat.S_IMODE(os.stat(store).st_mode))
        with sqlite3.connect(store) as conn:
            rows = conn.execute("SELECT id_hash, data FROM "
                                "portal_sessions").fetchall()
        self.assertEqual(1, len(rows))
        self.assertIn(token, rows[0][1])
        self.assertNotIn(PASSWORD, rows[0][1])
        self.assertNotEqual(cookie, rows[0][0])

        # The helpdesk persona: a reboot is offered, a rebuild is not.
        self.broker.login("amy", client_id="tc-sh-1")
        desktop = self.broker.app.get(
            "/v1/desktops", params={"assigned_user": "amy"}).json[
                "desktops"][0]
        page = self.http.get(self.portal.url + "/desktops/" + desktop["id"])
        self.assertIn('data-action="reboot"', page.text)
        self.assertNotIn('data-action="rebuild"', page.text)

        # When Keystone revokes the token, the portal signs out.
        self.keystone.tokens.clear()
        page = self.http.get(self.portal.url + "/pools")
        self.assertIn("/signin?expired=1", page.url)
        self.assertIn("Your session ended", page.text)
        page = self.http.get(self.portal.url + "/pools")
        self.assertIn("/signin", page.url)

    def test_site_helpdesk_sees_its_site_only(self):
        # A helpdesk of Nantong (the site role of [api] site_role_prefix)
        # signs in: the portal asks the API with its token, so the
        # policy's site scope holds in the portal too.
        self.keystone.roles = ["member", "reader", "vdi_site_nantong"]
        amy = self.broker.login("amy", client_id="tc-sh-1",
                                seat="SH-2F-001")
        self.broker.app.post_json("/v1/thin-clients", {
            "client_id": "tc-nt-1", "site": "nantong"})
        self.broker.login("bob", client_id="tc-nt-1")
        self.sign_in(PASSWORD)
        # The overview (where a sign-in lands) shows what the site's
        # persona may read; the events and alerts, which have no site,
        # are left out rather than failing the page with a 403.
        page = self.http.get(self.portal.url + "/")
        self.assertEqual(200, page.status_code)
        self.assertIn("ready desktops", page.text)
        self.assertNotIn("logins in the last hour", page.text)
        self.assertNotIn("firing alerts", page.text)
        figures = self.http.get(self.portal.url + "/overview.json")
        self.assertEqual(200, figures.status_code)
        self.assertEqual((None, None, 1), (
            figures.json()["logins"], figures.json()["alerts"],
            figures.json()["sessions"]))
        page = self.http.get(self.portal.url + "/sessions")
        self.assertEqual(200, page.status_code)
        self.assertIn("tc-nt-1", page.text)
        self.assertNotIn("tc-sh-1", page.text)
        # Another site's desktop: the API's 403, said as such.
        page = self.http.get(self.portal.url + "/desktops/" +
                             amy.json["desktop"]["id"])
        self.assertEqual(403, page.status_code)
        self.assertIn("vdi_broker:desktops:show", page.text)

    def test_explanation_shows_the_site_choice(self):
        # The portal's explanation is the API's: a site-aware allocator's
        # candidates and the fallback a login would take.
        self.broker.app.patch_json("/v1/allocators/shanghai-agents", {
            "rules": {"ou": ["shanghai"], "pools": ["nt-agents"],
                      "site_fallback": True}})
        self.broker.app.post_json("/v1/seats", {"name": "GZ-1F-001",
                                                "site": "guangzhou"})
        self.sign_in(PASSWORD)
        page = self.http.get(self.portal.url + "/explain", params={
            "username": "amy", "seat": "GZ-1F-001"})
        self.assertEqual(200, page.status_code)
        self.assertIn('id="site-candidates"', page.text)
        self.assertIn("The agent&#39;s site: guangzhou (from the seat)",
                      page.text)
        self.assertIn("fallback to pool sh-agents of site shanghai: no "
                      "pool of the agent&#39;s site guangzhou", page.text)
