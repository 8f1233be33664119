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

compute_group = cfg.OptGroup(
    "compute", title="Compute options",
    help="Which cloud the desktops' servers live in.")

compute_opts = [
    cfg.StrOpt("driver", default="nova",
               help="The compute driver, by its name in the "
                    "vdi_broker.compute namespace: 'nova' for OpenStack, "
                    "'fake' for an in-memory cloud (demos and tests). "
                    "It drives the default cloud: that of pools that name "
                    "no cloud."),
    cfg.ListOpt("clouds", default=[],
                help="Names of more clouds (or regions) pools may live in, "
                     "each configured in a group [cloud:NAME] (its driver, "
                     "keystoneauth1 section, region_name, Nova options, "
                     "boot budget). A pool's 'cloud' names one of them; a "
                     "pool without one lives in the default cloud "
                     "([compute] driver and [nova])."),
]

fake_group = cfg.OptGroup(
    "fake_compute", title="Fake compute driver",
    help="The in-memory cloud of the 'fake' compute driver. It lives in "
         "the conductor's memory and is lost when the conductor stops.")

fake_opts = [
    cfg.FloatOpt("boot_time", default=2.0, min=0,
                 help="Seconds a fake server takes from BUILD to ACTIVE."),
    cfg.FloatOpt("failure_rate", default=0.0, min=0, max=1,
                 help="Share of fake boots that end in ERROR."),
    cfg.FloatOpt("create_delay", default=0.0, min=0,
                 help="Seconds the fake cloud takes to answer a create "
                      "request (a slow cloud, for the build throttle)."),
    cfg.StrOpt("address_range", default="198.18.0.0/15",
               help="Addresses given to fake servers (a benchmarking "
                    "range: nothing is ever sent to them)."),
    cfg.ListOpt("hosts", default=["fake-host-1", "fake-host-2"],
                help="Compute host names fake servers are spread over."),
    cfg.DictOpt("host_zones", default={},
                help="Availability zone of each fake host (host:zone,...). "
                     "A server booted in a zone goes to that zone's hosts, "
                     "and a zone's capacity counts only its hosts. Hosts "
                     "not listed are in no zone but the default one."),
    cfg.IntOpt("capacity_memory_mb", default=0, min=0,
               help="Memory of the fake cloud, for capacity checks; 0 "
                    "means unlimited (no capacity reported)."),
    cfg.IntOpt("capacity_vcpus", default=100000, min=0,
               help="vCPUs of the fake cloud (with capacity_memory_mb)."),
    cfg.IntOpt("flavor_memory_mb", default=8192, min=1,
               help="Memory of every fake flavor."),
    cfg.IntOpt("flavor_vcpus", default=4, min=1,
               help="vCPUs of every fake flavor."),
    cfg.HostAddressOpt("console_host", default="127.0.0.1",
                       help="The host the fake cloud's consoles point at: "
                            "the SPICE host of spice-direct consoles (and "
                            "of their .vv files) and the host of the "
                            "spice-html5 (port 6082) and noVNC (port 6080) "
                            "proxy URLs, as Nova's default proxies. Nothing "
                            "listens there unless you start it."),
    cfg.PortOpt("console_port_base", default=5900,
                help="SPICE port of the first fake server's spice-direct "
                     "console: each live server has its own port, "
                     "console_port_base + n."),
]


def register_opts(conf):
    conf.register_group(compute_group)
    conf.register_opts(compute_opts, group=compute_group)
    conf.register_group(fake_group)
    conf.register_opts(fake_opts, group=fake_group)


def list_opts():
    return {compute_group: compute_opts, fake_group: fake_opts}
