#!/bin/bash
#
# DevStack plugin entry point for vdi-broker.

# Save trace setting
_XTRACE_VDI_BROKER_PLUGIN=$(set +o | grep xtrace)
set -o xtrace

source $VDI_BROKER_PLUGIN_DIR/devstack/lib/vdi_broker
source $VDI_BROKER_PLUGIN_DIR/devstack/lib/vdi_broker_portal

if is_vdi_broker_enabled; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing vdi-broker"
        install_vdi_broker

    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring vdi-broker"
        configure_vdi_broker
        if is_service_enabled key; then
            create_vdi_broker_accounts
            create_vdi_broker_operator_project
        fi
        if is_service_enabled vdi-broker-portal; then
            configure_vdi_broker_portal
        fi

    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Initializing and starting vdi-broker"
        init_vdi_broker
        start_vdi_broker
        if is_service_enabled vdi-broker-portal; then
            start_vdi_broker_portal
        fi
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_vdi_broker_portal
        stop_vdi_broker
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_vdi_broker_portal
        cleanup_vdi_broker
    fi
fi

# Restore xtrace
$_XTRACE_VDI_BROKER_PLUGIN
