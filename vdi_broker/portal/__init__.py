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

"""The operations portal: a web client of the broker's admin API.

It replaces Horizon for the call centre's IT operators, helpdesk and
asset managers (R8, R14). It is its own WSGI application
(``vdi_broker.wsgi.portal:application``) and never opens the database:
everything it shows or changes goes through the admin API over HTTP,
with the operator's own Keystone token, so that the API's policy decides
what each persona may do.
"""
