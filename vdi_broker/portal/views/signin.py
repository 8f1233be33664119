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

"""Signing in and out, the language switch, the health check."""

import secrets

from oslo_log import log as logging
import webob

from vdi_broker.portal import auth
from vdi_broker.portal import i18n
from vdi_broker.portal import personas
from vdi_broker.portal import web

LOG = logging.getLogger(__name__)
# The sign-in form's CSRF token: there is no session yet, so the token
# is also in this cookie, and both must match (double submit).
SIGNIN_COOKIE = "vdi_portal_signin"

N_ = web.N_
PERSONA_LABELS = {
    personas.ADMIN: N_("Administrator: everything"),
    personas.OPERATOR: N_("Operator: pools, desktops, seats, thin clients"),
    personas.HELPDESK: N_("Helpdesk: log agents off, reboot, move "
                          "bindings"),
    personas.READER: N_("Reader: look, change nothing"),
}
REASONS = {
    "credentials": N_("Wrong user name or password, or no role in the "
                      "operator project."),
    "role": N_("Your user has no role in the operator project that the "
               "broker knows (reader, member, manager or admin)."),
    "endpoint": N_("The service catalog has no endpoint of the broker "
                   "(service type vdi)."),
    "unreachable": N_("Keystone cannot be reached. Try again in a "
                      "moment."),
    "keystone": N_("Keystone refused the sign-in."),
    "config": N_("The portal is not configured for Keystone ([portal] "
                 "auth_url)."),
    "persona": N_("Choose a persona."),
    "form": N_("The sign-in form expired. Try again."),
}


def _form(req, status=200, error=None):
    token = secrets.token_urlsafe(32)
    mode = req.portal.conf.portal.auth_strategy
    response = req.render(
        "signin.html", status=status, mode=mode, signin_token=token,
        error=error, next=web.local_path(req.params.get("next"), "/"),
        expired=req.params.get("expired") == "1",
        personas=[(p, req.gettext(PERSONA_LABELS[p]))
                  for p in personas.PERSONAS],
        username=req.POST.get("username", "") if req.method == "POST"
        else "")
    req.portal.set_cookie(req, response, SIGNIN_COOKIE, token,
                          max_age=3600)
    return response


def form(req):
    if req.session is not None:
        return req.redirect(web.local_path(req.GET.get("next"), "/"))
    return _form(req)


def submit(req):
    if not web.tokens_match(req.cookies.get(SIGNIN_COOKIE),
                            req.POST.get(web.CSRF_FIELD)):
        return _form(req, status=403, error=req.gettext(REASONS["form"]))
    conf = req.portal.conf
    try:
        if conf.portal.auth_strategy == "noauth":
            data, expires_at = auth.noauth(conf, req.POST.get("persona"))
        else:
            data, expires_at = auth.keystone(
                conf, req.POST.get("username", "").strip(),
                req.POST.get("password", ""))
    except auth.SignInFailed as e:
        LOG.info("Sign-in to the portal failed: %s", e.reason)
        return _form(req, status=401, error=req.gettext(REASONS[e.reason]))
    LOG.info("%s signed in to the portal as %s", data["user"],
             data["persona"])
    req.portal.start_session(req, data, expires_at)
    response = req.redirect(web.local_path(req.POST.get("next"), "/"))
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    return response


def signout(req):
    req.portal.end_session(req)
    return req.redirect("/signin")


def language(req):
    lang = req.GET.get("lang")
    response = req.redirect(web.local_path(req.GET.get("next"), "/"))
    if lang in i18n.LANGUAGES:
        req.portal.set_cookie(req, response, i18n.COOKIE, lang,
                              max_age=365 * 86400, http_only=False)
    return response


def healthcheck(req):
    return webob.Response(body=b"OK", content_type="text/plain")
