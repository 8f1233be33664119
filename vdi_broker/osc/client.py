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

"""A small REST client of the broker's admin API for the OSC commands.

It talks through a keystoneauth1 Adapter on OSC's session, so a token,
the catalog endpoint of service type ``vdi`` (with OSC's --os-interface
and --os-region-name) and TLS options work as for any OpenStack service;
an endpoint override skips the catalog. Every request asks for the API
version the commands are written for (``OpenStack-API-Version: vdi
1.0``). Every error becomes an
osc_lib CommandError carrying the broker's JSON error text, so the user
sees one clear line instead of a traceback.
"""

import urllib.parse

from keystoneauth1 import adapter
from keystoneauth1 import exceptions as ks_exc
from osc_lib import exceptions

from vdi_broker import version

# Seconds to wait for the broker; OSC's session has no timeout of its own
# (api_timeout is None), and a command must not hang forever.
DEFAULT_TIMEOUT = 60
SERVICE_TYPE = version.SERVICE_TYPE
# The API version (microversion) the commands are written for.
API_VERSION = "1.0"
API_PREFIX = "/v1"


def quote(ident):
    """One path segment: names may contain spaces or slashes."""
    return urllib.parse.quote(str(ident), safe="")


def _error_text(resp):
    """The broker's error document in one line, or what there is."""
    try:
        error = resp.json()["error"]
        text = "%s (HTTP %s): %s" % (error.get("title") or resp.reason,
                                     error.get("code") or resp.status_code,
                                     error.get("message") or "")
        if error.get("request_id"):
            text += " (Request-ID: %s)" % error["request_id"]
        return text
    except (ValueError, KeyError, TypeError, AttributeError):
        body = " ".join((resp.text or "").split())[:200]
        return "HTTP %s %s%s" % (resp.status_code, resp.reason or "",
                                 (": " + body) if body else "")


class Client:
    """The broker's admin API (/v1)."""

    def __init__(self, session, endpoint=None, interface=None,
                 region_name=None, timeout=DEFAULT_TIMEOUT):
        self.adapter = adapter.Adapter(
            session, service_type=SERVICE_TYPE, interface=interface,
            region_name=region_name, endpoint_override=endpoint,
            default_microversion=API_VERSION)
        self.timeout = timeout
        self._base = None

    def base_url(self):
        """The broker's root URL, with or without /v1 in the catalog."""
        if self._base is None:
            try:
                endpoint = self.adapter.get_endpoint()
            except ks_exc.ClientException as e:
                raise exceptions.CommandError(
                    "Cannot find the VDI broker's endpoint: %s" % e)
            if not endpoint:
                raise exceptions.CommandError(
                    "No '%s' endpoint in the service catalog; pass "
                    "--os-vdi-endpoint <url> (or set OS_VDI_ENDPOINT)" %
                    SERVICE_TYPE)
            endpoint = endpoint.rstrip("/")
            if endpoint.endswith(API_PREFIX):
                endpoint = endpoint[:-len(API_PREFIX)]
            self._base = endpoint
        return self._base

    def request(self, method, path, body=None, params=None, headers=None):
        """One API call; the decoded JSON body, or None (204, 202 empty)."""
        kwargs = {"headers": dict(headers or {}, Accept="application/json")}
        if body is not None:
            kwargs["json"] = body
        url, resp = self._send(method, path, params, kwargs)
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise exceptions.CommandError(
                "The VDI broker answered %s %s with a body that is not "
                "JSON" % (method, url))

    def request_text(self, method, path, text=None, params=None,
                     content_type="text/csv", accept="text/csv"):
        """One API call with a text body or answer (a CSV shift plan).

        Returns the answer's text, or its decoded JSON when it is JSON.
        """
        kwargs = {"headers": {"Accept": accept}}
        if text is not None:
            kwargs["data"] = text.encode("utf-8")
            kwargs["headers"]["Content-Type"] = content_type
        url, resp = self._send(method, path, params, kwargs)
        if "json" in (resp.headers.get("Content-Type") or ""):
            return resp.json()
        return resp.text

    def _send(self, method, path, params, kwargs):
        url = self.base_url() + API_PREFIX + path
        kwargs = dict(kwargs, raise_exc=False, timeout=self.timeout)
        if params:
            kwargs["params"] = params
        try:
            resp = self.adapter.request(url, method, **kwargs)
        except ks_exc.ConnectFailure:
            raise exceptions.CommandError(
                "Cannot connect to the VDI broker at %s (%s %s); is it "
                "running, and is --os-vdi-endpoint right?" % (
                    self.base_url(), method, url))
        except ks_exc.ConnectTimeout:
            # requests' connect and read timeouts both end up here.
            raise exceptions.CommandError(
                "The VDI broker did not answer %s %s within %s seconds" % (
                    method, url, self.timeout))
        except ks_exc.ClientException as e:
            # Connection refused, timeouts, TLS, catalog and auth
            # failures: keystoneauth's message says which.
            raise exceptions.CommandError(
                "Request to the VDI broker failed: %s %s: %s" % (
                    method, url, e))
        if resp.status_code >= 400:
            raise exceptions.CommandError(_error_text(resp))
        return url, resp

    # -- resources -----------------------------------------------------

    def list(self, path, key, params=None, limit=None):
        """All items of a collection, following the 'next' links.

        With ``limit``, at most that many items (the broker may cap a
        page below it, so the pages are followed until there are enough).
        """
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if limit is not None:
            params["limit"] = limit
        items = []
        markers = set()
        while True:
            body = self.request("GET", path, params=params)
            items.extend(body.get(key, []))
            if limit is not None and len(items) >= limit:
                return items[:limit]
            marker = _next_marker(body)
            if marker is None or marker in markers:
                return items
            markers.add(marker)
            params = dict(params, marker=marker)

    def show(self, path, key, ident):
        return self.request("GET", "%s/%s" % (path, quote(ident)))[key]

    def create(self, path, key, body):
        return self.request("POST", path, body=body)[key]

    def update(self, path, key, ident, body, revision=None):
        """PATCH; with ``revision`` only if the resource is still at it."""
        headers = {}
        if revision is not None:
            headers["If-Match"] = '"%s"' % revision
        return self.request("PATCH", "%s/%s" % (path, quote(ident)),
                            body=body, headers=headers)[key]

    def delete(self, path, ident):
        self.request("DELETE", "%s/%s" % (path, quote(ident)))

    def post(self, path, body):
        return self.request("POST", path, body=body)


def _next_marker(body):
    for link in body.get("links") or ():
        if link.get("rel") == "next":
            query = urllib.parse.parse_qs(
                urllib.parse.urlsplit(link.get("href", "")).query)
            markers = query.get("marker")
            if markers:
                return markers[0]
    return None
