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

"""Hosts: compute hosts with their desktops, boots and memory.

GET /v1/hosts (the conductor joins the database's figures with
Placement's); each host links to its desktops.
"""

from vdi_broker.portal.views import common

FAILED = ("error", "quarantined")


def _gib(mb):
    return None if mb is None else round(mb / 1024.0, 1)


def host_row(host):
    desktops = host["desktops"]
    memory = host.get("memory_mb") or None
    return {
        "name": host["name"],
        "total": desktops.get("total", 0),
        "ready": desktops.get("ready", 0),
        "assigned": desktops.get("assigned", 0),
        "building": desktops.get("building", 0),
        "failed": sum(desktops.get(s, 0) for s in FAILED),
        "builds": host["builds"],
        "load_percent": host.get("load_percent"),
        "memory": memory and dict(
            memory, used_gib=_gib(memory.get("used")),
            capacity_gib=_gib(memory.get("capacity")),
            physical_gib=_gib((memory.get("total") or 0) -
                              (memory.get("reserved") or 0))),
        "vcpus": host.get("vcpus") or None,
    }


def index(req):
    body = req.api().request("GET", "/hosts")
    rows = [host_row(h) for h in body["hosts"]]
    return req.render("hosts.html", body=body, rows=rows,
                      filter_url=common.desktops_on_host)
