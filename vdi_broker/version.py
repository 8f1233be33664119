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

import pbr.version

version_info = pbr.version.VersionInfo("vdi-broker")

# The API's service type: the type of its endpoint in the Keystone catalog
# (devstack, the install guides), the one the openstack CLI looks for and
# the one the OpenStack-API-Version header names ("vdi 1.0").
SERVICE_TYPE = "vdi"
