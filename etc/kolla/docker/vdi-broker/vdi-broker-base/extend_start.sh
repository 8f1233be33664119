#!/bin/bash

# The log directory first: what the image runs next (the bootstrap's
# database sync too) logs there ([DEFAULT] log_dir).
if [[ ! -d "/var/log/kolla/vdi-broker" ]]; then
    mkdir -p /var/log/kolla/vdi-broker
fi
if [[ $(stat -c %a /var/log/kolla/vdi-broker) != "755" ]]; then
    chmod 755 /var/log/kolla/vdi-broker
fi

. /usr/local/bin/kolla_vdi_broker_extend_start
