"""The WSGI entry point: ``vdi_broker.wsgi.api:application``.

Run it under uWSGI (``module = vdi_broker.wsgi.api:application``) or
gunicorn; configuration is read from /etc/vdi-broker/vdi-broker.conf or
the directory in OS_VDI_BROKER_CONFIG_DIR.
"""

from vdi_broker import wsgi

application = wsgi.init_application()
