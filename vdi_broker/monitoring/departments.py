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

"""Departments: which directory users belong to which (R15).

A department's ``rules`` are an allocator rule document restricted to the
user's own criteria: ``groups``, ``ou``, ``attributes`` and ``match``
(see :mod:`vdi_broker.allocators.rules`, whose matching, and DN handling
through :mod:`vdi_broker.identity.dn`, is used as it is). The department
of lowest priority (then name) whose rules match the user is theirs; an
empty document matches everybody (a catch-all, priority it last).
"""

import threading
import time

from vdi_broker.allocators import base as allocator_base
from vdi_broker.allocators import rules as rules_mod
from vdi_broker import exception
from vdi_broker.identity import base as identity_base

CRITERIA = ("match", "groups", "ou", "attributes")

SCHEMA = {
    "type": "object",
    "properties": {k: v for k, v in rules_mod.SCHEMA["properties"].items()
                   if k in CRITERIA},
    "additionalProperties": False,
}


def validate(rules):
    """Raise InvalidRules unless ``rules`` is a department rule document."""
    extra = sorted(set(rules or {}) - set(CRITERIA))
    if extra:
        raise exception.InvalidRules(
            reason="a department matches users by %s only, not by %s" % (
                ", ".join(CRITERIA[1:]), ", ".join(extra)))
    rules_mod.validate(rules or {})


def _principal(principal):
    if isinstance(principal, identity_base.Principal):
        return principal
    return identity_base.Principal.from_dict(principal)


def ordered(departments):
    return sorted(departments, key=lambda d: (d["priority"], d["name"]))


def department_for(departments, principal):
    """The name of the user's department, or None.

    ``departments``: department dicts (name, priority, rules);
    ``principal``: a Principal or its dict.
    """
    request = allocator_base.AllocationRequest(
        principal=_principal(principal), client_id="")
    for department in ordered(departments):
        matched, _results = rules_mod.evaluate(department["rules"] or {},
                                               request)
        if matched:
            return department["name"]
    return None


def explain(departments, principal):
    """[(department name, matched, [RuleResult dicts])] in order."""
    request = allocator_base.AllocationRequest(
        principal=_principal(principal), client_id="")
    found = []
    for department in ordered(departments):
        matched, results = rules_mod.evaluate(department["rules"] or {},
                                              request)
        found.append((department["name"], matched,
                      [r.to_dict() for r in results]))
    return found


class Cache:
    """The departments, read at most every ``ttl`` seconds.

    ``read()`` returns the department dicts (db.department_list). A read
    that fails keeps the last list (a login is not refused because the
    departments could not be read: its session gets no department).
    """

    def __init__(self, read, ttl, clock=time.monotonic):
        self._read = read
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._departments = None
        self._expires = None

    def get(self):
        with self._lock:
            now = self._clock()
            if self._departments is None or now >= self._expires:
                try:
                    self._departments = list(self._read())
                except Exception:
                    if self._departments is None:
                        raise
                self._expires = now + self._ttl
            return self._departments

    def department_for(self, principal):
        return department_for(self.get(), principal)
