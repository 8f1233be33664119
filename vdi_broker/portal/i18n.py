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

"""The portal's languages: gettext catalogues shipped in the package.

Messages are in ``vdi_broker/portal/locale/<lang>/LC_MESSAGES/
vdi_broker_portal.po`` (source) and ``.mo`` (compiled, shipped);
``tools/portal-catalog.sh`` extracts, updates and compiles them with
Babel. The viewer's language is the one chosen with the language switch
(a cookie), else the best of Accept-Language, else English. A
deployment may point VDI_BROKER_PORTAL_LOCALEDIR at its own catalogues
(the oslo.i18n convention of ``<DOMAIN>_LOCALEDIR``).
"""

import functools
import gettext
import os

import webob.acceptparse

DOMAIN = "vdi_broker_portal"
DEFAULT = "en"
# Language code -> its own name, as the switch shows it.
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
# The tag of each language for the HTML lang attribute and Intl.
HTML_TAGS = {"en": "en", "zh_CN": "zh-CN"}
COOKIE = "vdi_portal_lang"


def localedir():
    return os.environ.get(
        DOMAIN.upper() + "_LOCALEDIR",
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "locale"))


@functools.lru_cache(maxsize=None)
def translations(lang):
    """The gettext translations of ``lang`` (English: the messages)."""
    if lang == DEFAULT:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir(), languages=[lang],
                               fallback=True)


def _normalize(tag):
    tag = (tag or "").replace("-", "_")
    for code in LANGUAGES:
        if tag.lower() == code.lower():
            return code
    base = tag.split("_")[0].lower()
    if base == "zh":
        return "zh_CN"
    if base == "en":
        return "en"
    return None


def negotiate(cookie_value, accept_language):
    """The language for a request: the cookie's, else Accept-Language's."""
    chosen = _normalize(cookie_value)
    if chosen:
        return chosen
    header = webob.acceptparse.create_accept_language_header(
        accept_language)
    try:
        ranked = sorted(header.parsed or (), key=lambda p: -p[1])
        for tag, quality in ranked:
            if quality <= 0:
                continue
            code = _normalize(tag)
            if code:
                return code
    except (TypeError, ValueError):
        pass
    return DEFAULT
