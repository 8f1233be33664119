#!/bin/bash

# Bootstrap (KOLLA_BOOTSTRAP set by the deployment's bootstrap container):
# bring the schema to the newest revision, then stop.
if [[ "${!KOLLA_BOOTSTRAP[@]}" ]]; then
    vdi-broker-manage --config-file /etc/vdi-broker/vdi-broker.conf db sync
    vdi-broker-status --config-file /etc/vdi-broker/vdi-broker.conf upgrade check || true
    exit 0
fi

if [[ ! -d "/var/log/kolla/vdi-broker" ]]; then
    mkdir -p /var/log/kolla/vdi-broker
fi
if [[ $(stat -c %a /var/log/kolla/vdi-broker) != "755" ]]; then
    chmod 755 /var/log/kolla/vdi-broker
fi

. /usr/local/bin/kolla_vdi_broker_extend_start
