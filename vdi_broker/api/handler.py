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

"""URL map of the API: paths and methods to handler functions."""

import routes
import webob.dec

from vdi_broker.api.handlers import agent
from vdi_broker.api.handlers import alerts
from vdi_broker.api.handlers import allocators
from vdi_broker.api.handlers import bindings
from vdi_broker.api.handlers import client
from vdi_broker.api.handlers import desktops
from vdi_broker.api.handlers import openapi
from vdi_broker.api.handlers import pools
from vdi_broker.api.handlers import events
from vdi_broker.api.handlers import hosts
from vdi_broker.api.handlers import incidents
from vdi_broker.api.handlers import jobs
from vdi_broker.api.handlers import maintenance
from vdi_broker.api.handlers import rollouts
from vdi_broker.api.handlers import monitoring
from vdi_broker.api.handlers import root
from vdi_broker.api.handlers import schedules
from vdi_broker.api.handlers import seats
from vdi_broker.api.handlers import sessions
from vdi_broker.api.handlers import thin_clients
from vdi_broker import exception

# Order matters where a literal path shadows a parameter
# (/v1/allocators/explain and /reorder before
# /v1/allocators/{allocator_id}).
ROUTE_DECLARATIONS = [
    ("/", {"GET": root.versions}),
    ("/v1", {"GET": root.v1}),
    ("/v1/openapi.json", {"GET": openapi.show}),
    ("/v1/client/sessions", {"POST": client.login}),
    ("/v1/client/sessions/{session_id}", {"GET": client.show,
                                          "DELETE": client.logout}),
    ("/v1/client/sessions/{session_id}/console-file",
     {"GET": client.console_file}),
    ("/v1/client/heartbeat", {"POST": client.heartbeat}),
    ("/v1/client/sessions/{session_id}/fault", {"POST": client.fault}),
    ("/v1/agent/register", {"POST": agent.register}),
    ("/v1/agent/report", {"POST": agent.report}),
    ("/v1/pools", {"GET": pools.list_pools, "POST": pools.create}),
    ("/v1/pools/{pool_id}", {"GET": pools.show, "PATCH": pools.update,
                             "DELETE": pools.delete}),
    ("/v1/allocators/explain", {"POST": allocators.explain}),
    ("/v1/allocators/reorder", {"POST": allocators.reorder}),
    ("/v1/allocators", {"GET": allocators.list_allocators,
                        "POST": allocators.create}),
    ("/v1/allocators/{allocator_id}", {"GET": allocators.show,
                                       "PATCH": allocators.update,
                                       "DELETE": allocators.delete}),
    ("/v1/bindings", {"GET": bindings.list_bindings,
                      "POST": bindings.create}),
    ("/v1/bindings/{binding_id}", {"GET": bindings.show,
                                   "PATCH": bindings.update,
                                   "DELETE": bindings.delete}),
    ("/v1/desktops", {"GET": desktops.list_desktops}),
    ("/v1/desktops/{desktop_id}", {"GET": desktops.show}),
    ("/v1/desktops/{desktop_id}/action", {"POST": desktops.action}),
    ("/v1/desktops/{desktop_id}/console", {"POST": desktops.console}),
    ("/v1/sessions", {"GET": sessions.list_sessions}),
    ("/v1/sessions/{session_id}", {"GET": sessions.show,
                                   "DELETE": sessions.delete}),
    ("/v1/seats", {"GET": seats.list_seats, "POST": seats.create}),
    ("/v1/seats/{seat_id}", {"GET": seats.show, "PATCH": seats.update,
                             "DELETE": seats.delete}),
    ("/v1/thin-clients", {"GET": thin_clients.list_thin_clients,
                          "POST": thin_clients.create}),
    ("/v1/thin-clients/{thin_client_id}", {"GET": thin_clients.show,
                                           "PATCH": thin_clients.update,
                                           "DELETE": thin_clients.delete}),
    ("/v1/jobs", {"GET": jobs.list_jobs, "POST": jobs.create}),
    ("/v1/jobs/{job_id}", {"GET": jobs.show}),
    ("/v1/jobs/{job_id}/targets", {"GET": jobs.targets}),
    ("/v1/jobs/{job_id}/cancel", {"POST": jobs.cancel}),
    ("/v1/pools/{pool_id}/rollouts", {"GET": rollouts.list_pool_rollouts,
                                      "POST": rollouts.create}),
    ("/v1/rollouts", {"GET": rollouts.list_rollouts}),
    ("/v1/rollouts/{rollout_id}", {"GET": rollouts.show}),
    ("/v1/rollouts/{rollout_id}/desktops", {"GET": rollouts.desktops}),
    ("/v1/rollouts/{rollout_id}/action", {"POST": rollouts.action}),
    ("/v1/maintenance-windows", {"GET": maintenance.list_windows,
                                 "POST": maintenance.create}),
    ("/v1/maintenance-windows/{window_id}", {"GET": maintenance.show,
                                             "DELETE": maintenance.delete}),
    ("/v1/schedules", {"GET": schedules.list_schedules,
                       "POST": schedules.create}),
    ("/v1/schedules/{schedule_id}", {"GET": schedules.show,
                                     "PATCH": schedules.update,
                                     "DELETE": schedules.delete}),
    ("/v1/events", {"GET": events.list_events}),
    ("/v1/events/{event_id}", {"GET": events.show}),
    ("/v1/hosts", {"GET": hosts.list_hosts}),
    ("/v1/incidents", {"GET": incidents.list_incidents}),
    ("/v1/incidents/{incident_id}", {"GET": incidents.show}),
    ("/v1/departments", {"GET": monitoring.list_departments,
                         "POST": monitoring.create_department}),
    ("/v1/departments/{department_id}",
     {"GET": monitoring.show_department,
      "PATCH": monitoring.update_department,
      "DELETE": monitoring.delete_department}),
    ("/v1/shift-plans", {"GET": monitoring.list_shift_plans,
                         "PUT": monitoring.replace_shift_plan,
                         "POST": monitoring.import_shift_plan}),
    ("/v1/agents/history", {"GET": monitoring.agent_history}),
    ("/v1/agents", {"GET": monitoring.list_agents}),
    ("/v1/alerts", {"GET": alerts.list_alerts}),
    ("/v1/alerts/{alert_id}", {"GET": alerts.show}),
    ("/v1/alerts/{alert_id}/acknowledge", {"POST": alerts.acknowledge}),
]

# Paths served without a Keystone token: the version document and the
# thin-client API (thin clients log in with directory credentials), the
# guest agents' API (a per-desktop secret), and the OpenAPI document.
PUBLIC_PREFIXES = ("/v1/client/", "/v1/agent/")
PUBLIC_PATHS = ("/", "/v1", "/v1/", "/v1/openapi.json")


def is_public(path):
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class Router:
    """Dispatch to the handler of the path and method; 404 / 405.

    Errors are broker exceptions, not webob ones: webob.dec.wsgify turns
    an HTTPException into a plain-text page before FaultWrapper sees it.
    """

    def __init__(self, declarations=ROUTE_DECLARATIONS):
        self.mapper = routes.Mapper()
        self.methods = {}
        for path, methods in declarations:
            self.mapper.connect(path, route_path=path)
            self.methods[path] = methods

    @webob.dec.wsgify
    def __call__(self, req):
        path = req.path_info.rstrip("/") or "/"
        if "\x00" in path:
            # No resource has a NUL in its id (and PostgreSQL could not
            # even look one up): refused like any other unknown id.
            if path.startswith("/v1/client/sessions/"):
                raise exception.InvalidSessionToken()
            raise exception.RouteNotFound(path=req.path_info)
        match = self.mapper.match(path)
        if match is None:
            raise exception.RouteNotFound(path=req.path_info)
        methods = self.methods[match.pop("route_path")]
        handler = methods.get(req.method)
        if handler is None:
            allow = ", ".join(sorted(methods))
            raise exception.MethodNotAllowed(method=req.method,
                                             path=req.path_info,
                                             allow=allow)
        req.urlvars = match
        return handler(req)
