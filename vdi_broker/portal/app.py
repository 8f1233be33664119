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

"""The portal's WSGI application: routes, sessions, CSRF, static files.

Every page but the sign-in page needs a session. Every POST must carry
the session's CSRF token (a synchronizer token in a hidden field) and,
when the browser sends one, an Origin of this site; the sign-in form,
which has no session yet, carries a token that must match a cookie set
with the form (double submit). Every response has a Content-Security-
Policy without inline scripts.
"""

import mimetypes
import os
import urllib.parse

from oslo_log import log as logging
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id
import routes
import webob
import webob.dec
import webob.static

from vdi_broker.portal import api
from vdi_broker.portal import i18n
from vdi_broker.portal import store as store_mod
from vdi_broker.portal import views
from vdi_broker.portal import web

LOG = logging.getLogger(__name__)
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
N_ = web.N_

# The sections of the navigation, in order. Shift plans join here when
# the API offers them.
NAV = [
    ("overview", "/", N_("Overview")),
    ("pools", "/pools", N_("Pools")),
    ("desktops", "/desktops", N_("Desktops")),
    ("hosts", "/hosts", N_("Hosts")),
    ("users", "/users", N_("Sessions and users")),
    ("assets", "/thin-clients", N_("Thin clients and seats")),
    ("allocators", "/allocators", N_("Allocators")),
    ("jobs", "/jobs", N_("Maintenance")),
    ("alerts", "/alerts", N_("Alerts")),
    ("events", "/events", N_("Events")),
]

# The navigation's section of a path's first part, where they differ.
SECTIONS = {"": "overview", "thin-clients": "assets", "seats": "assets",
            "sessions": "users", "rollouts": "jobs",
            "maintenance-windows": "jobs"}

# Paths served without a session.
PUBLIC = ("/signin", "/language", "/healthcheck")


class PortalApp:

    def __init__(self, conf, store=None):
        self.conf = conf
        self.store = store or store_mod.SessionStore(
            conf.portal.session_file,
            conf.portal.session_idle_timeout * 60)
        self.mapper = routes.Mapper()
        self.methods = {}
        for path, methods in views.ROUTES:
            self.mapper.connect(path, route_path=path)
            self.methods[path] = methods
        mimetypes.add_type("text/javascript", ".js")
        self.static = webob.static.DirectoryApp(STATIC)

    def nav(self, req):
        section = req.path_info.strip("/").split("/")[0]
        active = SECTIONS.get(section, section)
        return [{"key": key, "href": href, "label": req.gettext(label),
                 "active": key == active} for key, href, label in NAV]

    # -- sessions ----------------------------------------------------------

    def _load_session(self, req):
        session_id = req.cookies.get(web.SESSION_COOKIE)
        data = self.store.get(session_id) if session_id else None
        if data is not None:
            req.session = data
            req.session_id = session_id

    def start_session(self, req, data, expires_at):
        """Sign in: a new session (a new id, never the old one's)."""
        if req.session_id:
            self.store.delete(req.session_id)
        data = dict(data, csrf=web.new_csrf_token(), flash=[])
        req.session_id = self.store.create(data, expires_at)
        req.session = data

    def end_session(self, req):
        if req.session_id:
            self.store.delete(req.session_id)
        req.session = None
        req.session_id = None

    def _cookie_secure(self, req):
        return self.conf.portal.secure_cookies or req.scheme == "https"

    def set_cookie(self, req, response, name, value, max_age=None,
                   http_only=True):
        response.set_cookie(name, value, max_age=max_age, path="/",
                            secure=self._cookie_secure(req),
                            httponly=http_only, samesite="lax")

    # -- dispatch ----------------------------------------------------------

    @webob.dec.wsgify(RequestClass=web.PortalRequest)
    def __call__(self, req):
        req.portal = self
        if req.path_info.startswith("/static/"):
            response = self._static(req)
            response.headers.update(web.SECURITY_HEADERS)
            return response
        req.lang = i18n.negotiate(req.cookies.get(i18n.COOKIE),
                                  req.headers.get("Accept-Language"))
        self._load_session(req)
        original_id = req.session_id
        try:
            response = self._dispatch(req)
        except Exception:
            LOG.exception("Unexpected error on %s %s", req.method, req.path)
            response = self._error(req, 500, req.gettext(
                "The portal failed to show this page. The error is in "
                "the portal's log."))
        if req.session_id and req.session_changed:
            self.store.save(req.session_id, req.session)
        if req.session_id != original_id:
            if req.session_id:
                self.set_cookie(req, response, web.SESSION_COOKIE,
                                req.session_id)
            else:
                response.delete_cookie(web.SESSION_COOKIE, path="/")
        response.headers.update(web.SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Vary", "Cookie, Accept-Language")
        return response

    def _static(self, req):
        if req.method not in ("GET", "HEAD"):
            return webob.Response(status=405)
        req.path_info = req.path_info[len("/static"):]
        response = req.get_response(self.static)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    def _dispatch(self, req):
        path = req.path_info.rstrip("/") or "/"
        match = self.mapper.match(path)
        if match is None:
            return self._error(req, 404, req.gettext("No such page."))
        methods = self.methods[match.pop("route_path")]
        handler = methods.get(req.method if req.method != "HEAD" else "GET")
        if handler is None:
            response = self._error(req, 405,
                                   req.gettext("Method not allowed."))
            response.allow = sorted(methods)
            return response
        req.urlvars = match
        if path not in PUBLIC:
            if req.session is None:
                if req.method != "GET" or path.endswith(".json"):
                    return self._error(req, 401, req.gettext(
                        "You are not signed in, or your session ended."))
                return req.redirect("/signin?next=" + _quote(req.path_qs))
            if req.method == "POST" and not self._post_allowed(req):
                return self._error(req, 403, req.gettext(
                    "This form expired or did not come from the portal "
                    "(the CSRF check failed). Reload the page and try "
                    "again."))
        try:
            return handler(req)
        except api.ApiError as e:
            if e.status == 401 and req.session is not None:
                # The token expired or was revoked: sign in again.
                self.end_session(req)
                return req.redirect("/signin?expired=1&next=" +
                                    _quote(req.path_qs))
            LOG.info("API error on %s %s: %s", req.method, req.path, e)
            return self._error(req, e.status if 400 <= e.status < 600
                               else 502, req.api_failure(
                                   e, req.gettext("Loading this page"))[1])

    def _post_allowed(self, req):
        origin = req.headers.get("Origin")
        if origin and origin != req.host_url:
            LOG.warning("Refused a POST to %s from origin %s", req.path,
                        origin)
            return False
        if not web.tokens_match(req.csrf_token,
                                req.POST.get(web.CSRF_FIELD)):
            LOG.warning("Refused a POST to %s without the session's CSRF "
                        "token", req.path)
            return False
        return True

    def _error(self, req, status, message):
        if req.path_info.endswith(".json"):
            response = webob.Response(status=status, charset="UTF-8",
                                      content_type="application/json")
            response.json_body = {"error": message}
            return response
        return req.render("error.html", status=status, status_code=status,
                          message=message)


def _quote(value):
    return urllib.parse.quote(value, safe="")


def wrap(app, conf):
    """The middleware around the portal: request ids, proxy headers."""
    wrapped = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)
    return request_id.RequestId(wrapped)


def build_app(conf, store=None):
    return wrap(PortalApp(conf, store=store), conf)
