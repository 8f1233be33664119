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

"""The portal's client of the broker's admin API (over HTTP only).

Every call goes through a keystoneauth1 Adapter: with the operator's
Keystone token and the endpoint found in the catalog at sign-in
(``auth_strategy = keystone``), or with no token and the persona's
X-Roles headers to ``[portal] endpoint_override`` (``noauth``, the
all-in-one mode). The portal never opens the database.
"""

import urllib.parse

from keystoneauth1 import adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import noauth
from keystoneauth1 import token_endpoint

from vdi_broker import version

API_VERSION = "1.0"
API_PREFIX = "/v1"
GROUP = "portal"


class ApiError(Exception):
    """An answer of the API that is not a success, or no answer at all.

    ``status`` is the HTTP status (503 when the API could not be reached),
    ``title`` and ``message`` the API's error document.
    """

    def __init__(self, status, title, message, request_id=None):
        super().__init__("%s %s: %s" % (status, title, message))
        self.status = status
        self.title = title
        self.message = message
        self.request_id = request_id


def quote(ident):
    return urllib.parse.quote(str(ident), safe="")


def base_url(endpoint):
    """The broker's root URL, with or without /v1 in the catalog."""
    endpoint = endpoint.rstrip("/")
    if endpoint.endswith(API_PREFIX):
        endpoint = endpoint[:-len(API_PREFIX)]
    return endpoint


def _error(resp):
    try:
        error = resp.json()["error"]
        return ApiError(error.get("code") or resp.status_code,
                        error.get("title") or resp.reason,
                        error.get("message") or "",
                        error.get("request_id"))
    except (ValueError, KeyError, TypeError, AttributeError):
        text = " ".join((resp.text or "").split())[:200]
        return ApiError(resp.status_code, resp.reason or "", text)


def next_marker(body):
    """The marker of the API's ``next`` link, or None on the last page."""
    for link in body.get("links") or ():
        if link.get("rel") == "next":
            query = urllib.parse.parse_qs(
                urllib.parse.urlsplit(link.get("href", "")).query)
            markers = query.get("marker")
            if markers:
                return markers[0]
    return None


def load_session(conf, auth):
    """A keystoneauth Session with ``[portal]``'s TLS and timeout."""
    return ks_loading.load_session_from_conf_options(conf, GROUP, auth=auth)


def make_adapter(conf, session, endpoint=None, headers=None):
    return adapter.Adapter(
        session, service_type=conf.portal.service_type,
        interface=conf.portal.valid_interfaces,
        region_name=conf.portal.region_name,
        endpoint_override=endpoint or conf.portal.endpoint_override,
        default_microversion=API_VERSION, additional_headers=headers,
        user_agent="vdi-broker-portal/%s" %
        version.version_info.version_string())


class Client:
    """The admin API as the signed-in operator.

    ``identity`` is what the session store keeps of a sign-in: for
    Keystone, ``token`` and ``endpoint``; for noauth, ``user_id``,
    ``project_id`` and ``roles``.
    """

    def __init__(self, conf, identity, request_id=None):
        self.conf = conf
        headers = {}
        if request_id:
            # The API logs the portal's request id beside its own.
            headers["X-OpenStack-Request-ID"] = request_id
        if identity.get("token"):
            endpoint = identity["endpoint"]
            auth = token_endpoint.Token(endpoint, identity["token"])
        else:
            endpoint = conf.portal.endpoint_override
            auth = noauth.NoAuth(endpoint=endpoint)
            headers.update({"X-User-Id": identity["user_id"],
                            "X-Project-Id": identity["project_id"],
                            "X-Roles": ",".join(identity["roles"])})
        self.base = base_url(endpoint)
        self.service_type = conf.portal.service_type
        self.adapter = make_adapter(conf, load_session(conf, auth),
                                    endpoint=endpoint, headers=headers)

    def request(self, method, path, body=None, params=None, headers=None):
        """One call; the decoded JSON body (None when there is none)."""
        url = self.base + API_PREFIX + path
        kwargs = {"headers": dict(headers or {}, Accept="application/json"),
                  "raise_exc": False,
                  "microversion_service_type": self.service_type}
        if params:
            kwargs["params"] = {k: v for k, v in params.items()
                                if v not in (None, "")}
        if body is not None:
            kwargs["json"] = body
        try:
            resp = self.adapter.request(url, method, **kwargs)
        except ks_exc.ConnectTimeout:
            raise ApiError(504, "Gateway Timeout",
                           "The broker API did not answer in time.")
        except ks_exc.ClientException as e:
            raise ApiError(503, "Service Unavailable",
                           "The broker API cannot be reached: %s" %
                           type(e).__name__)
        if resp.status_code >= 400:
            raise _error(resp)
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise ApiError(502, "Bad Gateway",
                           "The broker API answered with a body that is "
                           "not JSON.")

    def page(self, path, key, params=None):
        """One page of a collection: (items, marker of the next page)."""
        body = self.request("GET", path, params=params)
        return body.get(key, []), next_marker(body)

    def all(self, path, key, params=None, cap=5000):
        """Every item, following the pages; (items, truncated)."""
        params = dict(params or {})
        items = []
        seen = set()
        while True:
            page, marker = self.page(path, key, params)
            items.extend(page)
            if marker is None or marker in seen:
                return items, False
            if len(items) >= cap:
                return items, True
            seen.add(marker)
            params["marker"] = marker

    def get(self, path, key):
        return self.request("GET", path)[key]
