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

from oslo_config import cfg

identity_group = cfg.OptGroup(
    "identity", title="Identity options",
    help="How thin-client users are authenticated.")

identity_opts = [
    cfg.StrOpt("driver", default="ldap",
               help="The identity driver, by its name in the "
                    "vdi_broker.identity namespace: 'ldap' for LDAP and "
                    "Active Directory, 'static' for a file of users "
                    "(demos and tests)."),
]

static_group = cfg.OptGroup(
    "static_identity", title="Static identity driver",
    help="Options of the 'static' identity driver.")

static_opts = [
    cfg.StrOpt("users_file",
               help="JSON file of users (username, password_hash, dn, "
                    "groups, attributes). Create password hashes with "
                    "'vdi-broker-manage identity hash-password'."),
]


def register_opts(conf):
    conf.register_group(identity_group)
    conf.register_opts(identity_opts, group=identity_group)
    conf.register_group(static_group)
    conf.register_opts(static_opts, group=static_group)


def list_opts():
    return {identity_group: identity_opts, static_group: static_opts}
