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

"""Thin-client session tokens.

A token is 256 random bits handed to the thin client once, at login. The
database keeps only its SHA-256, so neither a dump nor a log can be
replayed; tokens are compared in constant time.
"""

import datetime
import hashlib
import hmac
import secrets

from oslo_utils import timeutils

from vdi_broker import exception

HEADER = "X-Session-Token"


def new_token():
    return secrets.token_urlsafe(32)


def token_hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def expires_at(ttl):
    return timeutils.utcnow() + datetime.timedelta(seconds=ttl)


def check(req, session):
    """Check the request's session token.

    Raise InvalidSessionToken unless the request holds the session's token
    and the session is still active.
    """
    token = req.headers.get(HEADER)
    if not token or len(token) > 256:
        raise exception.InvalidSessionToken()
    if not hmac.compare_digest(token_hash(token), session["token_hash"]):
        raise exception.InvalidSessionToken()
    now = timeutils.utcnow()
    if session["state"] != "active" or session["expires_at"] < now:
        raise exception.InvalidSessionToken()
