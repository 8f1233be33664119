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

"""Business monitoring: departments, shift plans, active agents (R15).

* :mod:`~vdi_broker.monitoring.shift_plan`: the shift plan's CSV (the one
  parser and writer) and its slots on the UTC time line;
* :mod:`~vdi_broker.monitoring.departments`: which department a directory
  user belongs to (allocator rule matching);
* :mod:`~vdi_broker.monitoring.agents`: active, idle and offline agents
  by department, site and pool, against the plan, and their history.

:func:`current_counts` is what the Prometheus scrape calls
(``vdi_agents_*``, see vdi_broker/metrics/collector.py). The modules are
imported when used: the load generator imports the shift-plan parser
without the storage layer.
"""


def current_counts(ctxt):
    """[{department, site, active, idle, offline, expected}] now."""
    from vdi_broker.monitoring import agents
    return agents.current_counts(ctxt)
