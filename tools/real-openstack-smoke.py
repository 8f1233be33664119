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

"""Drive a real cloud (tools/real-openstack.sh) with the broker's Nova driver.

Boots a server with the broker's tags and metadata, waits for ACTIVE,
lists by tags, reboots, rebuilds, locks, opens every console type
(spice-direct through microversion 2.99 and the console-auth-token API),
reads capacity from Placement and deletes the server. Exits non-zero on
the first failure.

Run it through ``tools/real-openstack.sh smoke``, or as
``python tools/real-openstack-smoke.py BROKER_CONFIG_FILE``.
"""

import sys
import time

from vdi_broker.compute import base
from vdi_broker.compute import nova
from vdi_broker import conf as vdi_conf
from vdi_broker.consoles import spice_direct


def main():
    # A broker configuration file with the [nova] section that
    # "tools/real-openstack.sh env" prints.
    conf = vdi_conf.CONF
    conf(["--config-file", sys.argv[1]], project="vdi-broker",
         default_config_files=[], default_config_dirs=[])
    driver = nova.NovaComputeDriver(conf)

    def step(what):
        print("%7.2fs %s" % (time.monotonic() - start, what), flush=True)

    start = time.monotonic()
    image = _image_id(driver)
    server = driver.create_server(base.ServerSpec(
        name="vdi-smoke", flavor="vdi.small", image=image,
        networks=["none"], metadata={base.META_POOL: "smoke"}))
    step("created %s (%s)" % (server.id, server.status))
    try:
        server = driver.wait_for_server(server.id)
        step("ACTIVE on %s" % server.host)
        listed = driver.list_servers(tags=[base.BROKER_TAG,
                                           base.POOL_TAG_PREFIX + "smoke"])
        assert server.id in [s.id for s in listed], listed
        assert base.BROKER_TAG in server.tags, server.tags
        assert server.metadata[base.META_POOL] == "smoke", server.metadata
        step("listed by tags (%d)" % len(listed))
        for ctype in ("spice-direct", "spice-html5", "novnc"):
            console = driver.get_console(server.id, ctype)
            assert console["url"].startswith("http"), ctype
            if ctype == "spice-direct":
                assert console["host"] and console["port"], console
                step("spice-direct: host %s port %s tls_port %s"
                     % (console["host"], console["port"],
                        console["tls_port"]))
            else:
                step("%s console URL" % ctype)
        vv = spice_direct.SpiceDirectConsole(conf, driver)
        desktop = {"id": "smoke", "server_id": server.id,
                   "name": "vdi-smoke", "pool": {"name": "smoke"}}
        _, text = vv.connection_file(desktop, vv.get_connection(desktop))
        assert "[virt-viewer]" in text
        step(".vv file (%d bytes)" % len(text))
        driver.reboot_server(server.id)
        driver.wait_for_server(server.id)
        step("rebooted")
        driver.rebuild_server(server.id, image)
        _wait_status(driver, server.id, base.ACTIVE)
        step("rebuilt")
        driver.lock_server(server.id, "smoke test")
        driver.unlock_server(server.id)
        step("locked and unlocked")
        capacity = driver.get_capacity()
        step("capacity: %s vCPU, %s MiB free on %d provider(s)"
             % (capacity["total"]["vcpus"]["free"],
                capacity["total"]["memory_mb"]["free"],
                capacity["total"]["providers"]))
    finally:
        driver.delete_server(server.id)
        step("deleted")
    print("smoke: OK")


def _image_id(driver):
    resp = driver.adapter.session.get(
        "/v2/images?name=vdi-tiny",
        endpoint_filter={"service_type": "image", "interface": "public"})
    return resp.json()["images"][0]["id"]


def _wait_status(driver, server_id, status, timeout=60):
    deadline = time.monotonic() + timeout
    while driver.get_server(server_id).status != status:
        if time.monotonic() > deadline:
            sys.exit("server %s not %s in time" % (server_id, status))
        time.sleep(0.5)


if __name__ == "__main__":
    main()
