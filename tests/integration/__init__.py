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

"""Integration tests: the broker against a real OpenStack.

The cloud is the one ``tools/real-openstack.sh`` installs and runs on this
machine (Keystone, Nova with its fake virt driver, Placement, Glance and the
Neutron API, on 127.0.0.1). Run with ``tox -e integration``; see
doc/source/contributor/index.rst.
"""
