#!/bin/bash
# Install vdi-broker into ./.venv and run it on its embedded default:
# SQLite, the conductor in-process, the fake cloud and a demo directory of
# call-centre users in two sites. Then a short simulated shift logs the
# agents in and out, and the broker keeps serving until Ctrl-C.
#
# Environment:
#   VDI_DEMO_AGENTS  agents in the directory and the shift (default 300);
#                    the pools are sized to them
#   VDI_DEMO_PORT    the API's port on 127.0.0.1 (default 8783)
#   VDI_DEMO_EXIT    1: stop the broker when the shift is over instead of
#                    serving until Ctrl-C; the exit code is the checks'
#   VDI_DEMO_STATE   where the configuration, database, users file and
#                    logs go (default ./state/demo)
#   VDI_DEMO_VENV    a virtualenv that has vdi-broker installed already,
#                    used as it is (default: ./.venv, created when missing)
set -euo pipefail

cd "$(dirname "$0")/.."
top=$PWD
state=${VDI_DEMO_STATE:-$top/state/demo}
port=${VDI_DEMO_PORT:-8783}
agents=${VDI_DEMO_AGENTS:-300}
# Seconds the API may take to answer after it is started.
start_timeout=${VDI_DEMO_START_TIMEOUT:-60}

die() {
    echo "run-demo: $*" >&2
    exit 1
}

port_taken() {
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

if port_taken; then
    die "port $port on 127.0.0.1 is already in use by another program;" \
        "stop it or choose another port, e.g. VDI_DEMO_PORT=18783 $0"
fi

if [ -n "${VDI_DEMO_VENV:-}" ]; then
    bin=$VDI_DEMO_VENV/bin
    [ -x "$bin/vdi-broker-api" ] ||
        die "VDI_DEMO_VENV=$VDI_DEMO_VENV has no vdi-broker-api"
else
    if [ ! -x .venv/bin/vdi-broker-api ]; then
        echo "Installing vdi-broker into .venv ..."
        python3 -m venv .venv
        .venv/bin/pip install --quiet --upgrade pip
        PBR_VERSION=${PBR_VERSION:-0.1.0} .venv/bin/pip install --quiet -e .
    fi
    # oslo.service pulls eventlet in; the broker never uses it (the tool
    # says more).
    .venv/bin/python tools/remove-eventlet.py
    bin=$top/.venv/bin
fi

mkdir -p "$state"
cat > "$state/vdi-broker.conf" <<CONF
[DEFAULT]
log_file = $state/vdi-broker-api.log
transport_url = fake:/

[api]
auth_strategy = noauth
bind_host = 127.0.0.1
bind_port = $port

[conductor]
use_local = true
pool_interval = 2

[database]
connection = sqlite:///$state/vdi_broker.sqlite

[identity]
driver = static

[static_identity]
users_file = $state/users.json

[compute]
driver = fake

[client_session]
# The shift's agents log in from thin clients that are not registered
# (tc-morning-0001...): they register at their first heartbeat, so that
# their input counts the agents active against the shift plan.
register_unknown_clients = true

[alerts]
# The conductor's alert evaluation, quicker than on a real floor so that
# the demo's alerts (the insurance team missing from the plan, see
# vdi_broker/demo/setup.py) fire within a minute of the start.
interval = 10
below_plan_for = 30
pool_short_for = 60

[fake_compute]
boot_time = 2
# Where the fake cloud's consoles point (spice-direct: port 5900 + n).
console_host = 127.0.0.1
# Four compute hosts, and Placement's figures of them (the portal's
# Hosts page): room for twice the agents, shared by the hosts.
hosts = cn-sh-01,cn-sh-02,cn-nt-01,cn-nt-02
capacity_memory_mb = $(( (agents * 2 + 64) * 8192 ))
capacity_vcpus = $(( (agents * 2 + 64) * 4 ))
CONF

"$bin/vdi-broker-manage" --config-file "$state/vdi-broker.conf" db sync \
    >/dev/null
"$bin/vdi-broker-manage" --config-file "$state/vdi-broker.conf" \
    demo setup --users-file "$state/users.json" --users "$agents"

# --- The operations portal (issue 17): one block, kept together. -------
# The portal signs in without a password here (noauth: choose a persona)
# and calls the API above; the personas other than admin need the API's
# operator project. It stops when this script ends.
portal_port=${VDI_DEMO_PORTAL_PORT:-8790}
cat >> "$state/vdi-broker.conf" <<CONF

[api]
operator_project_id = vdi-operators

[portal]
auth_strategy = noauth
endpoint_override = http://127.0.0.1:$port
session_file = $state/portal-sessions.sqlite
bind_host = 127.0.0.1
bind_port = $portal_port
CONF
# Its output goes to a file, never to this script's stdout: a process
# holding the caller's pipe would keep the caller waiting after we exit.
"$bin/vdi-broker-portal" --config-file "$state/vdi-broker.conf" \
    > "$state/vdi-broker-portal.out" 2>&1 < /dev/null &
portal_pid=$!
trap 'kill $portal_pid 2>/dev/null || true' EXIT
echo "The operations portal: http://127.0.0.1:$portal_port/" \
    "(sign in as admin, operator, helpdesk or reader)"
# --- end of the portal's block. -----------------------------------------

"$bin/vdi-broker-api" --config-file "$state/vdi-broker.conf" \
    > "$state/vdi-broker-api.out" 2>&1 &
api_pid=$!
# set -e: a command failing in the trap would become the exit code.
trap 'kill $api_pid $portal_pid 2>/dev/null || true; wait $api_pid $portal_pid 2>/dev/null || true' EXIT

# Wait for our API: the process must be alive and the server on the port
# must answer with vdi-broker's version document (not someone else's).
api_is_ours() {
    "$bin/python" - "http://127.0.0.1:$port/" <<'PY'
import json
import sys
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as resp:
        header = resp.headers.get("OpenStack-API-Version", "")
        versions = json.load(resp)["versions"]
except Exception:
    sys.exit(1)
sys.exit(0 if header.startswith("vdi ") and
         versions[0]["id"] == "v1" else 1)
PY
}

deadline=$((SECONDS + start_timeout))
until api_is_ours; do
    if ! kill -0 "$api_pid" 2>/dev/null; then
        echo "run-demo: vdi-broker-api exited before it served on port" \
            "$port; the end of its log ($state/vdi-broker-api.log):" >&2
        tail -n 3 "$state/vdi-broker-api.log" "$state/vdi-broker-api.out" \
            >&2 2>/dev/null || true
        exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        die "vdi-broker-api (pid $api_pid) did not answer on" \
            "http://127.0.0.1:$port/ within ${start_timeout}s;" \
            "see $state/vdi-broker-api.log"
    fi
    sleep 0.5
done
kill -0 "$api_pid" 2>/dev/null ||
    die "vdi-broker-api (pid $api_pid) exited; see $state/vdi-broker-api.out"

set +e
"$bin/vdi-broker-shift-demo" --url "http://127.0.0.1:$port" \
    --users-file "$state/users.json" --agents "$agents"
checks=$?
set -e

if [ "${VDI_DEMO_EXIT:-0}" = 1 ]; then
    exit "$checks"
fi
# The seats' thin clients keep sending heartbeats (online in the portal).
"$bin/vdi-broker-shift-demo" --url "http://127.0.0.1:$port" \
    --users-file "$state/users.json" --heartbeats-every 60 \
    > "$state/heartbeats.out" 2>&1 < /dev/null &
beats_pid=$!
trap 'kill $api_pid $portal_pid $beats_pid 2>/dev/null || true; wait $api_pid $portal_pid $beats_pid 2>/dev/null || true' EXIT
cat <<TXT

The broker keeps serving on http://127.0.0.1:$port (Ctrl-C stops it).
Try:
    curl -s http://127.0.0.1:$port/ | python3 -m json.tool
    curl -s http://127.0.0.1:$port/v1/pools | python3 -m json.tool
    curl -s -X POST http://127.0.0.1:$port/v1/client/sessions \\
        -H 'Content-Type: application/json' \\
        -d '{"username": "agent0002", "password": "demo-Passw0rd", "client_id": "tc-demo-1"}' \\
        | python3 -m json.tool
VIP agents (agent0000, agent0020, ...) have native SPICE desktops; their
session's console file is a .vv for remote-viewer:
    s=\$(curl -s -X POST http://127.0.0.1:$port/v1/client/sessions \\
        -H 'Content-Type: application/json' \\
        -d '{"username": "agent0020", "password": "demo-Passw0rd", "client_id": "tc-demo-2"}')
    field() { echo "\$s" | python3 -c "import json,sys; print(json.load(sys.stdin)['session']['\$1'])"; }
    curl -s -H "X-Session-Token: \$(field token)" \\
        http://127.0.0.1:$port/v1/client/sessions/\$(field id)/console-file
The API's OpenAPI document: http://127.0.0.1:$port/v1/openapi.json
Logs: $state/vdi-broker-api.log
TXT
wait $api_pid
