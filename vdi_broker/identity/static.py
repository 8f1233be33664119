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

"""The ``static`` identity driver: users from a JSON file.

For demos, tests and labs. The file holds a list of users::

    {"users": [{"username": "amy",
                "password_hash": "pbkdf2_sha256$200000$<salt>$<hash>",
                "dn": "uid=amy,ou=sales,ou=shanghai,dc=example,dc=com",
                "display_name": "Amy Wu",
                "groups": ["sales-agents", "shanghai-staff"],
                "attributes": {"department": ["sales"]}}]}

Passwords are stored as PBKDF2-SHA256 hashes (``vdi-broker-manage identity
hash-password``). Unknown users are checked against a dummy hash so that
both failures take the same time (no user enumeration).
"""

import base64
import hashlib
import hmac
import json
import os
import secrets

from oslo_log import log as logging

from vdi_broker import exception
from vdi_broker.identity import base

LOG = logging.getLogger(__name__)

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 200000


def hash_password(password, iterations=DEFAULT_ITERATIONS, salt=None):
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt,
                                 iterations)
    return "%s$%d$%s$%s" % (ALGORITHM, iterations,
                            base64.b64encode(salt).decode("ascii"),
                            base64.b64encode(digest).decode("ascii"))


def verify_password(password, encoded):
    try:
        algorithm, iterations, salt, digest = encoded.split("$")
        if algorithm != ALGORITHM:
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"),
                                     base64.b64decode(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


class StaticIdentityDriver(base.IdentityDriver):
    """Users, hashed passwords, groups and attributes from a file."""

    def __init__(self, conf):
        path = conf.static_identity.users_file
        if not path:
            raise exception.Invalid(
                reason="[static_identity] users_file is not set")
        self._users = self._load(path)
        # Unknown users cost one hash check too.
        iterations = DEFAULT_ITERATIONS
        if self._users:
            first = next(iter(self._users.values()))
            try:
                iterations = int(first["password_hash"].split("$")[1])
            except (KeyError, IndexError, ValueError):
                pass
        self._dummy_hash = hash_password(secrets.token_hex(8), iterations)

    @staticmethod
    def _load(path):
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            raise exception.Invalid(
                reason="cannot read users file %s: %s" % (path, e))
        entries = data.get("users") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise exception.Invalid(
                reason="users file %s: expected an object with a list "
                       "'users'" % path)
        users = {}
        for entry in entries:
            if not isinstance(entry, dict) or not all(
                    isinstance(entry.get(key), str)
                    for key in ("username", "password_hash")):
                raise exception.Invalid(
                    reason="users file %s: every user needs a username "
                           "and a password_hash (strings)" % path)
            users[entry["username"].lower()] = entry
        LOG.info("Static identity driver loaded %d users from %s",
                 len(users), path)
        return users

    def _principal(self, entry):
        return base.Principal(
            username=entry["username"],
            dn=entry.get("dn", ""),
            display_name=entry.get("display_name", ""),
            groups=tuple(entry.get("groups", ())),
            group_dns=tuple(entry.get("group_dns", ())),
            attributes={k: tuple(v if isinstance(v, list) else [v])
                        for k, v in entry.get("attributes", {}).items()})

    def authenticate(self, username, password):
        if not password:
            raise exception.LoginFailed(reason="invalid_password")
        entry = self._users.get((username or "").lower())
        encoded = entry["password_hash"] if entry else self._dummy_hash
        ok = verify_password(password, encoded)
        # The client sees the same 401 either way; the reason is for the
        # failed-login event.
        if entry is None:
            raise exception.LoginFailed(reason="unknown_user")
        if not ok:
            raise exception.LoginFailed(reason="wrong_password")
        return self._principal(entry)

    def lookup(self, username):
        entry = self._users.get((username or "").lower())
        if entry is None:
            raise exception.NotFound(
                message="User %s is not in the directory." % username)
        return self._principal(entry)
