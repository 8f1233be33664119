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

"""The API of the devices: thin clients (/v1/client/) and guest agents
(/v1/agent/)."""

from vdi_broker.api.handlers import agent
from vdi_broker.api.handlers import client
from vdi_broker.api.openapi.common import (
    AGENT_SECRET, BOOLEAN, CLIENT_SESSION_TOKEN, INTEGER, NO_CONTENT,
    NULLABLE_STRING, NULLABLE_TIMESTAMP, OPTIONAL_SESSION_TOKEN, PUBLIC,
    STRING, TIMESTAMP, nullable, obj, operation, path_param, ref, response)

# The console driver's connection details (protocol-specific fields).
CONNECTION = {"type": "object",
              "description": "Connection details of the desktop; the "
                             "fields depend on the pool's console type."}

CLIENT_SESSION = obj({
    "id": STRING, "username": STRING, "client_id": STRING,
    "seat": NULLABLE_STRING, "state": STRING, "created_at": TIMESTAMP,
    "expires_at": TIMESTAMP, "closed_at": NULLABLE_TIMESTAMP,
    "close_reason": NULLABLE_STRING,
    "token": {"type": "string",
              "description": "The session token, given only here: send "
                             "it as X-Session-Token."},
})

LOGIN = obj({
    "session": CLIENT_SESSION,
    "desktop": obj({
        "id": STRING, "name": STRING, "pool_id": STRING, "state": STRING,
        "address": NULLABLE_STRING, "server_id": NULLABLE_STRING}),
    "pool": obj({"id": STRING, "name": STRING}),
    "allocator": obj({"id": STRING, "name": STRING, "plugin": STRING}),
    "binding": nullable(obj({"id": STRING, "kind": STRING,
                             "key": STRING, "desktop_id": STRING})),
    "reused": BOOLEAN,
    "connection": CONNECTION,
})

CLIENT_SESSION_SHOW = obj({
    "session": obj({
        "id": STRING, "username": STRING, "client_id": STRING,
        "seat": NULLABLE_STRING, "state": STRING, "created_at": TIMESTAMP,
        "expires_at": TIMESTAMP}),
    "desktop": obj({"id": STRING, "name": STRING, "state": STRING,
                    "address": NULLABLE_STRING}),
    "connection": CONNECTION,
})

HEARTBEAT_ANSWER = obj({
    "heartbeat_interval": {"type": "integer", "minimum": 1},
    "offline_after": {"type": "integer", "minimum": 0}})

AGENT_REGISTERED = obj({
    "desktop_id": STRING, "registered_at": TIMESTAMP,
    "report_interval": INTEGER,
    "min_report_interval": {"type": "number"}})

AGENT_REPORTED = obj({"report_interval": INTEGER})

CLIENT_FAULT_ACCEPTED = obj({"desktop": obj({
    "id": STRING, "name": STRING, "state": STRING})})


def operations():
    return {
        client.login: operation(
            "Log a thin client's user in and allocate a desktop.",
            {"201": response("Logged in: the session (with its token), the "
                             "desktop and how to connect to it.",
                             ref("Login"), headers=("Location",))},
            ("400", "401", "403", "404", "409", "413", "429", "503"),
            "client",
            security=PUBLIC, body="LoginRequest"),
        client.show: operation(
            "The session, its desktop and the connection details.",
            {"200": response("The session.", ref("ClientSession"))},
            ("401", "404", "409", "503"), "client",
            security=CLIENT_SESSION_TOKEN,
            params=[path_param("session_id")]),
        client.logout: operation(
            "Log out: close the session; the pool's release action runs.",
            {"204": NO_CONTENT}, ("401", "503"), "client",
            security=CLIENT_SESSION_TOKEN,
            params=[path_param("session_id")]),
        client.console_file: operation(
            "The session's client file (.vv for remote-viewer, .rdp).",
            {"200": {"description": "The connection file, as an "
                                    "attachment; never cached.",
                     "headers": {"Content-Disposition": {"schema": STRING}},
                     "content": {"application/x-virt-viewer": {
                                 "schema": STRING},
                                 "application/x-rdp": {"schema": STRING},
                                 "text/plain": {"schema": STRING}}}},
            ("401", "404", "409", "503"), "client",
            security=CLIENT_SESSION_TOKEN,
            params=[path_param("session_id")]),
        client.fault: operation(
            "Report the session's desktop faulty: it is quarantined, the "
            "session closed, and the next login gets a healthy desktop.",
            {"202": response("The desktop is quarantined.",
                             ref("ClientFaultAccepted"))},
            ("400", "401", "409", "413", "503"), "client",
            security=CLIENT_SESSION_TOKEN, body="ClientFault",
            params=[path_param("session_id")]),
        client.heartbeat: operation(
            "A thin client's heartbeat: last seen, address, user, input "
            "events; status online. From version 1.1 on, the answer says "
            "the interval to send them at, and the heartbeat may name the "
            "client's seat. From version 1.2 on, it may say whether the "
            "viewer shows the session it names (viewer: connected, and "
            "for how many seconds): the session's thin-client end of its "
            "connection state, which the disconnect timeout also follows.",
            {"200": response("Version 1.1 and later: the heartbeat interval "
                             "the broker asks for and the silence after "
                             "which it counts the client offline, in "
                             "seconds.", ref("HeartbeatAnswer")),
             "204": {"description": "Version 1.0: done; no content."}},
            ("400", "401", "404", "413"), "client",
            security=OPTIONAL_SESSION_TOKEN, body="Heartbeat"),
        agent.register: operation(
            "A desktop's guest agent registers (at every start of the "
            "guest); X-Agent-Secret is the secret of the server's "
            "metadata.",
            {"200": response("Registered: how often to report.",
                             ref("AgentRegistered"))},
            ("400", "401", "413", "429", "503"), "agent",
            security=AGENT_SECRET, body="AgentRegister"),
        agent.report: operation(
            "A guest agent's report: display connection and service, "
            "logged-on user, idle seconds, CPU, memory, disk free.",
            {"200": response("Recorded.", ref("AgentReported"))},
            ("400", "401", "409", "413", "429", "503"), "agent",
            security=AGENT_SECRET, body="AgentReport"),
    }
