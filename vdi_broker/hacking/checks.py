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

"""vdi-broker specific flake8 checks.

Guidelines for writing new hacking checks

 - Use only for vdi-broker specific rules. OpenStack-wide rules belong in
   the common 'hacking' project.
 - Pick numbers in the range VB3xx. Find the highest allocated number and
   take the next one.
 - Keep the functions ordered by their VB3xx number.
 - Register the new check in setup.cfg under ``[flake8:local-plugins]``.
 - Add good and bad cases to tests/unit/test_hacking.py.

The checks enforce the house rules in doc/source/contributor/index.rst:
options live in ``vdi_broker/conf/``, policy defaults in
``vdi_broker/policies/``, there is no eventlet, and Nova and LDAP client
libraries are imported by exactly one adapter module each (plus ldap3's
DN utilities in the DN parser, see VB305), and the layers import downwards
only (VB306: the storage layer imports nothing above it, the allocators
neither storage nor compute).

VB301, VB302, VB304, VB305 and VB306 say where things live inside the service
package, so they apply to ``vdi_broker/`` only: tests, tools and
benchmarks may register throwaway options or rules, and need the client
libraries (exception classes, raw baselines). VB303 (eventlet) applies
everywhere. As in nova, a command's own command-line options
(``cfg.SubCommandOpt``, ``register_cli_opt(s)``) may live in its module
under ``vdi_broker/cmd/``. Calling a conf module's helper, e.g.
``nova_conf.register_opts(conf)``, is how the rest of the code registers
options and is not flagged.
"""

import os
import re

from hacking import core

# cfg.StrOpt(, cfg.IntOpt(, oslo_config.cfg.ListOpt(, cfg.Opt( ...
cfg_opt_re = re.compile(r"\bcfg\.\w*Opt\(")
# ConfigOpts.register_opt(s) / register_cli_opt(s) on something that looks
# like a ConfigOpts: CONF., conf., self.conf., _conf., config.,
# (conf or cfg.CONF). -- but not a conf module's helper (nova_conf.).
register_opts_re = re.compile(
    r"(?:\b_?(?:CONF|conf|config)|\))\.register_(?:cli_)?opts?\(")
# What a command module may define and register itself.
cli_opt_re = re.compile(r"\bcfg\.SubCommandOpt\(|\bregister_cli_opts?\(")
# policy.DocumentedRuleDefault(, policy.RuleDefault(, RuleDefault( ...
rule_default_re = re.compile(r"\b(?:policy\.)?(?:Documented)?RuleDefault\(")


def _import_re(module):
    # Matches "import X", "import X.y", "import a, X", "import X as y",
    # "from X import y" and "from X.y import z".
    return re.compile(
        r"^\s*(?:import\s+(?:[\w.]+(?:\s+as\s+\w+)?\s*,\s*)*%(m)s\b"
        r"|from\s+%(m)s(?:\.[\w.]+)?\s+import\b)" % {'m': re.escape(module)})


eventlet_import_re = _import_re('eventlet')
novaclient_import_re = _import_re('novaclient')
ldap3_import_re = _import_re('ldap3')
# ldap3's DN utilities alone: "from ldap3.utils import dn [as x]",
# "import ldap3.utils.dn [as x]", "from ldap3.utils.dn import y".
ldap3_dn_import_re = re.compile(
    r"^\s*(?:(?:from\s+ldap3\.utils\s+import\s+dn"
    r"|import\s+ldap3\.utils\.dn)(?:\s+as\s+\w+)?\s*(?:#.*)?$"
    r"|from\s+ldap3\.utils\.dn\s+import\b)")

# VB306: the packages each layer must not import (see
# doc/source/contributor/storage.rst). The storage layer sits under
# everything; allocators decide on inputs read up front, so they need
# neither storage nor compute.
LAYERS = {
    'db': ('api', 'conductor', 'allocators', 'portal', 'thinclient'),
    'allocators': ('db', 'compute'),
}


def _vdi_import_re(name):
    # vdi_broker.<name> imported either way: "import vdi_broker.x[.y]",
    # "from vdi_broker.x[.y] import z" or "from vdi_broker import a, x".
    return re.compile(
        r"^\s*(?:import\s+vdi_broker\.%(n)s\b"
        r"|from\s+vdi_broker\.%(n)s(?:\.[\w.]+)?\s+import\b"
        r"|from\s+vdi_broker\s+import\s+(?:\(?\s*)?(?:[\w]+(?:\s+as\s+\w+)?"
        r"\s*,\s*)*%(n)s\b)" % {'n': re.escape(name)})


layer_import_res = {
    layer: [(name, _vdi_import_re(name)) for name in names]
    for layer, names in LAYERS.items()}


def _path(filename):
    """Return filename with forward slashes and a leading '/'."""
    path = os.path.normpath(filename or '').replace(os.sep, '/')
    return '/' + path.lstrip('/')


def _in_package(filename):
    """Whether filename is service code: under vdi_broker/, not a test."""
    path = _path(filename)
    return '/vdi_broker/' in path and '/tests/' not in path


@core.flake8ext
def no_options_outside_conf(logical_line, filename):
    """Options are constructed and registered only in vdi_broker/conf/.

    VB301: cfg.StrOpt('x') outside vdi_broker/conf/
    VB301: CONF.register_opts(opts, group) outside vdi_broker/conf/
    Okay: in vdi_broker/conf/api.py, or outside vdi_broker/
    Okay: nova_conf.register_opts(conf)
    Okay: cfg.SubCommandOpt / CONF.register_cli_opt in vdi_broker/cmd/
    """
    path = _path(filename)
    if not _in_package(filename) or '/vdi_broker/conf/' in path:
        return
    if '/vdi_broker/cmd/' in path and cli_opt_re.search(logical_line):
        return
    match = cfg_opt_re.search(logical_line)
    if match:
        yield (match.start(),
               "VB301: Config options must be defined in "
               "vdi_broker/conf/<group>.py, not here")
        return
    match = register_opts_re.search(logical_line)
    if match:
        yield (match.start(),
               "VB301: Config options must be registered in "
               "vdi_broker/conf/<group>.py, not here")


@core.flake8ext
def no_policies_outside_policies(logical_line, filename):
    """Policy defaults are defined only in vdi_broker/policies/.

    VB302: policy.DocumentedRuleDefault(...) outside vdi_broker/policies/
    Okay: in vdi_broker/policies/pools.py, or outside vdi_broker/
    """
    if (not _in_package(filename) or
            '/vdi_broker/policies/' in _path(filename)):
        return
    match = rule_default_re.search(logical_line)
    if match:
        yield (match.start(),
               "VB302: Policy rules must be defined in "
               "vdi_broker/policies/, not here")


@core.flake8ext
def no_eventlet(logical_line, filename):
    """eventlet is not used anywhere: threading backend only.

    VB303: import eventlet
    VB303: from eventlet import greenthread
    Okay: import futurist
    """
    if eventlet_import_re.match(logical_line):
        yield (0, "VB303: eventlet must not be imported; use the oslo.service "
                  "threading backend and futurist")


@core.flake8ext
def no_novaclient_outside_compute_nova(logical_line, filename):
    """novaclient is imported only by vdi_broker/compute/nova.py.

    VB304: from novaclient import client (in vdi_broker/, elsewhere)
    Okay: in vdi_broker/compute/nova.py, or outside vdi_broker/
    """
    if (not _in_package(filename) or
            _path(filename).endswith('/vdi_broker/compute/nova.py')):
        return
    if novaclient_import_re.match(logical_line):
        yield (0, "VB304: novaclient may only be imported by "
                  "vdi_broker/compute/nova.py")


@core.flake8ext
def no_ldap3_outside_identity_ldap(logical_line, filename):
    """ldap3 is imported only by vdi_broker/identity/ldap.py.

    One exception: vdi_broker/identity/dn.py, the DN parser every layer
    uses (drivers, the principal's OU path, allocator rules), may import
    ldap3's DN utilities, ``ldap3.utils.dn``, and nothing else of ldap3:
    parsing a string reaches no directory.

    VB305: import ldap3 (in vdi_broker/, elsewhere)
    VB305: from ldap3 import Connection (in vdi_broker/identity/dn.py)
    Okay: in vdi_broker/identity/ldap.py, or outside vdi_broker/
    Okay: from ldap3.utils import dn (in vdi_broker/identity/dn.py)
    """
    path = _path(filename)
    if (not _in_package(filename) or
            path.endswith('/vdi_broker/identity/ldap.py')):
        return
    if (path.endswith('/vdi_broker/identity/dn.py') and
            ldap3_dn_import_re.match(logical_line)):
        return
    if ldap3_import_re.match(logical_line):
        yield (0, "VB305: ldap3 may only be imported by "
                  "vdi_broker/identity/ldap.py")


@core.flake8ext
def layers_import_downwards(logical_line, filename):
    """The storage layer and the allocators import no layer above them.

    vdi_broker/db/ imports nothing from api, conductor, allocators, portal
    or thinclient; vdi_broker/allocators/ imports neither db nor compute.

    VB306: from vdi_broker.conductor import rpcapi (in vdi_broker/db/)
    VB306: from vdi_broker import api (in vdi_broker/db/)
    VB306: from vdi_broker.db import api as db (in vdi_broker/allocators/)
    Okay: from vdi_broker import states (anywhere)
    Okay: from vdi_broker.db.sqlalchemy import allocators (in vdi_broker/db/)
    """
    if not _in_package(filename):
        return
    path = _path(filename)
    for layer, patterns in layer_import_res.items():
        if '/vdi_broker/%s/' % layer not in path:
            continue
        for name, pattern in patterns:
            if pattern.match(logical_line):
                yield (0, "VB306: vdi_broker/%s/ must not import "
                          "vdi_broker.%s (layers import downwards only)"
                       % (layer, name))
