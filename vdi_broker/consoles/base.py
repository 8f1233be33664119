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

"""The console driver interface (R9: protocol independence).

A console driver turns an assigned desktop into the connection details a
thin client needs to open the remote-desktop session. Drivers are loaded
from the ``vdi_broker.consoles`` stevedore namespace by the name in the
pool's ``console_type``.
"""

import abc


class ConsoleDriver(metaclass=abc.ABCMeta):
    """Produces connection details for a desktop."""

    #: The protocol name the thin client sees ("spice", "rdp", ...).
    protocol = None

    #: The console type the driver opens with the compute driver's
    #: ``get_console`` ("spice-direct", "novnc", ...), or None when it
    #: needs nothing of the compute driver but the desktop's address. A
    #: pool may use the driver only when the compute driver serves it.
    compute_console = None

    #: Whether :meth:`get_connection` gives a URL an operator's web
    #: browser opens (``url``): the portal's console button.
    browser = False

    def __init__(self, conf, compute):
        """``compute`` is the conductor's loaded compute driver."""
        self.conf = conf
        self.compute = compute

    @abc.abstractmethod
    def get_connection(self, desktop):
        """Return a dict of connection details for ``desktop``.

        ``desktop`` is a dict with at least ``id``, ``server_id``, ``name``
        and ``address``. The dict returned always has ``protocol``; the
        other keys depend on the protocol (``host``, ``port``, ``url``,
        ``password``...).
        """

    def connection_file(self, desktop, connection):
        """Return (media type, text) of a client file, or None."""
        return None
