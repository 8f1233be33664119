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

"""Allocator rules: does an allocator serve this login? (R7 step 3)

A rule document is a JSON object. Every criterion present is checked;
``match`` says whether all of them (the default) or any one must hold. An
empty document matches everybody.

.. code-block:: json

   {"match": "all",
    "groups": ["sales-agents"],
    "ou": ["ou=shanghai,dc=example,dc=com"],
    "attributes": {"department": ["sales", "vip-sales"]},
    "seats": ["SH-3F-*"],
    "seat_tags": ["training-room"],
    "clients": ["tc-00:1a:*"],
    "sites": ["shanghai"]}

``groups`` match a group's common name or DN, nested groups included.
``ou`` matches the user's DN subtree (an OU DN such as
``ou=sales,ou=shanghai,dc=example,dc=com``) or a single OU name anywhere in
the DN's OU path (``sales``, or ``ou=sales`` alone). Names and DNs are
compared as LDAP compares them (``vdi_broker.identity.dn``): without
regard to case, spaces around ``=`` and ``,``, or how a value is escaped,
so ``ou = Sales`` matches the directory's ``OU=sales`` and
``OU=Sales\\, East`` is one OU.
Two more keys are not criteria: they choose among pools by site
(vdi_broker/login/sites.py, admin/allocation.rst). ``pools`` lists more
pools the allocator may take a desktop from (its own ``pool`` comes
first); ``site_fallback`` says whether a login may get another site's
pool when no pool of the agent's site can serve: ``false`` (the
default), ``true`` (any, in the listed order) or a list of site names
(those sites, in that order). Either key makes the allocator site-aware.

``attributes`` map a user attribute to accepted values (any value matching
is enough). ``seats`` and ``clients`` are shell-style patterns on the seat
name and client id. ``sites`` match the seat's (or thin client's) site.

Every check returns a :class:`RuleResult`, so a decision can always be
explained.
"""

import dataclasses
import fnmatch

import jsonschema

from vdi_broker import exception
from vdi_broker.identity import dn as dn_mod

_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1,
                                       "maxLength": 1024},
            "maxItems": 1000}

SCHEMA = {
    "type": "object",
    "properties": {
        "match": {"enum": ["all", "any"]},
        "groups": _STRINGS,
        "ou": _STRINGS,
        "attributes": {
            "type": "object",
            "additionalProperties": _STRINGS,
            "maxProperties": 100,
        },
        "seats": _STRINGS,
        "seat_tags": _STRINGS,
        "clients": _STRINGS,
        "sites": _STRINGS,
        "pools": {"type": "array", "minItems": 1, "maxItems": 50,
                  "uniqueItems": True,
                  "items": {"type": "string", "minLength": 1,
                            "maxLength": 255},
                  "x-message": "must be a non-empty list of distinct "
                               "pool names or ids (at most 50)"},
        "site_fallback": {"type": ["boolean", "array"], "minItems": 1,
                          "maxItems": 100, "uniqueItems": True,
                          "items": {"type": "string", "minLength": 1,
                                    "maxLength": 255},
                          "x-message": "must be true, false or a "
                                       "non-empty list of distinct site "
                                       "names"},
    },
    "additionalProperties": False,
}

#: Keys that choose among pools rather than match a login.
SITE_KEYS = ("pools", "site_fallback")

CRITERIA = ("groups", "ou", "attributes", "seats", "seat_tags", "clients",
            "sites")


def validate(rules):
    """Raise InvalidRules unless ``rules`` is a valid rule document."""
    try:
        jsonschema.validate(rules, SCHEMA)
    except jsonschema.ValidationError as e:
        path = "/".join(str(p) for p in e.absolute_path) or "rules"
        key = e.absolute_path[0] if e.absolute_path else None
        if key in SITE_KEYS:
            raise exception.InvalidRules(reason="%s: %s (%s)" % (
                key, SCHEMA["properties"][key]["x-message"], e.message))
        raise exception.InvalidRules(reason="%s: %s" % (path, e.message))
    for i, ou in enumerate(rules.get("ou", ())):
        # A subtree that cannot be parsed would never match: say so now.
        if "=" in ou and not dn_mod.is_dn(ou):
            raise exception.InvalidRules(
                reason="ou/%d: %r is not a valid DN (escape commas in "
                       "values as \\,)" % (i, ou))


@dataclasses.dataclass
class RuleResult:
    criterion: str
    matched: bool
    detail: str

    def to_dict(self):
        return dataclasses.asdict(self)


def _check_groups(wanted, request):
    principal = request.principal
    names = {dn_mod.fold(g) for g in principal.groups}
    # Drivers give DNs in group_dns; a static users file may list DNs as
    # group names too.
    dns = {dn_mod.normalize(g) for g in principal.group_dns}
    dns |= {dn_mod.normalize(g) for g in principal.groups
            if dn_mod.is_dn(g)}
    hits = [g for g in wanted
            if (dn_mod.normalize(g) in dns if dn_mod.is_dn(g)
                else dn_mod.fold(g) in names)]
    if hits:
        return True, "member of %s" % ", ".join(hits)
    return False, "not a member of any of %s" % ", ".join(wanted)


def _check_ou(wanted, request):
    dn = request.principal.dn
    ous = {dn_mod.fold(ou) for ou in request.principal.ou_path}
    for ou in wanted:
        rdns = dn_mod.parse(ou)
        if rdns is None:
            if dn_mod.fold(ou) in ous:
                return True, "OU path contains %s" % ou
        elif len(rdns) == 1 and len(rdns[0]) == 1 and rdns[0][0][0] == "ou":
            # A lone "ou = Sales": the OU named Sales anywhere in the path.
            if dn_mod.fold(rdns[0][0][1]) in ous:
                return True, "OU path contains %s" % ou
        elif dn_mod.in_subtree(dn, ou) and not dn_mod.equal(dn, ou):
            return True, "DN is under %s" % ou
    return False, "DN %s is not under %s" % (dn or "-", ", ".join(wanted))


def _check_attributes(wanted, request):
    attrs = {k.lower(): [v.lower() for v in vals]
             for k, vals in request.principal.attributes.items()}
    failed = []
    for name, accepted in wanted.items():
        values = attrs.get(name.lower(), [])
        if not any(a.lower() in values for a in accepted):
            failed.append("%s=%s not in %s" % (
                name, "|".join(values) or "(none)", "|".join(accepted)))
    if failed:
        return False, "; ".join(failed)
    return True, "attributes match %s" % ", ".join(sorted(wanted))


def _match_patterns(value, patterns):
    return value is not None and any(
        fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)


def _check_seats(wanted, request):
    if _match_patterns(request.seat, wanted):
        return True, "seat %s matches" % request.seat
    return False, "seat %s does not match %s" % (request.seat or "(none)",
                                                 ", ".join(wanted))


def _check_seat_tags(wanted, request):
    tags = {t.lower() for t in request.seat_tags}
    hits = [t for t in wanted if t.lower() in tags]
    if hits:
        return True, "seat tagged %s" % ", ".join(hits)
    return False, "seat has none of the tags %s" % ", ".join(wanted)


def _check_clients(wanted, request):
    if _match_patterns(request.client_id, wanted):
        return True, "client %s matches" % request.client_id
    return False, "client %s does not match %s" % (request.client_id,
                                                   ", ".join(wanted))


def _check_sites(wanted, request):
    if request.site and request.site.lower() in {s.lower() for s in wanted}:
        return True, "site %s" % request.site
    return False, "site %s is not one of %s" % (request.site or "(unknown)",
                                                ", ".join(wanted))


_CHECKS = {
    "groups": _check_groups,
    "ou": _check_ou,
    "attributes": _check_attributes,
    "seats": _check_seats,
    "seat_tags": _check_seat_tags,
    "clients": _check_clients,
    "sites": _check_sites,
}


def evaluate(rules, request):
    """Return (matched, [RuleResult]) for a rule document and a request."""
    rules = rules or {}
    results = []
    for criterion in CRITERIA:
        if criterion not in rules:
            continue
        matched, detail = _CHECKS[criterion](rules[criterion], request)
        results.append(RuleResult(criterion, matched, detail))
    if not results:
        return True, [RuleResult("*", True, "no rules: matches everybody")]
    if rules.get("match", "all") == "any":
        return any(r.matched for r in results), results
    return all(r.matched for r in results), results
