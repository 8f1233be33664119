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

"""The API's port is free of OpenStack's and the same everywhere.

8780, the port until 2026.12, is Placement's in Kolla-Ansible: a broker
deployed beside it could not bind, or HAProxy would send one service's
traffic to the other.
"""

import os
import re

import testtools

from vdi_broker.conf import api as api_conf

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

# Every TCP port Kolla-Ansible gives an OpenStack (or supporting) service
# by default: the *_port values of ansible/group_vars/all/*.yml
# (openstack/kolla-ansible, August 2026). DevStack serves the APIs behind
# Apache (Placement's own default is 8778).
KOLLA_ANSIBLE_PORTS = {
    53, 80, 443, 953, 1234, 1981, 1984, 2379, 2380, 2985, 3000, 3260, 3306,
    4369, 4444, 4567, 4568, 5000, 5140, 5405, 5555, 5601, 6032, 6070, 6080,
    6082, 6083, 6379, 6385, 6640, 6641, 6642, 6666, 6780, 8000, 8004, 8023,
    8041, 8042, 8081, 8089, 8774, 8775, 8776, 8778, 8779, 8780, 8786, 8889,
    8989, 9001, 9091, 9093, 9094, 9100, 9101, 9104, 9108, 9115, 9121, 9150,
    9177, 9198, 9292, 9311, 9322, 9511, 9608, 9696, 9876, 9890, 9998, 9999,
    11211, 15672, 15692, 15868, 18080, 24231, 25672, 25826, 26379, 61313,
}

# Where the broker's API port is written down, and how to find it.
_HOST = r'(?:127\.0\.0\.1|broker(?:\.example(?:\.com)?)?|[A-Z_]*VIP|' \
        r'API_INTERFACE_ADDRESS|CONTROLLER\d?)'
PLACES = {
    'etc/vdi-broker/vdi-broker-api-uwsgi.ini': r'http-socket = %s:(\d+)'
                                               % _HOST,
    'etc/kolla/config/vdi-broker-api-uwsgi.ini': r'http-socket = %s:(\d+)'
                                                 % _HOST,
    'tools/run-demo.sh': r'VDI_DEMO_PORT:-(\d+)',
    'vdi_broker/demo/shift.py': r'"--url", default="http://%s:(\d+)"'
                                % _HOST,
    'vdi_broker/cmd/loadgen.py': r'"--url", default="http://%s:(\d+)"'
                                 % _HOST,
    'README.rst': r'http://%s:(\d+)' % _HOST,
    'doc/source/install/all-in-one.rst': r'%s:(\d+)' % _HOST,
    'doc/source/install/kolla.rst': r'%s:(\d+)' % _HOST,
    'doc/source/admin/api.rst': r'%s:(\d+)' % _HOST,
    'doc/source/admin/services.rst': r'%s:(\d+)' % _HOST,
    'doc/source/cli/openstack-vdi.rst': r'%s:(\d+)' % _HOST,
    'doc/source/cli/vdi-broker-loadgen.rst': r'%s:(\d+)' % _HOST,
}


def default_port():
    (opt,) = [o for o in api_conf.api_opts if o.name == 'bind_port']
    return opt.default


class ApiPortTestCase(testtools.TestCase):

    def test_no_openstack_service_takes_it(self):
        self.assertNotIn(default_port(), KOLLA_ANSIBLE_PORTS)

    def test_same_port_everywhere(self):
        wrong = []
        for path, pattern in sorted(PLACES.items()):
            with open(os.path.join(ROOT, path), encoding='utf-8') as f:
                found = re.findall(pattern, f.read())
            if not found:
                wrong.append('%s: no port found' % path)
            wrong.extend('%s: %s' % (path, port) for port in found
                         if int(port) != default_port())
        self.assertEqual([], wrong)
