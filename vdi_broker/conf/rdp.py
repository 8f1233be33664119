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

rdp_group = cfg.OptGroup(
    "rdp", title="RDP console",
    help="Options of the 'rdp' console driver, which sends thin clients "
         "to the desktop's fixed IP address.")

rdp_opts = [
    cfg.PortOpt("port", default=3389,
                help="The port the desktops' RDP service listens on."),
]


def register_opts(conf):
    conf.register_group(rdp_group)
    conf.register_opts(rdp_opts, group=rdp_group)


def list_opts():
    return {rdp_group: rdp_opts}
