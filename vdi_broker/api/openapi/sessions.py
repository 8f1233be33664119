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

"""Who gets which desktop: sessions, the allocator chain, bindings, seats
and thin clients."""

from vdi_broker.api.handlers import allocators
from vdi_broker.api.handlers import bindings
from vdi_broker.api.handlers import seats
from vdi_broker.api.handlers import sessions
from vdi_broker.api.handlers import thin_clients
from vdi_broker.api.openapi.common import (
    BOOLEAN, IF_MATCH, INTEGER, LIST, NO_CONTENT, NULLABLE_INTEGER,
    NULLABLE_STRING, NULLABLE_TIMESTAMP, OBJECT, READ, STRING, STRINGS,
    TIMESTAMP, WRITE, list_params, listed, nullable, obj, operation,
    path_param, ref, response, wrapped)
from vdi_broker import states

ALLOCATOR = obj({
    "id": STRING, "name": STRING, "description": NULLABLE_STRING,
    "priority": INTEGER, "plugin": STRING, "pool_id": NULLABLE_STRING,
    "rules": OBJECT, "options": OBJECT, "is_default": BOOLEAN,
    "enabled": BOOLEAN, "revision": INTEGER,
    "created_at": TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP,
})

BINDING = obj({
    "id": STRING, "kind": {"enum": list(states.BINDING_KINDS)},
    "key": STRING, "desktop_id": STRING, "pool_id": STRING,
    "allocator_id": NULLABLE_STRING, "revision": INTEGER,
    "created_at": TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP,
})

SEAT = obj({
    "id": STRING, "name": STRING, "site": NULLABLE_STRING,
    "location": NULLABLE_STRING, "department": NULLABLE_STRING,
    "tags": STRINGS, "description": NULLABLE_STRING, "revision": INTEGER,
    "created_at": TIMESTAMP, "updated_at": NULLABLE_TIMESTAMP,
})

THIN_CLIENT = obj({
    "id": STRING, "client_id": STRING,
    "seat": dict(NULLABLE_STRING, description="The seat's name."),
    "site": NULLABLE_STRING, "model": NULLABLE_STRING, "tags": STRINGS,
    "status": STRING, "last_seen_at": NULLABLE_TIMESTAMP,
    "last_address": NULLABLE_STRING, "last_user": NULLABLE_STRING,
    "input_events": NULLABLE_INTEGER, "description": NULLABLE_STRING,
    "health": dict({"type": ["object", "null"]},
                   description="What the thin client reports of itself: "
                               "display, network, last_connection_error, "
                               "connection_failures."),
    "fault_reason": NULLABLE_STRING,
    "revision": INTEGER, "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP,
})

_SESSION = {
    "id": STRING, "username": STRING, "client_id": STRING,
    "seat": NULLABLE_STRING, "desktop_id": NULLABLE_STRING,
    "pool_id": STRING, "allocator_id": NULLABLE_STRING,
    "binding_id": NULLABLE_STRING, "state": STRING,
    "close_reason": NULLABLE_STRING, "created_at": TIMESTAMP,
    "expires_at": TIMESTAMP, "closed_at": NULLABLE_TIMESTAMP,
    "connection_state": {"type": ["string", "null"],
                         "enum": list(states.CONNECTION_STATES) + [None]},
    "connection_since": NULLABLE_TIMESTAMP,
    "idle_seconds": {"type": ["integer", "null"]},
}
_SESSION_V1_2 = {
    "viewer_state": {
        "type": ["string", "null"],
        "enum": list(states.CONNECTION_STATES) + [None],
        "description": "Version 1.2 and later: the thin client's viewer, "
                       "as its heartbeats say (null: it never said); "
                       "connection_state is the guest agent's. The "
                       "conductor combines both ends (admin guide, "
                       "'Session state from both ends')."},
    "viewer_since": dict(NULLABLE_TIMESTAMP, description=(
        "Version 1.2 and later: since when the viewer is so.")),
    "connection": {
        "type": ["object", "null"],
        "properties": {
            "state": {"type": ["string", "null"],
                      "enum": list(states.CONNECTION_STATES) + [None]},
            "since": NULLABLE_TIMESTAMP,
            "decided_by": {"type": ["string", "null"],
                           "enum": ["agent", "thin_client", None]}},
        "required": ["state", "since", "decided_by"],
        "description": "Version 1.2 and later: both ends combined now, "
                       "as the conductor does (admin guide, 'Session "
                       "state from both ends'); decided_by null: no end "
                       "said anything. Null for a closed session."},
}
SESSION = obj(dict(_SESSION, **_SESSION_V1_2), required=list(_SESSION))

EXPLAIN = obj({
    "explain": obj({
        "request": OBJECT,
        "trace": {"type": "array", "items": OBJECT},
        "outcome": {"type": "object",
                    "properties": {"allocator": NULLABLE_STRING,
                                   "decision": nullable(OBJECT),
                                   "binding": nullable(OBJECT),
                                   "pool": nullable(OBJECT)},
                    "required": ["allocator", "decision"]},
    }),
})


def operations():
    return {
        allocators.explain: operation(
            "Dry-run the allocator chain for a user; changes nothing.",
            {"200": response("Which allocator would serve the user, and why.",
                             ref("Explain"))},
            WRITE + ("404", "503"), "allocators", body="AllocatorExplain"),
        allocators.list_allocators: operation(
            "List allocators (the chain).",
            {"200": response("A page of allocators.",
                             listed("allocators", "Allocator"))},
            LIST, "allocators",
            params=list_params(allocators, "priority")),
        allocators.create: operation(
            "Create an allocator.",
            {"201": response("The allocator.",
                             wrapped("allocator", "Allocator"),
                             headers=("Location",))},
            WRITE + ("404", "409"), "allocators", body="AllocatorCreate"),
        allocators.show: operation(
            "Show an allocator (by id or name).",
            {"200": response("The allocator.",
                             wrapped("allocator", "Allocator"),
                             headers=("ETag",))},
            READ, "allocators", params=[path_param("allocator_id")]),
        allocators.update: operation(
            "Update an allocator.",
            {"200": response("The allocator.",
                             wrapped("allocator", "Allocator"),
                             headers=("ETag",))},
            WRITE + ("404", "409"), "allocators", body="AllocatorUpdate",
            params=[path_param("allocator_id"), IF_MATCH]),
        allocators.delete: operation(
            "Delete an allocator.", {"204": NO_CONTENT},
            READ, "allocators",
            params=[path_param("allocator_id")]),
        bindings.list_bindings: operation(
            "List bindings.",
            {"200": response("A page of bindings.",
                             listed("bindings", "Binding"))},
            LIST, "bindings", params=list_params(bindings, "created_at")),
        bindings.create: operation(
            "Bind a desktop to a user, seat or thin client.",
            {"201": response("The binding.", wrapped("binding", "Binding"),
                             headers=("Location",))},
            WRITE + ("404", "409"), "bindings", body="BindingCreate"),
        bindings.show: operation(
            "Show a binding.",
            {"200": response("The binding.", wrapped("binding", "Binding"))},
            READ, "bindings", params=[path_param("binding_id")]),
        bindings.delete: operation(
            "Delete a binding.", {"204": NO_CONTENT},
            READ, "bindings", params=[path_param("binding_id")]),
        sessions.list_sessions: operation(
            "List thin-client sessions.",
            {"200": response("A page of sessions.",
                             listed("sessions", "Session"))},
            LIST, "sessions", params=list_params(sessions, "created_at")),
        sessions.show: operation(
            "Show a session.",
            {"200": response("The session.", wrapped("session", "Session"))},
            READ, "sessions", params=[path_param("session_id")]),
        sessions.delete: operation(
            "Force a logout (helpdesk); the pool's release action runs.",
            {"204": NO_CONTENT}, READ + ("503",), "sessions",
            params=[path_param("session_id")]),
        allocators.reorder: operation(
            "Set the order of the whole chain: priorities 10, 20, 30... "
            "in one transaction.",
            {"200": response("The allocators in their new order.",
                             obj({"allocators": {
                                 "type": "array",
                                 "items": ref("Allocator")}}))},
            WRITE + ("409",), "allocators", body="AllocatorReorder"),
        bindings.update: operation(
            "Move a binding to another desktop of its pool.",
            {"200": response("The binding.", wrapped("binding", "Binding"),
                             headers=("ETag",))},
            WRITE + ("404", "409"), "bindings", body="BindingUpdate",
            params=[path_param("binding_id"), IF_MATCH]),
        seats.list_seats: operation(
            "List seats.",
            {"200": response("A page of seats.",
                             listed("seats", "Seat"))},
            LIST, "seats", params=list_params(seats, "name")),
        seats.create: operation(
            "Create a seat.",
            {"201": response("The seat.", wrapped("seat", "Seat"),
                             headers=("Location", "ETag"))},
            WRITE + ("409",), "seats", body="SeatCreate"),
        seats.show: operation(
            "Show a seat (by id or name).",
            {"200": response("The seat.", wrapped("seat", "Seat"),
                             headers=("ETag",))},
            READ, "seats", params=[path_param("seat_id")]),
        seats.update: operation(
            "Update a seat; If-Match or revision guards against lost "
            "updates.",
            {"200": response("The seat.", wrapped("seat", "Seat"),
                             headers=("ETag",))},
            WRITE + ("404", "409"), "seats", body="SeatUpdate",
            params=[path_param("seat_id"), IF_MATCH]),
        seats.delete: operation(
            "Delete a seat.", {"204": NO_CONTENT},
            READ + ("409",), "seats", params=[path_param("seat_id")]),
        thin_clients.list_thin_clients: operation(
            "List thin clients.",
            {"200": response("A page of thin clients.",
                             listed("thin_clients", "ThinClient"))},
            LIST, "thin_clients",
            params=list_params(thin_clients, "client_id")),
        thin_clients.create: operation(
            "Create a thin client.",
            {"201": response("The thin client.",
                             wrapped("thin_client", "ThinClient"),
                             headers=("Location", "ETag"))},
            WRITE + ("404", "409"), "thin_clients", body="ThinClientCreate"),
        thin_clients.show: operation(
            "Show a thin client (by id or client_id).",
            {"200": response("The thin client.",
                             wrapped("thin_client", "ThinClient"),
                             headers=("ETag",))},
            READ, "thin_clients", params=[path_param("thin_client_id")]),
        thin_clients.update: operation(
            "Update a thin client; If-Match or revision guards against lost "
            "updates.",
            {"200": response("The thin client.",
                             wrapped("thin_client", "ThinClient"),
                             headers=("ETag",))},
            WRITE + ("404", "409"), "thin_clients", body="ThinClientUpdate",
            params=[path_param("thin_client_id"), IF_MATCH]),
        thin_clients.delete: operation(
            "Delete a thin client.", {"204": NO_CONTENT},
            READ, "thin_clients",
            params=[path_param("thin_client_id")]),
    }
