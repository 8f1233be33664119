"""Integration tests: the broker against a real OpenStack.

The cloud is the one ``tools/real-openstack.sh`` installs and runs on this
machine (Keystone, Nova with its fake virt driver, Placement, Glance and the
Neutron API, on 127.0.0.1). Run with ``tox -e integration``; see
doc/source/contributor/index.rst.
"""
