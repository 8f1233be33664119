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

"""The allocator chain's decision: a pure function of inputs read up front.

:func:`decide` gets what ``db.login_inputs`` read (the seat and thin client
records, every allocator and every pool) and the login's request; it walks
the chain (vdi_broker/allocators: rules, bound and pool allocators) and
returns an :class:`Outcome`. It reads and writes nothing, calls nothing
back and shares no state: the same inputs give the same outcome, which is
what makes a decision explainable (``POST /v1/allocators/explain`` runs
exactly this) and testable without a database.

:func:`refusal` turns an outcome that gives no desktop into the exception
the login answers with, and the reason its (bounded) refusal event names.
"""

import collections
import datetime

from vdi_broker import allocators
from vdi_broker.allocators import base as allocator_base
# A pure predicate (no conductor service is loaded by it).
from vdi_broker.conductor import maintenance
from vdi_broker import exception
from vdi_broker.login import sites

#: ``record``: the allocator chosen (None: none matched); ``decision``:
#: its allocators.base.Decision; ``trace``: every step of the walk;
#: ``pool``: the pool to claim from first (None: no such pool);
#: ``placement``: login/sites.py's place() (None: no allocator matched):
#: the agent's site and the candidate pools, in the order to try.
Outcome = collections.namedtuple("Outcome",
                                 "record decision trace pool placement")

# The reasons of the refusal events (identity/failure_events.py REASONS).
NO_ALLOCATOR = "no_allocator"
POOL_DISABLED = "pool_disabled"
POOL_DRAINING = "pool_draining"
NO_POOL = "pool_missing"
SITE_NO_POOL = "site_no_pool"


def request_for(login, inputs):
    """The AllocationRequest of a login.

    ``login``: the principal (a dict), client_id and seat; ``inputs``:
    db.login_inputs' result (the seat's tags, the seat's or else the thin
    client's site).
    """
    seat, client = inputs["seat"] or {}, inputs["client"] or {}
    site, source = sites.agent_site(seat, client)
    return allocator_base.AllocationRequest.from_dict({
        "principal": login["principal"],
        "client_id": login["client_id"], "seat": login.get("seat"),
        "seat_tags": seat.get("tags") or (),
        "site": site, "site_source": source})


def decide(conf, inputs, request, now=None):
    """Walk the allocator chain over ``inputs``; return an Outcome.

    ``now``: the time pools' maintenance windows are judged at when a
    site-aware allocator chooses among its pools (login/sites.py).
    """
    record, decision, trace = allocators.walk(conf, inputs["allocators"],
                                              request)
    pool = placement = None
    if decision is not None:
        placement = sites.place(
            record, decision, inputs["pools"], inputs.get("bindings") or {},
            (request.site, request.site_source), now=now)
        if placement["candidates"]:
            pool = placement["candidates"][0]["pool"]
        if trace and placement["site_aware"]:
            trace[-1]["site"] = sites.public(placement)
    return Outcome(record, decision, trace, pool, placement)


def brief(trace):
    """The trace as the client sees it: each allocator and its result."""
    return [{"allocator": step["allocator"], "result": step["result"]}
            for step in trace]


def refusal(outcome, username, now=None):
    """(reason, exception) when the outcome gives no desktop, else None.

    ``now``: the time a draining maintenance window is judged at (the
    pool's ``drain_until``, set by the conductor as the window opens;
    admin/maintenance.rst); None: the pool's drain is not looked at.
    """
    if outcome.record is None:
        return NO_ALLOCATOR, exception.NoAllocatorMatches(
            username=username, tried=brief(outcome.trace))
    placement = outcome.placement
    if placement is not None and placement["refusal"]:
        return SITE_NO_POOL, exception.SiteUnavailable(
            site=placement["site"], reason=placement["refusal"],
            allocator=outcome.record["name"])
    if outcome.pool is None:
        return NO_POOL, exception.ServiceUnavailable(
            reason="allocator %s has no pool" % outcome.record["name"])
    if not outcome.pool["enabled"]:
        return POOL_DISABLED, exception.PoolExhausted(
            pool=outcome.pool["name"], status="disabled",
            status_reason="pool is disabled")
    if now is not None and maintenance.pool_draining(outcome.pool, now):
        until = outcome.pool["drain_until"]
        return POOL_DRAINING, exception.PoolExhausted(
            pool=outcome.pool["name"], status="draining",
            status_reason="maintenance window until %s UTC" % (
                _naive_utc(until).isoformat(timespec="minutes")))
    return None


def _naive_utc(value):
    """A datetime as naive UTC (the database's and timeutils' form)."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def claim_decision(outcome, candidate=None, passed=()):
    """The decision as db.login_claim takes it.

    ``candidate``: one of the placement's candidates (None: the first);
    ``passed``: the reasons of the candidates tried before it (pools with
    no ready desktop). A site-aware placement adds ``site`` to the
    decision: the agent's site, where it came from, the pool's role and,
    when another site's pool serves, the fallback's reason; the login's
    event records it.
    """
    pool = candidate["pool"] if candidate else outcome.pool
    decision = {"pool_id": pool["id"],
                "binding_kind": outcome.decision.binding_kind,
                "binding_key": outcome.decision.binding_key,
                "allocator_id": outcome.record["id"],
                "allocator_name": outcome.record["name"]}
    placement = outcome.placement
    if placement is not None and placement["site"] is not None:
        candidate = candidate or placement["candidates"][0]
        site = {"site": placement["site"],
                "source": placement["site_source"],
                "pool_site": pool.get("site"), "role": candidate["role"]}
        if candidate["role"] == sites.FALLBACK or passed:
            site["fallback"] = "; ".join(
                list(passed) + [candidate["reason"]])
        decision["site"] = site
    return decision


def candidates(outcome):
    """The pools a login may claim from, in order (at least one)."""
    placement = outcome.placement
    if placement is None or not placement["candidates"]:
        return [{"pool": outcome.pool, "role": sites.ONLY, "reason": ""}]
    return placement["candidates"]
