import pbr.version

version_info = pbr.version.VersionInfo("vdi-broker")

# The API's service type: the type of its endpoint in the Keystone catalog
# (devstack, the install guides), the one the openstack CLI looks for and
# the one the OpenStack-API-Version header names ("vdi 1.0").
SERVICE_TYPE = "vdi"
