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
from importlib import metadata
import os
import re

from keystoneauth1 import loading as ks_loading
import testtools

from vdi_broker.conf import opts as vdi_opts

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
