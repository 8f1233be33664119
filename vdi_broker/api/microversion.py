"""API versions.

The API starts at 1.0; every change to a request or response will raise
the maximum version, announced in the version document and in the
``OpenStack-API-Version: vdi-broker X.Y`` response header.
"""

SERVICE_TYPE = "vdi-broker"
MIN_VERSION = "1.0"
MAX_VERSION = "1.0"
HEADER = "OpenStack-API-Version"


class VersionHeaders:
    """WSGI middleware adding the version header to every response."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        def _start_response(status, headers, exc_info=None):
            headers.append((HEADER, "%s %s" % (SERVICE_TYPE, MAX_VERSION)))
            headers.append(("Vary", HEADER))
            return start_response(status, headers, exc_info)
        return self.application(environ, _start_response)
