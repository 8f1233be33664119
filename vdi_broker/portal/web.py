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

"""The portal's request, templates and security headers.

:class:`PortalRequest` is what every view gets: the signed-in operator's
session, their persona, their language, and helpers to call the API,
render a page, confirm an action and redirect with a message.
"""

import functools
import hmac
import os
import secrets
import urllib.parse

import jinja2
import markupsafe
import webob

from vdi_broker.portal import api
from vdi_broker.portal import i18n
from vdi_broker.portal import personas

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "templates")
SESSION_COOKIE = "vdi_portal_session"
CSRF_FIELD = "csrf_token"

# No inline script or style, nothing from another origin, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def N_(message):
    """Mark a message for translation where it is defined."""
    return message


PERSONA_NAMES = {
    personas.ADMIN: N_("administrator"),
    personas.OPERATOR: N_("operator"),
    personas.HELPDESK: N_("helpdesk"),
    personas.READER: N_("reader"),
}


def _time(value):
    """A UTC ISO time as a <time> element the page's script localizes."""
    if not value:
        return markupsafe.Markup('<span class="muted">-</span>')
    text = value.replace("T", " ")[:16] + " UTC"
    return markupsafe.Markup('<time datetime="%s">%s</time>') % (value,
                                                                 text)


@functools.lru_cache(maxsize=1)
def environment():
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True, lstrip_blocks=True)
    env.filters["time"] = _time
    return env


def new_csrf_token():
    return secrets.token_urlsafe(32)


def tokens_match(expected, given):
    return bool(expected) and bool(given) and hmac.compare_digest(
        str(expected).encode("utf-8"), str(given).encode("utf-8"))


def local_path(value, default="/"):
    """``value`` if it is a path of this site, else ``default``.

    Guards redirects (next=...) against leading elsewhere.
    """
    if not value or not value.startswith("/") or value.startswith("//") \
            or "\\" in value:
        return default
    parts = urllib.parse.urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


class PortalRequest(webob.Request):
    """A request to the portal (set up by the application)."""

    portal = None
    session = None
    session_id = None
    lang = i18n.DEFAULT
    session_changed = False

    # -- language ----------------------------------------------------------

    def gettext(self, _message, **kwargs):
        text = i18n.translations(self.lang).gettext(_message)
        return text % kwargs if kwargs else text

    def ngettext(self, singular, plural, n, **kwargs):
        text = i18n.translations(self.lang).ngettext(singular, plural, n)
        kwargs.setdefault("num", n)
        return text % kwargs

    def _template_gettext(self, _message, **kwargs):
        # Text is escaped, then the values (escaped by Markup's %).
        text = markupsafe.escape(
            i18n.translations(self.lang).gettext(_message))
        return text % kwargs if kwargs else text

    def _template_ngettext(self, singular, plural, n, **kwargs):
        text = markupsafe.escape(
            i18n.translations(self.lang).ngettext(singular, plural, n))
        kwargs.setdefault("num", n)
        return text % kwargs

    # -- the operator ------------------------------------------------------

    @property
    def persona(self):
        return (self.session or {}).get("persona")

    def can(self, capability):
        return personas.can(self.persona, capability)

    def api(self):
        return api.Client(self.portal.conf, self.session["identity"],
                          request_id=self.environ.get(
                              "openstack.request_id"))

    @property
    def csrf_token(self):
        return (self.session or {}).get("csrf")

    def flash(self, kind, text):
        """A message for the next page shown (kind: ok, error)."""
        self.session.setdefault("flash", []).append(
            {"kind": kind, "text": text})
        self.session_changed = True

    def pop_flashes(self):
        if not self.session or not self.session.get("flash"):
            return []
        flashes = self.session.pop("flash")
        self.session_changed = True
        return flashes

    # -- responses ---------------------------------------------------------

    def render(self, template, status=200, **context):
        values = {
            "req": self, "_": self._template_gettext,
            "gettext": self._template_gettext,
            "ngettext": self._template_ngettext,
            "lang": self.lang, "html_lang": i18n.HTML_TAGS[self.lang],
            "languages": i18n.LANGUAGES,
            "session": self.session, "persona": self.persona,
            "persona_names": {p: self.gettext(label) for p, label in
                              PERSONA_NAMES.items()},
            "can": self.can, "csrf_token": self.csrf_token,
            "CSRF_FIELD": CSRF_FIELD, "nav": self.portal.nav(self),
            "flashes": self.pop_flashes(), "here": self.path_qs,
        }
        values.update(context)
        body = environment().get_template(template).render(values)
        return webob.Response(body=body.encode("utf-8"), status=status,
                              content_type="text/html", charset="UTF-8")

    def redirect(self, location, status=303):
        response = webob.Response(status=status)
        response.location = location
        return response

    def done(self, result, next_default="/"):
        """After an action: show ``result`` on the next page (PRG)."""
        kind, text = result
        self.flash(kind, text)
        return self.redirect(local_path(self.POST.get("next"),
                                        next_default))

    def api_failure(self, error, what):
        """An ApiError as the message an operator reads."""
        if error.status == 403:
            text = self.gettext(
                "The broker refused %(what)s: your role may not do this "
                "(403 Forbidden). %(message)s", what=what,
                message=error.message)
        else:
            text = self.gettext(
                "%(what)s failed: %(status)s %(title)s: %(message)s",
                what=what, status=error.status, title=error.title,
                message=error.message)
        if error.request_id:
            text += " [%s]" % error.request_id
        return ("error", text)

    def confirm(self, title, question, danger=False, omit=(), extra=()):
        """Ask before doing: None once confirmed, else the question page.

        The question page repeats the posted fields as a form with
        ``confirmed`` set, and offers a way back. Fields named in
        ``omit`` (a secret) are not repeated; ``extra`` (name, value)
        pairs are added.
        """
        if self.POST.get("confirmed") == "1":
            return None
        fields = [(k, v) for k, v in self.POST.items()
                  if k not in (CSRF_FIELD, "confirmed") and k not in omit]
        fields.extend(extra)
        return self.render("confirm.html", title=title, question=question,
                           fields=fields, action=self.path, danger=danger,
                           back=local_path(self.POST.get("next"), "/"))
