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

"""Signing in: Keystone password authentication, or a persona (noauth).

Keystone: the operator's user name and password authenticate once
(keystoneauth1 v3 password, scoped to the operator project); the portal
keeps the token, its expiry, the roles and the broker's endpoint from
the catalog in its session store, and forgets the password. The
all-in-one mode (an API with ``auth_strategy = noauth``) signs in as a
persona: the portal then sends that persona's roles as X-Roles.
"""

import datetime

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1.identity import v3
from oslo_utils import timeutils

from vdi_broker.portal import api
from vdi_broker.portal import personas

# How long a noauth session may live at most (the idle timeout applies
# too).
NOAUTH_LIFETIME = datetime.timedelta(hours=24)


class SignInFailed(Exception):
    """Why a sign-in failed, in words for the operator (``reason``)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _expiry(value):
    value = timeutils.normalize_time(value)
    return value.replace(tzinfo=datetime.timezone.utc).timestamp()


def keystone(conf, username, password):
    """(session data, expires_at) for a Keystone user; SignInFailed."""
    options = conf.portal
    if not options.auth_url:
        raise SignInFailed("config")
    scope = ({"project_id": options.project_id} if options.project_id else
             {"project_name": options.project_name,
              "project_domain_name": options.project_domain_name})
    auth = v3.Password(auth_url=options.auth_url, username=username,
                       password=password,
                       user_domain_name=options.user_domain_name, **scope)
    session = api.load_session(conf, auth)
    try:
        access = auth.get_access(session)
        endpoint = api.make_adapter(conf, session).get_endpoint()
    except ks_exc.Unauthorized:
        raise SignInFailed("credentials")
    except ks_exc.EndpointNotFound:
        raise SignInFailed("endpoint")
    except (ks_exc.ConnectFailure, ks_exc.ConnectTimeout,
            ks_exc.DiscoveryFailure):
        raise SignInFailed("unreachable")
    except ks_exc.ClientException:
        raise SignInFailed("keystone")
    if not endpoint:
        raise SignInFailed("endpoint")
    persona = personas.from_roles(access.role_names)
    if persona is None:
        raise SignInFailed("role")
    data = {"identity": {"token": access.auth_token,
                         "endpoint": endpoint},
            "user": access.username, "user_id": access.user_id,
            "project": access.project_name, "roles": access.role_names,
            "persona": persona}
    return data, _expiry(access.expires)


def noauth(conf, persona):
    """(session data, expires_at) for a persona of the all-in-one mode."""
    if persona not in personas.PERSONAS:
        raise SignInFailed("persona")
    project = (conf.portal.noauth_project_id or
               conf.api.operator_project_id or "noauth")
    roles = personas.ROLES[persona]
    data = {"identity": {"user_id": "portal-%s" % persona,
                         "project_id": project, "roles": roles},
            "user": "portal-%s" % persona, "user_id": "portal-%s" % persona,
            "project": project, "roles": roles, "persona": persona}
    expires = timeutils.utcnow() + NOAUTH_LIFETIME
    return data, _expiry(expires)
