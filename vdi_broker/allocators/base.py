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

"""The allocator plugin interface (R6).

An allocator *decides*; the core *claims and writes*. A plugin looks at an
:class:`AllocationRequest` (the authenticated principal, the thin client,
the seat) and returns a :class:`Decision`: which pool to take a desktop
from, and whether the desktop is bound to the user, the seat or the thin
client. The conductor then claims the desktop atomically and records the
binding. A plugin never touches the database or the cloud, which is what
makes every decision explainable and safe to dry-run.

A third-party allocator is a subclass of :class:`Allocator` plus one entry
point in the ``vdi_broker.allocators`` namespace; see
``doc/source/contributor/allocator-plugins.rst``.
"""

import abc
import dataclasses

import jsonschema

from vdi_broker.allocators import rules as rules_mod
from vdi_broker import exception
from vdi_broker.identity import base as identity_base


@dataclasses.dataclass
class AllocationRequest:
    """Everything an allocator may base its decision on."""

    principal: identity_base.Principal
    client_id: str
    seat: str = None
    seat_tags: tuple = ()
    site: str = None
    #: Where the site came from: 'seat', 'thin_client' or None.
    site_source: str = None

    def to_dict(self):
        return {"principal": self.principal.to_dict(),
                "client_id": self.client_id, "seat": self.seat,
                "seat_tags": list(self.seat_tags), "site": self.site,
                "site_source": self.site_source}

    @classmethod
    def from_dict(cls, data):
        principal = identity_base.Principal.from_dict(data["principal"])
        return cls(principal=principal,
                   client_id=data["client_id"], seat=data.get("seat"),
                   seat_tags=tuple(data.get("seat_tags") or ()),
                   site=data.get("site"),
                   site_source=data.get("site_source"))


@dataclasses.dataclass
class Decision:
    """Where the desktop comes from.

    ``pool`` is a pool id or name. With ``binding_kind`` set ('user',
    'seat' or 'client') the core returns the desktop bound to
    ``binding_key``, or claims one from the pool and binds it.
    """

    pool: str
    binding_kind: str = None
    binding_key: str = None
    reason: str = ""


class NotApplicable(Exception):
    """The allocator cannot serve this request although its rules matched.

    Raised by :meth:`Allocator.decide` (e.g. a seat allocator and a login
    without a seat). The chain goes on to the next allocator.
    """

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Allocator(metaclass=abc.ABCMeta):
    """Base class of allocator plugins.

    ``record`` is the allocator as stored (a dict with ``name``,
    ``pool_id``, ``rules``, ``options``...). ``conf`` is the broker's
    configuration; a plugin's own options live in the group
    ``[allocator.<plugin name>]`` (see :meth:`get_config_opts`).
    """

    #: JSON schema of the allocator's ``options``; checked when an operator
    #: creates or updates an allocator.
    options_schema = {"type": "object", "additionalProperties": False}

    #: Whether the allocator needs a target pool.
    requires_pool = True

    def __init__(self, conf, record):
        self.conf = conf
        self.record = record
        self.options = record.get("options") or {}

    @classmethod
    def validate_options(cls, options):
        try:
            jsonschema.validate(options or {}, cls.options_schema)
        except jsonschema.ValidationError as e:
            raise exception.Invalid(reason="allocator options: %s" %
                                    e.message)

    @classmethod
    def get_config_opts(cls):
        """Options of this plugin, for ``[allocator.<plugin name>]``."""
        return []

    def matches(self, request):
        """Return (matched, [RuleResult]). Plugins rarely override it."""
        return rules_mod.evaluate(self.record.get("rules"), request)

    @abc.abstractmethod
    def decide(self, request):
        """Return a :class:`Decision`, or raise :class:`NotApplicable`."""
