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

"""Loading named drivers from stevedore namespaces."""

from oslo_log import log as logging
import stevedore

from vdi_broker import exception

LOG = logging.getLogger(__name__)


def load_driver(namespace, name, *args, **kwargs):
    """Instantiate the driver ``name`` of ``namespace``.

    An unknown or broken plugin raises InvalidPlugin naming it, instead of
    stevedore's generic errors.
    """
    try:
        manager = stevedore.DriverManager(
            namespace, name, invoke_on_load=True, invoke_args=args,
            invoke_kwds=kwargs, on_load_failure_callback=_reraise)
    except stevedore.exception.NoMatches:
        raise exception.InvalidPlugin(namespace=namespace, name=name)
    return manager.driver


def driver_class(namespace, name):
    """The class of the driver ``name`` of ``namespace``, not loaded.

    For what a driver says of itself before anything is configured (the
    console types a compute driver serves, for example).
    """
    try:
        manager = stevedore.DriverManager(
            namespace, name, invoke_on_load=False,
            on_load_failure_callback=_reraise)
    except stevedore.exception.NoMatches:
        raise exception.InvalidPlugin(namespace=namespace, name=name)
    return manager.driver


def _reraise(manager, entrypoint, exc):
    LOG.error("Could not load plugin %s: %s", entrypoint, exc)
    raise exc
