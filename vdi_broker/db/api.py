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

"""The database API the rest of the broker calls.

A thin facade over the SQLAlchemy implementation, so callers never import
SQLAlchemy and the backend stays replaceable. Each storage module under
``db/sqlalchemy/`` lists what it offers in ``__all__``; this module
re-exports exactly those functions (a name offered twice is an error), so
``db.pool_get`` is ``db/sqlalchemy/pools.py``'s ``pool_get``.

Where things live (see doc/source/contributor/storage.rst):

- ``engine.py``: engine set-up and the transaction context;
- ``common.py``: helpers every module shares;
- ``allocation.py``: the login's allocation transaction (its allocators
  and pools from ``login_cache.py``);
- ``sessions.py``: what follows a login (undo, logout, release, reads);
- one module per resource: pools, desktops, allocators, bindings, seats,
  thin clients, schedules, events, the boot queue, login failures, metrics,
  hosts, guest jobs, image roll-outs, maintenance windows, guest agents
  (agents.py), incidents (incidents.py), business monitoring (departments,
  shift plans, agent counts) and alerts.
"""

from vdi_broker.db.sqlalchemy import agents as _agents
from vdi_broker.db.sqlalchemy import alerts as _alerts
from vdi_broker.db.sqlalchemy import allocation as _allocation
from vdi_broker.db.sqlalchemy import allocators as _allocators
from vdi_broker.db.sqlalchemy import bindings as _bindings
from vdi_broker.db.sqlalchemy import boot_queue as _boot_queue
from vdi_broker.db.sqlalchemy import desktops as _desktops
from vdi_broker.db.sqlalchemy import events as _events
from vdi_broker.db.sqlalchemy import hosts as _hosts
from vdi_broker.db.sqlalchemy import incidents as _incidents
from vdi_broker.db.sqlalchemy import jobs as _jobs
from vdi_broker.db.sqlalchemy import login_failures as _login_failures
from vdi_broker.db.sqlalchemy import maintenance as _maintenance
from vdi_broker.db.sqlalchemy import metrics as _metrics
from vdi_broker.db.sqlalchemy import monitoring as _monitoring
from vdi_broker.db.sqlalchemy import pools as _pools
from vdi_broker.db.sqlalchemy import rollouts as _rollouts
from vdi_broker.db.sqlalchemy import schedules as _schedules
from vdi_broker.db.sqlalchemy import seats as _seats
from vdi_broker.db.sqlalchemy import sessions as _sessions
from vdi_broker.db.sqlalchemy import thin_clients as _thin_clients

# (module, the names it offers).
_MODULES = tuple(
    (module, module.__all__) for module in (
        _allocation, _sessions, _pools, _desktops, _allocators, _bindings,
        _seats, _thin_clients, _schedules, _events, _boot_queue,
        _login_failures, _metrics, _hosts, _jobs, _rollouts, _maintenance,
        _agents, _incidents, _monitoring, _alerts))


def _export(modules):
    owners = {}
    for module, names in modules:
        for name in names:
            if name in owners:
                raise ImportError("%s is offered by both %s and %s" % (
                    name, owners[name].__name__, module.__name__))
            owners[name] = module
            globals()[name] = getattr(module, name)
    return tuple(sorted(owners))


__all__ = _export(_MODULES)
