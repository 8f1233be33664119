#!/bin/bash

# Bootstrap and exit if KOLLA_BOOTSTRAP variable is set. This catches all
# cases of the KOLLA_BOOTSTRAP variable being set, including empty.
if [[ "${!KOLLA_BOOTSTRAP[@]}" ]]; then
    vdi-broker-manage --config-file /etc/vdi-broker/vdi-broker.conf db sync
    exit 0
fi

# DB synchronisation before an upgrade of the services.
if [[ "${!KOLLA_UPGRADE[@]}" ]]; then
    vdi-broker-manage --config-file /etc/vdi-broker/vdi-broker.conf db sync
    exit 0
fi
