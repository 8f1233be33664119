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

"""Site preference: which of an allocator's pools serves a login.

A pure function of the chain's inputs, as the chain is
(vdi_broker/login/chain.py). The agent's site is the seat's, else the
thin client's (:func:`agent_site`). An allocator whose rules name
``pools`` (several pools, the allocator's own ``pool`` first) or
``site_fallback`` is *site-aware* (admin/allocation.rst):

* the pools of the agent's site come first, in the order listed;
* then, only when ``site_fallback`` allows it, the pools of other sites:
  ``true`` any of them in the order listed, a list of site names those
  sites' pools in that order; ``false`` (the default) none;
* a pool that cannot serve now (disabled, or drained by a maintenance
  window) is left out, with the reason.

The login claims from the first candidate that has a ready desktop
(login/service.py), so a site's pool that is exhausted also falls back
when the rule allows it. A binding that exists (user, seat or thin
client) is never moved: its pool is the only candidate, whatever its
site. An allocator that is not site-aware keeps its single pool, as
before.
"""

from vdi_broker.conductor import maintenance
from vdi_broker import states

#: Placement roles of a candidate pool.
SAME_SITE = "same_site"
FALLBACK = "fallback"
BOUND = "bound"
ONLY = "only"
NO_SITE = "site_unknown"


def agent_site(seat, client):
    """(site, source): the seat's site, else the thin client's."""
    if seat and seat.get("site"):
        return seat["site"], "seat"
    if client and client.get("site"):
        return client["site"], "thin_client"
    return None, None


def site_aware(record):
    """Whether an allocator record's rules ask for site preference."""
    rules = (record or {}).get("rules") or {}
    return "pools" in rules or "site_fallback" in rules


def any_site_aware(records):
    return any(site_aware(r) for r in records)


def _same(a, b):
    return a is not None and b is not None and a.lower() == b.lower()


def _find(pools, ref):
    return next((p for p in pools if ref in (p["id"], p["name"])), None)


def _unavailable(pool, now):
    """Why a pool cannot serve a login now (None: it can)."""
    if not pool["enabled"]:
        return "disabled"
    if now is not None and maintenance.pool_draining(pool, now):
        return "draining for a maintenance window"
    return None


def _entry(pool, role, reason):
    return {"pool": pool, "role": role, "reason": reason}


def place(record, decision, pools, bindings, site, now=None):
    """Where a decided login's desktop may come from.

    ``record``/``decision``: the chain's winner; ``pools``: every pool
    row; ``bindings``: {(kind, key): binding row} of the login's keys
    (read up front for site-aware chains); ``site``: (site, source).
    Returns a dict: ``site``, ``site_source``, ``candidates`` (entries of
    pool row, role and reason, in the order to try), ``skipped`` (pools
    left out and why), ``fallback_allowed`` and ``refusal`` (why no pool
    may serve, or None). The first candidate is the chain's pool.
    """
    name, source = site
    result = {"site": name, "site_source": source, "candidates": [],
              "skipped": [], "site_aware": site_aware(record),
              "fallback_allowed": False, "refusal": None}
    kind = decision.binding_kind
    bound = bindings.get((kind, decision.binding_key)) if kind else None
    if bound is not None:
        pool = _find(pools, bound["pool_id"])
        if pool is not None:
            result["candidates"].append(_entry(
                pool, BOUND, "the %s binding's desktop stays in pool %s "
                "(site %s)" % (kind, pool["name"], pool.get("site") or "-")))
        return result
    first = _find(pools, decision.pool)
    if not result["site_aware"]:
        if first is not None:
            result["candidates"].append(_entry(first, ONLY, ""))
        return result
    rules = record.get("rules") or {}
    refs = [decision.pool] + [p for p in rules.get("pools", ())
                              if p != decision.pool]
    listed = []
    for ref in refs:
        pool = _find(pools, ref)
        if pool is None:
            result["skipped"].append({"pool": ref,
                                      "reason": "no such pool"})
        elif pool["id"] not in {p["id"] for p in listed}:
            listed.append(pool)
    fallback = rules.get("site_fallback", False)
    result["fallback_allowed"] = bool(fallback)
    if name is None:
        # No site known for the agent: the rule's order, as listed.
        for pool in listed:
            why = _unavailable(pool, now)
            if why:
                result["skipped"].append({"pool": pool["name"],
                                          "reason": why})
            else:
                result["candidates"].append(_entry(
                    pool, NO_SITE, "the agent's site is unknown: pool "
                    "%s in the rule's order" % pool["name"]))
        if not result["candidates"] and listed:
            # The refusal of the first pool (disabled, draining).
            result["candidates"].append(_entry(listed[0], NO_SITE, ""))
        return result
    same = [p for p in listed if _same(p.get("site"), name)]
    for pool in same:
        why = _unavailable(pool, now)
        if why:
            result["skipped"].append({"pool": pool["name"], "reason": why})
        else:
            result["candidates"].append(_entry(
                pool, SAME_SITE, "pool %s of the agent's site %s (from "
                "the %s)" % (pool["name"], name,
                             source.replace("_", " "))))
    others = [p for p in listed if not _same(p.get("site"), name)]
    if fallback is True:
        order = others
    elif fallback:
        order = [p for s in fallback for p in others
                 if _same(p.get("site"), s)]
    else:
        order = []
    why_not = _why_not_same(name, same, result["skipped"])
    for pool in order:
        why = _unavailable(pool, now)
        if why:
            result["skipped"].append({"pool": pool["name"], "reason": why})
            continue
        result["candidates"].append(_entry(
            pool, FALLBACK, "fallback to pool %s of site %s: %s" % (
                pool["name"], pool.get("site") or "-", why_not)))
    if not result["candidates"]:
        if same:
            # A same-site pool that cannot serve: its own refusal
            # (disabled, draining), as without sites.
            result["candidates"].append(_entry(same[0], SAME_SITE, ""))
        else:
            result["refusal"] = "%s; %s" % (
                why_not, "no fallback pool can serve" if fallback else
                "the allocator allows no fallback to another site")
    return result


def _why_not_same(site, same, skipped):
    if not same:
        return "no pool of the agent's site %s in the rule" % site
    names = {p["name"] for p in same}
    reasons = ["%s %s" % (s["pool"], s["reason"]) for s in skipped
               if s["pool"] in names]
    return "the agent's site %s cannot serve (%s)" % (
        site, "; ".join(reasons) or "no ready desktop")


def exhausted_note(pool):
    """The reason of a fallback taken because ``pool`` had no desktop.

    A pool that cannot refill says why (its cloud is down, it has no
    capacity): the status the pool manager set, as the login read it.
    """
    note = "pool %s has no ready desktop" % pool["name"]
    status = pool.get("status")
    if status == states.POOL_CLOUD_DOWN:
        note += " (%s: cloud %s does not answer)" % (
            status, pool.get("cloud") or "default")
    elif status in states.POOL_STATUSES and status != states.POOL_ACTIVE:
        note += " (%s)" % status
    return note


def public(placement):
    """The placement as the explanation and the events show it."""
    if placement is None:
        return None
    return {
        "site": placement["site"], "site_source": placement["site_source"],
        "site_aware": placement["site_aware"],
        "fallback_allowed": placement["fallback_allowed"],
        "candidates": [{"pool": c["pool"]["name"], "id": c["pool"]["id"],
                        "site": c["pool"].get("site"), "role": c["role"],
                        "reason": c["reason"]}
                       for c in placement["candidates"]],
        "skipped": list(placement["skipped"]),
        "refusal": placement["refusal"]}
