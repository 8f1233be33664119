import itertools

from vdi_broker.policies import allocators
from vdi_broker.policies import base
from vdi_broker.policies import bindings
from vdi_broker.policies import desktops
from vdi_broker.policies import pools
from vdi_broker.policies import sessions


def list_rules():
    return list(itertools.chain(
        base.list_rules(),
        pools.list_rules(),
        allocators.list_rules(),
        bindings.list_rules(),
        desktops.list_rules(),
        sessions.list_rules(),
    ))
