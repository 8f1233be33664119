# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The Kolla files in etc/kolla are consistent with the code.

Docker cannot run on the project's CI machines, so the images are not
built here. What can be checked is checked: the kolla_set_configs files
name files that exist and commands that exist, the example configuration
sets only registered options with values of the right type, and the
Dockerfile templates render with Kolla's template variables.
"""

import configparser
import json
import os

import jinja2
from oslo_config import cfg
import testtools

from tests.unit import test_devstack_plugin
from vdi_broker.conf import opts as vdi_opts

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
KOLLA = os.path.join(ROOT, 'etc', 'kolla')
CONFIG = os.path.join(KOLLA, 'config')
DOCKER = os.path.join(KOLLA, 'docker', 'vdi-broker')
CONFIG_FILES_DIR = '/var/lib/kolla/config_files/'

# Stand-ins for Kolla's macros.j2 and its "customizable" filter: enough to
# render the templates and see what they install.
MACROS = """
{% macro install_pip(packages) -%}
python3 -m pip install {{ packages | join(' ') }}
{%- endmacro %}
{% macro install_packages(packages) -%}
RUN apt-get install -y {{ packages | join(' ') }}
{%- endmacro %}
"""
KOLLA_VARIABLES = {
    'namespace': 'kolla', 'image_prefix': 'debian-source-',
    'tag': 'test', 'maintainer': 'vdi-broker', 'image_name': 'x',
    'build_date': '2026-11-26', 'base_distro': 'debian',
    'base_package_type': 'deb',
}


def console_scripts():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, 'setup.cfg'))
    lines = parser['entry_points']['console_scripts'].strip().splitlines()
    return {line.split('=')[0].strip() for line in lines}


class KollaConfigJsonTestCase(testtools.TestCase):

    def _config_jsons(self):
        names = sorted(n for n in os.listdir(CONFIG) if n.endswith('.json'))
        self.assertEqual(['vdi-broker-api.json', 'vdi-broker-bootstrap.json',
                          'vdi-broker-conductor.json'], names)
        for name in names:
            with open(os.path.join(CONFIG, name)) as f:
                yield name, json.load(f)

    def test_shape(self):
        for name, document in self._config_jsons():
            self.assertEqual({'command', 'config_files', 'permissions'},
                             set(document), name)
            for entry in document['config_files']:
                self.assertLessEqual({'source', 'dest', 'owner', 'perm'},
                                     set(entry), name)
                self.assertTrue(entry['source'].startswith(
                    CONFIG_FILES_DIR), entry)
                self.assertRegex(entry['perm'], r'^0[0-7]{3}$')
            for entry in document['permissions']:
                self.assertLessEqual({'path', 'owner'}, set(entry), name)

    def test_sources_are_shipped(self):
        # Every file kolla_set_configs copies has an example here, except
        # the optional policy file (the defaults are in code).
        for name, document in self._config_jsons():
            for entry in document['config_files']:
                source = os.path.basename(entry['source'])
                if entry.get('optional'):
                    continue
                self.assertTrue(os.path.exists(os.path.join(CONFIG, source)),
                                '%s copies %s, not in etc/kolla/config'
                                % (name, source))

    def test_commands_exist(self):
        scripts = console_scripts()
        for name, document in self._config_jsons():
            program = document['command'].split()[0]
            self.assertIn(program, scripts | {'uwsgi'}, name)

    def test_api_serves_the_wsgi_module(self):
        parser = configparser.ConfigParser(strict=False)
        parser.read(os.path.join(CONFIG, 'vdi-broker-api-uwsgi.ini'))
        self.assertEqual('vdi_broker.wsgi.api:application',
                         parser['uwsgi']['module'])


class KollaExampleConfigTestCase(testtools.TestCase):

    PATH = os.path.join(CONFIG, 'vdi-broker.conf')

    def test_every_key_is_a_registered_option(self):
        registered = test_devstack_plugin.registered_options()
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(self.PATH)
        unknown = []
        for section in parser.sections() + ['DEFAULT']:
            for key in parser[section]:
                if section != 'DEFAULT' and key in parser.defaults():
                    continue
                if key not in registered.get(section, ()):
                    unknown.append('[%s] %s' % (section, key))
        self.assertEqual([], unknown)

    def test_values_have_the_right_types(self):
        conf = cfg.ConfigOpts()
        for group, opts in vdi_opts.list_opts():
            conf.register_opts(opts, group=group)
        conf(args=['--config-file', self.PATH], project='vdi-broker',
             default_config_files=[], default_config_dirs=[])
        self.addCleanup(conf.reset)
        # Reading a value parses it: a wrong type or choice raises here.
        self.assertEqual('ad_in_chain', conf.ldap.group_mode)
        self.assertEqual(['ldaps://dc1.example.com',
                          'ldaps://dc2.example.com'], conf.ldap.urls)
        self.assertFalse(conf.conductor.use_local)
        self.assertEqual('nova', conf.compute.driver)
        self.assertTrue(conf.coordination.backend_url.startswith('etcd3+'))


class KollaDockerfileTestCase(testtools.TestCase):

    def _render(self, image):
        with open(os.path.join(DOCKER, image, 'Dockerfile.j2')) as f:
            source = f.read()
        env = jinja2.Environment(
            loader=jinja2.DictLoader({'macros.j2': MACROS}),
            undefined=jinja2.StrictUndefined)
        env.filters['customizable'] = lambda value, _name: value
        return env.from_string(source).render(**KOLLA_VARIABLES)

    def test_images_build_on_each_other(self):
        self.assertIn('FROM kolla/debian-source-openstack-base:test',
                      self._render('vdi-broker-base'))
        for image in ('vdi-broker-api', 'vdi-broker-conductor'):
            rendered = self._render(image)
            self.assertIn('FROM kolla/debian-source-vdi-broker-base:test',
                          rendered)
            self.assertIn('USER vdi-broker', rendered)

    def test_base_installs_the_source_and_extend_start(self):
        rendered = self._render('vdi-broker-base')
        self.assertIn('python3 -m pip install /vdi-broker etcd3gw redis',
                      rendered)
        self.assertIn('COPY extend_start.sh /usr/local/bin/kolla_extend_start',
                      rendered)
        self.assertTrue(os.path.exists(
            os.path.join(DOCKER, 'vdi-broker-base', 'extend_start.sh')))

    def test_api_image_has_uwsgi(self):
        self.assertIn('python3 -m pip install uwsgi',
                      self._render('vdi-broker-api'))
