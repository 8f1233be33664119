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

"""Who is calling the admin API.

``keystone``: keystonemiddleware's auth_token validates the token, then
:class:`KeystoneContext` turns its headers into a RequestContext.
``noauth``: every caller is an admin (all-in-one mode on a trusted host);
X-User-Id and X-Roles headers, when present, are honoured so that policy
can still be exercised.
"""

from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_log import log as logging
import webob.dec

from vdi_broker.api import util
from vdi_broker import context as vdi_context
from vdi_broker import exception

LOG = logging.getLogger(__name__)
AUTHTOKEN_GROUP = "keystone_authtoken"


class KeystoneContext:
    def __init__(self, application):
        self.application = application

    @webob.dec.wsgify
    def __call__(self, req):
        if req.headers.get("X-Identity-Status") != "Confirmed":
            raise exception.NotAuthenticated()
        req.environ[util.CONTEXT_KEY] = \
            vdi_context.RequestContext.from_environ(req.environ)
        return req.get_response(self.application)


class NoAuthContext:
    def __init__(self, application):
        self.application = application

    @webob.dec.wsgify
    def __call__(self, req):
        roles = req.headers.get("X-Roles")
        roles = ([r.strip() for r in roles.split(",") if r.strip()]
                 if roles is not None else ["admin", "member", "reader"])
        req.environ[util.CONTEXT_KEY] = vdi_context.RequestContext(
            user_id=req.headers.get("X-User-Id", "noauth-admin"),
            project_id=req.headers.get("X-Project-Id", "noauth"),
            roles=roles, is_admin="admin" in roles,
            request_id=req.environ.get("openstack.request_id"),
            overwrite=False)
        return req.get_response(self.application)


def _require_auth_plugin(conf):
    """Refuse to start without a service user to validate tokens with.

    keystonemiddleware starts without one and then fails every request
    that carries a token (a 500 each): say so once, at start-up. Call it
    after building the AuthProtocol, which registers the options.
    """
    options = conf[AUTHTOKEN_GROUP]
    if not (options.auth_type or options.auth_section):
        LOG.error("[api] auth_strategy is keystone, but [%s] names no "
                  "auth plugin: set auth_type (password), auth_url, "
                  "username, password, project_name and the domains of "
                  "the broker's service user, or set auth_strategy = "
                  "noauth for a trusted all-in-one host.", AUTHTOKEN_GROUP)
        raise cfg.RequiredOptError("auth_type",
                                   cfg.OptGroup(AUTHTOKEN_GROUP))


def wrap(application, conf):
    """The admin API's authentication stack for ``[api] auth_strategy``."""
    if conf.api.auth_strategy == "noauth":
        return NoAuthContext(application)
    protocol = auth_token.AuthProtocol(KeystoneContext(application),
                                       {"oslo_config_config": conf})
    _require_auth_plugin(conf)
    return protocol
