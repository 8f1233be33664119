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

"""OpenStackClient plugin: the ``openstack vdi ...`` commands.

OSC finds this module through the ``openstack.cli.extension`` entry point
``vdi`` and the commands under ``openstack.vdi.v1``. The module provides
what OSC's plugin interface asks for: API_NAME, API_VERSION_OPTION,
API_VERSIONS, make_client() and build_option_parser().

Without Keystone (a broker with ``[api] auth_strategy = noauth``)::

    openstack --os-auth-type none --os-vdi-endpoint http://broker:8783 \
        vdi pool list
"""

from osc_lib import utils

from vdi_broker import version

DEFAULT_API_VERSION = "1"
API_NAME = "vdi"
API_VERSION_OPTION = "os_vdi_api_version"
API_VERSIONS = {"1": "vdi_broker.osc.client.Client"}
# The service type of the broker in the Keystone catalog (devstack and
# the install guide register it so).
SERVICE_TYPE = version.SERVICE_TYPE


def _endpoint_override(instance):
    """--os-vdi-endpoint, or the generic overrides of openstacksdk.

    OSC hands the global options to openstacksdk's config loader, which
    stores --os-vdi-endpoint as ``vdi_endpoint``; a clouds.yaml may say
    ``vdi_endpoint_override`` instead.
    """
    config = instance._cli_options.config
    return (config.get("vdi_endpoint") or
            config.get("vdi_endpoint_override") or
            instance._cli_options.get_endpoint(SERVICE_TYPE))


def make_client(instance):
    """The REST client of the broker's admin API for a command."""
    client_class = utils.get_client_class(
        API_NAME, instance._api_version[API_NAME], API_VERSIONS)
    return client_class(
        session=instance.session,
        endpoint=_endpoint_override(instance),
        interface=instance.interface,
        region_name=instance.region_name)


def build_option_parser(parser):
    """The plugin's global options."""
    parser.add_argument(
        "--os-vdi-api-version",
        metavar="<vdi-api-version>",
        default=utils.env("OS_VDI_API_VERSION",
                          default=DEFAULT_API_VERSION),
        choices=sorted(API_VERSIONS),
        help="VDI broker API version, default=%s "
             "(Env: OS_VDI_API_VERSION)" % DEFAULT_API_VERSION)
    parser.add_argument(
        "--os-vdi-endpoint",
        metavar="<vdi-endpoint>",
        default=utils.env("OS_VDI_ENDPOINT"),
        help="URL of the VDI broker API, instead of the '%s' endpoint of "
             "the service catalog; with --os-auth-type none this is how a "
             "broker without Keystone (auth_strategy = noauth) is "
             "reached (Env: OS_VDI_ENDPOINT)" % SERVICE_TYPE)
    return parser
