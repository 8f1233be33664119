"""Admin API: compute hosts (R11), from the conductor.

The conductor joins the database's figures (desktops and boots per host)
with Placement's (memory and vCPUs against the overcommit limit): every
Placement call stays in the compute driver, bounded by its timeout, and
the RPC call by ``[api] conductor_timeout``.
"""

from vdi_broker.api import util
from vdi_broker import policy


def list_hosts(req):
    ctxt = util.context(req)
    policy.authorize(ctxt, "vdi_broker:hosts:list")
    return util.json_response(util.app(req).conductor.host_status(ctxt))
