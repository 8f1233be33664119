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

"""The portal's languages and its catalogues."""

import os
import re
import subprocess
import sys

from babel.messages import extract
from babel.messages import mofile
from babel.messages import pofile

from tests import base
from vdi_broker.portal import i18n

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
PORTAL = os.path.join(ROOT, "vdi_broker", "portal")
KEYWORDS = dict(extract.DEFAULT_KEYWORDS, N_=None, ngettext=(1, 2))


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _messages():
    """Every message of the portal's code and templates.

    As Babel sees them with vdi_broker/portal/babel.cfg.
    """
    found = set()
    method_map = [("vdi_broker/portal/**.py", "python"),
                  ("vdi_broker/portal/templates/**.html", "jinja2")]
    for _path, _line, message, _comments, _ctx in extract.extract_from_dir(
            ROOT, method_map=method_map, keywords=KEYWORDS):
        found.add(message)
    return found


class TestCatalogues(base.TestCase):

    def _catalog(self, lang, ext):
        path = os.path.join(PORTAL, "locale", lang, "LC_MESSAGES",
                            i18n.DOMAIN + "." + ext)
        with open(path, "rb") as f:
            if ext == "po":
                return pofile.read_po(f, locale=lang)
            return mofile.read_mo(f)

    def test_every_message_is_translated(self):
        messages = _messages()
        self.assertGreater(len(messages), 200)
        for lang in i18n.LANGUAGES:
            if lang == i18n.DEFAULT:
                continue
            po = self._catalog(lang, "po")
            missing = [m for m in messages
                       if m not in po or not po[m].string or
                       po[m].fuzzy]
            self.assertEqual([], sorted(map(str, missing)), lang)

    def test_compiled_catalogue_matches_its_source(self):
        for lang in i18n.LANGUAGES:
            if lang == i18n.DEFAULT:
                continue
            po = self._catalog(lang, "po")
            mo = self._catalog(lang, "mo")
            source = {_key(m.id): _key(m.string) for m in po
                      if m.id and m.string}
            compiled = {_key(m.id): _key(m.string) for m in mo if m.id}
            self.assertEqual(source, compiled,
                             "run tools/portal-catalog.sh")

    def test_placeholders_are_kept(self):
        po = self._catalog("zh_CN", "po")
        for message in po:
            if not message.id or isinstance(message.id, tuple):
                continue
            names = sorted(re.findall(r"%\((\w+)\)s", message.id))
            self.assertEqual(names, sorted(re.findall(
                r"%\((\w+)\)s", message.string)), message.id)

    def test_translation(self):
        self.assertEqual("概览", i18n.translations("zh_CN").gettext(
            "Overview"))
        self.assertEqual("Overview", i18n.translations("en").gettext(
            "Overview"))


class TestNegotiation(base.TestCase):

    def test_cookie_first(self):
        self.assertEqual("en", i18n.negotiate("en", "zh-CN"))
        self.assertEqual("zh_CN", i18n.negotiate("zh_CN", "en"))

    def test_accept_language(self):
        self.assertEqual("zh_CN", i18n.negotiate(None, "zh-CN,zh;q=0.9"))
        self.assertEqual("zh_CN", i18n.negotiate(None, "zh-TW"))
        self.assertEqual("en", i18n.negotiate(None, "fr;q=1, en;q=0.5"))
        self.assertEqual("zh_CN", i18n.negotiate(
            None, "en;q=0.4, zh;q=0.8"))
        self.assertEqual("en", i18n.negotiate(None, None))
        self.assertEqual("en", i18n.negotiate("xx", "garbage;;q=x"))


class TestNoDatabase(base.TestCase):

    def test_portal_never_imports_the_database_or_the_api(self):
        code = ("import sys; import vdi_broker.wsgi; "
                "import vdi_broker.portal.app, vdi_broker.cmd.portal; "
                "bad = sorted(m for m in sys.modules if "
                "m.startswith(('vdi_broker.db', 'vdi_broker.api', "
                "'vdi_broker.conductor', 'sqlalchemy'))); print(bad)")
        out = subprocess.run([sys.executable, "-c", code], check=True,
                             capture_output=True, text=True).stdout
        self.assertEqual("[]", out.strip())
