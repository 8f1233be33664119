#!/bin/bash
#
# A real, unmodified OpenStack on this one machine, for integration tests
# of the broker's Nova driver: Keystone, Nova (fake virt driver), Placement,
# Glance and Neutron (API only), all on 127.0.0.1.
#
# Usage: tools/real-openstack.sh COMMAND
#
#   install    create a virtualenv with the services (PyPI, ~600 MB, 2-3 min),
#              or bring it up to date; a current one is kept
#   configure  write configs, create and sync databases, bootstrap Keystone,
#              users, services, endpoints, a flavor and an image
#   start      start the services and wait until a server can be booted
#   stop       stop the services (by their PID files)
#   status     show which services run
#   env        print [nova] options (and OS_* variables) for the broker
#   smoke      boot, tag, list, reboot, console and delete a server through
#              vdi_broker's Nova driver (needs the broker importable)
#   all        install (if needed), configure (if needed), start
#   purge      stop, drop the databases and remove the state directory
#
# Needs root-free MariaDB access as root on 127.0.0.1:3306 and RabbitMQ on
# 127.0.0.1:5672 (guest), as on the project's machines; uses a RabbitMQ
# vhost and databases of its own (prefix vdi_os_). Takes about 1.4 GB of
# memory while running. Nothing listens on anything but 127.0.0.1.
#
# Environment:
#   VDI_OS_DIR      state, configs, logs and the venv (/var/tmp/vdi-openstack)
#   VDI_OS_PYTHON   Python for the venv (python3.11, else python3)
#   VDI_OS_PASSWORD password of every user it creates (vdi-os-secret)
#   VDI_OS_WAIT     seconds to wait for each service (180)

set -eu -o pipefail

ROOT=${VDI_OS_DIR:-/var/tmp/vdi-openstack}
VENV=$ROOT/venv
ETC=$ROOT/etc
STATE=$ROOT/state
LOGS=$ROOT/log
RUN=$ROOT/run
HOST=127.0.0.1
PASSWORD=${VDI_OS_PASSWORD:-vdi-os-secret}
WAIT=${VDI_OS_WAIT:-180}
DB_PREFIX=vdi_os_
DB_URL=mysql+pymysql://root@$HOST
VHOST=vdi_os
TRANSPORT=rabbit://guest:guest@$HOST:5672/$VHOST
REGION=RegionOne
COMPUTE_HOST=vdi-os-compute

KEYSTONE_PORT=5000
NOVA_PORT=8774
PLACEMENT_PORT=8778
GLANCE_PORT=9292
NEUTRON_PORT=9696
KEYSTONE_URL=http://$HOST:$KEYSTONE_PORT/v3

# Versions that worked together (see shared real-openstack notes).
PACKAGES=(
    nova==34.0.0 keystone==30.0.0 openstack-placement==16.0.0
    glance==33.0.0 neutron==29.0.0 python-novaclient==18.13.1
    keystoneauth1==5.18.1 keystonemiddleware==13.0.1
    oslo.messaging==18.3.1 oslo.db==18.1.1 'SQLAlchemy>=2.0,<2.1'
    PyMySQL 'gunicorn==26.*'
)

export OS_NOVA_DISABLE_EVENTLET_PATCHING=true

log() {
    echo "real-openstack: $*" >&2
}

die() {
    log "error: $*"
    exit 1
}

python_bin() {
    if [ -n "${VDI_OS_PYTHON:-}" ]; then
        echo "$VDI_OS_PYTHON"
    elif command -v python3.11 >/dev/null 2>&1; then
        echo python3.11
    else
        echo python3
    fi
}

# wait_until DESCRIPTION COMMAND...: retry COMMAND until it succeeds.
wait_until() {
    local what=$1
    shift
    local deadline
    deadline=$((SECONDS + WAIT))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            die "timed out waiting for $what"
        fi
        sleep 1
    done
}

http_ok() {
    "$VENV/bin/python" - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=5)
except urllib.error.HTTPError as e:
    sys.exit(0 if e.code < 500 else 1)
except Exception:
    sys.exit(1)
PY
}

mysql_q() {
    mysql -h "$HOST" -u root -e "$1"
}

# -- install -----------------------------------------------------------------

do_install() {
    # The venv is current when it was installed from this very list.
    local wanted installed=""
    wanted=$(printf '%s\n' "${PACKAGES[@]}")
    if [ -x "$VENV/bin/nova-manage" ]; then
        installed=$(cat "$VENV/.vdi-os-packages" 2>/dev/null || true)
    fi
    if [ "$installed" = "$wanted" ] && "$VENV/bin/pip" check >/dev/null 2>&1; then
        log "already installed in $VENV"
        return
    fi
    if [ ! -x "$VENV/bin/pip" ]; then
        mkdir -p "$ROOT"
        log "creating $VENV"
        "$(python_bin)" -m venv "$VENV"
        "$VENV/bin/pip" install -q --upgrade pip
    fi
    log "installing OpenStack services (a few minutes)"
    "$VENV/bin/pip" install -q "${PACKAGES[@]}"
    "$VENV/bin/pip" check
    echo "$wanted" >"$VENV/.vdi-os-packages"
}

# -- configure ---------------------------------------------------------------

authtoken() {
    # authtoken SERVICE_USER: a [keystone_authtoken] section.
    cat <<EOF
[keystone_authtoken]
www_authenticate_uri = http://$HOST:$KEYSTONE_PORT/
auth_url = http://$HOST:$KEYSTONE_PORT/
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $PASSWORD
region_name = $REGION
EOF
}

service_auth() {
    # service_auth SECTION USER: keystoneauth options for a client section.
    cat <<EOF
[$1]
auth_type = password
auth_url = http://$HOST:$KEYSTONE_PORT/v3
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $PASSWORD
region_name = $REGION
valid_interfaces = public
EOF
}

gunicorn_conf() {
    # gunicorn_conf NAME MODULE PORT THREADS
    mkdir -p "$RUN/$1"
    cat >"$RUN/$1/gunicorn.conf.py" <<EOF
wsgi_app = "$2"
bind = "$HOST:$3"
workers = 1
threads = $4
timeout = 120
pidfile = "$RUN/$1.pid"
accesslog = None
errorlog = "$LOGS/$1.log"
control_socket_disable = True
EOF
}

write_configs() {
    local site
    site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    mkdir -p "$ETC"/{keystone,nova,placement,glance,neutron/plugins/ml2} \
        "$STATE"/{nova/instances,nova/lock,glance/images,glance/staging} \
        "$STATE"/{glance/tasks,glance/lock,neutron/lock} "$LOGS" "$RUN"

    cat >"$ETC/keystone/keystone.conf" <<EOF
[DEFAULT]
log_file = $LOGS/keystone-app.log
[database]
connection = $DB_URL/${DB_PREFIX}keystone
[token]
provider = fernet
[fernet_tokens]
key_repository = $ETC/keystone/fernet-keys
[fernet_receipts]
key_repository = $ETC/keystone/fernet-keys
[credential]
key_repository = $ETC/keystone/credential-keys
[cache]
enabled = true
backend = dogpile.cache.memory
[identity]
password_hash_rounds = 4
EOF

    cat >"$ETC/nova/nova.conf" <<EOF
[DEFAULT]
host = $COMPUTE_HOST
my_ip = $HOST
transport_url = $TRANSPORT
compute_driver = fake.FakeDriverWithoutFakeNodes
state_path = $STATE/nova
instances_path = $STATE/nova/instances
log_file = $LOGS/nova-app.log
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = $ETC/nova/api-paste.ini
[api_database]
connection = $DB_URL/${DB_PREFIX}nova_api
[database]
connection = $DB_URL/${DB_PREFIX}nova
[oslo_concurrency]
lock_path = $STATE/nova/lock
[scheduler]
discover_hosts_in_cells_interval = -1
[quota]
instances = 1000
cores = 100000
ram = 100000000
[spice]
enabled = true
html5proxy_base_url = http://$HOST:6082/spice_auto.html
spice_direct_proxy_base_url = http://$HOST:13002/nova
[vnc]
enabled = true
novncproxy_base_url = http://$HOST:6080/vnc_lite.html
[glance]
region_name = $REGION
$(authtoken nova)
$(service_auth placement nova)
$(service_auth neutron nova)
EOF
    cp "$VENV/etc/nova/api-paste.ini" "$ETC/nova/api-paste.ini"

    cat >"$ETC/placement/placement.conf" <<EOF
[DEFAULT]
log_file = $LOGS/placement-app.log
[placement_database]
connection = $DB_URL/${DB_PREFIX}placement
[api]
auth_strategy = keystone
$(authtoken placement)
EOF

    cat >"$ETC/glance/glance-api.conf" <<EOF
[DEFAULT]
log_file = $LOGS/glance-app.log
enabled_backends = fs:file
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $STATE/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $STATE/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $STATE/glance/tasks
[database]
connection = $DB_URL/${DB_PREFIX}glance
[oslo_concurrency]
lock_path = $STATE/glance/lock
[paste_deploy]
flavor = keystone
config_file = $ETC/glance/glance-api-paste.ini
$(authtoken glance)
EOF
    cp "$VENV/etc/glance/glance-api-paste.ini" "$ETC/glance/"

    cat >"$ETC/neutron/neutron.conf" <<EOF
[DEFAULT]
log_file = $LOGS/neutron-app.log
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = $TRANSPORT
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
api_paste_config = $ETC/neutron/api-paste.ini
[database]
connection = $DB_URL/${DB_PREFIX}neutron
[oslo_concurrency]
lock_path = $STATE/neutron/lock
$(authtoken neutron)
EOF
    cat >"$ETC/neutron/plugins/ml2/ml2_conf.ini" <<EOF
[ml2]
type_drivers = local,flat
tenant_network_types = local
mechanism_drivers =
extension_drivers = port_security
EOF
    cp "$VENV/etc/neutron/api-paste.ini" "$ETC/neutron/api-paste.ini"

    gunicorn_conf keystone keystone.wsgi.api:application $KEYSTONE_PORT 4
    gunicorn_conf nova-api nova.wsgi.osapi_compute:application $NOVA_PORT 4
    gunicorn_conf placement placement.wsgi.api:application \
        $PLACEMENT_PORT 4
    gunicorn_conf glance glance.wsgi.api:application $GLANCE_PORT 2
    gunicorn_conf neutron neutron.wsgi.api:application $NEUTRON_PORT 2
    : "$site"
}

create_databases() {
    local db
    for db in keystone nova_api nova nova_cell0 placement glance neutron; do
        mysql_q "CREATE DATABASE IF NOT EXISTS ${DB_PREFIX}$db"
    done
}

setup_rabbit() {
    rabbitmqctl -q add_vhost "$VHOST" 2>/dev/null || true
    rabbitmqctl -q set_permissions -p "$VHOST" guest ".*" ".*" ".*"
}

do_configure() {
    [ -x "$VENV/bin/nova-manage" ] || die "run '$0 install' first"
    log "writing configs in $ETC"
    write_configs
    log "creating databases and RabbitMQ vhost $VHOST"
    create_databases
    setup_rabbit

    log "keystone: db sync, keys, bootstrap"
    local kconf=(--config-file "$ETC/keystone/keystone.conf")
    "$VENV/bin/keystone-manage" "${kconf[@]}" db_sync
    mkdir -p "$ETC/keystone/fernet-keys" "$ETC/keystone/credential-keys"
    "$VENV/bin/keystone-manage" "${kconf[@]}" fernet_setup \
        --keystone-user root --keystone-group root
    "$VENV/bin/keystone-manage" "${kconf[@]}" credential_setup \
        --keystone-user root --keystone-group root
    "$VENV/bin/keystone-manage" "${kconf[@]}" bootstrap \
        --bootstrap-password "$PASSWORD" \
        --bootstrap-admin-url "$KEYSTONE_URL" \
        --bootstrap-internal-url "$KEYSTONE_URL" \
        --bootstrap-public-url "$KEYSTONE_URL" \
        --bootstrap-region-id "$REGION"

    log "placement, nova, glance, neutron: db sync"
    "$VENV/bin/placement-manage" \
        --config-file "$ETC/placement/placement.conf" db sync
    local nconf=(--config-file "$ETC/nova/nova.conf")
    "$VENV/bin/nova-manage" "${nconf[@]}" api_db sync
    "$VENV/bin/nova-manage" "${nconf[@]}" cell_v2 map_cell0 \
        --database_connection "$DB_URL/${DB_PREFIX}nova_cell0"
    "$VENV/bin/nova-manage" "${nconf[@]}" cell_v2 list_cells \
        | grep -q " cell1 " ||
        "$VENV/bin/nova-manage" "${nconf[@]}" cell_v2 create_cell \
            --name cell1
    "$VENV/bin/nova-manage" "${nconf[@]}" db sync
    "$VENV/bin/glance-manage" \
        --config-file "$ETC/glance/glance-api.conf" db_sync
    "$VENV/bin/neutron-db-manage" \
        --config-file "$ETC/neutron/neutron.conf" \
        --config-file "$ETC/neutron/plugins/ml2/ml2_conf.ini" \
        upgrade heads
    touch "$ROOT/.configured"
    log "configured; '$0 start' starts the services"
}

# -- start / stop ------------------------------------------------------------

running() {
    local pidfile=$RUN/$1.pid
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

start_wsgi() {
    # start_wsgi NAME CONFIG_ENV CONFIG_DIR
    if running "$1"; then
        return
    fi
    log "starting $1"
    # gunicorn writes its master's PID file itself.
    (cd "$RUN/$1" && exec env "$2=$3" setsid "$VENV/bin/gunicorn") \
        >>"$LOGS/$1.out" 2>&1 </dev/null &
}

start_daemon() {
    # start_daemon NAME COMMAND...
    local name=$1
    shift
    if running "$name"; then
        return
    fi
    log "starting $name"
    setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
}

# Everything from here on talks to the cloud as admin through the venv's
# keystoneauth1.
os_python() {
    OS_AUTH_URL=$KEYSTONE_URL OS_PASSWORD=$PASSWORD OS_REGION=$REGION \
    HOST=$HOST NOVA_PORT=$NOVA_PORT PLACEMENT_PORT=$PLACEMENT_PORT \
    GLANCE_PORT=$GLANCE_PORT NEUTRON_PORT=$NEUTRON_PORT \
        "$VENV/bin/python" - "$@"
}

register_services() {
    log "keystone: users, services, endpoints"
    os_python <<'PY'
import os
from keystoneauth1 import session
from keystoneauth1.identity import v3

env = os.environ
auth = v3.Password(auth_url=env["OS_AUTH_URL"], username="admin",
                   password=env["OS_PASSWORD"], project_name="admin",
                   user_domain_id="default", project_domain_id="default")
s = session.Session(auth=auth)
ks = dict(endpoint_filter={"service_type": "identity", "interface": "public"})


def get(path, key, **filters):
    query = "&".join("%s=%s" % kv for kv in filters.items())
    return s.get(path + ("?" + query if query else ""), **ks).json()[key]


def ensure(path, key, body, **filters):
    found = get(path, key + "s", **filters)
    if found:
        return found[0]
    return s.post(path, json={key: body}, **ks).json()[key]


service = ensure("/projects", "project",
                 {"name": "service", "domain_id": "default"}, name="service")
vdi = ensure("/projects", "project",
             {"name": "vdi", "domain_id": "default"}, name="vdi")
admin_role = get("/roles", "roles", name="admin")[0]
# Services send their own token beside the user's (X-Service-Token);
# keystonemiddleware accepts it only from a user with the "service" role.
service_role = ensure("/roles", "role", {"name": "service"}, name="service")
for name, project, roles in (
        ("nova", service, (admin_role, service_role)),
        ("placement", service, (admin_role, service_role)),
        ("glance", service, (admin_role, service_role)),
        ("neutron", service, (admin_role, service_role)),
        ("vdi-broker", vdi, (admin_role,))):
    user = ensure("/users", "user",
                  {"name": name, "domain_id": "default",
                   "password": env["OS_PASSWORD"]}, name=name)
    for role in roles:
        s.put("/projects/%s/users/%s/roles/%s"
              % (project["id"], user["id"], role["id"]), **ks)

host = env["HOST"]
for stype, name, url in (
        ("compute", "nova", "http://%s:%s/v2.1" % (host, env["NOVA_PORT"])),
        ("placement", "placement",
         "http://%s:%s" % (host, env["PLACEMENT_PORT"])),
        ("image", "glance", "http://%s:%s" % (host, env["GLANCE_PORT"])),
        ("network", "neutron", "http://%s:%s" % (host,
                                                  env["NEUTRON_PORT"]))):
    svc = ensure("/services", "service", {"type": stype, "name": name},
                 type=stype)
    for iface in ("public", "internal", "admin"):
        ensure("/endpoints", "endpoint",
               {"service_id": svc["id"], "interface": iface, "url": url,
                "region_id": env["OS_REGION"]},
               service_id=svc["id"], interface=iface)
PY
}

create_flavor_and_image() {
    log "nova: flavor vdi.small; glance: image vdi-tiny"
    os_python <<'PY'
import os
from keystoneauth1 import session
from keystoneauth1.identity import v3

env = os.environ
auth = v3.Password(auth_url=env["OS_AUTH_URL"], username="admin",
                   password=env["OS_PASSWORD"], project_name="admin",
                   user_domain_id="default", project_domain_id="default")
s = session.Session(auth=auth)
nova = dict(endpoint_filter={"service_type": "compute",
                             "interface": "public"},
            microversion="2.60")
glance = dict(endpoint_filter={"service_type": "image",
                               "interface": "public"})
flavors = s.get("/flavors", **nova).json()["flavors"]
if not any(f["name"] == "vdi.small" for f in flavors):
    s.post("/flavors", json={"flavor": {
        "name": "vdi.small", "id": "vdi-small", "vcpus": 2, "ram": 2048,
        "disk": 1}}, **nova)
images = s.get("/v2/images?name=vdi-tiny", **glance).json()["images"]
if not images:
    image = s.post("/v2/images", json={
        "name": "vdi-tiny", "disk_format": "raw",
        "container_format": "bare", "visibility": "public"},
        **glance).json()
    s.put("/v2/images/%s/file" % image["id"], data=b"\0" * 1024,
          headers={"Content-Type": "application/octet-stream"}, **glance)
PY
}

wait_for_compute() {
    # Boots fail with NoValidHost until nova-compute's first report.
    os_python "$1" <<'PY'
import os, sys, time
from keystoneauth1 import session
from keystoneauth1.identity import v3

env = os.environ
started = float(sys.argv[1])
auth = v3.Password(auth_url=env["OS_AUTH_URL"], username="admin",
                   password=env["OS_PASSWORD"], project_name="admin",
                   user_domain_id="default", project_domain_id="default")
s = session.Session(auth=auth)
nova = dict(endpoint_filter={"service_type": "compute",
                             "interface": "public"},
            microversion="2.53")
deadline = time.time() + 180
while time.time() < deadline:
    try:
        services = s.get("/os-services?binary=nova-compute",
                         **nova).json()["services"]
    except Exception as e:
        # gunicorn drops idle keep-alive connections after 2 s, the
        # interval of this loop: a request may meet a closing connection
        # ("Remote end closed connection"). Ask again.
        print("waiting for nova-compute: %s" % e, file=sys.stderr)
        time.sleep(1)
        continue
    for svc in services:
        updated = svc.get("updated_at")
        if svc["state"] == "up" and updated:
            when = time.mktime(time.strptime(updated[:19],
                                             "%Y-%m-%dT%H:%M:%S"))
            if when - time.timezone > started:
                sys.exit(0)
    time.sleep(2)
sys.exit("nova-compute did not report in time")
PY
}

do_start() {
    [ -f "$ROOT/.configured" ] || die "run '$0 configure' first"
    setup_rabbit
    local started
    started=$(date +%s)
    start_wsgi keystone OS_KEYSTONE_CONFIG_DIR "$ETC/keystone"
    wait_until keystone http_ok "$KEYSTONE_URL"
    register_services
    start_wsgi placement OS_PLACEMENT_CONFIG_DIR "$ETC/placement"
    start_wsgi glance OS_GLANCE_CONFIG_DIR "$ETC/glance"
    start_wsgi neutron OS_NEUTRON_CONFIG_DIR "$ETC/neutron"
    start_wsgi nova-api OS_NOVA_CONFIG_DIR "$ETC/nova"
    local nconf=(--config-file "$ETC/nova/nova.conf")
    start_daemon nova-conductor "$VENV/bin/nova-conductor" "${nconf[@]}"
    start_daemon nova-scheduler "$VENV/bin/nova-scheduler" "${nconf[@]}"
    start_daemon nova-compute "$VENV/bin/nova-compute" "${nconf[@]}"
    wait_until placement http_ok "http://$HOST:$PLACEMENT_PORT/"
    wait_until glance http_ok "http://$HOST:$GLANCE_PORT/"
    wait_until neutron http_ok "http://$HOST:$NEUTRON_PORT/"
    wait_until nova-api http_ok "http://$HOST:$NOVA_PORT/"
    # Neutron answers 500 on /v2.0/ports until a first network listing.
    os_python <<'PY' || true
import os
from keystoneauth1 import session
from keystoneauth1.identity import v3
env = os.environ
auth = v3.Password(auth_url=env["OS_AUTH_URL"], username="admin",
                   password=env["OS_PASSWORD"], project_name="admin",
                   user_domain_id="default", project_domain_id="default")
session.Session(auth=auth).get(
    "/v2.0/networks", endpoint_filter={"service_type": "network",
                                       "interface": "public"})
PY
    if [ ! -f "$ROOT/.seeded" ]; then
        create_flavor_and_image
        touch "$ROOT/.seeded"
    fi
    log "waiting for nova-compute to report"
    wait_for_compute "$started"
    "$VENV/bin/nova-manage" "${nconf[@]}" cell_v2 discover_hosts >/dev/null
    log "ready: Keystone $KEYSTONE_URL (admin / vdi-broker, password" \
        "\$VDI_OS_PASSWORD)"
}

do_stop() {
    # All services get SIGTERM at once and 10 s together to exit (one
    # after the other took 40 s), then SIGKILL.
    local name pid alive pids=()
    for name in nova-compute nova-scheduler nova-conductor nova-api \
            neutron glance placement keystone; do
        if running "$name"; then
            pid=$(cat "$RUN/$name.pid")
            log "stopping $name ($pid)"
            kill "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
        rm -f "$RUN/$name.pid"
    done
    for _ in $(seq 1 20); do
        alive=no
        for pid in "${pids[@]}"; do
            if kill -0 "$pid" 2>/dev/null; then
                alive=yes
            fi
        done
        if [ "$alive" = no ]; then
            return
        fi
        sleep 0.5
    done
    for pid in "${pids[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
}

do_status() {
    local name state=0
    for name in keystone placement glance neutron nova-api nova-conductor \
            nova-scheduler nova-compute; do
        if running "$name"; then
            echo "$name: running (pid $(cat "$RUN/$name.pid"))"
        else
            echo "$name: stopped"
            state=1
        fi
    done
    return $state
}

do_env() {
    cat <<EOF
# [nova] options of vdi-broker for this cloud:
[nova]
auth_type = password
auth_url = $KEYSTONE_URL
username = vdi-broker
password = $PASSWORD
user_domain_name = Default
project_name = vdi
project_domain_name = Default
region_name = $REGION
valid_interfaces = public
# flavor: vdi.small, image: vdi-tiny, networks: none
EOF
}

do_smoke() {
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    local python=${VDI_BROKER_PYTHON:-python3}
    do_env >"$ROOT/vdi-broker.conf"
    cat >>"$ROOT/vdi-broker.conf" <<EOF
boot_poll_interval = 0.5
boot_timeout = 120
EOF
    PYTHONPATH=$here "$python" "$here/tools/real-openstack-smoke.py" \
        "$ROOT/vdi-broker.conf"
}

do_purge() {
    do_stop
    local db
    for db in keystone nova_api nova nova_cell0 placement glance neutron; do
        mysql_q "DROP DATABASE IF EXISTS ${DB_PREFIX}$db" || true
    done
    rabbitmqctl -q delete_vhost "$VHOST" 2>/dev/null || true
    rm -rf "$ETC" "$STATE" "$RUN" "$LOGS" "$ROOT/.configured" \
        "$ROOT/.seeded"
    log "purged (the venv in $VENV is kept)"
}

case "${1:-}" in
    install) do_install ;;
    configure) do_configure ;;
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    env) do_env ;;
    smoke) do_smoke ;;
    all)
        do_install
        [ -f "$ROOT/.configured" ] || do_configure
        do_start
        ;;
    purge) do_purge ;;
    *)
        sed -n '3,32p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
