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

import configparser
import os

import testtools

from vdi_broker.hacking import checks

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


class HackingTestCase(testtools.TestCase):
    """Good and bad lines for each vdi-broker local check."""

    def _codes(self, check, line, filename):
        return [msg.split(':')[0]
                for _pos, msg in check(line, filename)]

    def assert_bad(self, check, code, line, filename):
        self.assertEqual([code], self._codes(check, line, filename),
                         '%r in %s should fail %s' % (line, filename, code))

    def assert_good(self, check, line, filename):
        self.assertEqual([], self._codes(check, line, filename),
                         '%r in %s should pass' % (line, filename))

    def test_vb301_options_outside_conf(self):
        check = checks.no_options_outside_conf
        for line in ("opt = cfg.StrOpt('driver', default='fake')",
                     "opts = [cfg.IntOpt('workers')]",
                     "x = oslo_config.cfg.ListOpt('urls')",
                     "CONF.register_opts(opts, group='ldap')",
                     "conf.register_opt(opt)",
                     "self.conf.register_opts(opts)",
                     "self._conf.register_opt(opt, group='x')",
                     "cfg.CONF.register_opts(opts)",
                     "(conf or cfg.CONF).register_opts(opts, group='a.b')",
                     "CONF.register_cli_opts(cli_opts)"):
            for filename in ('./vdi_broker/api/handler.py',
                             'vdi_broker/allocators/pool.py',
                             '/src/vdi-broker/vdi_broker/db/api.py'):
                self.assert_bad(check, 'VB301', line, filename)

    def test_vb301_good(self):
        check = checks.no_options_outside_conf
        for line, filename in (
                ("opt = cfg.StrOpt('driver')", './vdi_broker/conf/api.py'),
                ("CONF.register_opts(opts, group)",
                 'vdi_broker/conf/__init__.py'),
                ("def register_opts(conf):", './vdi_broker/conf/ldap.py'),
                ("conf.register_opt(cfg.StrOpt('x'))",
                 './tests/unit/test_conf.py'),
                ("CONF.set_override('driver', 'fake', 'compute')",
                 './vdi_broker/cmd/api.py'),
                ("value = CONF.api.auth_strategy",
                 './vdi_broker/api/auth.py'),
                ("ks_loading.load_session_from_conf_options(CONF, 'nova')",
                 './vdi_broker/compute/nova.py'),
                ("nova_conf.register_opts(conf)", './vdi_broker/cmd/api.py'),
                ("vdi_conf.register_opts(CONF)",
                 './vdi_broker/wsgi/__init__.py'),
                ("conf.register_opts(opts, group='nova')",
                 './tools/real-openstack-smoke.py'),
                ("opt = cfg.StrOpt('x')", './benchmarks/ldap_login.py'),
                ("command_opt = cfg.SubCommandOpt('command')",
                 './vdi_broker/cmd/manage.py'),
                ("CONF.register_cli_opt(command_opt)",
                 './vdi_broker/cmd/manage.py')):
            self.assert_good(check, line, filename)

    def test_vb301_cmd_only_cli_options(self):
        check = checks.no_options_outside_conf
        for line, filename in (
                ("opt = cfg.StrOpt('host')", './vdi_broker/cmd/api.py'),
                ("CONF.register_opts(opts)", './vdi_broker/cmd/api.py'),
                ("command_opt = cfg.SubCommandOpt('command')",
                 './vdi_broker/api/handler.py'),
                ("CONF.register_cli_opt(command_opt)",
                 './vdi_broker/conductor/manager.py')):
            self.assert_bad(check, 'VB301', line, filename)

    def test_vb302_policies_outside_policies(self):
        check = checks.no_policies_outside_policies
        for line in ("rule = policy.DocumentedRuleDefault(",
                     "rules = [policy.RuleDefault('admin', 'role:admin')]",
                     "r = DocumentedRuleDefault(name='x')"):
            for filename in ('./vdi_broker/policy.py',
                             './vdi_broker/api/handlers/pools.py'):
                self.assert_bad(check, 'VB302', line, filename)

    def test_vb302_good(self):
        check = checks.no_policies_outside_policies
        for line, filename in (
                ("policy.DocumentedRuleDefault(", './vdi_broker/policies/'
                 'pools.py'),
                ("policy.RuleDefault('a', 'b')",
                 './vdi_broker/policies/base.py'),
                ("policy.RuleDefault('a', 'b')",
                 './tests/unit/test_policy.py'),
                ("policy.RuleDefault('a', 'b')", './tools/gen.py'),
                ("ENFORCER.register_defaults(policies.list_rules())",
                 './vdi_broker/policy.py'),
                ("policy.authorize(context, 'vdi:pools:list', target)",
                 './vdi_broker/api/handlers/pools.py')):
            self.assert_good(check, line, filename)

    def test_vb303_no_eventlet(self):
        check = checks.no_eventlet
        for line in ("import eventlet",
                     "import eventlet.green.threading",
                     "import os, eventlet",
                     "import eventlet as ev",
                     "from eventlet import greenthread",
                     "from eventlet.green import subprocess"):
            for filename in ('./vdi_broker/__init__.py',
                             './vdi_broker/conf/api.py',
                             './tests/unit/test_x.py',
                             './tools/smoke.py'):
                self.assert_bad(check, 'VB303', line, filename)

    def test_vb303_good(self):
        check = checks.no_eventlet
        for line in ("import futurist",
                     "import eventlet_helpers",
                     "from oslo_service import backend",
                     "backend.init_backend(backend.BackendType.THREADING)",
                     "# we do not import eventlet"):
            self.assert_good(check, line, './vdi_broker/cmd/__init__.py')

    def test_vb304_novaclient(self):
        check = checks.no_novaclient_outside_compute_nova
        for line in ("import novaclient",
                     "from novaclient import client as nova_client",
                     "from novaclient.v2 import servers",
                     "import novaclient.exceptions as nova_exc"):
            for filename in ('./vdi_broker/compute/base.py',
                             './vdi_broker/conductor/manager.py',
                             './vdi_broker/nova.py'):
                self.assert_bad(check, 'VB304', line, filename)

    def test_vb304_good(self):
        check = checks.no_novaclient_outside_compute_nova
        line = "from novaclient import exceptions as nova_exc"
        for filename in ('./vdi_broker/compute/nova.py',
                         '/build/vdi_broker/compute/nova.py',
                         './tests/unit/compute/test_nova.py',
                         './tools/real-openstack-smoke.py'):
            self.assert_good(check, line, filename)
        for line in ("from vdi_broker.compute import nova",
                     "import novaclient_ext",
                     "from keystoneauth1 import adapter"):
            self.assert_good(check, line, './vdi_broker/conductor/manager.py')

    def test_vb305_ldap3(self):
        check = checks.no_ldap3_outside_identity_ldap
        for line in ("import ldap3",
                     "from ldap3 import Server, Connection",
                     "from ldap3.utils.conv import escape_filter_chars",
                     "import ldap3.core.exceptions as ldap_exc"):
            for filename in ('./vdi_broker/identity/base.py',
                             './vdi_broker/api/client_auth.py',
                             './vdi_broker/ldap.py'):
                self.assert_bad(check, 'VB305', line, filename)

    def test_vb305_good(self):
        check = checks.no_ldap3_outside_identity_ldap
        line = "from ldap3.utils import conv"
        for filename in ('./vdi_broker/identity/ldap.py',
                         './tests/fixtures/ldap.py',
                         './benchmarks/ldap_login.py'):
            self.assert_good(check, line, filename)
        for line in ("from vdi_broker.identity import ldap",
                     "import ldappool",
                     "import ldap"):
            self.assert_good(check, line, './vdi_broker/api/client_auth.py')

    def test_vb305_dn_parser_exception(self):
        """identity/dn.py may import ldap3's DN utilities, nothing else."""
        check = checks.no_ldap3_outside_identity_ldap
        dn_module = './vdi_broker/identity/dn.py'
        for line in ("from ldap3.utils import dn",
                     "from ldap3.utils import dn as ldap3_dn",
                     "import ldap3.utils.dn",
                     "from ldap3.utils.dn import parse_dn, safe_dn"):
            self.assert_good(check, line, dn_module)
            # Only there: allocators and the rest still may not.
            self.assert_bad(check, 'VB305', line,
                            './vdi_broker/allocators/rules.py')
        for line in ("import ldap3",
                     "from ldap3 import Connection",
                     "from ldap3.utils import conv",
                     "from ldap3.utils import dn, conv",
                     "from ldap3.utils.conv import escape_filter_chars"):
            self.assert_bad(check, 'VB305', line, dn_module)

    def test_vb306_storage_imports_nothing_above_it(self):
        check = checks.layers_import_downwards
        for line in ("from vdi_broker.conductor import rpcapi",
                     "from vdi_broker.conductor.login import chain",
                     "import vdi_broker.api.wsgi",
                     "from vdi_broker import api",
                     "from vdi_broker import exception, allocators",
                     "from vdi_broker import portal as web",
                     "from vdi_broker.thinclient import answers",
                     "from vdi_broker.allocators import base"):
            for filename in ('./vdi_broker/db/api.py',
                             '/src/vdi_broker/db/sqlalchemy/pools.py'):
                self.assert_bad(check, 'VB306', line, filename)

    def test_vb306_allocators_import_neither_db_nor_compute(self):
        check = checks.layers_import_downwards
        for line in ("from vdi_broker.db import api as db",
                     "from vdi_broker.db.sqlalchemy import models",
                     "from vdi_broker import db",
                     "import vdi_broker.compute.nova",
                     "from vdi_broker.compute import nova"):
            self.assert_bad(check, 'VB306', line,
                            './vdi_broker/allocators/base.py')

    def test_vb306_good(self):
        check = checks.layers_import_downwards
        db_module = './vdi_broker/db/sqlalchemy/bindings.py'
        for line in ("from vdi_broker.db.sqlalchemy import allocators",
                     "from vdi_broker.db.sqlalchemy import allocation",
                     "from vdi_broker import states",
                     "from vdi_broker import exception",
                     "from vdi_broker import apiary",
                     "import sqlalchemy as sa"):
            self.assert_good(check, line, db_module)
        for line in ("from vdi_broker.allocators import rules",
                     "from vdi_broker.identity import dn",
                     "from vdi_broker import states"):
            self.assert_good(check, line, './vdi_broker/allocators/pool.py')
        # Layers above may import downwards, tests anything.
        line = "from vdi_broker.db import api as db"
        for filename in ('./vdi_broker/conductor/manager.py',
                         './vdi_broker/api/handlers/pools.py',
                         './tests/unit/allocators/test_pool.py'):
            self.assert_good(check, line, filename)

    def test_vb306_holds_in_the_tree(self):
        """Every module of the two guarded layers passes today."""
        check = checks.layers_import_downwards
        for layer in checks.LAYERS:
            top = os.path.join(ROOT, 'vdi_broker', layer)
            for dirpath, _dirs, files in os.walk(top):
                for name in files:
                    if not name.endswith('.py'):
                        continue
                    path = os.path.join(dirpath, name)
                    with open(path) as f:
                        for line in f:
                            self.assert_good(check, line.rstrip('\n'),
                                             path)

    def test_local_plugins_registered(self):
        """Every check named in setup.cfg exists and is a flake8 check."""
        parser = configparser.ConfigParser()
        parser.read(os.path.join(ROOT, 'setup.cfg'))
        section = parser['flake8:local-plugins']
        self.assertEqual('./vdi_broker/hacking', section['paths'].strip())
        seen = set()
        for entry in section['extension'].split('\n'):
            if not entry.strip():
                continue
            code, target = (part.strip() for part in entry.split('='))
            module, func = target.split(':')
            self.assertEqual('checks', module)
            check = getattr(checks, func)
            self.assertEqual(('logical_line', 'filename'),
                             check.__code__.co_varnames[:2])
            self.assertEqual('VB', code[:2])
            seen.add(code)
        self.assertEqual({'VB301', 'VB302', 'VB303', 'VB304', 'VB305',
                          'VB306'}, seen)
