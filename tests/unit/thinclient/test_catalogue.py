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

"""The Chinese catalogue covers every message, placeholders and all."""

import os
import re

from babel.messages import extract
from babel.messages import pofile
import fixtures

from tests import base
from vdi_broker.thinclient import answers
from vdi_broker.thinclient import i18n

PO = os.path.join(i18n.LOCALE_DIR, "zh_CN", "LC_MESSAGES",
                  i18n.DOMAIN + ".po")
POT = os.path.join(i18n.LOCALE_DIR, i18n.DOMAIN + ".pot")
PACKAGE = os.path.dirname(i18n.LOCALE_DIR)


def fields(text):
    return sorted(re.findall(r"\{(\w+)\}", text))


def read(path):
    with open(path, "rb") as f:
        return pofile.read_po(f)


class CatalogueTest(base.TestCase):

    def test_the_template_has_every_marked_message(self):
        marked = set()
        for name in os.listdir(PACKAGE):
            if name.endswith(".py"):
                with open(os.path.join(PACKAGE, name), "rb") as f:
                    for _line, message, _c, _ctx in extract.extract(
                            "python", f, keywords={"N_": None}):
                        marked.add(message)
        template = {m.id for m in read(POT) if m.id}
        self.assertEqual(marked, template,
                         "regenerate the template: pybabel extract "
                         "--no-default-keywords -k N_ ...")
        shown = {m for m, _level in answers.MESSAGES.values()}
        shown |= set(answers.LABELS.values())
        self.assertEqual(shown, marked)

    def test_chinese_translates_everything(self):
        template = {m.id for m in read(POT) if m.id}
        catalogue = read(PO)
        translated = {}
        for message in catalogue:
            if not message.id:
                continue
            self.assertFalse(message.fuzzy, message.id)
            self.assertTrue(message.string, message.id)
            self.assertEqual(fields(message.id), fields(message.string),
                             message.id)
            translated[message.id] = message.string
        self.assertEqual(template, set(translated))

    def test_without_a_compiled_catalogue_english(self):
        empty = self.useFixture(fixtures.TempDir()).path
        tr = i18n.translation("zh", empty)
        self.assertEqual("Log in", tr.gettext("Log in"))
