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

"""One service type everywhere: the catalog, the CLI and the API header.

The broker's service type (``vdi``) is what DevStack and the install
guides register in Keystone, what the ``openstack vdi`` commands look up
in the catalog, and what the ``OpenStack-API-Version`` header names.
"""

import os
import re

import testtools

from vdi_broker.api import microversion
from vdi_broker.osc import client as osc_client
from vdi_broker.osc import plugin as osc_plugin
from vdi_broker import version

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


class TestServiceType(testtools.TestCase):

    def test_code(self):
        self.assertEqual("vdi", version.SERVICE_TYPE)
        for other in (microversion.SERVICE_TYPE, osc_plugin.SERVICE_TYPE,
                      osc_client.SERVICE_TYPE):
            self.assertEqual(version.SERVICE_TYPE, other)

    def test_service_types_authority_style(self):
        # Lower case letters, digits and dashes; not the project's name.
        self.assertRegex(version.SERVICE_TYPE, r"^[a-z][a-z0-9-]*[a-z0-9]$")
        self.assertNotEqual("vdi-broker", version.SERVICE_TYPE)

    def test_devstack_registers_it(self):
        settings = _read("devstack", "settings")
        self.assertIn("\nVDI_BROKER_SERVICE_TYPE=%s\n" % version.SERVICE_TYPE,
                      settings)
        self.assertRegex(_read("devstack", "lib", "vdi_broker"),
                         r'get_or_create_service "vdi-broker" \\\s+'
                         r'"\$VDI_BROKER_SERVICE_TYPE"')

    def test_install_guides_register_it(self):
        kolla = _read("doc", "source", "install", "kolla.rst")
        created = re.findall(r"openstack service create .*?\\\n\s+.*? (\S+)\n",
                             kolla)
        self.assertEqual([version.SERVICE_TYPE], created)
        endpoints = re.findall(r"openstack endpoint create --region \S+ (\S+)",
                               kolla)
        self.assertEqual([version.SERVICE_TYPE] * 2, endpoints)
        self.assertIn("the service of type ``%s``" % version.SERVICE_TYPE,
                      _read("doc", "source", "install", "index.rst"))
