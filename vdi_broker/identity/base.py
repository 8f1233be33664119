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

"""The identity driver interface.

An identity driver checks a thin-client user's password against the company
directory and returns a :class:`Principal`: who the user is and everything
allocator rules may match on (OU path, groups, attributes). Drivers are
loaded from the ``vdi_broker.identity`` stevedore namespace by the name in
``[identity] driver``.
"""

import abc
import dataclasses

from vdi_broker.identity import dn as dn_mod


def ou_path_from_dn(dn):
    """Return the OU components of a DN, outermost last.

    ``uid=amy,ou=sales,ou=shanghai,dc=example,dc=com`` gives
    ``['sales', 'shanghai']``. Values are unescaped (``OU=Sales\\, East``
    gives ``Sales, East``) and keep their case; a string that is no DN
    has no OU path.
    """
    return dn_mod.values(dn, "ou")


@dataclasses.dataclass(frozen=True)
class Principal:
    """An authenticated directory user, as allocator rules see it.

    ``groups`` holds every group the user belongs to, direct and nested, by
    common name; ``group_dns`` the same groups by DN where the directory
    has them. ``attributes`` maps configured directory attributes
    (department, title, employeeType, ...) to lists of strings.
    """

    username: str
    dn: str = ""
    display_name: str = ""
    groups: tuple = ()
    group_dns: tuple = ()
    attributes: dict = dataclasses.field(default_factory=dict)

    @property
    def ou_path(self):
        return ou_path_from_dn(self.dn)

    def to_dict(self):
        return {
            "username": self.username,
            "dn": self.dn,
            "display_name": self.display_name,
            "groups": list(self.groups),
            "group_dns": list(self.group_dns),
            "attributes": {k: list(v) for k, v in self.attributes.items()},
        }

    @classmethod
    def from_dict(cls, data):
        return cls(
            username=data["username"],
            dn=data.get("dn", ""),
            display_name=data.get("display_name", ""),
            groups=tuple(data.get("groups", ())),
            group_dns=tuple(data.get("group_dns", ())),
            attributes={k: tuple(v) for k, v in
                        (data.get("attributes") or {}).items()},
        )


class IdentityDriver(metaclass=abc.ABCMeta):
    """Authenticates thin-client users against a directory."""

    @abc.abstractmethod
    def authenticate(self, username, password):
        """Check the password and return the user's :class:`Principal`.

        Raise :class:`vdi_broker.exception.LoginFailed` for an unknown user
        or a wrong password alike (the client sees the same 401), with a
        ``reason`` keyword for the failed-login event (``unknown_user``,
        ``wrong_password``, ...: ``identity/failure_events.py``), and
        :class:`vdi_broker.exception.IdentityUnavailable` when the directory
        cannot be reached in time. Never log the password.
        """

    def lookup(self, username):
        """Return the :class:`Principal` of a user without a password.

        Used by the explain dry run and by operators; drivers that cannot
        search without credentials raise ``NotImplementedError``.
        """
        raise NotImplementedError()

    def check_health(self):
        """Raise IdentityUnavailable if the directory cannot be reached."""

    def close(self):
        """Release connections; called at shutdown."""
