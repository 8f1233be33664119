#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""API versions (microversions).

The API starts at 1.0; every change to a request or response will raise
the maximum version, announced in the version document. A client asks
for a version with ``OpenStack-API-Version: vdi X.Y`` (or ``vdi
latest``), the service type of the broker's catalog entry; without the
header it gets the minimum. Every answer names the version it was served
with in the same header.

The versions:

* 1.0: the first API.
* 1.1: ``POST /v1/client/heartbeat`` answers 200 with the heartbeat
  interval the broker asks for (``heartbeat_interval``) and the silence
  after which it counts the client offline (``offline_after``), instead
  of 204 without a body; the heartbeat may name the client's ``seat``,
  recorded as the thin client's seat.
* 1.2: the heartbeat may say whether the thin client's viewer shows the
  session it names: ``viewer`` = ``{"connected": true|false,
  "seconds": N}``, ``seconds`` (optional, 0 to 31536000) how long the
  viewer has been so (the client's clock is not trusted: the broker
  counts back from the heartbeat's arrival). Recorded on the session
  (``viewer_state``, ``viewer_since``) and combined with the guest
  agent's reports into the session's connection state
  (:mod:`vdi_broker.session_state`); ignored without ``session_id``.
  The admin session document shows ``viewer_state`` and
  ``viewer_since``, and ``connection`` = ``{"state", "since",
  "decided_by"}``: both ends combined now (null for a closed session).
  (``connection`` was added to 1.2 after it landed, in the same
  release: 1.2 was never released without it, so no new version.)

The header is read with microversion-parse: a version outside the range
is a 406, a malformed one a 400, both in the API's error document.
"""

import microversion_parse
import webob
import webob.headers

from vdi_broker.api import fault
from vdi_broker import exception
from vdi_broker import version

SERVICE_TYPE = version.SERVICE_TYPE
MIN_VERSION = "1.0"
MAX_VERSION = "1.2"
# Every version served, oldest first (microversion-parse's list).
VERSIONS = ("1.0", "1.1", "1.2")
# The heartbeat's answer says the interval the broker asks for.
HEARTBEAT_INTERVAL = (1, 1)
# The heartbeat may name the seat.
HEARTBEAT_SEAT = (1, 1)
# The heartbeat may say whether the viewer is connected.
HEARTBEAT_VIEWER = (1, 2)
HEADER = "OpenStack-API-Version"
_HEADER_LOWER = HEADER.lower()
# Where the handlers find the version of the request (a
# microversion_parse.Version, comparable with tuples: >= (1, 1)).
ENVIRON_KEY = "vdi_broker.microversion"


def request_version(req):
    return req.environ[ENVIRON_KEY]


def at_least(req, version):
    """Whether the request was served at ``version`` (a tuple) or later.

    A request that did not go through :class:`Microversion` (a handler
    called directly) is served at the minimum.
    """
    served = req.environ.get(ENVIRON_KEY)
    return served is not None and served >= version


class Microversion:
    """WSGI middleware: the request's version in, the header out."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        # Plain WSGI, no webob request and response objects: this layer
        # only reads a header and adds two (a few % of a login's CPU).
        try:
            served = microversion_parse.extract_version(
                webob.headers.EnvironHeaders(environ), SERVICE_TYPE,
                VERSIONS)
        except (ValueError, TypeError) as e:
            return self._refuse(webob.Request(environ), e)(environ,
                                                           start_response)
        environ[ENVIRON_KEY] = served
        announced = [(HEADER, "%s %s" % (SERVICE_TYPE, served)),
                     ("Vary", HEADER)]

        def start(status, headers, exc_info=None):
            # The version header replaces any of the application's.
            headers = [h for h in headers if h[0].lower() != _HEADER_LOWER]
            return start_response(status, headers + announced, exc_info)

        return self.application(environ, start)

    @staticmethod
    def _refuse(req, error):
        asked = (microversion_parse.get_version(req.headers, SERVICE_TYPE)
                 or "")[:40]
        if isinstance(error, TypeError):
            # Not X.Y (nor "latest").
            e = exception.InvalidVersion(
                reason="'%s %s' is not '%s X.Y'" % (SERVICE_TYPE, asked,
                                                    SERVICE_TYPE))
        else:
            e = exception.VersionNotAcceptable(
                version=asked, min_version=MIN_VERSION,
                max_version=MAX_VERSION)
        response = fault.error_response(req, e.code, e.title, e.message,
                                        e.details())
        response.headers.add("Vary", HEADER)
        return response
