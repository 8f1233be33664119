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

"""The API's OpenAPI 3.1 document, built from the route table.

Paths and methods come from :data:`vdi_broker.api.handler.ROUTE_DECLARATIONS`
(the operations are keyed by handler), request bodies from the
jsonschemas the handlers validate with (:mod:`vdi_broker.api.schemas`),
and list parameters from the handlers' SORT_KEYS and FILTERS. Only the
response schemas are written here: they describe the handlers' views.

OpenAPI 3.1 because its schemas are JSON Schema 2020-12, which the request
schemas (``"type": ["string", "null"]``) already are.

Where things are, one module per group of resources (each holds its
response schemas and an ``operations()`` keyed by handler):

* :mod:`~vdi_broker.api.openapi.common`: building blocks (scalar types,
  errors, parameters, security, :func:`~.common.operation`);
* :mod:`~vdi_broker.api.openapi.client`: the thin clients' and guest
  agents' API;
* :mod:`~vdi_broker.api.openapi.pools`: pools, desktops, hosts,
  schedules, incidents;
* :mod:`~vdi_broker.api.openapi.sessions`: sessions, allocators,
  bindings, seats, thin clients;
* :mod:`~vdi_broker.api.openapi.jobs`: guest jobs, roll-outs,
  maintenance windows;
* :mod:`~vdi_broker.api.openapi.monitoring`: events, departments, shift
  plans, agents, alerts.

This module lists the components by name (:data:`SCHEMAS`) and assembles
the document (:func:`build`). A new operation goes into its resource's
``operations()``; a new module's into :func:`_operations`.
"""

import copy

from vdi_broker.api import client_auth
from vdi_broker.api.handlers import openapi as openapi_handler
from vdi_broker.api.handlers import root
from vdi_broker.api import microversion
from vdi_broker.api.openapi import client
from vdi_broker.api.openapi import jobs
from vdi_broker.api.openapi import monitoring
from vdi_broker.api.openapi import pools
from vdi_broker.api.openapi import sessions
# The public names of the one-module document, kept for their importers.
from vdi_broker.api.openapi.client import (  # noqa: F401
    AGENT_REGISTERED, AGENT_REPORTED, CLIENT_FAULT_ACCEPTED, CLIENT_SESSION,
    CLIENT_SESSION_SHOW, CONNECTION, HEARTBEAT_ANSWER, LOGIN)
from vdi_broker.api.openapi.common import (  # noqa: F401
    ADMIN, AGENT_SECRET, BOOLEAN, CLIENT_SESSION_TOKEN, ERROR, ERRORS,
    IF_MATCH, INTEGER, LINKS, NO_CONTENT, NULLABLE_INTEGER, NULLABLE_STRING,
    NULLABLE_TIMESTAMP, OBJECT, OPTIONAL_SESSION_TOKEN, PUBLIC, STRING,
    STRINGS, TIMESTAMP, VERSION, VERSIONS, operation, ref, response,
    wrapped)
from vdi_broker.api.openapi.jobs import (  # noqa: F401
    JOB, JOB_TARGET, JOB_TARGETS, MAINTENANCE_WINDOW, ROLLOUT,
    ROLLOUT_DESKTOP, ROLLOUT_DESKTOPS)
from vdi_broker.api.openapi.monitoring import (  # noqa: F401
    AGENT_HISTORY, AGENTS, ALERT, DEPARTMENT, EVENT, SHIFT_PLAN_IMPORTED,
    SHIFT_PLAN_SLOTS)
from vdi_broker.api.openapi.pools import (  # noqa: F401
    CONSOLE, DESKTOP, HOSTS, INCIDENT, POOL, SCHEDULE)
from vdi_broker.api.openapi.sessions import (  # noqa: F401
    ALLOCATOR, BINDING, EXPLAIN, SEAT, SESSION, THIN_CLIENT)
from vdi_broker.api.schemas import agent as agent_schema
from vdi_broker.api.schemas import allocators as allocator_schema
from vdi_broker.api.schemas import bindings as binding_schema
from vdi_broker.api.schemas import client as client_schema
from vdi_broker.api.schemas import desktops as desktop_schema
from vdi_broker.api.schemas import jobs as job_schema
from vdi_broker.api.schemas import monitoring as monitoring_schema
from vdi_broker.api.schemas import pools as pool_schema
from vdi_broker.api.schemas import rollouts as rollout_schema
from vdi_broker.api.schemas import schedules as schedule_schema
from vdi_broker.api.schemas import seats as seat_schema
from vdi_broker.api.schemas import thin_clients as thin_client_schema

OPENAPI_VERSION = openapi_handler.OPENAPI_VERSION
PATH = openapi_handler.PATH

# The components, in the document's order: the response schemas of the
# resource modules and the handlers' request schemas.
SCHEMAS = {
    "Error": ERROR,
    "Hosts": HOSTS,
    "Console": CONSOLE,
    "Versions": VERSIONS,
    "Version": VERSION,
    "Pool": POOL,
    "Allocator": ALLOCATOR,
    "Binding": BINDING,
    "Desktop": DESKTOP,
    "Session": SESSION,
    "Login": LOGIN,
    "ClientSession": CLIENT_SESSION_SHOW,
    "Explain": EXPLAIN,
    "Seat": SEAT,
    "ThinClient": THIN_CLIENT,
    "Schedule": SCHEDULE,
    "Event": EVENT,
    "Job": JOB,
    "JobTargets": JOB_TARGETS,
    "JobCreate": job_schema.create,
    "Rollout": ROLLOUT,
    "RolloutDesktops": ROLLOUT_DESKTOPS,
    "RolloutCreate": rollout_schema.create,
    "RolloutAction": rollout_schema.action,
    "MaintenanceWindow": MAINTENANCE_WINDOW,
    "MaintenanceWindowCreate": rollout_schema.window_create,
    "PoolCreate": pool_schema.create,
    "PoolUpdate": pool_schema.update,
    "AllocatorCreate": allocator_schema.create,
    "AllocatorUpdate": allocator_schema.update,
    "AllocatorExplain": allocator_schema.explain,
    "AllocatorReorder": allocator_schema.reorder,
    "BindingCreate": binding_schema.create,
    "BindingUpdate": binding_schema.update,
    "SeatCreate": seat_schema.create,
    "SeatUpdate": seat_schema.update,
    "ThinClientCreate": thin_client_schema.create,
    "ThinClientUpdate": thin_client_schema.update,
    "ScheduleCreate": schedule_schema.create,
    "ScheduleUpdate": schedule_schema.update,
    "LoginRequest": client_schema.login,
    # Version 1.2's (1.0 takes no seat, 1.1 no viewer).
    "Heartbeat": client_schema.heartbeat_v1_2,
    "HeartbeatAnswer": HEARTBEAT_ANSWER,
    "DesktopAction": desktop_schema.action,
    "ClientFault": client_schema.fault,
    "Incident": INCIDENT,
    "AgentRegister": agent_schema.register,
    "AgentReport": agent_schema.report,
    "AgentRegistered": AGENT_REGISTERED,
    "AgentReported": AGENT_REPORTED,
    "ClientFaultAccepted": CLIENT_FAULT_ACCEPTED,
    "Department": DEPARTMENT,
    "DepartmentCreate": monitoring_schema.department_create,
    "DepartmentUpdate": monitoring_schema.department_update,
    "ShiftPlanSlots": SHIFT_PLAN_SLOTS,
    "ShiftPlanImported": SHIFT_PLAN_IMPORTED,
    "Agents": AGENTS,
    "AgentHistory": AGENT_HISTORY,
    "Alert": ALERT,
}


def _version_operations():
    return {
        root.versions: operation(
            "The API versions.",
            {"200": response("The version document.", ref("Versions"))},
            (), "versions", security=PUBLIC),
        root.v1: operation(
            "The v1 API version.",
            {"200": response("The v1 version.",
                             wrapped("version", "Version"))},
            (), "versions", security=PUBLIC),
        openapi_handler.show: operation(
            "This OpenAPI document.",
            {"200": response("The OpenAPI document of the API.", OBJECT)},
            (), "versions", security=PUBLIC),
    }


def _operations():
    operations = _version_operations()
    for module in (client, pools, sessions, jobs, monitoring):
        operations.update(module.operations())
    return operations


# Response headers of every response.
_COMMON_HEADERS = {
    "X-OpenStack-Request-ID": {
        "description": "The request id, also in error documents.",
        "schema": STRING},
    microversion.HEADER: {
        "description": "The API version the request was served with, "
                       "e.g. '%s %s'." % (microversion.SERVICE_TYPE,
                                          microversion.MAX_VERSION),
        "schema": STRING},
}

DESCRIPTION = """\
The VDI broker's API: the admin API (pools, allocators, bindings,
desktops, sessions, seats, thin clients, schedules, jobs, roll-outs,
maintenance windows, incidents, events, departments, shift plans, agents,
alerts)
authenticated by a Keystone token in X-Auth-Token, and the thin-client
API under /v1/client/, where a client logs in with the user's directory
credentials and then sends the session token it got in X-Session-Token
(heartbeats send it only with a session_id), and the guest agents' API
under /v1/agent/, authenticated by the desktop's agent secret in
X-Agent-Secret.

Every error is a JSON document {"error": {"code", "title", "message",
"request_id", "details"?}} (schema Error); a path that does not serve the
method is a 405 with an Allow header, an unknown path a 404.

A request may ask for an API version with the header
"OpenStack-API-Version: vdi X.Y" (or "vdi latest"); without it the
minimum is served. A version the broker does not serve is a 406 (with
min_version and max_version in the error's details), a malformed one a
400.
"""


def build(server_url="/", declarations=None):
    """The OpenAPI document, as a dict (a fresh copy on every call)."""
    from vdi_broker.api import handler
    declarations = (handler.ROUTE_DECLARATIONS if declarations is None
                    else declarations)
    operations = _operations()
    paths = {}
    for path, methods in declarations:
        item = {}
        for method, function in sorted(methods.items()):
            op = copy.deepcopy(operations[function])
            op["operationId"] = "%s.%s" % (
                function.__module__.rsplit(".", 1)[-1], function.__name__)
            item[method.lower()] = op
        paths[path] = item
    return copy.deepcopy({
        "openapi": OPENAPI_VERSION,
        "info": {"title": "vdi-broker API",
                 "version": microversion.MAX_VERSION,
                 "description": DESCRIPTION},
        "servers": [{"url": server_url,
                     "description": "The broker's endpoint (the service "
                                    "catalog's '%s' endpoint)." %
                                    microversion.SERVICE_TYPE}],
        "security": ADMIN,
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "headers": _COMMON_HEADERS,
            "securitySchemes": {
                "keystone": {"type": "apiKey", "in": "header",
                             "name": "X-Auth-Token",
                             "description": "A Keystone token."},
                "agent_secret": {"type": "apiKey", "in": "header",
                                 "name": "X-Agent-Secret",
                                 "description": "The desktop's agent "
                                                "secret (server metadata "
                                                "vdi_agent_secret)."},
                "session_token": {"type": "apiKey", "in": "header",
                                  "name": client_auth.HEADER,
                                  "description": "The token returned by "
                                                 "the login."},
            },
        },
    })
