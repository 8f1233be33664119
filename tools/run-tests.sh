#!/bin/bash
#
# The README's test command: prepare this machine, then run tox.
#
#     tools/run-tests.sh                  # tox -e py3,functional
#     tools/run-tests.sh -e py3 -- tests.unit.test_hacking
#
# 1. tools/test-setup.sh installs the distro packages of bindep.txt's
#    "test" profile (the compiler and headers that building mysqlclient
#    and the other requirements needs, MariaDB, PostgreSQL, RabbitMQ,
#    Redis, slapd), starts the services and creates the test accounts.
#    It needs root or sudo; VDI_TEST_SKIP_SETUP=1 skips it on a machine
#    that is already prepared.
# 2. tox (>= 4) is installed into a virtualenv of its own, .tox/.bootstrap
#    (Debian 12's python3 refuses "pip install" outside a virtualenv,
#    PEP 668), unless it is there already.
# 3. tox runs with the arguments given, by default -e py3,functional;
#    the exit code is tox's.

set -eu -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BOOTSTRAP=.tox/.bootstrap

if [ "${VDI_TEST_SKIP_SETUP:-0}" != 1 ]; then
    bash tools/test-setup.sh
fi

if [ ! -x "$BOOTSTRAP/bin/tox" ]; then
    echo "run-tests: installing tox into $BOOTSTRAP"
    rm -rf "$BOOTSTRAP"
    python3 -m venv "$BOOTSTRAP"
    "$BOOTSTRAP/bin/python" -m pip install --quiet 'tox>=4'
fi

if [ "$#" -eq 0 ]; then
    set -- -e py3,functional
fi
echo "run-tests: tox $*"
exec "$BOOTSTRAP/bin/tox" "$@"
