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

import itertools

from vdi_broker.policies import allocators
from vdi_broker.policies import base
from vdi_broker.policies import bindings
from vdi_broker.policies import desktops
from vdi_broker.policies import events
from vdi_broker.policies import hosts
from vdi_broker.policies import incidents
from vdi_broker.policies import jobs
from vdi_broker.policies import monitoring
from vdi_broker.policies import pools
from vdi_broker.policies import rollouts
from vdi_broker.policies import schedules
from vdi_broker.policies import seats
from vdi_broker.policies import sessions
from vdi_broker.policies import thin_clients


def list_rules():
    return list(itertools.chain(
        base.list_rules(),
        pools.list_rules(),
        allocators.list_rules(),
        bindings.list_rules(),
        desktops.list_rules(),
        sessions.list_rules(),
        seats.list_rules(),
        thin_clients.list_rules(),
        schedules.list_rules(),
        events.list_rules(),
        hosts.list_rules(),
        jobs.list_rules(),
        rollouts.list_rules(),
        incidents.list_rules(),
        monitoring.list_rules(),
    ))
