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

"""Readiness probes: is a booted desktop really usable?

Nova's ACTIVE means the hypervisor started the guest, not that Windows
has finished booting and its console service answers. A pool's
``readiness_probe`` (or ``[pool_manager] readiness_probe``) says what
more the pool manager waits for:

* ``none``: ACTIVE is ready;
* ``tcp`` (or ``port``): the desktop's console port (``[rdp] port`` for
  rdp pools, or ``[pool_manager] probe_ports``) accepts a TCP connection
  at the desktop's address within ``[pool_manager]
  probe_connect_timeout``;
* ``agent``: the desktop's guest agent (vdi-broker-agent) registered
  since the boot, so Windows is up and its user session usable;
* ``both``: the agent registered and the console port answers.
"""

import socket

from vdi_broker.conf import pool_manager as pool_manager_conf

PROBES = pool_manager_conf.PROBES
PORT_PROBES = ("tcp", "port", "both")
AGENT_PROBES = ("agent", "both")
NOT_REGISTERED = "the guest agent has not registered since the boot"


def probe_kind(conf, pool):
    """The probe a pool uses."""
    kind = pool.get("readiness_probe") or \
        conf.pool_manager.readiness_probe
    return kind if kind in PROBES else None


def probe_port(conf, console_type):
    """The TCP port the probe checks for a console type, or None."""
    port = conf.pool_manager.probe_ports.get(console_type)
    if port:
        return int(port)
    if console_type == "rdp":
        return conf.rdp.port
    return None


def tcp_probe(address, port, timeout):
    """Return None if ``address:port`` accepts a connection, else why not."""
    if not address:
        return "the desktop has no address"
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return None
    except OSError as e:
        return "%s:%d does not answer (%s)" % (
            address, port, e.strerror or e)


def run(conf, pool, desktop, registered=None):
    """Probe one desktop: None when it passed, else the reason.

    ``registered``: the ids of the desktops whose agent registered since
    their boot (agents_registered), for the agent probes.
    """
    kind = probe_kind(conf, pool)
    if kind is None:
        return "unknown readiness probe %r" % pool.get("readiness_probe")
    if kind == "none":
        return None
    if kind in AGENT_PROBES and desktop["id"] not in (registered or ()):
        return NOT_REGISTERED
    if kind not in PORT_PROBES:
        return None
    port = probe_port(conf, pool["console_type"])
    if port is None:
        return ("no probe port for console type %s: set "
                "[pool_manager] probe_ports" % pool["console_type"])
    return tcp_probe(desktop.get("address"), port,
                     conf.pool_manager.probe_connect_timeout)
