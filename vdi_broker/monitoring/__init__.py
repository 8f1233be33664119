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
