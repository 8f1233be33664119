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

"""The portal's pages: paths and methods to view functions."""

from vdi_broker.portal.views import alerts
from vdi_broker.portal.views import allocators
from vdi_broker.portal.views import assets
from vdi_broker.portal.views import desktops
from vdi_broker.portal.views import events
from vdi_broker.portal.views import hosts
from vdi_broker.portal.views import jobs
from vdi_broker.portal.views import overview
from vdi_broker.portal.views import pools
from vdi_broker.portal.views import rollouts
from vdi_broker.portal.views import signin
from vdi_broker.portal.views import users
from vdi_broker.portal.views import windows

ROUTES = [
    ("/", {"GET": overview.page}),
    ("/overview.json", {"GET": overview.data_json}),
    ("/signin", {"GET": signin.form, "POST": signin.submit}),
    ("/signout", {"POST": signin.signout}),
    ("/language", {"GET": signin.language}),
    ("/healthcheck", {"GET": signin.healthcheck}),
    ("/pools", {"GET": pools.index}),
    ("/pools/{pool_id}", {"GET": pools.show, "POST": pools.update}),
    ("/pools/{pool_id}/schedules", {"POST": pools.create_schedule}),
    ("/schedules/{schedule_id}", {"POST": pools.update_schedule}),
    ("/schedules/{schedule_id}/delete", {"POST": pools.delete_schedule}),
    ("/desktops", {"GET": desktops.index}),
    ("/desktops/{desktop_id}", {"GET": desktops.show}),
    ("/desktops/{desktop_id}/action", {"POST": desktops.action}),
    ("/desktops/{desktop_id}/console", {"POST": desktops.console}),
    ("/hosts", {"GET": hosts.index}),
    ("/users", {"GET": users.find}),
    ("/sessions", {"GET": users.sessions}),
    ("/sessions/{session_id}/logoff", {"POST": users.logoff}),
    ("/bindings/{binding_id}/move", {"POST": users.move_binding}),
    ("/explain", {"GET": allocators.explain}),
    ("/thin-clients", {"GET": assets.thin_clients,
                       "POST": assets.register}),
    ("/thin-clients/{thin_client_id}", {"POST": assets.update_client}),
    ("/thin-clients/{thin_client_id}/retire",
     {"POST": assets.retire_client}),
    ("/seats", {"GET": assets.seats, "POST": assets.create_seat}),
    ("/seats/{seat_id}", {"POST": assets.update_seat}),
    ("/seats/{seat_id}/delete", {"POST": assets.delete_seat}),
    ("/allocators", {"GET": allocators.index}),
    ("/allocators/reorder", {"POST": allocators.reorder}),
    ("/allocators/{allocator_id}", {"GET": allocators.show,
                                    "POST": allocators.update}),
    ("/events", {"GET": events.index}),
    ("/alerts", {"GET": alerts.index}),
    ("/alerts/{alert_id}/acknowledge", {"POST": alerts.acknowledge}),
    ("/jobs", {"GET": jobs.index, "POST": jobs.create}),
    ("/jobs/new", {"GET": jobs.new}),
    ("/jobs/{job_id}.json", {"GET": jobs.data_json}),
    ("/jobs/{job_id}", {"GET": jobs.show}),
    ("/jobs/{job_id}/cancel", {"POST": jobs.cancel}),
    ("/rollouts", {"GET": rollouts.index, "POST": rollouts.create}),
    ("/rollouts/{rollout_id}.json", {"GET": rollouts.data_json}),
    ("/rollouts/{rollout_id}", {"GET": rollouts.show}),
    ("/rollouts/{rollout_id}/action", {"POST": rollouts.action}),
    ("/maintenance-windows", {"GET": windows.index,
                              "POST": windows.create}),
    ("/maintenance-windows/{window_id}/delete", {"POST": windows.delete}),
]
