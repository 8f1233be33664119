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

"""Distinguished names: parse and compare them as LDAP does.

The one place that splits DNs (the identity drivers, the principal's OU
path and the allocator rules all use it). Parsing is ldap3's RFC 4514
parser (``ldap3.utils.dn.parse_dn``); comparison follows the matching
rules of the attributes DNs are made of (``caseIgnoreMatch`` for ou, cn,
dc, uid...): attribute types and values are compared without regard to
case, spaces around ``=``, ``,`` and ``+`` do not count, runs of spaces
inside a value count as one, escapes are undone before comparing
(``Sales\\, East``, ``Sales\\2C East`` and ``"Sales, East"`` spelled with
escapes are one value) and the RDNs of a multi-valued RDN
(``cn=a+sn=b``) may come in any order::

    >>> dn.normalize("OU = Sales\\, East , DC=Example,DC=com")
    'ou=sales\\, east,dc=example,dc=com'
    >>> dn.in_subtree("uid=amy,ou=sales,dc=example,dc=com",
    ...               "OU=Sales, DC=example, DC=com")
    True

This module only imports ldap3's DN utilities (no directory access), so
any layer may use it: it is the documented exception to "ldap3 is
imported by identity/ldap.py only" (hacking check VB305).

A string that is no valid DN (a garbled directory value, a rule written
by hand) never raises here: :func:`parse` returns None and such a string
is compared as a plain text, case-insensitively, like a group name.
"""

import functools

from ldap3.utils import dn as ldap3_dn

_HEX = "0123456789abcdefABCDEF"


def _unescape(value):
    """An RFC 4514 attribute value with its escapes undone.

    ``\\,`` gives ``,``; ``\\2C`` gives ``,``; escaped bytes are UTF-8
    (``\\C3\\A9`` gives ``e`` with an acute accent).
    """
    if "\\" not in value:
        return value
    out = bytearray()
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            pair = value[i + 1:i + 3]
            if len(pair) == 2 and all(c in _HEX for c in pair):
                out.append(int(pair, 16))
                i += 3
                continue
            out += value[i + 1].encode("utf-8")
            i += 2
            continue
        out += ch.encode("utf-8")
        i += 1
    return out.decode("utf-8", errors="replace")


def _fold(text):
    """caseIgnoreMatch's view of a string: case and extra spaces gone."""
    return " ".join(text.split()).casefold()


def _escape(value):
    """Escape a (folded) value for the canonical string form."""
    if not value:
        return value
    return ldap3_dn.escape_rdn(value)


@functools.lru_cache(maxsize=8192)
def parse(dn):
    """The RDNs of ``dn``, outermost last, or None if it is no DN.

    Each RDN is a tuple of ``(attribute type, value)`` pairs (more than one
    for a multi-valued RDN); types are in lower case, values unescaped and
    as written (case kept), so that they can be shown.
    """
    if not isinstance(dn, str) or "=" not in dn:
        return None
    try:
        avas = ldap3_dn.parse_dn(dn, escape=False, strip=True)
    except (ldap3_dn.LDAPInvalidDnError, IndexError, ValueError):
        return None
    rdns, current = [], []
    for attribute, value, separator in avas:
        if not attribute:
            return None
        current.append((attribute.strip().lower(), _unescape(value)))
        if separator != "+":
            rdns.append(tuple(current))
            current = []
    if current:
        rdns.append(tuple(current))
    return tuple(rdns)


@functools.lru_cache(maxsize=8192)
def _key(dn):
    """The comparison key of a DN: folded RDNs, or None."""
    rdns = parse(dn)
    if rdns is None:
        return None
    return tuple(tuple(sorted((attribute, _fold(value))
                              for attribute, value in rdn))
                 for rdn in rdns)


@functools.lru_cache(maxsize=8192)
def normalize(dn):
    """A canonical string for comparing and indexing DNs.

    Two DNs LDAP considers equal give the same string. A text that is no
    DN gives its folded self (case and extra spaces removed), so that it
    can still be compared with other texts. Cached: a login's group walk
    normalizes the same few group DNs again and again (escaping them cost
    a sixth of the driver's CPU).
    """
    key = _key(dn)
    if key is None:
        return _fold(dn or "")
    return ",".join("+".join("%s=%s" % (attribute, _escape(value))
                             for attribute, value in rdn)
                    for rdn in key)


def canonical(dn):
    """``dn`` written the way every LDAP library accepts it.

    Spaces around separators removed, attribute types in lower case,
    values as written (case kept) and escaped per RFC 4514: for DNs from
    the configuration, which ldap3 refuses with spaces around ``=``. An
    empty string stays empty (the root); raises ValueError for a text that
    is no DN.
    """
    if not (dn or "").strip():
        return ""
    rdns = parse(dn)
    if rdns is None:
        raise ValueError("%r is not a valid DN" % dn)
    return ",".join("+".join("%s=%s" % (attribute, _escape(value))
                             for attribute, value in rdn)
                    for rdn in rdns)


def is_dn(text):
    """Whether ``text`` parses as a DN (has at least one ``type=value``)."""
    return parse(text) is not None


def equal(first, second):
    """Whether two DNs name the same entry (texts: case-insensitively)."""
    return normalize(first) == normalize(second)


def in_subtree(dn, base):
    """Whether ``dn`` is ``base`` or below it (LDAP's subtree scope).

    False when either is no valid DN; an empty base contains everything.
    """
    if base is None or not base.strip():
        return True
    key, base_key = _key(dn), _key(base)
    if key is None or base_key is None or len(base_key) > len(key):
        return False
    return key[len(key) - len(base_key):] == base_key


def values(dn, attribute):
    """The values of ``attribute`` in every RDN of ``dn``, leaf first.

    ``values("uid=amy,OU=Sales\\, East,ou=sh,dc=x", "ou")`` gives
    ``["Sales, East", "sh"]``: unescaped, case as written.
    """
    attribute = attribute.lower()
    return [value for rdn in parse(dn) or () for name, value in rdn
            if name == attribute]


def leaf_value(dn, attribute):
    """The value of the leaf RDN of ``dn`` if its type is ``attribute``."""
    rdns = parse(dn)
    if not rdns:
        return None
    attribute = attribute.lower()
    for name, value in rdns[0]:
        if name == attribute:
            return value
    return None


def fold(text):
    """Compare attribute values (an OU name, a group name) with this."""
    return _fold(text or "")
