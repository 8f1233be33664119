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

"""The DevStack plugin writes only options that really exist.

DevStack cannot run on the project's CI machines, so this test reads every
``iniset $VDI_BROKER_CONF <section> <key> ...`` in devstack/ and checks the
key against the options registered for that section: vdi-broker's own
groups from ``vdi_broker.conf.opts.list_opts()``, library groups from the
libraries' ``oslo.config.opts`` entry points, and ``[nova]`` from
keystoneauth1's loading helpers as well.
"""

import collections
import configparser
import getpass
from importlib import metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import types

import fixtures
from keystoneauth1 import loading as ks_loading
import sqlalchemy
import testtools

from vdi_broker.conf import opts as vdi_opts
from vdi_broker.identity import static

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DEVSTACK = os.path.join(ROOT, 'devstack')

# The variable naming the main configuration file, as devstack/settings
# defines it.
CONF_VAR = 'VDI_BROKER_CONF'

# Library namespaces whose groups the plugin (or DevStack's helpers that it
# calls) may write.
LIBRARY_NAMESPACES = (
    'keystonemiddleware.auth_token',
    'oslo.db',
    'oslo.log',
    'oslo.messaging',
    'oslo.middleware',
    'oslo.policy',
)

_WORD = r'("[^"]*"|\'[^\']*\'|\S+)'
INISET_RE = re.compile(r'^\s*iniset\s+%s\s+%s\s+%s' % (_WORD, _WORD, _WORD))
ASSIGN_RE = re.compile(r'^\s*(?:local\s+)?(\w+)=(\S+)\s*$')


def _unquote(word):
    if len(word) >= 2 and word[0] == word[-1] and word[0] in '"\'':
        return word[1:-1]
    return word


def _var_name(word):
    """'$X', '${X}', '"$X"' -> 'X'; anything else -> None."""
    match = re.fullmatch(r'\$\{?(\w+)\}?', _unquote(word))
    return match.group(1) if match else None


def devstack_files():
    for dirpath, _dirnames, filenames in os.walk(DEVSTACK):
        for name in sorted(filenames):
            yield os.path.join(dirpath, name)


def logical_lines(path):
    """Lines of a shell file with backslash continuations joined."""
    with open(path) as f:
        pending = ''
        for number, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if line.endswith('\\'):
                pending += line[:-1] + ' '
                continue
            yield number, pending + line
            pending = ''
        if pending:
            yield number, pending


def main_conf_inisets():
    """[(where, section, key)] of every iniset on the main config file."""
    lines = [(path, number, line)
             for path in devstack_files()
             for number, line in logical_lines(path)
             if not line.lstrip().startswith('#')]
    # Variables that stand for the main config file: VDI_BROKER_CONF and
    # any variable assigned from it (local conf=$VDI_BROKER_CONF).
    aliases = {CONF_VAR}
    for _path, _number, line in lines:
        match = ASSIGN_RE.match(line)
        if match and _var_name(match.group(2)) in aliases:
            aliases.add(match.group(1))
    found = []
    for path, number, line in lines:
        match = INISET_RE.match(line)
        if not match or _var_name(match.group(1)) not in aliases:
            continue
        where = '%s:%d' % (os.path.relpath(path, ROOT), number)
        found.append((where, _unquote(match.group(2)),
                      _unquote(match.group(3))))
    return found


def _add(registered, group, opts):
    if group is None:
        name = 'DEFAULT'
    else:
        name = getattr(group, 'name', group)
    for opt in opts:
        registered[name].add(opt.name)
        registered[name].add(opt.dest)


def registered_options():
    """{group name: {option names}} of everything the plugin may set."""
    registered = collections.defaultdict(set)
    for group, opts in vdi_opts.list_opts():
        _add(registered, group, opts)

    entry_points = {
        ep.name: ep
        for ep in metadata.entry_points(group='oslo.config.opts')
        if ep.name in LIBRARY_NAMESPACES}
    missing = set(LIBRARY_NAMESPACES) - set(entry_points)
    if missing:
        raise AssertionError('oslo.config.opts entry points not installed: '
                             '%s' % ', '.join(sorted(missing)))
    for name in LIBRARY_NAMESPACES:
        for group, opts in entry_points[name].load()():
            _add(registered, group, opts)

    # keystoneauth1 options: [nova] is a keystoneauth session + auth +
    # adapter group with the password plugin; keystonemiddleware loads the
    # same auth plugin options in [keystone_authtoken].
    password_opts = ks_loading.get_auth_plugin_conf_options('password')
    _add(registered, 'nova',
         ks_loading.get_session_conf_options() +
         ks_loading.get_auth_common_conf_options() +
         ks_loading.get_adapter_conf_options(include_deprecated=False) +
         password_opts)
    _add(registered, 'keystone_authtoken',
         ks_loading.get_auth_common_conf_options() + password_opts)
    return registered


class DevstackPluginTestCase(testtools.TestCase):

    def test_settings_names_the_main_config_file(self):
        with open(os.path.join(DEVSTACK, 'settings')) as f:
            settings = f.read()
        self.assertRegex(
            settings,
            r'(?m)^VDI_BROKER_CONF=\$\{?VDI_BROKER_CONF_DIR\}?'
            r'/vdi-broker\.conf$')

    def test_plugin_writes_config(self):
        inisets = main_conf_inisets()
        self.assertGreater(len(inisets), 10, inisets)
        written = {(section, key) for _where, section, key in inisets}
        for expected in (('database', 'connection'),
                         ('api', 'auth_strategy'),
                         ('api', 'operator_project_id'),
                         ('identity', 'driver'),
                         ('ldap', 'urls'),
                         ('nova', 'auth_url'),
                         ('coordination', 'backend_url')):
            self.assertIn(expected, written)

    def test_sections_and_keys_are_literal(self):
        for where, section, key in main_conf_inisets():
            self.assertNotIn('$', section + key,
                             '%s: write the section and key literally so '
                             'they can be checked' % where)

    def test_every_key_is_a_registered_option(self):
        registered = registered_options()
        unknown = []
        for where, section, key in main_conf_inisets():
            if section not in registered:
                unknown.append('%s: [%s] is not a registered group'
                               % (where, section))
            elif key not in registered[section]:
                unknown.append('%s: [%s] %s is not a registered option'
                               % (where, section, key))
        self.assertEqual([], unknown)

    def test_devstack_helpers_write_to_the_main_config_file(self):
        with open(os.path.join(DEVSTACK, 'lib', 'vdi_broker')) as f:
            lib = f.read()
        for helper in ('iniset_rpc_backend vdi-broker',
                       'configure_keystone_authtoken_middleware',
                       'setup_logging'):
            self.assertRegex(
                lib, r'%s \$\{?%s\}? ?' % (re.escape(helper), CONF_VAR))
        with open(os.path.join(DEVSTACK, 'settings')) as f:
            self.assertIn('vdi_broker.wsgi.api:application', f.read())


# -- the plugin's phases, run in bash with DevStack's functions recorded --

FAKE_DEVSTACK = os.path.join(ROOT, 'tests', 'fixtures', 'fake_devstack.sh')
PLUGIN_REPO = 'https://git.example.org/someone/vdi-broker-fork.git'
ADMIN_PASSWORD = 'devstack-admin-Passw0rd'


class DevstackPhasesTestCase(testtools.TestCase):
    """What the plugin would do in each phase of stack.sh/unstack/clean.

    DevStack cannot be cloned in CI. tests/fixtures/fake_devstack.sh
    replaces its functions with recorders; the plugin's settings and
    plugin.sh are sourced as DevStack sources them, one phase at a time.
    vdi-broker itself is real: ``vdi-broker-manage`` hashes the password
    and syncs a SQLite database, and the API check asks the WSGI
    application, configured from the files the plugin wrote.
    """

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.log = os.path.join(self.tmp, 'devstack.log')
        self.conf_dir = os.path.join(self.tmp, 'etc', 'vdi-broker')
        self.data_dir = os.path.join(self.tmp, 'data')
        os.makedirs(self.data_dir)
        # enable_plugin's checkout, $DEST/vdi-broker: this tree.
        self.dest = os.path.join(self.tmp, 'opt')
        self.plugin_dir = os.path.join(self.dest, 'vdi-broker')
        os.makedirs(self.dest)
        os.symlink(ROOT, self.plugin_dir)
        self.env = {
            'PATH': os.environ['PATH'],
            'HOME': self.tmp,
            'FAKE_DEVSTACK_LOG': self.log,
            'FAKE_BIN_DIR': os.path.dirname(sys.executable),
            'FAKE_DEVSTACK_PREFIX': '/vdi-broker',
            'PYTHON': sys.executable,
            'DEST': self.dest,
            'DATA_DIR': self.data_dir,
            'STACK_USER': getpass.getuser(),
            'GIT_BASE': 'https://opendev.org',
            'SERVICE_HOST': '127.0.0.1',
            'SERVICE_PROTOCOL': 'http',
            'SERVICE_TIMEOUT': '60',
            'SERVICE_PASSWORD': 'service-secret',
            'ADMIN_PASSWORD': ADMIN_PASSWORD,
            'RABBIT_PASSWORD': 'rabbit-secret',
            'LDAP_PASSWORD': 'ldap-secret',
            'KEYSTONE_SERVICE_URI': 'http://127.0.0.1/identity',
            'SERVICE_DOMAIN_NAME': 'Default',
            'SERVICE_PROJECT_NAME': 'service',
            'REGION_NAME': 'RegionOne',
            'MEMCACHE_SERVERS': 'localhost:11211',
            'SSL_BUNDLE_FILE': '',
            'ENABLE_DEBUG_LOG_LEVEL': 'True',
            'ENABLED_SERVICES': 'key,mysql,rabbit',
            'VDI_BROKER_CONF_DIR': self.conf_dir,
        }
        self.conf = os.path.join(self.conf_dir, 'vdi-broker.conf')
        self.uwsgi_conf = os.path.join(self.conf_dir,
                                       'vdi-broker-api-uwsgi.ini')
        self.users_file = os.path.join(self.conf_dir, 'users.json')

    # -- running phases ----------------------------------------------------

    def run_phase(self, *phase, fail=False, **env):
        """Source the plugin as DevStack does for one phase."""
        # stack.sh: enable_plugin, load_plugin_settings, run_plugins.
        script = '''
set -o errexit
source "$1"
shift
DEVSTACK_PLUGINS=vdi-broker
GITREPO[vdi-broker]=%s
GITBRANCH[vdi-broker]=stable/test
GITDIR[vdi-broker]=$DEST/vdi-broker
source ${GITDIR[vdi-broker]}/devstack/settings
source ${GITDIR[vdi-broker]}/devstack/plugin.sh "$@"
''' % PLUGIN_REPO
        start = self._records_count()
        proc = subprocess.run(
            ['bash', '-c', script, 'phase', FAKE_DEVSTACK] + list(phase),
            env=dict(self.env, **env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        output = (proc.stdout + proc.stderr).decode(errors='replace')
        if fail:
            self.assertNotEqual(0, proc.returncode, output)
        else:
            self.assertEqual(0, proc.returncode, output)
        return self.records()[start:], output

    def _records_count(self):
        return len(self.records())

    def records(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [tuple(line.rstrip('\n').split('\t')) for line in f]

    def materialize(self):
        """Write the ini files the recorded iniset calls describe."""
        files = collections.defaultdict(list)
        for record in self.records():
            if record[0] == 'iniset':
                path, section, key = record[1:4]
                value = record[4] if len(record) > 4 else ''
                files[path].append((section, key, value))
        for path, settings in files.items():
            parser = configparser.ConfigParser(interpolation=None)
            parser.optionxform = str
            for section, key, value in settings:
                if section != 'DEFAULT' and not parser.has_section(section):
                    parser.add_section(section)
                parser.set(section, key, value)
            with open(path, 'w') as f:
                parser.write(f)
        return files

    def stack(self, **env):
        install, _ = self.run_phase('stack', 'install', **env)
        post, _ = self.run_phase('stack', 'post-config', **env)
        files = self.materialize()
        extra, output = self.run_phase('stack', 'extra', **env)
        return install, post, files, extra

    @staticmethod
    def calls(records, name):
        return [r[1:] for r in records if r[0] == name]

    # -- the default stack: static users, Keystone, no Horizon -------------

    def test_default_stack(self):
        install, post, files, extra = self.stack()

        # Installed from the tree enable_plugin cloned; not cloned again.
        self.assertEqual([], self.calls(install, 'git_clone'))
        ((installed,),) = self.calls(install, 'setup_develop')
        self.assertEqual(ROOT, os.path.realpath(installed))

        # A users file the static driver accepts, with a user who can log
        # in with ADMIN_PASSWORD; readable by the stack user only.
        driver = self._static_driver()
        principal = driver.authenticate('demo', ADMIN_PASSWORD)
        self.assertEqual('demo', principal.username)
        self.assertEqual(0o600, os.stat(self.users_file).st_mode & 0o777)
        self.assertNotIn(ADMIN_PASSWORD, open(self.users_file).read())

        # Every key written to vdi-broker.conf is a registered option.
        registered = registered_options()
        unknown = ['[%s] %s' % (section, key)
                   for section, key, _value in files[self.conf]
                   if key not in registered.get(section, ())]
        self.assertEqual([], unknown)
        written = {(s, k): v for s, k, v in files[self.conf]}
        self.assertEqual('static', written[('identity', 'driver')])
        self.assertEqual(self.users_file,
                         written[('static_identity', 'users_file')])
        self.assertEqual('keystone', written[('api', 'auth_strategy')])

        # The service user, the service (of the type the CLI looks up)
        # and its endpoint at the Apache prefix.
        from vdi_broker.osc import plugin as osc_plugin
        self.assertEqual([('vdi-broker', 'admin')],
                         self.calls(post, 'create_service_user'))
        ((name, service_type, _description),) = self.calls(
            post, 'get_or_create_service')
        self.assertEqual(('vdi-broker', osc_plugin.SERVICE_TYPE),
                         (name, service_type))
        self.assertEqual(
            [('service-id-%s' % service_type, 'RegionOne',
              'http://127.0.0.1/vdi-broker')],
            self.calls(post, 'get_or_create_endpoint'))

        # The uWSGI file: the module, the configuration directory, and
        # Apache proxying the endpoint's prefix to it.
        uwsgi = {k: v for s, k, v in files[self.uwsgi_conf] if s == 'uwsgi'}
        self.assertEqual('vdi_broker.wsgi.api:application', uwsgi['module'])
        self.assertIsNotNone(importlib.util.find_spec('vdi_broker.wsgi.api'))
        self.assertEqual('OS_VDI_BROKER_CONFIG_DIR=%s' % self.conf_dir,
                         uwsgi['env'])
        self.assertEqual([('/vdi-broker', uwsgi['socket'])],
                         self.calls(post, 'apache_proxy_pass'))
        self.assertEqual([], self.calls(post, 'deprecated'))

        # extra: the database, its schema, both services, and the API
        # checked on its version document (not only "not 503").
        self.assertEqual([('vdi_broker',)],
                         self.calls(extra, 'recreate_database'))
        self._assert_schema_at_head()
        api, conductor, portal = self.calls(extra, 'run_process')
        self.assertEqual(('vdi-broker-api',
                          '/usr/bin/uwsgi --procname-prefix vdi-broker-api '
                          '--ini %s' % self.uwsgi_conf), api)
        self.assertEqual('vdi-broker-conductor', conductor[0])
        program, *args = conductor[1].split()
        self.assertTrue(os.access(program, os.X_OK), program)
        self.assertEqual(['--config-file', self.conf], args)
        # The operations portal (lib/vdi_broker_portal), after the API.
        self.assertEqual('vdi-broker-portal', portal[0])
        self.assertIn('--procname-prefix vdi-broker-portal --ini', portal[1])
        self.assertEqual([('60', 'http://127.0.0.1/vdi-broker/')],
                         self.calls(extra, 'wait_for_service'))
        self.assertEqual([('http://127.0.0.1/vdi-broker/',)],
                         self.calls(extra, 'curl'))
        self.assertEqual([], self.calls(self.records(), 'die'))

        # unstack and clean.
        unstack, _ = self.run_phase('unstack')
        self.assertEqual([('vdi-broker-portal',), ('vdi-broker-api',),
                          ('vdi-broker-conductor',)],
                         self.calls(unstack, 'stop_process'))
        clean, _ = self.run_phase('clean')
        self.assertEqual([(self.uwsgi_conf, 'vdi-broker-api')],
                         self.calls(clean, 'remove_uwsgi_config'))
        self.assertFalse(os.path.exists(self.conf_dir))

    def _static_driver(self):
        return static.StaticIdentityDriver(types.SimpleNamespace(
            static_identity=types.SimpleNamespace(
                users_file=self.users_file)))

    def _assert_schema_at_head(self):
        engine = sqlalchemy.create_engine(
            'sqlite:///%s/vdi_broker.sqlite' % self.data_dir)
        self.addCleanup(engine.dispose)
        with engine.connect() as conn:
            version = conn.execute(sqlalchemy.text(
                'SELECT version_num FROM alembic_version')).scalar()
        self.assertTrue(version)

    # -- the users file ----------------------------------------------------

    def test_rejected_users_file_is_replaced(self):
        # What earlier versions wrote: the driver rejects it, and the API
        # answered 500 to everything.
        os.makedirs(self.conf_dir)
        with open(self.users_file, 'w') as f:
            f.write('[]\n')
        self.run_phase('stack', 'post-config')
        self.assertEqual('demo', self._static_driver().authenticate(
            'demo', ADMIN_PASSWORD).username)

    def test_users_file_with_users_is_kept(self):
        os.makedirs(self.conf_dir)
        users = {'users': [{'username': 'amy', 'password_hash':
                            static.hash_password('amy-pw', 1000)}]}
        with open(self.users_file, 'w') as f:
            json.dump(users, f)
        self.run_phase('stack', 'post-config',
                       VDI_BROKER_STATIC_USER='other')
        with open(self.users_file) as f:
            self.assertEqual(users, json.load(f))

    def test_user_and_password_from_settings(self):
        self.run_phase('stack', 'post-config', VDI_BROKER_STATIC_USER='tc1',
                       VDI_BROKER_STATIC_PASSWORD='tc1-Passw0rd')
        self.assertEqual('tc1', self._static_driver().authenticate(
            'tc1', 'tc1-Passw0rd').username)

    # -- the API check -----------------------------------------------------

    def test_api_that_answers_500_stops_the_stack(self):
        # The application cannot load (an identity driver that does not
        # exist): uWSGI answers 500 and wait_for_service passes, the
        # check does not.
        self.env['VDI_BROKER_IDENTITY_DRIVER'] = 'nosuch'
        self.run_phase('stack', 'install')
        self.run_phase('stack', 'post-config')
        self.materialize()
        extra, output = self.run_phase('stack', 'extra', fail=True)
        self.assertEqual(1, len(self.calls(extra, 'wait_for_service')))
        (die,) = self.calls(extra, 'die')
        self.assertIn('does not serve its version document', die[0])
        self.assertIn('answered 500', output)
        self.assertEqual(['vdi-broker-api'],
                         [c[0] for c in self.calls(extra, 'run_process')])

    # -- where the source comes from ---------------------------------------

    def test_reclone_keeps_the_plugin_checkout(self):
        install, _ = self.run_phase('stack', 'install', RECLONE='True')
        self.assertEqual([], self.calls(install, 'git_clone'))

    def test_another_tree_is_cloned_from_enable_plugins_url(self):
        other = os.path.join(self.tmp, 'src', 'vdi-broker')
        install, _ = self.run_phase('stack', 'install', VDI_BROKER_DIR=other)
        self.assertEqual([(PLUGIN_REPO, other, 'stable/test')],
                         self.calls(install, 'git_clone'))
        self.assertEqual([(other,)], self.calls(install, 'setup_develop'))

    # -- other services ----------------------------------------------------

    def test_ldap(self):
        self.env['ENABLED_SERVICES'] += ',ldap'
        self.run_phase('stack', 'post-config')
        files = self.materialize()
        written = {(s, k): v for s, k, v in files[self.conf]}
        self.assertEqual('ldap', written[('identity', 'driver')])
        registered = registered_options()
        self.assertEqual([], ['[%s] %s' % (s, k) for s, k, _v
                              in files[self.conf]
                              if k not in registered.get(s, ())])
        self.assertFalse(os.path.exists(self.users_file))

    def test_horizon_makes_no_difference(self):
        # The plugin has no dashboard and needs none: the API is served
        # through Apache's uWSGI proxy, which DevStack sets up for every
        # service. With or without Horizon it does the same.
        without, _ = self.run_phase('stack', 'post-config')
        os.remove(self.users_file)
        self.env['ENABLED_SERVICES'] += ',horizon'
        with_horizon, _ = self.run_phase('stack', 'post-config')

        def comparable(records):
            # The users file's hash has a random salt.
            return [r for r in records if r[0] != 'curl']
        self.assertEqual(comparable(without), comparable(with_horizon))
        with open(os.path.join(ROOT, 'devstack', 'lib', 'vdi_broker')) as f:
            self.assertNotIn('horizon', f.read().lower())
