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

"""The allocator chain's order, as an operator sets it."""

from vdi_broker.db import api as db
from vdi_broker import exception


def reorder_ids(allocators, idents):
    """Resolve an ordered list of allocator ids or names.

    ``allocators`` is every allocator (dicts with id and name); the list
    must name each exactly once. Raises Invalid otherwise.
    """
    by_key = {}
    for a in allocators:
        by_key[a["id"]] = a["id"]
        by_key.setdefault(a["name"], a["id"])
    unknown = [i for i in idents if i not in by_key]
    if unknown:
        raise exception.Invalid(reason="unknown allocators: %s" %
                                ", ".join(unknown[:10]))
    ids, seen, twice = [], set(), []
    for ident in idents:
        allocator_id = by_key[ident]
        if allocator_id in seen:
            twice.append(ident)
        seen.add(allocator_id)
        ids.append(allocator_id)
    if twice:
        raise exception.Invalid(reason="allocators listed more than once: "
                                       "%s" % ", ".join(twice[:10]))
    missing = sorted(a["name"] for a in allocators if a["id"] not in seen)
    if missing:
        raise exception.Invalid(reason="the list must name every "
                                       "allocator; missing: %s" %
                                       ", ".join(missing[:10]))
    return ids


def reorder(ctxt, idents):
    """Set the chain's order: priorities 10, 20, ... in one transaction.

    The list is checked against the allocators as they are now (Invalid,
    a 400); if the set changes before the transaction locks it, Conflict
    (a 409) and nothing changes.
    """
    current = db.allocator_list(ctxt)
    ids = reorder_ids(current, idents)
    return db.allocator_reorder(ctxt, ids,
                                expected_ids=[a["id"] for a in current])
