"""The portal's WSGI entry point: ``vdi_broker.wsgi.portal:application``.

Run it under uWSGI (``module = vdi_broker.wsgi.portal:application``,
etc/vdi-broker/vdi-broker-portal-uwsgi.ini) or gunicorn; configuration
is read from vdi-broker.conf and then vdi-broker-portal.conf in
/etc/vdi-broker or the directory in OS_VDI_BROKER_CONFIG_DIR. The portal
never opens the database: it is a client of the admin API.
"""

from vdi_broker.portal import wsgi

application = wsgi.init_application()
