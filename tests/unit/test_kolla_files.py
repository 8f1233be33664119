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

"""The Kolla files in etc/kolla are consistent with the code and Kolla.

Docker cannot run on the project's CI machines, so the images are not
built here. What can be checked is checked: the kolla_set_configs files
name files that exist and commands that exist, the example configuration
sets only registered options with values of the right type, the
Dockerfile templates render with Kolla's template variables and macros
and follow Kolla's own templates (kolla/docker/placement as read in
openstack/kolla, July 2026), and the extend_start scripts run in the order
Kolla's start.sh runs them.
"""

import configparser
import json
import os
import re
import subprocess

import fixtures
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
# render the templates and see what they do. configure_user fails, as
# Kolla's does, for a user that neither Kolla's users table nor a
# [<name>-user] section of kolla-build.conf defines.
MACROS = """
{% macro install_pip(packages) -%}
python3 -m pip install {{ packages | join(' ') }}
{%- endmacro %}
{% macro install_packages(packages) -%}
RUN apt-get install -y {{ packages | join(' ') }}
{%- endmacro %}
{% macro configure_user(name, groups=None, shell=None, homedir=None) %}
{%- if name not in users %}{{ raise_error('no user ' + name) }}{% endif %}
RUN usermod --append --home /var/lib/{{ name }} --groups kolla {{ name }} \\
    && mkdir -p /var/lib/{{ name }} \\
    && chown -R {{ users[name].uid }}:{{ users[name].gid }} /var/lib/{{ name }}
{% endmacro %}
{% macro kolla_patch_sources() -%}
{% if patches_path %}
    COPY patches /patches
    RUN kolla_patch
{% endif %}
{%- endmacro %}
"""
# What kolla-build passes (kolla/image/kolla_worker.py); image names have
# no install type and no prefix since Zed: kolla/vdi-broker-api:TAG.
KOLLA_VARIABLES = {
    'namespace': 'kolla', 'image_prefix': '',
    'tag': 'master-debian-trixie', 'maintainer': 'vdi-broker',
    'image_name': 'x', 'base_distro': 'debian', 'base_package_type': 'deb',
    'patches_path': None,
}
KOLLA_BUILD_CONF = os.path.join(KOLLA, 'kolla-build.conf')
# What Kolla's openstack-base image pip-installs already, among what the
# broker could want (kolla/docker/openstack-base/Dockerfile.j2): uWSGI and
# tooz's etcd3gw and redis drivers.
OPENSTACK_BASE_PIP = ('uwsgi', 'etcd3gw', 'redis', 'tooz')


class _RaiseError(Exception):
    pass


def _raise_error(message):
    raise _RaiseError(message)


def kolla_build_users(path=KOLLA_BUILD_CONF):
    """The users a kolla-build.conf adds: {name: {uid, gid, group}}."""
    parser = configparser.ConfigParser()
    parser.read(path)
    users = {}
    for section in parser.sections():
        if section.endswith('-user'):
            name = section[:-len('-user')]
            users[name] = {'uid': parser.getint(section, 'uid'),
                           'gid': parser.getint(section, 'gid'),
                           'group': parser.get(section, 'group',
                                               fallback=name)}
    return users


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


IMAGES = ('vdi-broker-base', 'vdi-broker-api', 'vdi-broker-conductor')


class KollaDockerfileTestCase(testtools.TestCase):

    def _source(self, image):
        with open(os.path.join(DOCKER, image, 'Dockerfile.j2')) as f:
            return f.read()

    def _render(self, image, users=None, **variables):
        env = jinja2.Environment(
            loader=jinja2.DictLoader({'macros.j2': MACROS}),
            undefined=jinja2.StrictUndefined)
        env.filters['customizable'] = lambda value, _name: value
        env.globals['raise_error'] = _raise_error
        values = dict(KOLLA_VARIABLES,
                      users=kolla_build_users() if users is None else users)
        values.update(variables)
        return env.from_string(self._source(image)).render(**values)

    def test_labels_block_and_patches_as_kolla_has_them(self):
        for image in IMAGES:
            source = self._source(image)
            self.assertRegex(
                source, r'\{% block labels %\}\nLABEL maintainer='
                        r'"\{\{ maintainer \}\}" name="\{\{ image_name '
                        r'\}\}"\n\{% endblock %\}', image)
            self.assertIn('{{ macros.kolla_patch_sources() }}', source,
                          image)
            rendered = self._render(image, patches_path='/patches')
            self.assertIn('RUN kolla_patch', rendered, image)

    def test_user_comes_from_kolla_build_conf(self):
        users = kolla_build_users()
        self.assertEqual({'uid': 42600, 'gid': 42600, 'group': 'vdi-broker'},
                         users['vdi-broker'])
        # Outside the range of Kolla's own users (42400 and up).
        self.assertGreaterEqual(users['vdi-broker']['uid'], 42600)
        rendered = self._render('vdi-broker-base')
        self.assertIn('usermod --append --home /var/lib/vdi-broker '
                      '--groups kolla vdi-broker', rendered)
        for image in IMAGES:
            self.assertNotRegex(self._source(image), r'useradd|groupadd',
                                image)
        # Without the kolla-build.conf section Kolla refuses the build.
        self.assertRaises(_RaiseError, self._render, 'vdi-broker-base',
                          users={})

    def test_nothing_openstack_base_has_is_installed_again(self):
        for image in IMAGES:
            for line in self._render(image).splitlines():
                if 'pip install' in line:
                    packages = line.split('pip install', 1)[1].split()
                    self.assertEqual([], [p for p in packages if p.split(
                        '[')[0] in OPENSTACK_BASE_PIP], (image, line))

    def test_images_build_on_each_other(self):
        self.assertIn('FROM kolla/openstack-base:master-debian-trixie',
                      self._render('vdi-broker-base'))
        for image in ('vdi-broker-api', 'vdi-broker-conductor'):
            rendered = self._render(image)
            self.assertIn('FROM kolla/vdi-broker-base:master-debian-trixie',
                          rendered)
            self.assertIn('USER vdi-broker', rendered)

    def test_base_installs_the_source_and_extend_start(self):
        rendered = self._render('vdi-broker-base')
        self.assertIn('python3 -m pip install /vdi-broker \\', rendered)
        self.assertIn('COPY extend_start.sh /usr/local/bin/kolla_extend_start',
                      rendered)
        self.assertIn('touch /usr/local/bin/kolla_vdi_broker_extend_start',
                      rendered)
        self.assertIn('COPY extend_start.sh '
                      '/usr/local/bin/kolla_vdi_broker_extend_start',
                      self._render('vdi-broker-api'))


class KollaExtendStartTestCase(testtools.TestCase):
    """kolla_extend_start as Kolla's start.sh sources it, in a sandbox.

    The absolute paths of the scripts are moved under a temporary
    directory; vdi-broker-manage is a stand-in that records whether the
    log directory existed when it ran.
    """

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        self.bin = os.path.join(self.root, 'usr', 'local', 'bin')
        self.log_dir = os.path.join(self.root, 'var', 'log', 'kolla',
                                    'vdi-broker')
        os.makedirs(self.bin)
        self.record = os.path.join(self.root, 'record')
        self._install('vdi-broker-base', 'kolla_extend_start')
        # The base image touches the service's script; the API image
        # replaces it with its own.
        open(os.path.join(self.bin, 'kolla_vdi_broker_extend_start'),
             'w').close()
        manage = os.path.join(self.bin, 'vdi-broker-manage')
        with open(manage, 'w') as f:
            f.write('#!/bin/bash\n'
                    'if [[ -d "%s" ]]; then log=yes; else log=no; fi\n'
                    'echo "vdi-broker-manage $* log_dir=$log" >> "%s"\n'
                    % (self.log_dir, self.record))
        os.chmod(manage, 0o755)

    def _install(self, image, name):
        path = os.path.join(DOCKER, image, 'extend_start.sh')
        if not os.path.exists(path):
            return
        with open(path) as f:
            script = f.read()
        script = re.sub(r'(?<![\w/])/(usr/local/bin|var/log/kolla)\b',
                        lambda m: '%s/%s' % (self.root, m.group(1)), script)
        with open(os.path.join(self.bin, name), 'w') as f:
            f.write(script)

    def _start(self, **env):
        # start.sh: errexit, then ". kolla_extend_start", then the command.
        proc = subprocess.run(
            ['bash', '-c', 'set -o errexit; . kolla_extend_start; '
                           'echo command >> "%s"' % self.record],
            env=dict(os.environ, PATH='%s:%s' % (self.bin,
                                                 os.environ['PATH']),
                     **env),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        with open(self.record) as f:
            return proc.returncode, f.read().splitlines()

    def test_bootstrap_syncs_after_the_log_directory_exists(self):
        self._install('vdi-broker-api', 'kolla_vdi_broker_extend_start')
        rc, record = self._start(KOLLA_BOOTSTRAP='')
        self.assertEqual(0, rc)
        self.assertEqual(['vdi-broker-manage --config-file '
                          '/etc/vdi-broker/vdi-broker.conf db sync '
                          'log_dir=yes'], record)
        self.assertEqual('755', oct(os.stat(self.log_dir).st_mode)[-3:])

    def test_upgrade_syncs_and_stops(self):
        self._install('vdi-broker-api', 'kolla_vdi_broker_extend_start')
        rc, record = self._start(KOLLA_UPGRADE='')
        self.assertEqual(0, rc)
        self.assertEqual(1, len(record), record)
        self.assertIn('db sync log_dir=yes', record[0])

    def test_services_start_with_the_log_directory(self):
        for image in ('vdi-broker-api', 'vdi-broker-conductor'):
            self._install(image, 'kolla_vdi_broker_extend_start')
            rc, record = self._start()
            self.assertEqual(0, rc, image)
            self.assertEqual('command', record[-1], image)
            self.assertTrue(os.path.isdir(self.log_dir), image)
