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

"""The compute driver interface.

The conductor manages desktops' servers only through a compute driver loaded
from the ``vdi_broker.compute`` stevedore namespace (``[compute] driver``).
Drivers speak in :class:`Server` records and raise
:mod:`vdi_broker.exception` errors, never their client library's.
"""

import abc
import dataclasses

from vdi_broker import exception

# Server states as the broker sees them (Nova's vm_state names, upper case).
BUILD = "BUILD"
ACTIVE = "ACTIVE"
ERROR = "ERROR"
REBOOT = "REBOOT"
REBUILD = "REBUILD"
# Stopped (by a user, Nova or the hypervisor): no desktop to serve.
SHUTOFF = "SHUTOFF"
DELETED = "DELETED"

# Every server the broker creates carries these tags and metadata keys, so
# that the reconciler can find its servers again after a crash.
BROKER_TAG = "vdi-broker"
POOL_TAG_PREFIX = "vdi-pool-"
META_BROKER = "vdi_broker"
META_POOL = "vdi_pool"
META_DESKTOP = "vdi_desktop"

# Console types a compute driver may open with get_console (Nova's names).
SPICE_DIRECT = "spice-direct"
SPICE_HTML5 = "spice-html5"
NOVNC = "novnc"


@dataclasses.dataclass
class ServerSpec:
    """What to boot for one desktop."""

    name: str
    flavor: str
    image: str
    networks: list = dataclasses.field(default_factory=list)
    availability_zone: str = None
    metadata: dict = dataclasses.field(default_factory=dict)
    tags: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Server:
    """A server as the cloud reports it."""

    id: str
    name: str
    status: str
    host: str = None
    addresses: list = dataclasses.field(default_factory=list)
    metadata: dict = dataclasses.field(default_factory=dict)
    tags: list = dataclasses.field(default_factory=list)
    fault: str = None

    @property
    def address(self):
        return self.addresses[0] if self.addresses else None


class ComputeDriver(metaclass=abc.ABCMeta):
    """Creates and manages the servers behind desktops."""

    @abc.abstractmethod
    def create_server(self, spec):
        """Start booting a server; return its :class:`Server` (BUILD)."""

    @abc.abstractmethod
    def get_server(self, server_id):
        """Return the :class:`Server`; raise ServerNotFound if it is gone."""

    @abc.abstractmethod
    def list_servers(self, tags=None):
        """Return every server carrying all of ``tags``."""

    @abc.abstractmethod
    def delete_server(self, server_id):
        """Delete the server; a server already gone is not an error."""

    @abc.abstractmethod
    def reboot_server(self, server_id, hard=False):
        """Reboot the server."""

    @abc.abstractmethod
    def rebuild_server(self, server_id, image):
        """Rebuild the server from ``image``."""

    def get_capacity(self, availability_zone=None):
        """Free vCPU and memory of the cloud, or None if unknown.

        With ``availability_zone``: of that zone's resource providers only.

        ``{"providers": [{"uuid", "name", "vcpus": {"free", ...},
        "memory_mb": {"free", ...}}], "total": {...}}``
        """
        return None

    def get_host_load(self, capacity=None):
        """Load of each compute host: ``{host: fraction}`` or None.

        The fraction is the larger of memory and vCPU usage against
        capacity (allocation ratios included). By default it is read from
        ``capacity`` (what :meth:`get_capacity` returned, or read now):
        each resource provider's ``used`` against its ``capacity``, by
        the provider's name, which Nova sets to the compute node's
        hypervisor host name.
        """
        if capacity is None:
            capacity = self.get_capacity()
        return host_loads(capacity)

    def get_flavor(self, flavor):
        """``{"vcpus": n, "memory_mb": n}`` of a flavor, or None."""
        return None

    def lock_server(self, server_id, reason):
        """Lock the server against user actions, with a reason."""

    def unlock_server(self, server_id):
        """Undo :meth:`lock_server`."""

    # -- consoles ----------------------------------------------------------

    @classmethod
    def console_types(cls, conf, group=None):
        """The console types :meth:`get_console` opens with ``conf``.

        A class method: the API checks a pool's console type with it
        without loading the driver. None by default.
        """
        return frozenset()

    @classmethod
    def console_refusal(cls, conf, console_type, group=None):
        """Why ``console_type`` cannot be served, or None when it can.

        ``group``: the option group of a named cloud (None: the default
        cloud's).
        """
        served = (cls.console_types(conf) if group is None
                  else cls.console_types(conf, group=group))
        if console_type in served:
            return None
        return "it serves %s" % (", ".join(sorted(served)) or
                                 "no console")

    def get_console(self, server_id, console_type):
        """Open a console of ``console_type`` on the server.

        Returns a dict with ``type`` and ``url``; for ``spice-direct``
        also ``host``, ``port``, ``tls_port`` (None without TLS) and
        ``password`` when there is one. Raises ServerNotFound,
        ConsoleNotReady when the server cannot give a console in its
        state, ConsoleUnavailable when the console is not offered,
        ComputeUnavailable (ConsoleTimeout) when the cloud does not
        answer (in time).
        """
        raise exception.ConsoleUnavailable(
            console_type=console_type, server=server_id,
            reason="the compute driver serves no console")


def host_loads(capacity):
    """``{provider name: load}`` from a :meth:`get_capacity` answer."""
    if not capacity:
        return None
    loads = {}
    for provider in capacity.get("providers") or ():
        shares = []
        for name in ("memory_mb", "vcpus"):
            figures = provider.get(name) or {}
            if figures.get("capacity"):
                shares.append(figures.get("used", 0) / figures["capacity"])
        if shares and provider.get("name"):
            loads[provider["name"]] = max(shares)
    return loads or None
