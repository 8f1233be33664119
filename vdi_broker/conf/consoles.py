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

"""Options of the console drivers that need any (``[spice_direct]``)."""

from oslo_config import cfg

spice_direct_group = cfg.OptGroup(
    "spice_direct", title="SPICE direct console options",
    help="Options of the spice-direct console driver, which hands thin "
         "clients a remote-viewer (.vv) file for a native SPICE "
         "connection obtained through Nova's spice-direct console "
         "(microversion 2.99) and its console-auth-token API.")

ALL_SPICE_CHANNELS = ["main", "display", "inputs", "cursor", "playback",
                      "record", "smartcard", "usbredir"]

spice_direct_opts = [
    cfg.StrOpt("ca_file",
               help="Path to the PEM file of the certificate authority "
                    "that signed the SPICE TLS certificates. Its content "
                    "is embedded as 'ca' in the .vv file. Without it the "
                    "client uses its own trust store."),
    cfg.StrOpt("host_subject",
               help="The subject of the SPICE server's TLS certificate "
                    "(for example 'C=US,O=Example,CN=spice.example.com'), "
                    "written as 'host-subject' in the .vv file when the "
                    "certificate's subject does not match the host name."),
    cfg.BoolOpt("fullscreen", default=True,
                help="Ask remote-viewer to open the session full screen."),
    cfg.BoolOpt("require_tls", default=False,
                help="Refuse a console without a TLS port and leave the "
                     "plain port out of the .vv file."),
    cfg.ListOpt("secure_channels", default=ALL_SPICE_CHANNELS,
                help="SPICE channels that must use TLS when the console "
                     "has a TLS port ('secure-channels' in the .vv file)."),
]


def register_opts(conf):
    conf.register_group(spice_direct_group)
    conf.register_opts(spice_direct_opts, group=spice_direct_group)


def list_opts():
    return {spice_direct_group: spice_direct_opts}
