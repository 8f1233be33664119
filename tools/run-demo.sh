#!/bin/bash
# Install vdi-broker into ./.venv and run it on its embedded default:
# SQLite, the conductor in-process, the fake cloud and a demo directory of
# call-centre users in two sites. Then a short simulated shift logs a few
# hundred thin clients in and out, and the broker keeps serving on
# http://127.0.0.1:8780 until Ctrl-C (VDI_DEMO_EXIT=1 stops it at once).
set -euo pipefail

cd "$(dirname "$0")/.."
top=$PWD
state=${VDI_DEMO_STATE:-$top/state/demo}
port=${VDI_DEMO_PORT:-8780}
agents=${VDI_DEMO_AGENTS:-300}

if [ ! -x .venv/bin/vdi-broker-api ]; then
    echo "Installing vdi-broker into .venv ..."
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    PBR_VERSION=${PBR_VERSION:-0.1.0} .venv/bin/pip install --quiet -e .
fi
bin=$top/.venv/bin

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

[fake_compute]
boot_time = 2
# Where the fake cloud's consoles point (spice-direct: port 5900 + n).
console_host = 127.0.0.1
CONF

export PYTHONWARNINGS=ignore::DeprecationWarning
"$bin/vdi-broker-manage" --config-file "$state/vdi-broker.conf" db sync \
    2>/dev/null
"$bin/vdi-broker-manage" --config-file "$state/vdi-broker.conf" \
    demo setup --users-file "$state/users.json" --users "$agents" \
    2>/dev/null

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
(
    "$bin/vdi-broker-portal" --config-file "$state/vdi-broker.conf" \
        > "$state/vdi-broker-portal.out" 2>&1 &
    portal_pid=$!
    while kill -0 $$ 2>/dev/null && kill -0 $portal_pid 2>/dev/null; do
        sleep 2
    done
    kill $portal_pid 2>/dev/null
) &
echo "The operations portal: http://127.0.0.1:$portal_port/" \
    "(sign in as admin, operator, helpdesk or reader)"
# --- end of the portal's block. -----------------------------------------

"$bin/vdi-broker-api" --config-file "$state/vdi-broker.conf" \
    > "$state/vdi-broker-api.out" 2>&1 &
api_pid=$!
trap 'kill $api_pid 2>/dev/null; wait $api_pid 2>/dev/null' EXIT

"$bin/vdi-broker-shift-demo" --url "http://127.0.0.1:$port" \
    --users-file "$state/users.json" --agents "$agents"

if [ "${VDI_DEMO_EXIT:-0}" = 1 ]; then
    exit 0
fi
cat <<TXT

The broker keeps serving on http://127.0.0.1:$port (Ctrl-C stops it).
Try:
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
Logs: $state/vdi-broker-api.log
TXT
wait $api_pid
