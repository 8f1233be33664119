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

"""The version document."""

from vdi_broker.api import microversion
from vdi_broker.api.handlers import openapi
from vdi_broker.api import util

# The documentation (setup.cfg's home_page): the install, admin and
# configuration guides and the API reference.
DOCS_URL = "https://docs.openstack.org/vdi-broker/latest/"
# RFC 8631 link relations: the machine-readable description of the API
# (the OpenAPI document) and its human-readable documentation.
OPENAPI_TYPE = "application/vnd.oai.openapi+json;version=%s" % (
    openapi.OPENAPI_VERSION)


def _version(req):
    base = req.application_url
    return {
        "id": "v1",
        "status": "CURRENT",
        "min_version": microversion.MIN_VERSION,
        "max_version": microversion.MAX_VERSION,
        "links": [
            {"rel": "self", "href": base + "/v1"},
            {"rel": "service-desc", "type": OPENAPI_TYPE,
             "href": base + openapi.PATH},
            {"rel": "service-doc", "type": "text/html",
             "href": DOCS_URL + "api-ref/"},
        ],
    }


def versions(req):
    return util.json_response({"versions": [_version(req)]})


def v1(req):
    return util.json_response({"version": _version(req)})
