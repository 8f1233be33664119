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

"""The thin client's messages in Chinese and English (gettext).

Unlike the broker, whose messages follow the request, the thin client
speaks the one language its configuration names. Messages are marked
with :func:`N_` where they are defined and translated where they are
shown, with the :class:`gettext.NullTranslations` of :func:`translation`.

The catalogues are ``locale/<lang>/LC_MESSAGES/vdi_broker_tc.po`` in this
package; gettext reads the compiled ``.mo``, made at install time (see
the thin-client chapter of the admin guide) with
``pybabel compile -D vdi_broker_tc -d <this directory>/locale``. Without
a compiled catalogue the window shows English and logs a warning.
"""

import gettext
import logging
import os

LOG = logging.getLogger(__name__)

DOMAIN = "vdi_broker_tc"
LOCALE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "locale")
# The languages of the configuration file, and the catalogue of each.
LANGUAGES = {"en": None, "zh": "zh_CN"}


def N_(message):
    """Mark a message for translation; translate it when it is shown."""
    return message


def translation(language, localedir=None):
    """The translations of ``language`` (a key of :data:`LANGUAGES`)."""
    catalogue = LANGUAGES[language]
    if catalogue is None:
        return gettext.NullTranslations()
    localedir = localedir or LOCALE_DIR
    try:
        return gettext.translation(DOMAIN, localedir, languages=[catalogue])
    except OSError:
        LOG.warning("No compiled %s catalogue for %s under %s: showing "
                    "English (compile it with pybabel compile -D %s -d %s)",
                    DOMAIN, catalogue, localedir, DOMAIN, localedir)
        return gettext.NullTranslations()
