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

"""The guest agents' API: register a desktop, report its state (R1).

Public paths (no Keystone token): an agent proves its desktop with the
per-desktop secret the broker put into the server's metadata at boot,
sent in ``X-Agent-Secret``; the database keeps only its SHA-256. Each
request is one or two short statements; reports of one desktop closer
than ``[agent] min_report_interval`` get a 429 with Retry-After, bodies
larger than ``[agent] max_body`` a 413.
"""

from vdi_broker.api.schemas import agent as schema
from vdi_broker.api import util
from vdi_broker import context as vdi_context
from vdi_broker.db import api as db
from vdi_broker import exception
from vdi_broker.guest_agent import protocol

HEADER = protocol.SECRET_HEADER


def _read(req, body_schema):
    """The bounded, validated body and the secret's hash."""
    conf = util.app(req).conf
    limit = conf.agent.max_body
    if req.content_length is not None and req.content_length > limit:
        raise exception.RequestTooLarge(limit=limit)
    if len(req.body) > limit:
        raise exception.RequestTooLarge(limit=limit)
    secret = req.headers.get(HEADER)
    if not secret or len(secret) > 256:
        raise exception.InvalidAgentSecret()
    body = util.read_json(req, body_schema)
    req.environ[util.CONTEXT_KEY] = vdi_context.RequestContext(
        user_id="agent:%s" % body["desktop_id"],
        request_id=req.environ.get("openstack.request_id"),
        overwrite=False)
    return conf, body, protocol.secret_hash(secret)


def register(req):
    """An agent registers its desktop (at every start of the guest)."""
    conf, body, digest = _read(req, schema.register)
    agent = db.agent_register(util.context(req), body["desktop_id"], digest,
                              body, conf.agent.min_report_interval)
    # No older report of this process's buffer after the registration.
    util.app(req).beats.agent_registered(body["desktop_id"], digest)
    return util.json_response({
        "desktop_id": agent["desktop_id"],
        "registered_at": util.iso(agent["registered_at"]),
        "report_interval": conf.agent.report_interval,
        "min_report_interval": conf.agent.min_report_interval})


def report(req):
    """One report: display connection, user, idle time, health."""
    conf, body, digest = _read(req, schema.report)
    db.agent_report(util.context(req), body["desktop_id"], digest, body,
                    conf.agent.min_report_interval)
    return util.json_response(
        {"report_interval": conf.agent.report_interval})
