#!/bin/bash
#
# Prepare this machine for the test suite: install the distro packages
# that building the Python requirements needs (a C compiler and the
# Python, MariaDB client, libffi and OpenSSL headers: mysqlclient and
# friends are compiled when tox installs them), make sure MariaDB,
# PostgreSQL, RabbitMQ and Redis (the tooz coordination tests) run, create
# the oslo.db "opportunistic" test users, and install slapd/ldap-utils for
# the LDAP fixture. Every package it installs is in bindep.txt's "test"
# profile ("tox -e bindep" lists what is missing).
#
# Idempotent: run it as often as you like; what is installed and running
# is left alone. Debian and Ubuntu (apt-get) only. Needs root, or sudo
# for apt-get and for starting services. tools/run-tests.sh (the README's
# test command, which .ci/run calls) runs it first.
#
# Environment:
#   DB_USER / DB_PW   test user and password (default openstack_citest)
#   WAIT_SECONDS      how long to wait for each service (default 120)

set -eu -o pipefail

DB_USER=${DB_USER:-openstack_citest}
DB_PW=${DB_PW:-openstack_citest}
WAIT_SECONDS=${WAIT_SECONDS:-120}

log() {
    echo "test-setup: $*"
}

die() {
    echo "test-setup: ERROR: $*" >&2
    exit 1
}

SUDO=""
if [ "$(id -u)" != "0" ]; then
    command -v sudo >/dev/null ||
        die "run as root, or install sudo: apt-get and the services need root"
    SUDO="sudo -H"
fi
command -v apt-get >/dev/null ||
    die "apt-get not found: on other distributions install bindep.txt's" \
        "test profile by hand (bindep -b test lists it)"

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=no

apt_install() {
    if [ "$APT_UPDATED" = "no" ]; then
        log "apt-get update"
        $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
        APT_UPDATED=yes
    fi
    log "apt-get install $*"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get \
        -o DPkg::Lock::Timeout=600 install -y -q "$@"
}

# wait_for DESCRIPTION COMMAND...: retry COMMAND until it succeeds.
wait_for() {
    local what=$1
    shift
    local deadline
    deadline=$((SECONDS + WAIT_SECONDS))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "ERROR: $what did not answer within ${WAIT_SECONDS}s"
            return 1
        fi
        sleep 1
    done
    log "$what is up"
}

port_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# ---------------------------------------------------------------- MariaDB

mysql_root() {
    # root over the unix socket (Debian's unix_socket auth, or an empty
    # password); fall back to TCP with an empty password.
    $SUDO mysql -u root -e "$1" 2>/dev/null ||
        mysql -u root -h 127.0.0.1 -e "$1"
}

mysql_ping() {
    $SUDO mysqladmin -u root status 2>/dev/null ||
        mysqladmin -u root -h 127.0.0.1 status
}

setup_mariadb() {
    if [ ! -x /usr/sbin/mariadbd ] && [ ! -x /usr/sbin/mysqld ]; then
        apt_install mariadb-server mariadb-client
    fi
    if ! mysql_ping >/dev/null 2>&1; then
        log "starting MariaDB"
        $SUDO install -d -o mysql -g mysql -m 0755 /run/mysqld
        local daemon=/usr/sbin/mariadbd
        [ -x "$daemon" ] || daemon=/usr/sbin/mysqld
        $SUDO start-stop-daemon --start --oknodo --background \
            --exec "$daemon"
    fi
    wait_for MariaDB mysql_ping

    # oslo.db provisioning creates and drops randomly named databases, so
    # the test user gets every privilege on every database.
    mysql_root "
CREATE USER IF NOT EXISTS '$DB_USER'@'%' IDENTIFIED BY '$DB_PW';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PW';
ALTER USER '$DB_USER'@'%' IDENTIFIED BY '$DB_PW';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PW';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;"
    mysql -u "$DB_USER" -p"$DB_PW" -h 127.0.0.1 -e \
        "CREATE DATABASE IF NOT EXISTS $DB_USER CHARACTER SET utf8mb4;"
    log "MariaDB user $DB_USER and database $DB_USER ready"
}

# ------------------------------------------------------------- PostgreSQL

pg_ready() {
    pg_isready -q -h 127.0.0.1 -p 5432
}

psql_admin() {
    # The postgres OS user is a superuser over the socket (peer or trust).
    (cd / && $SUDO runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q "$@")
}

setup_postgresql() {
    if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        apt_install postgresql
    fi
    if ! pg_ready; then
        local version
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        log "starting PostgreSQL $version"
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
            true
    fi
    wait_for PostgreSQL pg_ready

    psql_admin <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
        CREATE ROLE $DB_USER;
    END IF;
END
\$\$;
ALTER ROLE $DB_USER WITH LOGIN PASSWORD '$DB_PW' CREATEDB;
SELECT 'CREATE DATABASE $DB_USER OWNER $DB_USER'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_USER')
\gexec
SQL
    log "PostgreSQL role $DB_USER and database $DB_USER ready"
}

# --------------------------------------------------------------- RabbitMQ

rabbit_ready() {
    port_open 127.0.0.1 5672
}

setup_rabbitmq() {
    if [ ! -x /usr/sbin/rabbitmq-server ]; then
        apt_install rabbitmq-server
    fi
    if ! rabbit_ready; then
        log "starting RabbitMQ"
        $SUDO rabbitmq-server -detached || true
        wait_for RabbitMQ rabbit_ready
        # The port opens a little before the broker accepts logins.
        $SUDO rabbitmqctl -q await_startup --timeout "$WAIT_SECONDS" \
            >/dev/null 2>&1 || true
    fi
    log "RabbitMQ is up (guest/guest on 127.0.0.1:5672)"
}

# ------------------------------------------------------------------ Redis

redis_ready() {
    port_open 127.0.0.1 6379
}

setup_redis() {
    # The coordination tests (tooz redis driver) use their own key
    # namespace on the local server.
    if [ ! -x /usr/bin/redis-server ]; then
        apt_install redis-server
    fi
    if ! redis_ready; then
        log "starting Redis"
        $SUDO redis-server --bind 127.0.0.1 --port 6379 --daemonize yes \
            >/dev/null || true
        wait_for Redis redis_ready
    fi
    log "Redis is up (127.0.0.1:6379)"
}

# ------------------------------------------------------------------- LDAP

setup_ldap() {
    # Only the binaries: the LDAP fixture runs its own throwaway slapd.
    if [ ! -x /usr/sbin/slapd ] || ! command -v ldapsearch >/dev/null; then
        apt_install slapd ldap-utils
    fi
    log "slapd and ldap-utils installed"
}

# ------------------------------------------------------------------- Salt
# The salt executor's tests (tests/fixtures/salt.py) run a throwaway
# salt-master, salt-api and minions from Salt's PyPI release, in a
# virtualenv of its own: Salt's pins conflict with ours. Override the
# place with VDI_BROKER_SALT_VENV (the fixture reads it too).
SALT_VENV=${VDI_BROKER_SALT_VENV:-/var/tmp/vdi-broker-salt}

setup_salt() {
    local ready=yes
    [ -x "$SALT_VENV/bin/salt-api" ] || ready=no
    "$SALT_VENV/bin/python" -c 'import cherrypy' 2>/dev/null || ready=no
    if [ "$ready" = "no" ]; then
        log "installing Salt and CherryPy into $SALT_VENV"
        python3 -m venv "$SALT_VENV"
        "$SALT_VENV/bin/pip" install -q salt cherrypy
    fi
    log "Salt installed ($("$SALT_VENV/bin/salt-master" --version))"
}

# ------------------------------------------------------ build packages

# What tox needs before it installs the Python requirements: venv for
# tox's own virtualenv (Debian's python3 has no ensurepip without it), a
# C compiler and headers (mysqlclient, the C MariaDB driver the
# performance guide recommends, tested beside PyMySQL, builds against
# libmariadb-dev found with pkg-config), git for pbr, openssl for the
# LDAP fixture's certificates.
BUILD_PACKAGES=(gcc python3-dev python3-venv pkg-config libmariadb-dev
                libffi-dev libssl-dev libpq-dev git openssl)

dpkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = \
        "install ok installed" ]
}

setup_build_packages() {
    local missing=() pkg
    for pkg in "${BUILD_PACKAGES[@]}"; do
        dpkg_installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
    log "build packages installed (${BUILD_PACKAGES[*]})"
}

# ------------------------------------------------------------- Prometheus

setup_prometheus() {
    # promtool only, for the alerting rules' tests and "promtool check
    # metrics" (Debian has it in the server's package). Without the
    # recommended node exporter and its collectors; the tests start no
    # Prometheus server.
    if ! command -v promtool >/dev/null; then
        apt_install --no-install-recommends prometheus
    fi
    log "promtool installed"
}

setup_build_packages

# ---------------------------------------------------------- Thin client

# The thin-client tests (tests/functional/thinclient) run vdi-broker-tc,
# the real remote-viewer and xfreerdp on a private Xvfb display, type
# with xdotool and take screenshots with ImageMagick's import; Tk for the
# login window (python3-tk for Debian's Python), a CJK font for Chinese.
setup_thinclient() {
    local missing=()
    command -v Xvfb >/dev/null || missing+=(xvfb)
    command -v xdotool >/dev/null || missing+=(xdotool)
    command -v remote-viewer >/dev/null || missing+=(virt-viewer)
    command -v xfreerdp >/dev/null || missing+=(freerdp2-x11)
    command -v import >/dev/null || missing+=(imagemagick)
    dpkg -s python3-tk >/dev/null 2>&1 || missing+=(python3-tk)
    fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
    if [ ${#missing[@]} -gt 0 ]; then
        apt_install --no-install-recommends "${missing[@]}"
    fi
    log "Xvfb, xdotool, remote-viewer, xfreerdp, ImageMagick and Tk" \
        "installed"
}

# (Called here, so that this section is one block: it needs no service.)
setup_thinclient

setup_mariadb
setup_postgresql
setup_rabbitmq
setup_redis
setup_ldap
setup_salt

# ----------------------------------------------------------- Browser
# The portal's browser tests (tests/functional/portal) drive Debian's
# chromium with Playwright (pip; never "playwright install"); the CJK
# fonts render its Chinese pages.
setup_browser() {
    local fonts
    fonts=$(fc-list 2>/dev/null | grep -ci "Noto Sans CJK" || true)
    if [ ! -x /usr/bin/chromium ] || [ "${fonts:-0}" = 0 ]; then
        apt_install chromium fonts-noto-cjk
    fi
    log "chromium installed ($(/usr/bin/chromium --version 2>/dev/null |
        head -n 1))"
}
setup_browser

# ----------------------------------------------------------- uWSGI
# The metrics test serves the API with two uWSGI workers (prometheus
# multiprocess mode), as devstack and the performance guide run it.
setup_uwsgi() {
    if ! command -v uwsgi >/dev/null ||
            [ ! -e /usr/lib/uwsgi/plugins/python3_plugin.so ]; then
        apt_install --no-install-recommends uwsgi-core uwsgi-plugin-python3
    fi
    log "uWSGI and its python3 plugin installed"
}
setup_uwsgi

setup_prometheus
log "done"
