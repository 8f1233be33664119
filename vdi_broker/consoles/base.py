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
